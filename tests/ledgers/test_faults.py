"""Writers SIGKILLed at the worst moments (driver, JVM and workers together): every table stays at a
whole version and readable, lineage agrees with the tables once recovered, no table row points at a
half-written artifact, and the rerun completes without duplicates."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from deltalake import DeltaTable
from pyspark.sql import functions as F

from ledgers.lake import Lake, token_fields
from schemas.launch import LocalTrainConfig
from schemas.packing import PackConfig
from schemas.settings import LakeSettings
from tests.conftest import ROOT
from tests.ledgers.killed_writer import audit_rows
from training.checkpoints import discover
from training.local_trainer import build_model, save_checkpoint
from training.megatron_shards import read_sequences, write_shard
from training.runs import checkpoints_root, fresh_run_id
from training.shards import run_pack, verify_manifest


def _killed(scenario: str, *args, kill_when: Path | None = None, timeout_s: float = 300) -> None:
    """Run the writer; with ``kill_when``, SIGKILL its process group once that file appears."""
    proc = subprocess.Popen([sys.executable, "-m", "tests.ledgers.killed_writer", scenario, *map(str, args)], cwd=ROOT,
                            start_new_session=True, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout_s
    while kill_when is not None and not kill_when.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    if kill_when is not None and proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    out, _ = proc.communicate(timeout=timeout_s)
    assert proc.returncode == -signal.SIGKILL, f"{scenario} was not killed (rc {proc.returncode}):\n{out.decode()[-3000:]}"


def _lineage(lake: Lake, table: str) -> dict[int, str]:
    return {r["version"]: r["run_id"] for r in lake.read("lineage").where(F.col("table") == table).collect()}


@pytest.mark.slow
def test_a_writer_killed_mid_stage_leaves_the_previous_version_and_no_lineage_row(tmp_path, spark):
    root, marker = tmp_path / "lake", tmp_path / "stage-running"
    _killed("mid-write", root, marker, kill_when=marker)
    lake = Lake(LakeSettings(root=str(root), lineage_recovery_grace_seconds=0), spark)
    version = lake.version("lake_audits")
    assert {r["audit_id"] for r in lake.read("lake_audits").collect()} == {"good"} and lake.read("lake_audits").count() == 10
    assert DeltaTable(lake.settings.table_uri("lake_audits")).to_pyarrow_table().num_rows == 10  # readers without Spark too
    assert _lineage(lake, "lake_audits") == {version: "good"} and lake.lineage_gaps("lake_audits") == ([], [])

    rerun = lake.write(audit_rows(lake, 10, "rerun"), "lake_audits", mode="overwrite", run_id="rerun")
    assert {r["audit_id"] for r in lake.read("lake_audits").collect()} == {"rerun"} and lake.read("lake_audits").count() == 10
    assert _lineage(lake, "lake_audits") == {version: "good", rerun.version: "rerun"}


@pytest.mark.slow
def test_a_writer_killed_between_its_commit_and_its_lineage_row_is_recorded_by_the_next_write(tmp_path, spark):
    root = tmp_path / "lake"
    _killed("after-commit", root)
    lake = Lake(LakeSettings(root=str(root), lineage_recovery_grace_seconds=0), spark)
    killed = lake.version("lake_audits")
    assert {r["audit_id"] for r in lake.read("lake_audits").collect()} == {"killed"}  # the commit is the atomic point
    missing, stray = lake.lineage_gaps("lake_audits")
    assert [(m["version"], token_fields(m["userMetadata"])["run_id"]) for m in missing] == [(killed, "killed")] and not stray
    assert lake.lineage_gaps("lake_audits", grace_seconds=3600) == ([], [])  # so young a commit may be a live writer's

    rerun = lake.write(audit_rows(lake, 10, "rerun"), "lake_audits", mode="overwrite", run_id="rerun")
    assert _lineage(lake, "lake_audits") == {killed - 1: "good", killed: "killed", rerun.version: "rerun"}
    assert lake.lineage_gaps("lake_audits") == ([], []) and lake.recover_lineage("lake_audits") == []
    assert lake.read("lake_audits").count() == 10

    ghost = lake.read("lineage").where(F.col("version") == rerun.version).withColumn("version", F.lit(rerun.version + 5))
    lake.write(ghost, "lineage", mode="append")
    assert lake.lineage_gaps("lake_audits") == ([], [rerun.version + 5])  # a lineage row for a commit that never happened


@pytest.mark.slow
def test_packing_killed_before_its_manifest_leaves_no_row_pointing_at_shards_and_the_rerun_completes(packed_lake):
    lake, _ = packed_lake
    _killed("before-manifest", lake.settings.root)
    shards = Path(lake.settings.root) / "artifacts" / "shards"
    assert any(shards.rglob("*.bin")) and lake.read("manifests").count() == 0  # written, and referenced by no table
    report = run_pack(lake, PackConfig(seq_len=32, max_shard_tokens=4_096))
    assert report.conserved and verify_manifest(lake, report.manifest_id) == []
    rows = lake.read("manifests").collect()
    assert len(rows) == len({r["uri"] for r in rows}) == len(report.shards)


def test_a_shard_killed_between_its_two_files_is_never_half_named_after_the_rerun(tmp_path):
    folder = tmp_path / "shards"
    _killed("mid-shard", folder)
    assert [p.suffix for p in folder.glob("[!_]*")] == [".bin"] and any(folder.glob("_staging-*.idx"))
    again = write_shard(str(folder), [np.arange(1, 33, dtype=np.uint16)] * 4, np.dtype(np.uint16), "g00000-0000")
    assert sorted(p.name for p in folder.glob("[!_]*")) == [f"{Path(again.uri).name}.bin", f"{Path(again.uri).name}.idx"]
    assert [s.tolist() for s in read_sequences(again.uri)] == [list(range(1, 33))] * 4


def test_a_checkpoint_killed_before_its_marker_is_never_listed_and_a_rerun_trains_under_a_new_id(lake, settings, tmp_path):
    root = checkpoints_root(settings)
    cfg = LocalTrainConfig(run_id="run-local-0123456789abcdef", manifest_id="m", train_shards=["unused"], train_weights=[1.0],
                           tokenizer_uri=str(tmp_path / "tokenizer.model"), vocab_size=64, eod=1, out_dir=f"{root}/run-local-0123456789abcdef")
    (tmp_path / "tokenizer.model").write_bytes(b"model")
    (tmp_path / "cfg.json").write_text(cfg.model_dump_json())
    _killed("mid-checkpoint", tmp_path, tmp_path / "cfg.json")
    staging = Path(cfg.out_dir) / "checkpoints" / "_step-000003.partial"
    assert (staging / "model.safetensors").exists() and discover(root) == []
    assert fresh_run_id(lake, settings, cfg.run_id) == f"{cfg.run_id}-a2"  # the half-written folder is never reused or deleted
    save_checkpoint(build_model(cfg), cfg, 3, 96, 5.0)  # the same process retrying the save replaces its own staging folder
    assert discover(root) == [f"{cfg.run_id}.step-000003"] and not staging.exists()
