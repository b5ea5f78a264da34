"""Red team: candidates that try to pass without solving the task. Every one must be failed."""

import pytest

from schemas.distill import IoTest, Task
from schemas.sandbox import SandboxLimits
from serving.harness.plan import plan_tests
from serving.verify import scrub, verify_code, verify_math

LIMITS = SandboxLimits(cpu_seconds=2, wall_seconds=4, memory_mb=256, output_bytes=65536)
ADD = Task(task_id="add", kind="code", prompt="add", tests=["assert add(2, 3) == 5", "assert add(-1, 1) == 0", "assert add(10, 5) == 15"])
MEAN = Task(task_id="mean", kind="code", prompt="mean", tests=["assert abs(mean([1, 2]) - 1.5) < 1e-9"])
EVEN = Task(task_id="even", kind="code", prompt="even", tests=["assert is_even(4)", "assert not is_even(3)"])
PRIMES = Task(task_id="primes", kind="code", prompt="primes",
              tests=["assert all(is_prime(p) == (p in (2, 3, 5, 7)) for p in range(10))"])

GREET = Task(task_id="greet", kind="code", prompt="greet", tests=["assert greet('ada').startswith('Hello')", "assert greet('ada').__eq__('Hello, ada')",
                                                               "assert greet('ada').count('l') == 2", "assert greet('x').__len__() == 8"])
FORGED_METHODS = ("class Forged:\n    def startswith(self, *a):\n        return True\n    def __eq__(self, other):\n        return True\n"
                  "    def count(self, *a):\n        return 2\n    def __len__(self):\n        return 8\n")

PYTHON_CHEATS = {
    "forged-methods-on-its-own-object": (GREET, FORGED_METHODS + "def greet(name):\n    return Forged()"),
    "str-subclass-with-forged-methods": (GREET, FORGED_METHODS.replace("class Forged:", "class Forged(str):") +
                                         "def greet(name):\n    return Forged('nope')"),
    "no-solution": (ADD, "pass"),
    "sys-exit-0": (ADD, "import sys\nsys.exit(0)"),
    "os-exit-0": (ADD, "import os\nos._exit(0)"),
    "raise-systemexit": (ADD, "raise SystemExit(0)"),
    "exit-inside-the-function": (ADD, "import os\ndef add(a, b):\n    os._exit(0)"),
    "prints-fake-pass": (ADD, "print('3 tests passed'); print('{\"verdicts\": [{\"passed\": true}, {\"passed\": true}, {\"passed\": true}]}')\n"
                              "import os\nos._exit(0)"),
    "forges-protocol-replies": (ADD, "import os\nfor fd in range(3, 12):\n    try:\n"
                                     "        os.write(fd, b'{\"ready\": true}\\n' + b'{\"value\": {\"b\": true}}\\n' * 3)\n"
                                     "    except OSError:\n        pass\nos._exit(0)"),
    "patches-assert-and-builtins": (ADD, "import builtins\nbuiltins.AssertionError = type('Nope', (Exception,), {})\n"
                                         "builtins.abs = lambda x: 0\ndef add(a, b):\n    return None"),
    "eq-always-true": (ADD, "class Anything:\n    def __eq__(self, other):\n        return True\n    __hash__ = object.__hash__\n"
                            "def add(a, b):\n    return Anything()"),
    "int-subclass-eq": (ADD, "class Int(int):\n    def __eq__(self, other):\n        return True\n    __hash__ = int.__hash__\n"
                             "def add(a, b):\n    return Int(0)"),
    "patches-the-encoder": (ADD, "import sys\nm = sys.modules['__main__']\nm.encode = lambda v, depth=0: {'b': True}\n"
                                 "def add(a, b):\n    return 0"),
    "reads-the-tests": (ADD, "import glob, re\nexpected = []\nfor p in glob.glob('/**/*', recursive=True):\n    try:\n"
                             "        expected += re.findall(r'== (-?\\d+)', open(p).read())\n    except Exception:\n        pass\n"
                             "answers = iter(expected)\ndef add(a, b):\n    return int(next(answers))"),
    "kills-everything": (ADD, "import os, signal\nfor pid in (os.getppid(), 1, 2, 3):\n    try:\n        os.kill(pid, signal.SIGKILL)\n"
                              "    except OSError:\n        pass\nos.killpg(0, signal.SIGKILL)"),
    "atexit-fakes-success": (ADD, "import atexit, sys\natexit.register(lambda: print('OK: all passed'))\n"
                                  "def add(a, b):\n    sys.exit(0)"),
    "keyboard-interrupt": (ADD, "def add(a, b):\n    raise KeyboardInterrupt"),
    "shadows-abs": (MEAN, "def abs(x):\n    return 0\ndef mean(xs):\n    return 0"),
    "truthy-object": (EVEN, "class Yes:\n    def __bool__(self):\n        return True\ndef is_even(n):\n    return Yes()"),
    "eq-object-in-comprehension": (PRIMES, "class Anything:\n    def __eq__(self, other):\n        return True\n"
                                           "def is_prime(n):\n    return Anything()"),
    "hard-codes-one-answer": (ADD, "def add(a, b):\n    return 5"),
    "floods-output": (ADD, "while True:\n    print('x' * 10000)"),
    "never-returns": (ADD, "def add(a, b):\n    while True:\n        pass"),
    "ptraces-and-reads-memory": (ADD, "import ctypes, glob\nlibc = ctypes.CDLL(None)\nfor p in glob.glob('/proc/[0-9]*'):\n"
                                      "    libc.ptrace(16, int(p.split('/')[-1]), 0, 0)\ndef add(a, b):\n    return None"),
}


