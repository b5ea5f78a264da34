"""Materializing the whole flow twice on the same drops changes nothing a reader can see: every
table's rows (less the write times and run ids), every shard's bytes, the tokenizer and manifest ids;
and a file dropped again adds only ``already-ingested`` rejects."""

import hashlib
import json
import shutil
from pathlib import Path

import pytest
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
from ledgers.ingest import rejects_by_reason
from tests.lakes import corpus

FLOW = [documents_clean, dedup, license_ledger, curated_documents, eval_hashes, decontaminated_documents, splits, tokenizer, manifests]
TABLES = ["raw_documents", "rejects", "documents_clean", "clean_drops", "dedup", "dedup_sketches", "dedup_edges", "license_ledger",
          "curated_documents", "eval_hashes", "contamination", "decontaminated_documents", "splits", "tokenizers", "manifests"]
VOLATILE = {"run_id", "dagster_run_id", "input_versions"}  # which write and which upstream versions, not what was written
RUN_CONFIG = {"ops": {"tokenizer": {"config": {"vocab_size": 400, "sample_bytes": 100_000}},
                      "manifests": {"config": {"seq_len": 64, "max_shard_tokens": 4_096}}}}


def _land(landing: Path) -> None:
    landing.mkdir(parents=True, exist_ok=True)
    rows = [{**d, "source": "corpus", **({"license": "MIT", "path": f"{d['repo']}/m{k}.py"} if "repo" in d else {})}
            for k, d in enumerate(corpus())]
    (landing / "corpus.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def _table_digest(lake, table: str) -> tuple[int, str]:
    frame = lake.read(table)
    kept = [f.name for f in frame.schema.fields if f.name not in VOLATILE and not isinstance(f.dataType, T.TimestampType)]
    rows = sorted(json.dumps(r.asDict(recursive=True), sort_keys=True, default=str) for r in frame.select(*kept).collect())
    return len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest()


def _files(lake, table: str, suffixes: tuple[str, ...] = ("",)) -> dict[str, str]:
    paths = [Path(r["uri"].removeprefix("file:") + s) for r in lake.read(table).collect() for s in suffixes]
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


def _flow(settings, instance) -> dict[str, str]:
    defs = build_definitions(settings)
    keys = [r.partition_key for r in tick_landing_sensor(defs, instance, None).run_requests]
    instance.add_dynamic_partitions("drops", keys)
    resources = resources_from(settings)
    for key in keys:
        assert materialize([raw_documents], partition_key=key, instance=instance, resources=resources).success
    result = materialize(FLOW, instance=instance, resources=resources, run_config=RUN_CONFIG)
    assert result.success and all(c.passed for c in result.get_asset_check_evaluations())
    return {node: result.asset_materializations_for_node(node)[0].metadata for node in ("tokenizer", "manifests")}


@pytest.mark.slow
def test_the_whole_flow_twice_gives_the_same_rows_shards_and_ids(settings, lake):
    _land(settings.landing.path)
    first = _flow(settings, DagsterInstance.ephemeral())
    tables = {t: _table_digest(lake, t) for t in TABLES}
    assert tables["curated_documents"][0] > 0 and tables["manifests"][0] > 0
    shards, tokenizer_files = _files(lake, "manifests", (".bin", ".idx")), _files(lake, "tokenizers")

    second = _flow(settings, DagsterInstance.ephemeral())  # a new instance: no cursor, no memory of the first run
    changed = [t for t in TABLES if _table_digest(lake, t) != tables[t]]
    assert not changed, f"a second materialization of the same drops changed {changed}"
    assert _files(lake, "manifests", (".bin", ".idx")) == shards and _files(lake, "tokenizers") == tokenizer_files
    assert second["tokenizer"]["tokenizer_id"].value == first["tokenizer"]["tokenizer_id"].value
    assert second["manifests"]["manifest_id"].value == first["manifests"]["manifest_id"].value
    assert second["manifests"]["newly_registered"].value is False

    # the same file dropped again under another name: a new drop whose every record is already in the lake
    shutil.copy(settings.landing.path / "corpus.jsonl", settings.landing.path / "corpus-again.jsonl")
    instance = DagsterInstance.ephemeral()
    defs = build_definitions(settings)
    keys = [r.partition_key for r in tick_landing_sensor(defs, instance, None).run_requests]
    again = next(k for k in keys if k.startswith("corpus-again"))
    instance.add_dynamic_partitions("drops", [again])
    assert materialize([raw_documents], partition_key=again, instance=instance, resources=resources_from(settings)).success
    assert _table_digest(lake, "raw_documents") == tables["raw_documents"]
    assert rejects_by_reason(lake, again) == {"already-ingested": tables["raw_documents"][0]}
