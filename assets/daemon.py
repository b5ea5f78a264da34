"""Driving the real Dagster daemon from outside: start it on an instance, submit a job's run to the
instance's queue (as the UI's launchpad would), and wait, bounded, for materializations.

Used by ``make demo`` and by the end-to-end test; nothing here executes a job in this process.
"""

import json
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from dagster import AssetKey, DagsterInstance, DagsterRunStatus, RunsFilter

ROOT = Path(__file__).resolve().parents[1]
ACTIVE = [DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING, DagsterRunStatus.STARTED,
          DagsterRunStatus.CANCELING]


def _bin(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


@contextmanager
def running_daemon(dagster_home: str, log_path: Path, env: dict[str, str] | None = None) -> Iterator[subprocess.Popen]:
    """``dagster-daemon run`` on ``workspace.yaml``, in its own process group; stopped (SIGTERM, then
    SIGKILL of that group only) on exit. Queued and in-progress runs stay in the instance."""
    environment = {**os.environ, **(env or {}), "DAGSTER_HOME": dagster_home}
    environment["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), environment.get("PYTHONPATH", "")) if p)
    with open(log_path, "ab") as log:
        daemon = subprocess.Popen([_bin("dagster-daemon"), "run", "-w", str(ROOT / "workspace.yaml")], cwd=ROOT, env=environment,
                                  stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield daemon
    finally:
        if daemon.poll() is None:
            os.killpg(daemon.pid, signal.SIGTERM)
            try:
                daemon.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(daemon.pid, signal.SIGKILL)
                daemon.wait()


def submit(job: str, run_config: dict | None = None, env: dict[str, str] | None = None) -> None:
    """Queue one run of ``job`` on the instance ($DAGSTER_HOME); the daemon dequeues and launches it."""
    environment = {**os.environ, **(env or {})}
    environment["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), environment.get("PYTHONPATH", "")) if p)
    subprocess.run([_bin("dagster"), "job", "launch", "-w", str(ROOT / "workspace.yaml"), "-j", job,
                    "--config-json", json.dumps(run_config or {})], cwd=ROOT, env=environment, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def materialized_at(instance: DagsterInstance, key: str) -> float | None:
    event = instance.get_latest_materialization_event(AssetKey(key))
    return event.timestamp if event is not None else None


def caught_up(instance: DagsterInstance, key: str, upstream: list[str]) -> bool:
    """``key`` was materialized after every one of ``upstream`` (all of which exist)."""
    mine = materialized_at(instance, key)
    theirs = [materialized_at(instance, u) for u in upstream]
    return mine is not None and all(t is not None and t <= mine for t in theirs)


def active_runs(instance: DagsterInstance) -> int:
    return len(instance.get_run_records(RunsFilter(statuses=ACTIVE)))


def failed_runs(instance: DagsterInstance, since: float) -> list[str]:
    records = instance.get_run_records(RunsFilter(statuses=[DagsterRunStatus.FAILURE]))
    return [f"{r.dagster_run.job_name} {r.dagster_run.run_id[:8]}" for r in records
            if (r.end_time or r.create_timestamp.timestamp()) >= since]


class WaitTimeout(TimeoutError):
    pass


def wait_for(what: str, done: Callable[[], bool], timeout_s: float, daemon: subprocess.Popen | None = None,
             instance: DagsterInstance | None = None, since: float | None = None, poll_s: float = 3.0) -> float:
    """Poll ``done`` until true; fail fast if the daemon died or a run failed. Returns seconds waited."""
    started = time.monotonic()
    while not done():
        if daemon is not None and daemon.poll() is not None:
            raise RuntimeError(f"the Dagster daemon exited (code {daemon.returncode}) while waiting for {what}")
        if instance is not None and since is not None and (failed := failed_runs(instance, since)):
            raise RuntimeError(f"run(s) failed while waiting for {what}: {', '.join(failed)} (see `incidents` and `make ui`)")
        if time.monotonic() - started > timeout_s:
            raise WaitTimeout(f"{what}: not done after {timeout_s:.0f}s")
        time.sleep(poll_s)
    return time.monotonic() - started
