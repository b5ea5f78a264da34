"""The lakehouse at size: landing → manifests on real sources, then one small drop on top.

    make bench-scale          # = .venv/bin/python -m bench.scale --mb 100 --increment-mb 1

Drops are source trees of installed packages (their ``.py .md .rst .txt`` files, with the
package's LICENSE files from its dist-info at the drop root), copied into a fresh landing zone
until ``--mb`` megabytes. The run is the product's own Dagster jobs on a fresh lake and
instance: the landing sensor's tick, one ingest run per drop, ``curation_job``,
``tokenizer_job`` (small vocabulary) and ``training_data_job``. Then one more drop of about
``--increment-mb`` goes the same way (without retraining the tokenizer, which runs on request):
its cost, per stage, is the incremental cost. Wall time per Dagster step comes from the
instance's step stats; peak memory is the largest resident set of this process plus its
children (the Spark JVM), sampled every half second.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import sysconfig
import tempfile
import threading
import time
from pathlib import Path

import psutil

OUT = Path("bench/out/scale")
SUFFIXES = {".py", ".md", ".rst", ".txt"}
PACKAGES = ("sympy", "transformers", "pandas", "numpy", "torch", "dagster", "pyspark", "botocore")
INCREMENT = ("rich", "pygments", "click", "jinja2")


def _rss() -> int:
    me = psutil.Process()
    try:
        return me.memory_info().rss + sum(c.memory_info().rss for c in me.children(recursive=True))
    except psutil.Error:
        return 0


class PeakMemory(threading.Thread):
    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = 0
        self.running = True

    def run(self) -> None:
        while self.running:
            self.peak = max(self.peak, _rss())
            time.sleep(0.5)


def copy_tree_drop(package: str, landing: Path, budget: int) -> int:
    """Copy one package's text sources into ``landing/<package>``; returns the bytes copied."""
    purelib = Path(sysconfig.get_paths()["purelib"])
    root = purelib / package
    drop = landing / package
    total = 0
    for path in sorted(root.rglob("*")):
        if total >= budget:
            break
        if path.suffix in SUFFIXES and path.is_file() and "__pycache__" not in path.parts and path.stat().st_size <= 1_000_000:
            target = drop / path.relative_to(root)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
            total += path.stat().st_size
    for info in purelib.glob(f"{package}-*.dist-info"):
        for lic in list(info.glob("LICENSE*")) + list(info.glob("licenses/LICENSE*")) + list(info.glob("COPYING*")):
            if lic.is_file():
                shutil.copyfile(lic, drop / lic.name)
    return total


def _progress(**fields) -> None:
    """One JSON line per finished job, so an interrupted run still leaves what it measured."""
    with open(OUT / "progress.jsonl", "a") as fh:
        fh.write(json.dumps(fields) + "\n")


def run_job(defs, instance, name: str, run_config: dict, partition_key: str | None = None, tags: dict | None = None):
    started = time.perf_counter()
    run = defs.resolve_job_def(name).execute_in_process(instance=instance, run_config=run_config, partition_key=partition_key, tags=tags)
    seconds = time.perf_counter() - started
    if not run.success:
        raise SystemExit(f"{name} failed (run {run.run_id})")
    steps = {s.step_key: (s.end_time or 0) - (s.start_time or 0) for s in instance.get_run_step_stats(run.run_id)}
    _progress(job=name, partition=partition_key, seconds=round(seconds, 1), steps={k: round(v, 1) for k, v in steps.items()},
              rss_gib=round(_rss() / 2**30, 2))
    return seconds, steps


