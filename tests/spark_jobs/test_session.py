import re
from pathlib import Path

import pyspark
import pytest
from delta.tables import DeltaTable
from pyspark.sql import functions as F

from schemas.settings import SparkSettings
from spark_jobs.session import SparkSetupError, delta_jars, get_spark
from tests.conftest import TEST_SPARK


def _artifact(jar: str) -> str:
    return re.sub(r"-\d[\w.\-]*\.jar$", "", Path(jar).name)


def test_delta_jars_do_not_duplicate_artifacts_pyspark_ships():
    shipped = {_artifact(j.name) for j in (Path(pyspark.__file__).parent / "jars").glob("*.jar")}
    ours = {_artifact(j) for j in delta_jars(TEST_SPARK)}
    assert "delta-spark_4.2_2.13" in ours and "delta-storage" in ours
    assert not ours & shipped


def test_the_session_is_local_with_delta_and_shared(spark):
    assert spark.conf.get("spark.sql.extensions") == "io.delta.sql.DeltaSparkSessionExtension"
    assert spark.sparkContext.master.startswith("local")
    assert get_spark(TEST_SPARK) is spark
    with pytest.raises(SparkSetupError, match="other settings"):
        get_spark(TEST_SPARK.model_copy(update={"driver_memory": "1g"}))


def test_missing_jars_fail_with_the_setup_command(tmp_path):
    with pytest.raises(SparkSetupError, match="make setup"):
        delta_jars(SparkSettings(jars_dir=str(tmp_path)))


def test_delta_write_read_merge_and_time_travel(spark, tmp_path):
    path = str(tmp_path / "t")
    spark.createDataFrame([(1, "a"), (2, "b")], "id long, v string").write.format("delta").save(path)
    updates = spark.createDataFrame([(2, "B"), (3, "c")], "id long, v string")
    (DeltaTable.forPath(spark, path).alias("t").merge(updates.alias("s"), "t.id = s.id")
     .whenMatchedUpdateAll().whenNotMatchedInsertAll().execute())
    now = {r["id"]: r["v"] for r in spark.read.format("delta").load(path).collect()}
    assert now == {1: "a", 2: "B", 3: "c"}
    before = {r["id"]: r["v"] for r in spark.read.format("delta").option("versionAsOf", 0).load(path).collect()}
    assert before == {1: "a", 2: "b"}
    history = DeltaTable.forPath(spark, path).history().orderBy("version").select("operation").collect()
    assert [h["operation"] for h in history] == ["WRITE", "MERGE"]
    assert spark.read.format("delta").load(path).where(F.col("id") == 3).count() == 1
