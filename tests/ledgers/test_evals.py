import json

import pytest

from bench.planted import shingle_set
from ledgers.evals import BenchmarkError, load_items, run_eval_hashes
from schemas.evals import BenchmarkSource, EvalHashConfig


def test_humaneval_ships_with_its_package_and_hashes_every_item(lake):
    report = run_eval_hashes(lake, EvalHashConfig())
    items, hashes = report.extra["per_benchmark"]["humaneval"]
    assert items == report.input_rows == 164 and hashes == report.kept > 164


def test_local_benchmarks_use_a_field_mapping_and_hash_each_distinct_ngram(lake, tmp_path):
    path = tmp_path / "gsm8k.jsonl"
    rows = [{"q_id": "g1", "question": "Natalia sold clips to 48 of her friends in April, and then she sold half as many in May.",
             "answer": "Natalia sold 48/2 = 24 clips in May."}, {"q_id": "g2", "question": "Short one.", "answer": "2"}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    source = BenchmarkSource(name="gsm8k", uri=str(path), id_field="q_id", text_fields=["question", "answer"])
    run_eval_hashes(lake, EvalHashConfig(n=5, sources=[source]))
    got = {r["item_id"]: r["count"] for r in lake.read("eval_hashes").groupBy("item_id").count().collect()}
    for r in rows:
        assert got[r["q_id"]] == len(shingle_set(r["question"] + "\n" + r["answer"], 5))


def test_a_wrong_field_mapping_names_the_fields_that_exist(tmp_path):
    path = tmp_path / "mbpp.jsonl"
    path.write_text(json.dumps({"task_id": 1, "text": "x", "code": "y"}) + "\n")
    with pytest.raises(BenchmarkError, match=r"fields \['prompt'\] are not in .* its fields are \['code', 'task_id', 'text'\]"):
        load_items(BenchmarkSource(name="mbpp", uri=str(path), id_field="task_id", text_fields=["prompt"]))


def test_every_evaluated_benchmark_is_hashed_under_the_ids_its_results_use(lake):
    from pathlib import Path

    from schemas.evals import preset
    from schemas.settings import EvalSettings
    from training.evals.benchmarks import hash_rows, load_benchmark
    from training.evals.suite import benchmarks

    files = Path(__file__).parents[1] / "training" / "eval_files"
    cfg = EvalSettings(benchmark_files={"gsm8k": str(files / "gsm8k.jsonl"), "mmlu": str(files / "mmlu.parquet")})
    report = run_eval_hashes(lake, EvalHashConfig(n=5), items=hash_rows(benchmarks(cfg)))
    assert set(report.extra["per_benchmark"]) == {"humaneval", "gsm8k", "mmlu"}
    assert report.extra["per_benchmark"]["humaneval"][0] == 164
    hashed = {(r["benchmark"], r["item_id"]) for r in lake.read("eval_hashes").select("benchmark", "item_id").distinct().collect()}
    evaluated = {(i.benchmark, i.item_id) for i in load_benchmark(preset("gsm8k", cfg.benchmark_files["gsm8k"]))}
    assert evaluated <= hashed and ("gsm8k", "gsm8k/0") in hashed