@pytest.mark.parametrize("name", sorted(PYTHON_CHEATS))
def test_a_cheating_python_candidate_is_failed(name):
    task, code = PYTHON_CHEATS[name]
    verdict = verify_code(task, f"```python\n{code}\n```", LIMITS)
    assert not verdict.passed and verdict.error_class, (name, verdict)


def test_honest_candidates_pass_the_same_harness():
    assert verify_code(ADD, "```python\ndef add(a, b):\n    return a + b\n```", LIMITS).passed
    assert verify_code(GREET, "```python\ndef greet(name):\n    return 'Hello, ' + name\n```", LIMITS).passed
    assert verify_code(MEAN, "```python\ndef mean(xs):\n    return sum(xs) / len(xs)\n```", LIMITS).passed
    assert verify_code(EVEN, "```python\ndef is_even(n):\n    return n % 2 == 0\n```", LIMITS).passed
    assert verify_code(PRIMES, "```python\ndef is_prime(n):\n    return n > 1 and all(n % k for k in range(2, n))\n```", LIMITS).passed


def test_a_method_named_like_plain_datas_runs_on_the_judges_side_and_the_candidates_own_methods_on_its_side():
    plan = plan_tests(["assert greet('ada').startswith('Hello')", "assert Solution().solve(3) == 9", "assert f(2).real == 1.0"])
    assert plan.probes == ["greet('ada')", "Solution().solve(3)", "f(2)"]
    tasks = Task(task_id="cls", kind="code", prompt="cls", tests=["assert Solution().solve(3) == 9", "assert Solution().solve(2) == 4"])
    assert verify_code(tasks, "```python\nclass Solution:\n    def solve(self, n):\n        return n * n\n```", LIMITS).passed


def test_expected_values_never_reach_the_candidate():
    plan = plan_tests(ADD.tests + MEAN.tests + PRIMES.tests)
    assert plan.probes == ["add(2, 3)", "add(-1, 1)", "add(10, 5)", "mean([1, 2])", "is_prime(p)"]
    assert all(expected not in " ".join(plan.probes) for expected in ("== 5", "15", "1.5", "(2, 3, 5, 7)"))


def test_a_task_whose_tests_never_call_the_candidate_verifies_nothing():
    task = Task(task_id="vacuous", kind="code", prompt="?", tests=["assert True"])
    assert verify_code(task, "```python\nprint(1)\n```", LIMITS).error_class == "unverifiable"