def ingest_new(defs, instance, cursor, quiet) -> tuple[float, str, dict]:
    from assets.definitions import tick_landing_sensor

    result = tick_landing_sensor(defs, instance, cursor)
    for request in result.dynamic_partitions_requests or []:
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    seconds, steps = 0.0, {}
    for request in result.run_requests or []:
        s, st = run_job(defs, instance, "ingest_job", quiet, request.partition_key, request.tags)
        seconds += s
        steps["raw_documents"] = steps.get("raw_documents", 0.0) + st.get("raw_documents", s)
    return seconds, result.cursor, steps


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=float, default=100.0)
    parser.add_argument("--increment-mb", type=float, default=1.0)
    parser.add_argument("--vocab", type=int, default=8000)
    args = parser.parse_args()
    shutil.rmtree(OUT, ignore_errors=True)
    landing, lake = (OUT / "landing").resolve(), (OUT / "lake").resolve()
    landing.mkdir(parents=True)
    os.environ.update({"IRM_LAKE__ROOT": str(lake), "IRM_LANDING__ROOT": str(landing), "IRM_LANDING__SETTLE_SECONDS": "0",
                       "DAGSTER_HOME": tempfile.mkdtemp(prefix="irm-bench-scale-")})
    Path(os.environ["DAGSTER_HOME"], "dagster.yaml").write_text("telemetry:\n  enabled: false\n")

    from dagster import DagsterInstance

    from assets.definitions import build_definitions
    from schemas.settings import IrmSettings

    budget = int(args.mb * 1e6)
    landed = 0
    for package in PACKAGES:
        if landed >= budget:
            break
        landed += copy_tree_drop(package, landing, budget - landed)
    print(f"landed {landed / 1e6:.1f} MB as {len(list(landing.iterdir()))} source-tree drops", file=sys.stderr)

    defs = build_definitions(IrmSettings())
    instance = DagsterInstance.get()
    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    tokenizer_cfg = {"ops": {"tokenizer": {"config": {"vocab_size": args.vocab, "sample_bytes": 5_000_000}}}, **quiet}
    packing_cfg = {"ops": {"splits": {"config": {"train": 0.8, "val": 0.1, "test": 0.1}},
                           "manifests": {"config": {"seq_len": 2048, "max_shard_tokens": 4_194_304}}}, **quiet}
    memory = PeakMemory()
    memory.start()
    stages: dict[str, dict[str, float]] = {"full": {}, "increment": {}}
    totals = {}
    started = time.perf_counter()
    seconds, cursor, steps = ingest_new(defs, instance, None, quiet)
    stages["full"].update(steps)
    for job, cfg in (("curation_job", quiet), ("tokenizer_job", tokenizer_cfg), ("training_data_job", packing_cfg)):
        _, steps = run_job(defs, instance, job, cfg)
        stages["full"].update(steps)
        print(f"full: {job} done at {time.perf_counter() - started:.0f}s", file=sys.stderr)
    totals["full"] = time.perf_counter() - started
    full_peak = memory.peak

    extra = 0
    for package in INCREMENT:
        if extra >= args.increment_mb * 1e6:
            break
        extra += copy_tree_drop(package, landing, int(args.increment_mb * 1e6) - extra)
    started = time.perf_counter()
    _, cursor, steps = ingest_new(defs, instance, cursor, quiet)
    stages["increment"].update(steps)
    for job, cfg in (("curation_job", quiet), ("training_data_job", packing_cfg)):
        _, steps = run_job(defs, instance, job, cfg)
        stages["increment"].update(steps)
    totals["increment"] = time.perf_counter() - started
    memory.running = False

    mb = landed / 1e6
    print(f"\nlanded {mb:.1f} MB (full run), then a {extra / 1e6:.2f} MB drop ({extra / landed:.1%}); "
          f"peak memory {full_peak / 2**30:.2f} GiB (Python + JVM)\n")
    print("| stage | full run s | full MB/s | increment s | increment / full |")
    print("|---|---|---|---|---|")
    for step, s in stages["full"].items():
        inc = stages["increment"].get(step)
        inc_cells = f"{inc:.1f} | {inc / s:.1%}" if inc is not None else "not rerun | –"
        print(f"| {step} | {s:.1f} | {mb / s:.2f} | {inc_cells} |")
    print(f"| **total (wall)** | {totals['full']:.1f} | {mb / totals['full']:.2f} | {totals['increment']:.1f} | "
          f"{totals['increment'] / totals['full']:.1%} |")


if __name__ == "__main__":
    main()
