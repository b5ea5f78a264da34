"""Benchmark loaders on small files in each published schema, the scoring rules, the probes'
determinism and the gates, each with the input that must make it fail."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from schemas.evals import EvalBenchmark, FieldMap, preset
from schemas.settings import EvalSettings
from training.evals import probes, scoring
from training.evals.benchmarks import BenchmarkFileError, load_benchmark, packaged_humaneval
from training.evals.prompts import humaneval_tests, public_submission, submission
from training.evals.scorecard import gates

FILES = Path(__file__).parent / "eval_files"
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


def test_every_published_schema_loads_through_its_field_mapping():
    mbpp = load_benchmark(preset("mbpp", str(FILES / "mbpp.jsonl")))
    assert [i.item_id for i in mbpp] == ["901", "902", "903"] and len(mbpp[0].tests) == 3 and mbpp[2].setup == "import string"
    gsm = load_benchmark(preset("gsm8k", str(FILES / "gsm8k.jsonl")))
    assert gsm[2].item_id == "gsm8k/2" and scoring.reference_number(gsm[2].answer) == "300"
    mmlu = load_benchmark(preset("mmlu", str(FILES / "mmlu.parquet")))
    assert mmlu[0].choices == ["x", "2x", "x^2/2", "2"] and mmlu[0].answer == "1" and mmlu[0].subject == "college_mathematics"
    arc = load_benchmark(preset("arc", str(FILES / "arc_challenge.jsonl")))
    assert arc[0].answer == "1" and arc[1].answer == "1" and arc[1].choices == ["the Moon", "the Sun", "the core"]  # labels 1/2/3
    hs = load_benchmark(preset("hellaswag", str(FILES / "hellaswag.jsonl")))
    assert hs[1].answer == "1" and hs[0].context.startswith("A woman") and hs[0].subject == "Baking cookies"
    he = load_benchmark(packaged_humaneval(), limit=2)
    assert he[0].item_id == "HumanEval/0" and he[0].entry_point == "has_close_elements"


def test_a_wrong_mapping_or_a_missing_file_fails_naming_the_fix(tmp_path):
    with pytest.raises(BenchmarkFileError, match=r"fields \['prompt'\] are not in .*fix the field mapping"):
        load_benchmark(EvalBenchmark(name="mbpp", kind="code", uri=str(FILES / "mbpp.jsonl"),
                                     fields=FieldMap(item_id="task_id", question="prompt", answer="code")))
    with pytest.raises(BenchmarkFileError, match="does not exist"):
        load_benchmark(preset("gsm8k", str(tmp_path / "nope.jsonl")))
    bad = tmp_path / "arc.jsonl"
    bad.write_text(json.dumps({"id": "x", "question": "q", "choices": {"text": ["a", "b"], "label": ["A", "B"]}, "answerKey": "E"}) + "\n")
    with pytest.raises(BenchmarkFileError, match="answer 'E' matches no choice"):
        load_benchmark(preset("arc", str(bad)))
    with pytest.raises(ValueError, match="no field mapping preset"):
        preset("squad", "x.jsonl")
    with pytest.raises(ValidationError, match="less than or equal to 5"):
        EvalSettings(self_consistency_k=8)
    with pytest.raises(ValidationError, match="outside"):
        EvalSettings(probe_depths=[1.5])


def test_pass_at_k_is_the_unbiased_estimator():
    assert scoring.pass_at_k([5, 5], [2, 0], 1) == pytest.approx(20.0)
    assert scoring.pass_at_k([5], [2], 2) == pytest.approx(100 * (1 - 3 / 10))  # 1 - C(3,2)/C(5,2)
    assert scoring.pass_at_k([3], [3], 1) == 100.0
    with pytest.raises(ValueError, match="at least 2 samples"):
        scoring.pass_at_k([1], [1], 2)


def test_final_numbers_and_the_vote():
    assert scoring.final_number("so 3*6=18 bottles.\n#### 18") == "18"
    assert scoring.final_number("it is 1,200 km, or 1200.") == "1200"
    assert scoring.final_number("#### 7.50") == "7.5" and scoring.final_number("no digits") is None
    assert scoring.majority(["5", "7", None, "5", "7"]) == "5"  # tie: first seen
    assert scoring.majority([None, None]) is None
    assert scoring.choose([-3.0, -2.0, -9.0], ["a", "bbbbbbbbbb", "c"]) == (1, 1)
    assert scoring.choose([-3.0, -4.0], ["a", "bbbbbbbbbb"]) == (0, 1)


def test_submissions_carry_hidden_tests_and_the_public_check_only_what_a_user_shows():
    he = load_benchmark(packaged_humaneval(), limit=1)[0]
    sub = submission(he, "humaneval", "    pass\n")
    assert sub.code.startswith(he.question) and len(sub.tests) == 1
    assert "has_close_elements(" in sub.tests[0] and "candidate" not in sub.tests[0] and "METADATA" not in sub.tests[0]
    public = public_submission(he, "humaneval", "    pass\n")
    assert public.tests == ["assert (has_close_elements([1.0, 2.0, 3.0], 0.5)) == False",
                            "assert (has_close_elements([1.0, 2.8, 3.0, 4.0, 5.0, 2.0], 0.3)) == True"]
    mbpp = load_benchmark(preset("mbpp", str(FILES / "mbpp.jsonl")), limit=1)[0]
    check = public_submission(mbpp, "mbpp", "```python\ndef sum_squares(xs): return 0\n```")
    assert check.tests == [mbpp.tests[0]] and "```" not in check.code and submission(mbpp, "mbpp", "x").tests == mbpp.tests


def test_humaneval_checks_become_seeded_judge_side_tests():
    test = "\n\nMETADATA = {}\n\ndef check(candidate):\n    from random import randint, choice\n    import string\n" \
           "    for _ in range(3):\n        s = ''.join(choice(string.ascii_lowercase) for i in range(randint(1, 5)))\n" \
           "        assert candidate(encode(s)) == s\n"
    (converted,) = humaneval_tests(test, "decode")
    assert "import random\nrandom.seed(0)" in converted and "random.randint(1, 5)" in converted and "random.choice(" in converted
    assert "decode(encode(s))" in converted and "candidate" not in converted
    (plain,) = humaneval_tests("def check(candidate):\n    import random\n    assert candidate(random.randint(0, 9)) >= 0\n", "f")
    assert "import random\nrandom.seed(0)" in plain
    prompt = "import math\nfrom typing import List\n\ndef poly(xs: List[float], x: float) -> float:\n    return sum(xs)\n\ndef f(xs):\n    pass\n"
    (helped,) = humaneval_tests("def check(candidate):\n    assert poly(candidate([1]), 2) == 0\n", "f", prompt)
    assert helped.startswith("import math\n\ndef poly(xs, x):") and "def f(" not in helped


def test_probes_are_deterministic_and_the_needle_sits_at_its_depth():
    a = probes.make_probe("needle", 2000, 0.25, seed=3, tokens_per_word=1.0)
    assert a == probes.make_probe("needle", 2000, 0.25, seed=3, tokens_per_word=1.0)
    assert a != probes.make_probe("needle", 2000, 0.25, seed=4, tokens_per_word=1.0)
    at = a.prompt.index(f"is {a.answer}.") / len(a.prompt)
    assert 0.2 < at < 0.3
    multi = probes.make_probe("multi_needle", 2000, 0.5, seed=3, tokens_per_word=1.0)
    assert multi.prompt.rsplit("\n\n", 1)[0].count("The access code of") == 4 and "[section 3]" in multi.prompt
    cross = probes.make_probe("cross_segment", 2000, 0.5, seed=3, tokens_per_word=1.0)
    first = cross.prompt.index("first half")
    assert first / len(cross.prompt) < 0.15 and cross.prompt.index("second half") / len(cross.prompt) > 0.85
    assert probes.exact_match(f" {a.answer}.\nmore", a.answer) == (True, a.answer)
    assert probes.exact_match(f" {a.answer}0", a.answer)[0] is False and probes.exact_match("", a.answer)[0] is False


def test_the_recall_grid_puts_each_probe_in_its_length_and_depth_cell():
    from training.evals.runner import BenchmarkRun, ItemOutcome

    run = BenchmarkRun("needle", items=[
        ItemOutcome("needle/len=64/depth=0.1", 0, 1, " 4242", "4242", True, "exact match"),
        ItemOutcome("needle/len=64/depth=0.9", 0, 1, " 17", "17", False, "wrong"),
        ItemOutcome("needle/len=2000/depth=0.1", 0, 1, "", None, False, "Refused: the prompt is longer than the context")])
    # a refused cell and a cell never run are not measured; a wrong answer is a miss
    assert probes.recall_grid(run, [64, 2000], [0.1, 0.9]) == [[100.0, 0.0], [None, None]]


def _row(benchmark, metric, value, n=164, context_tokens=None, contaminated=0):
    return {"eval_id": f"{benchmark}{metric}{value}", "benchmark": benchmark, "metric": metric, "value": value, "n": n, "samples": 5,
            "seed": 0, "context_tokens": context_tokens, "contaminated_items": contaminated, "contamination": "checked", "evaluated_at": NOW}


def _latency(tokens, p95, status="ok"):
    return {"prompt_tokens": tokens, "tpot_p95_ms": p95, "status": status, "measured_at": NOW, "sweep_id": "s1"}


def test_gates_pass_fail_and_not_measured_each_with_the_reason():
    evals = [_row("humaneval", "exec_guided_pass@1", 80.0), _row("humaneval", "pass@1", 95.0),
             _row("mbpp", "exec_guided_pass@1", 84.9, n=500, contaminated=2), _row("gsm8k", "self_consistency_acc", 70.0, n=1319),
             _row("needle", "recall@512000", 100.0, n=5, context_tokens=511_999), _row("needle", "recall@64", 100.0, n=5, context_tokens=70)]
    card = {r.gate.split()[0]: r for r in gates("c1", evals, [_latency(199_000, 10.0), _latency(250_000, 10.0, "refused: too long")], NOW)}
    assert card["HumanEval"].status == "pass" and card["HumanEval"].value == 80.0  # the exec-guided metric, not pass@1
    assert card["MBPP"].status == "fail" and "2 contaminated item(s)" in card["MBPP"].reason
    assert card["GSM8K"].status == "pass"
    assert card["MMLU"].status == "not-measured" and "IRM_EVALS__BENCHMARK_FILES" in card["MMLU"].reason
    assert card["needle"].status == "not-measured" and "511,999 tokens" in card["needle"].reason  # one token short is not 512k
    assert card["p95"].status == "not-measured" and "199,000" in card["p95"].reason  # a refused 250k prompt measures nothing

    evals[4] = _row("needle", "recall@512000", 98.0, n=50, context_tokens=512_003)
    card = {r.gate.split()[0]: r for r in gates("c1", evals, [_latency(200_100, 200.5)], NOW)}
    assert card["needle"].status == "fail" and card["p95"].status == "fail"
    card = {r.gate.split()[0]: r for r in gates("c1", evals[:4] + [_row("needle", "recall@512000", 99.0, 50, 512_003)],
                                                  [_latency(200_100, 150.0)], NOW)}
    assert card["needle"].status == "pass" and card["p95"].status == "pass"


def test_a_benchmark_gate_is_not_judged_on_a_handful_of_items():
    card = {r.gate.split()[0]: r for r in gates("c1", [_row("mmlu", "acc", 100.0, n=3), _row("humaneval", "exec_guided_pass@1", 0.0, n=20)],
                                                  [], NOW)}
    assert card["MMLU"].status == "not-measured" and card["MMLU"].value == 100.0 and "14042 items" in card["MMLU"].reason
    assert card["HumanEval"].status == "not-measured" and "n=20" in card["HumanEval"].reason
