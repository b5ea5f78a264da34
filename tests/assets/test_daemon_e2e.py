"""End to end: the real dagster-daemon on a temporary instance takes two drops landed together all
the way to Megatron shards, with no job called by hand."""

import json
import shutil
from pathlib import Path

import pytest
from dagster import AssetKey, AssetMaterialization, DagsterInstance, DagsterRunStatus, RunsFilter
from pyspark.sql import functions as F

from assets.automation import LAKE_WRITER_TAG
from assets.daemon import ROOT, running_daemon, wait_for
from ledgers.lake import Lake
from schemas.settings import LakeSettings
from schemas.tokenizer import TokenizerConfig
from tests.corpus import write_curated
from tests.lakes import corpus
from training.tokenizer import train_tokenizer

WORDS = ("the river carries light across the valley while people walk slowly toward the market and talk about "
         "weather work family music books and the long summer evenings that they remember from their childhood").split()


def _prose(seed: int) -> str:
    words = [WORDS[(seed * 7 + i * (seed % 5 + 1)) % len(WORDS)] for i in range(90)]
    return f"Story {seed}. " + " ".join(words).capitalize() + f". It ended on day {seed}."


def _drop(path: Path, seeds: range) -> None:
    path.write_text("".join(json.dumps({"text": _prose(s), "source": path.stem, "domain": "text"}) + "\n" for s in seeds))


@pytest.mark.slow
def test_two_drops_flow_to_manifests_through_the_daemon_alone(tmp_path, spark, monkeypatch):
    home, landing = tmp_path / "home", tmp_path / "landing"
    home.mkdir()
    landing.mkdir()
    shutil.copy(ROOT / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    lake = Lake(LakeSettings(root=str(tmp_path / "lake")), spark)

    # a tiny tokenizer trained beforehand (elsewhere) and registered as a materialization of `tokenizer`
    elsewhere = Lake(LakeSettings(root=str(tmp_path / "tokenizer-lake")), spark)
    write_curated(elsewhere, corpus())
    tok = train_tokenizer(elsewhere, TokenizerConfig(vocab_size=400, sample_bytes=100_000)).artifact
    lake.write(elsewhere.read("tokenizers"), "tokenizers")
    instance = DagsterInstance.from_config(str(home))
    instance.report_runless_asset_event(AssetMaterialization("tokenizer", metadata={"tokenizer_id": tok.tokenizer_id}))

    _drop(landing / "first.jsonl", range(0, 6))
    _drop(landing / "second.jsonl", range(100, 106))
    env = {"IRM_LAKE__ROOT": str(tmp_path / "lake"), "IRM_LANDING__ROOT": str(landing), "IRM_LANDING__SETTLE_SECONDS": "0",
           "IRM_SPARK__SHUFFLE_PARTITIONS": "2", "IRM_SPARK__DRIVER_MEMORY": "1g", "IRM_OPERATIONS__SCHEDULES_RUNNING": "false"}
    with running_daemon(str(home), tmp_path / "daemon.log", env) as daemon:
        wait_for("manifests materialized by automation", lambda: instance.get_latest_materialization_event(AssetKey("manifests")) is not None,
                 timeout_s=1800, daemon=daemon, instance=instance, since=0)

    raw = lake.read("raw_documents")
    assert raw.count() == 12 and raw.select("doc_id").distinct().count() == 12  # both drops, nothing lost or doubled
    assert {r["drop_id"].split("-")[0] for r in raw.select("drop_id").distinct().collect()} == {"first.jsonl", "second.jsonl"}
    meta = instance.get_latest_materialization_event(AssetKey("manifests")).asset_materialization.metadata
    assert meta["tokenizer_id"].value == tok.tokenizer_id
    packed = lake.read("manifests").where(F.col("manifest_id") == meta["manifest_id"].value).agg(F.sum("documents")).first()[0]
    assert packed == lake.read("splits").count() > 0
    assert set(r["doc_id"] for r in lake.read("splits").collect()) <= set(r["doc_id"] for r in raw.collect())

    # every run was the daemon's (sensor or automation), and no two lake writers ever ran at once
    runs = [r for r in instance.get_run_records(RunsFilter(statuses=[DagsterRunStatus.SUCCESS]))]
    assert all(r.dagster_run.tags.get("dagster/sensor_name") for r in runs)
    assert all(r.dagster_run.tags.get(LAKE_WRITER_TAG) for r in runs)
    spans = sorted((r.start_time, r.end_time) for r in runs)
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in zip(spans, spans[1:]))
    assert len([r for r in runs if r.dagster_run.job_name == "ingest_job"]) == 2
