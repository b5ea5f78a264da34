"""A Dagster driver on a Spark standalone cluster: ``python -m tests.spark_jobs.cluster_driver
MASTER LAKE LANDING OUT`` materializes ingest → manifests there and writes the lake's digest to OUT."""

import json
import sys
from pathlib import Path

from dagster import DagsterInstance

from ledgers.lake import Lake
from schemas.settings import IrmSettings, LakeSettings, LandingSettings, SparkSettings
from spark_jobs.session import get_spark
import tests.conftest  # noqa: F401  (tests.lakes imports it back: load it first)
from tests.flows import lake_digest, materialize_flow

ROOT = Path(__file__).resolve().parents[2]


def main(master: str, lake: str, landing: str, out: str) -> None:
    spark = SparkSettings(master=master, driver_memory="1g", shuffle_partitions=2, jars_dir=str(ROOT / "jars" / "lib"), conf={
        "spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1", "spark.pyspark.python": sys.executable,
        "spark.executor.cores": "1", "spark.executor.memory": "1g", "spark.cores.max": "2"})
    settings = IrmSettings(spark=spark, lake=LakeSettings(root=lake), landing=LandingSettings(root=landing, settle_seconds=0, batch_rows=3))
    session = get_spark(spark)
    meta = materialize_flow(settings, DagsterInstance.ephemeral())
    executors = session.sparkContext._jsc.sc().getExecutorMemoryStatus().size() - 1  # less the driver
    digest = lake_digest(Lake(settings.lake, session))
    Path(out).write_text(json.dumps({"executors": executors, "manifest_id": meta["manifests"]["manifest_id"],
                                     "tokenizer_id": meta["tokenizer"]["tokenizer_id"], **digest}))


if __name__ == "__main__":
    main(*sys.argv[1:])
