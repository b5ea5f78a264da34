"""A writer that is SIGKILLed (with its JVM and Python workers: the whole process group) at a chosen
point, run as ``python -m tests.ledgers.killed_writer SCENARIO LAKE_ROOT [ARG]`` by the fault tests.

- ``mid-write``: the second overwrite of ``lake_audits`` is killed while its Spark stage runs;
- ``after-commit``: that overwrite is killed after its Delta commit, before its lineage row;
- ``before-manifest``: packing is killed after every shard is written, before the manifest commit;
- ``mid-shard``: a shard write is killed between moving its ``.bin`` and its ``.idx`` into place;
- ``mid-checkpoint``: a checkpoint save is killed after the weights are written, before its marker.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import sys
import time
from pathlib import Path


def die() -> None:
    os.killpg(os.getpgid(0), signal.SIGKILL)


def audit_rows(lake, first: int, run: str):
    from schemas.operations import AuditFinding
    now = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    return lake.frame("lake_audits", [AuditFinding(audit_id=run, invariant=f"row-{i}", passed=True, expected=i, actual=i, detail="",
                                                   audited_at=now) for i in range(first, first + 10)])


def spark_lake(root: str):
    from ledgers.lake import Lake
    from schemas.settings import LakeSettings, SparkSettings
    from spark_jobs.session import get_spark
    jars = Path(__file__).resolve().parents[2] / "jars" / "lib"
    return Lake(LakeSettings(root=root), get_spark(SparkSettings(shuffle_partitions=2, jars_dir=str(jars))))


def main(scenario: str, root: str, arg: str | None = None) -> None:
    if scenario in ("mid-write", "after-commit"):
        from ledgers.lake import Lake
        lake = spark_lake(root)
        lake.write(audit_rows(lake, 0, "good"), "lake_audits", mode="append", run_id="good")
        frame = audit_rows(lake, 10, "killed")
        if scenario == "mid-write":
            marker = arg

            def stall(batches):
                Path(marker).touch()
                time.sleep(600)
                yield from batches
            frame = frame.repartition(2).mapInPandas(stall, frame.schema)
        else:
            record = Lake._record_lineage

            def record_then_die(self, result, run_id, partition):
                if result.table == "lake_audits" and run_id == "killed":
                    die()
                record(self, result, run_id, partition)
            Lake._record_lineage = record_then_die
        lake.write(frame, "lake_audits", mode="overwrite", run_id="killed")
    elif scenario == "before-manifest":
        from ledgers.lake import Lake
        from schemas.packing import PackConfig
        from training.shards import run_pack
        merge = Lake.merge

        def die_at_the_manifest(self, df, table, *a, **k):
            if table == "manifests":
                die()
            return merge(self, df, table, *a, **k)
        Lake.merge = die_at_the_manifest
        run_pack(spark_lake(root), PackConfig(seq_len=32, max_shard_tokens=4_096))
    elif scenario == "mid-shard":
        import numpy as np
        import training.megatron_shards as shards

        class DiesBeforeTheIndex:
            def __init__(self, fs):
                self.fs = fs

            def __getattr__(self, name):
                return getattr(self.fs, name)

            def move(self, src, dest):
                if dest.endswith(".idx"):
                    die()
                self.fs.move(src, dest)
        real = shards.filesystem

        def dying_filesystem(directory):
            fs, base = real(directory)
            return DiesBeforeTheIndex(fs), base
        shards.filesystem = dying_filesystem
        shards.write_shard(root, [np.arange(1, 33, dtype=np.uint16)] * 4, np.dtype(np.uint16), "g00000-0000")
    elif scenario == "mid-checkpoint":
        import shutil
        from schemas.launch import LocalTrainConfig
        from training.local_trainer import build_model, save_checkpoint
        cfg = LocalTrainConfig.model_validate_json(Path(arg).read_text())
        shutil.copyfile = lambda *a, **k: die()
        save_checkpoint(build_model(cfg), cfg, 3, 96, 5.0)
    raise SystemExit(f"{scenario}: the writer was not killed")


if __name__ == "__main__":
    main(*sys.argv[1:])
