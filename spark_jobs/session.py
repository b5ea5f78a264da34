"""The Spark session factory: Delta configured, jars local, one session per process.

A JVM start costs seconds and gigabytes, so the process keeps one session and every caller
(assets, tests, the CLI) shares it. Delta's jars come from ``spark.jars_dir`` (filled by
``make setup`` through Maven); Spark never resolves packages from a repository at run time.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from pathlib import Path

from pyspark.sql import SparkSession

from schemas.settings import SparkSettings

log = logging.getLogger(__name__)
_lock = threading.Lock()
_session: SparkSession | None = None
_session_settings: SparkSettings | None = None

DELTA_EXTENSION = "io.delta.sql.DeltaSparkSessionExtension"
DELTA_CATALOG = "org.apache.spark.sql.delta.catalog.DeltaCatalog"
LOG4J_CONF = Path(__file__).with_name("log4j2.properties")


class SparkSetupError(RuntimeError):
    pass


def delta_jars(settings: SparkSettings) -> list[str]:
    """Absolute paths of the jars Spark must load, failing with the fix when they are missing."""
    jars_dir = Path(settings.jars_dir).resolve()
    jars = sorted(str(p) for p in jars_dir.glob("*.jar"))
    if not any(Path(j).name.startswith("delta-spark_") for j in jars):
        raise SparkSetupError(
            f"spark.jars_dir={str(jars_dir)!r} holds no delta-spark jar; run `make setup` "
            "(it resolves jars/pom.xml with Maven) or point IRM_SPARK__JARS_DIR at the jars"
        )
    for extra in settings.extra_jars:
        if not Path(extra).is_file():
            raise SparkSetupError(f"spark.extra_jars: {extra!r} is not a file; remove it or fix the path")
    return jars + [str(Path(j).resolve()) for j in settings.extra_jars]


def session_conf(settings: SparkSettings) -> dict[str, str]:
    conf = {
        "spark.master": settings.master,
        "spark.app.name": settings.app_name,
        "spark.jars": ",".join(delta_jars(settings)),
        "spark.sql.extensions": DELTA_EXTENSION,
        "spark.sql.catalog.spark_catalog": DELTA_CATALOG,
        "spark.driver.memory": settings.driver_memory,
        "spark.sql.shuffle.partitions": str(settings.shuffle_partitions),
        "spark.sql.sources.parallelPartitionDiscovery.parallelism": str(settings.listing_parallelism),
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.ui.enabled": str(settings.ui_enabled).lower(),
        "spark.ui.showConsoleProgress": "false",
        "spark.databricks.delta.snapshotPartitions": "2",
        "spark.driver.extraJavaOptions": f"-Dlog4j.configurationFile={LOG4J_CONF}",
    }
    if settings.master.startswith("local"):
        conf.update({
            "spark.driver.bindAddress": "127.0.0.1",
            "spark.driver.host": "127.0.0.1",
            "spark.pyspark.python": sys.executable,
            "spark.pyspark.driver.python": sys.executable,
        })
    conf.update(settings.conf)
    return conf


def get_spark(settings: SparkSettings | None = None) -> SparkSession:
    """The process's session, created on first use.

    Asking again with different settings is refused rather than silently ignored: Spark cannot
    change its master or jars without a new JVM.
    """
    global _session, _session_settings
    settings = settings or SparkSettings()
    with _lock:
        if _session is not None and _session._sc._jsc is not None:
            if _session_settings is not None and _session_settings != settings:
                raise SparkSetupError(
                    "a Spark session with other settings already runs in this process "
                    f"(master {_session_settings.master!r}); call stop_spark() first"
                )
            return _session
        if settings.master.startswith("local"):
            os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        builder = SparkSession.builder
        for key, value in session_conf(settings).items():
            builder = builder.config(key, value)
        _session = builder.getOrCreate()
        _session.sparkContext.setLogLevel(settings.log_level)
        _session_settings = settings
        log.info("spark session %s on %s", _session.version, settings.master)
        return _session


def stop_spark() -> None:
    global _session, _session_settings
    with _lock:
        if _session is not None:
            _session.stop()
        _session, _session_settings = None, None
