"""The flow from a landed drop to Megatron shards, materialized through Dagster in process, and a
digest of what it wrote: shared by the idempotency and cluster tests."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from dagster import DagsterInstance, materialize
from pyspark.sql import types as T

from assets.curation import dedup, documents_clean
from assets.definitions import build_definitions, tick_landing_sensor
from assets.evals import eval_hashes
from assets.ingest import raw_documents
from assets.licenses import curated_documents, license_ledger
from assets.packing import manifests
from assets.resources import resources_from
from assets.splits import decontaminated_documents, splits
from assets.tokenizer import tokenizer
from tests.lakes import corpus

FLOW = [documents_clean, dedup, license_ledger, curated_documents, eval_hashes, decontaminated_documents, splits, tokenizer, manifests]
TABLES = ["raw_documents", "rejects", "documents_clean", "clean_drops", "dedup", "dedup_sketches", "dedup_edges", "license_ledger",
          "curated_documents", "eval_hashes", "contamination", "decontaminated_documents", "splits", "tokenizers", "manifests"]
VOLATILE = {"run_id", "dagster_run_id", "input_versions"}  # which write and which upstream versions, not what was written
RUN_CONFIG = {"ops": {"tokenizer": {"config": {"vocab_size": 400, "sample_bytes": 100_000}},
                      "manifests": {"config": {"seq_len": 64, "max_shard_tokens": 4_096}}}}


def land_corpus(landing: Path, name: str = "corpus.jsonl") -> Path:
    """Code under MIT (named per record) and prose, as one JSONL drop with a stable source."""
    landing.mkdir(parents=True, exist_ok=True)
    rows = [{**d, "source": "corpus", **({"license": "MIT", "path": f"{d['repo']}/m{k}.py"} if "repo" in d else {})}
            for k, d in enumerate(corpus())]
    path = landing / name
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def materialize_flow(settings, instance: DagsterInstance) -> dict[str, dict]:
    """Every landed drop ingested, then curation through manifests; every check must pass."""
    defs = build_definitions(settings)
    keys = [r.partition_key for r in tick_landing_sensor(defs, instance, None).run_requests]
    instance.add_dynamic_partitions("drops", keys)
    resources = resources_from(settings)
    for key in keys:
        assert materialize([raw_documents], partition_key=key, instance=instance, resources=resources).success
    result = materialize(FLOW, instance=instance, resources=resources, run_config=RUN_CONFIG)
    assert result.success and all(c.passed for c in result.get_asset_check_evaluations())
    return {node: {k: v.value for k, v in result.asset_materializations_for_node(node)[0].metadata.items()}
            for node in ("tokenizer", "manifests")}


def table_digest(lake, table: str) -> tuple[int, str]:
    """(rows, sha256 of the sorted rows) without write times and run ids."""
    frame = lake.read(table)
    kept = [f.name for f in frame.schema.fields if f.name not in VOLATILE and not isinstance(f.dataType, T.TimestampType)]
    rows = sorted(json.dumps(r.asDict(recursive=True), sort_keys=True, default=str) for r in frame.select(*kept).collect())
    return len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest()


def file_digests(lake, table: str, suffixes: tuple[str, ...] = ("",)) -> dict[str, str]:
    paths = [Path(r["uri"].removeprefix("file:") + s) for r in lake.read(table).collect() for s in suffixes]
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


def lake_digest(lake) -> dict:
    return {"tables": {t: list(table_digest(lake, t)) for t in TABLES},
            "shards": file_digests(lake, "manifests", (".bin", ".idx")), "tokenizers": file_digests(lake, "tokenizers")}