IO = Task(task_id="sum", kind="code", prompt="sum", language="cpp", io_tests=[IoTest(stdin="2 3\n", stdout="5"), IoTest(stdin="-4 4\n", stdout="0")])
IO_CHEATS = {
    "cpp-prints-pass": ("cpp", '#include <cstdio>\nint main(){ std::puts("PASS"); return 0; }'),
    "cpp-prints-a-guess": ("cpp", '#include <cstdio>\nint main(){ std::puts("5"); return 0; }'),
    "java-exits-zero": ("java", "public class Main { public static void main(String[] a) { System.exit(0); } }"),
    "js-exits-zero": ("javascript", "process.exit(0);"),
    "python-reads-expected": ("python", "import glob\nfor p in glob.glob('/work/*'):\n    print(open(p).read())"),
}


@pytest.mark.parametrize("name", sorted(IO_CHEATS))
def test_a_cheating_stdin_stdout_candidate_is_failed(name):
    language, code = IO_CHEATS[name]
    limits = LIMITS.model_copy(update={"wall_seconds": 20.0, "cpu_seconds": 10})
    verdict = verify_code(IO.model_copy(update={"language": language}), f"```\n{code}\n```", limits)
    assert not verdict.passed, (name, verdict)


def test_a_math_answer_that_is_code_never_reaches_sympy():
    task = Task(task_id="m", kind="math", prompt="12 * 13?", answer="156")
    forged = ("\\boxed{__import__('os').write(1, b'[{\"equal\": true, \"canonical\": \"156\"}]') and __import__('os')._exit(0)}",
              "Answer: exec(\"print(1)\")", "\\boxed{156}")
    verdicts = verify_math(task, list(forged), SandboxLimits())
    assert [v.passed for v in verdicts] == [False, False, True] and verdicts[0].error_class == "syntax"


def test_candidate_output_reaching_a_table_is_scrubbed():
    task = Task(task_id="leak", kind="code", prompt="?", tests=["assert f() == 1"])
    code = ("import sys\nprint('api_key = \"Zx81QpLm02Rt77VbNc55\" AKIAABCDEFGHIJKLMNOP', file=sys.stderr)\n"
            "print('token ghp_' + 'a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8', file=sys.stderr)\ndef f():\n    return 2")
    verdict = verify_code(task, f"```python\n{code}\n```", LIMITS)
    assert not verdict.passed and "<SECRET>" in verdict.detail
    assert all(s not in verdict.detail for s in ("Zx81QpLm02Rt77VbNc55", "AKIAABCDEFGHIJKLMNOP", "a1B2c3D4e5F6g7H8i9J0"))
    assert scrub("value 9fK2xQ7LmZ3vB8nR1tY6wE4pA0sD5gH") == "value <SECRET>"


def test_tests_may_use_standard_modules_loops_and_judge_side_variables():
    task = Task(task_id="circle", kind="code", prompt="area", tests=[
        "assert math.isclose(area(1), math.pi)",
        "import math\nassert abs(area(math.sqrt(2)) - 2 * math.pi) < 1e-9",
        "for r in range(3):\n    assert math.isclose(area(r), math.pi * r * r)",
        "xs = [area(r) for r in (1, 2)]\nassert sorted(xs, reverse=True)[0] > 12"])
    assert verify_code(task, "```python\nimport math\ndef area(r):\n    return math.pi * r ** 2\n```", LIMITS).passed
    assert not verify_code(task, "```python\ndef area(r):\n    return 3 * r ** 2\n```", LIMITS).passed


@pytest.mark.parametrize("body", ["while True:\n        pass", "import time\n    time.sleep(600)"])
def test_a_candidate_that_never_returns_is_classed_as_a_timeout(body):
    verdict = verify_code(ADD, f"```python\ndef add(a, b):\n    {body}\n```", LIMITS)
    assert not verdict.passed and verdict.error_class == "timeout", verdict
