"""Stages read the upstream ids Dagster materialized, not the newest table row."""

import pytest
from dagster import DagsterInstance, materialize
from pyspark.sql import functions as F

from assets.packing import manifests
from assets.resources import resources_from
from assets.tokenizer import tokenizer
from schemas.tokenizer import TokenizerConfig
from training.tokenizer import train_tokenizer

TINY = {"ops": {"tokenizer": {"config": {"vocab_size": 400, "sample_bytes": 100_000}}}}
PACK = {"ops": {"manifests": {"config": {"seq_len": 256, "max_shard_tokens": 4_096}}}}


def test_manifests_pack_with_the_tokenizer_dagster_materialized_even_when_a_newer_row_exists(settings, packed_lake):
    lake, first = packed_lake
    instance, resources = DagsterInstance.ephemeral(), resources_from(settings)
    again = materialize([tokenizer], instance=instance, resources=resources, run_config=TINY)
    meta = again.asset_materializations_for_node("tokenizer")[0]
    # identical content → the same content-hash id and data version: nothing downstream switches
    assert meta.metadata["tokenizer_id"].value == first.tokenizer_id and meta.metadata["newly_registered"].value is False
    assert meta.tags["dagster/data_version"] == first.tokenizer_id

    newer = train_tokenizer(lake, TokenizerConfig(vocab_size=360, sample_bytes=100_000)).artifact  # registered outside Dagster
    assert lake.read("tokenizers").orderBy(F.desc("created_at")).first()["tokenizer_id"] == newer.tokenizer_id != first.tokenizer_id

    packed = materialize([manifests], instance=instance, resources=resources, run_config=PACK)
    meta = packed.asset_materializations_for_node("manifests")[0].metadata
    assert meta["tokenizer_id"].value == first.tokenizer_id
    rows = lake.read("manifests").where(F.col("manifest_id") == meta["manifest_id"].value).select("tokenizer_id").distinct().collect()
    assert [r["tokenizer_id"] for r in rows] == [first.tokenizer_id]


def test_manifests_without_a_materialized_tokenizer_fail_naming_it(settings, lake):
    result = materialize([manifests], instance=DagsterInstance.ephemeral(), resources=resources_from(settings), run_config=PACK,
                         raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "materialize `tokenizer` first" in str(failure.step_failure_data.error.cause.message)
