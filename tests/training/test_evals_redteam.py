"""A completion scored by the evaluation harness cannot pass by cheating: every test runs in the
judged harness, so exiting early, printing a verdict or patching the checks fails the item."""

from __future__ import annotations

import pytest

from serving.code_runner import sandbox_runner
from serving.verify import scrub
from training.evals.benchmarks import load_benchmark, packaged_humaneval
from training.evals.prompts import public_submission, submission

HUMANEVAL_0 = load_benchmark(packaged_humaneval(), limit=1)[0]
HONEST = ("    for i, a in enumerate(numbers):\n        for j, b in enumerate(numbers):\n"
          "            if i != j and abs(a - b) < threshold:\n                return True\n    return False\n")
CHEATS = {
    "os._exit(0)": "    pass\nimport os\nos._exit(0)\n",
    "sys.exit(0)": "    pass\nimport sys\nsys.exit(0)\n",
    "raise SystemExit": "    pass\nraise SystemExit(0)\n",
    "prints a pass": "    return True\nprint('all tests passed')\nimport os\nos._exit(0)\n",
    "patches assert via builtins": "    return True\nimport builtins\nbuiltins.AssertionError = type('X', (BaseException,), {})\n",
    "always-equal object": "    class E:\n        def __eq__(self, o): return True\n        def __bool__(self): return True\n    return E()\n",
    "kills its parent": "    pass\nimport os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n",
}


@pytest.fixture(scope="module")
def judge():
    return sandbox_runner()


def test_the_honest_completion_passes_hidden_and_public_tests(judge):
    for sub in (submission(HUMANEVAL_0, "humaneval", HONEST), public_submission(HUMANEVAL_0, "humaneval", HONEST)):
        passed, detail = judge(sub.code, sub.tests)
        assert passed, detail


@pytest.mark.parametrize("name", sorted(CHEATS))
def test_a_cheating_completion_fails_the_hidden_and_the_public_tests(judge, name):
    for sub in (submission(HUMANEVAL_0, "humaneval", CHEATS[name]), public_submission(HUMANEVAL_0, "humaneval", CHEATS[name])):
        passed, detail = judge(sub.code, sub.tests)
        assert not passed, f"{name}: {detail}"


def test_a_completion_that_prints_a_key_has_it_scrubbed_from_the_detail(judge):
    key = "9f2c4e1a7b3d5f60819a2b3c4d5e6f708192a3b4"
    passed, detail = judge(*_sub(f"    print('{key}')\n    raise ValueError('{key}')\n"))
    assert not passed and key not in detail and "<SECRET>" in detail


def _sub(completion: str):
    sub = submission(HUMANEVAL_0, "humaneval", completion)
    return sub.code, sub.tests


def test_every_humaneval_reference_solution_passes_its_judged_tests(judge):
    items = load_benchmark(packaged_humaneval())
    failed = []
    for item in items:
        sub = submission(item, "humaneval", item.answer)
        passed, detail = judge(sub.code, sub.tests)
        if not passed:
            failed.append(f"{item.item_id}: {detail}")  # whole: the error is at its end
    assert len(items) == 164 and failed == []


@pytest.mark.parametrize("item_id, completion", [
    ("HumanEval/38", "    return s\n\n\ndef encode_cyclic(s):\n    return s\n"),
    ("HumanEval/32", "    return 0.0\n\n\ndef poly(xs, x):\n    return 0.0\n"),
])
def test_redefining_the_prompts_helper_functions_does_not_change_the_tests(judge, item_id, completion):
    item = next(i for i in load_benchmark(packaged_humaneval()) if i.item_id == item_id)
    sub = submission(item, "humaneval", completion)
    passed, detail = judge(sub.code, sub.tests)
    assert not passed, detail
