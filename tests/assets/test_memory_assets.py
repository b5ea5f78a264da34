"""memory_chunks → memory_index as Dagster assets: real materializations, checks, eager automation."""

from __future__ import annotations

import pytest

from dagster import AssetKey, DagsterInstance, materialize

from assets.memory import memory_chunks, memory_index
from assets.resources import resources_from
from ledgers.lake import Lake
from schemas.settings import IrmSettings
from tests.serving.memory_lake import SMALL, documents, write_corpus, write_tokenizer


def test_memory_assets_materialize_with_passing_checks_and_are_eager(settings: IrmSettings, tmp_path, spark):
    settings = settings.model_copy(update={"memory": settings.memory.model_copy(
        update={"uri": str(tmp_path / "milvus.db"), "chunker": SMALL})})
    lake = Lake(settings.lake, spark)
    write_corpus(lake, documents())
    write_tokenizer(lake, tmp_path)
    resources = resources_from(settings)
    assert resources["memory"].settings().chunker == SMALL
    result = materialize([memory_chunks, memory_index], instance=DagsterInstance.ephemeral(), resources=resources)
    assert result.success
    checks = {(c.asset_key.path[-1], c.check_name): c for c in result.get_asset_check_evaluations()}
    assert checks[("memory_chunks", "chunks_cover_documents")].passed
    assert checks[("memory_index", "index_matches_chunks")].passed
    meta = result.asset_materializations_for_node("memory_index")[0].metadata
    assert meta["chunks_added"].value == lake.read("memory_chunks").count() and meta["chunks_removed"].value == 0
    for asset in (memory_chunks, memory_index):
        assert asset.automation_conditions_by_key[asset.key] is not None
    assert AssetKey("curated_documents") in memory_chunks.asset_deps[memory_chunks.key]
    assert AssetKey("tokenizer") in memory_chunks.asset_deps[memory_chunks.key]
