"""A real multi-process Spark standalone cluster on 127.0.0.1 (a master and two one-core workers,
each its own JVM, started with ``spark-class``) runs ingest, curation and packing through Dagster and
writes exactly what ``local[*]`` writes: the same rows, shards, tokenizer and manifest ids."""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pyspark
import pytest
from dagster import DagsterInstance

from tests.conftest import ROOT
from tests.flows import land_corpus, lake_digest, materialize_flow

SPARK_CLASS = Path(pyspark.__file__).parent / "bin" / "spark-class"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def standalone_cluster(work: Path, workers: int = 2):
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_HOME": str(SPARK_CLASS.parents[1]), "PYSPARK_PYTHON": sys.executable}
    port, ui = _free_port(), _free_port()
    work.mkdir(parents=True, exist_ok=True)
    procs = [subprocess.Popen([str(SPARK_CLASS), "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port),
                               "--webui-port", str(ui)], env=env, stdout=(work / "master.log").open("wb"), stderr=subprocess.STDOUT)]
    try:
        for k in range(workers):
            (work / f"worker-{k}").mkdir(parents=True)
            procs.append(subprocess.Popen(
                [str(SPARK_CLASS), "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1", "--cores", "1", "--memory", "1g",
                 "--webui-port", str(_free_port()), "--work-dir", str(work / f"worker-{k}"), f"spark://127.0.0.1:{port}"],
                env=env, stdout=(work / f"worker-{k}.log").open("wb"), stderr=subprocess.STDOUT))
        deadline = time.monotonic() + 180
        while True:
            try:
                state = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{ui}/json", timeout=5).read())
                if state.get("aliveworkers", 0) == workers:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, f"the cluster did not come up: {(work / 'master.log').read_text()[-2000:]}"
            time.sleep(1)
        yield f"spark://127.0.0.1:{port}"
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()


@pytest.mark.slow
def test_a_standalone_cluster_writes_what_local_writes(settings, lake, tmp_path):
    land_corpus(settings.landing.path)
    out = tmp_path / "cluster.json"
    with standalone_cluster(tmp_path / "cluster") as master:
        run = subprocess.run([sys.executable, "-m", "tests.spark_jobs.cluster_driver", master, settings.lake.root,
                              str(settings.landing.path), str(out)], cwd=ROOT, stdin=subprocess.DEVNULL, capture_output=True, timeout=1500)
    assert run.returncode == 0, run.stdout.decode()[-3000:] + run.stderr.decode()[-3000:]
    cluster = json.loads(out.read_text())
    assert cluster["executors"] == 2  # two executor JVMs, one per worker, beside the driver's

    shutil.rmtree(settings.lake.root)  # the same paths again, so rows that name files compare equal
    meta = materialize_flow(settings, DagsterInstance.ephemeral())
    local = lake_digest(lake)
    assert {t: d for t, d in cluster["tables"].items() if d != local["tables"][t]} == {}
    assert cluster["shards"] == local["shards"] and cluster["tokenizers"] == local["tokenizers"]
    assert (cluster["manifest_id"], cluster["tokenizer_id"]) == (meta["manifests"]["manifest_id"], meta["tokenizer"]["tokenizer_id"])
