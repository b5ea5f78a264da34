"""Materializing the whole flow twice on the same drops changes nothing a reader can see: every
table's rows (less the write times and run ids), every shard's bytes, the tokenizer and manifest ids;
and a file dropped again adds only ``already-ingested`` rejects."""

import shutil

import pytest
from dagster import DagsterInstance, materialize

from assets.definitions import build_definitions, tick_landing_sensor
from assets.ingest import raw_documents
from assets.resources import resources_from
from ledgers.ingest import rejects_by_reason
from tests.flows import TABLES, land_corpus, lake_digest, materialize_flow, table_digest


@pytest.mark.slow
def test_the_whole_flow_twice_gives_the_same_rows_shards_and_ids(settings, lake):
    land_corpus(settings.landing.path)
    first = materialize_flow(settings, DagsterInstance.ephemeral())
    before = lake_digest(lake)
    assert before["tables"]["curated_documents"][0] > 0 and before["tables"]["manifests"][0] > 0 and before["shards"]

    second = materialize_flow(settings, DagsterInstance.ephemeral())  # a new instance: no cursor, no memory of the first run
    after = lake_digest(lake)
    changed = [t for t in TABLES if after["tables"][t] != before["tables"][t]]
    assert not changed, f"a second materialization of the same drops changed {changed}"
    assert after["shards"] == before["shards"] and after["tokenizers"] == before["tokenizers"]
    assert second["tokenizer"]["tokenizer_id"] == first["tokenizer"]["tokenizer_id"]
    assert second["manifests"]["manifest_id"] == first["manifests"]["manifest_id"]
    assert second["manifests"]["newly_registered"] is False

    # the same file dropped again under another name: a new drop whose every record is already in the lake
    shutil.copy(settings.landing.path / "corpus.jsonl", settings.landing.path / "corpus-again.jsonl")
    instance = DagsterInstance.ephemeral()
    keys = [r.partition_key for r in tick_landing_sensor(build_definitions(settings), instance, None).run_requests]
    again = next(k for k in keys if k.startswith("corpus-again"))
    instance.add_dynamic_partitions("drops", [again])
    assert materialize([raw_documents], partition_key=again, instance=instance, resources=resources_from(settings)).success
    assert list(table_digest(lake, "raw_documents")) == before["tables"]["raw_documents"]
    assert rejects_by_reason(lake, again) == {"already-ingested": before["tables"]["raw_documents"][0]}
