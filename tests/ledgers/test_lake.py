import datetime as dt

import pytest

from ledgers.lake import LakeError
from schemas.tables import Reject


def _rejects(lake, rows):
    return lake.frame("rejects", [Reject(**r) for r in rows])


def test_each_write_returns_its_version_and_lands_in_lineage(lake, spark):
    rows = [{"source": "s", "uri": f"u{i}", "stage": "ingest", "reason": "blank-line", "drop_id": "d1"} for i in range(3)]
    first = lake.write(_rejects(lake, rows), "rejects", run_id="r1", partition="d1")
    second = lake.write(_rejects(lake, rows[:1]), "rejects", run_id="r2")
    assert (first.version, first.rows, first.operation) == (1, 3, "WRITE")
    assert (second.version, second.rows) == (2, 1)
    lineage = {(r["table"], r["version"]): r for r in lake.read("lineage").collect()}
    assert lineage[("rejects", 1)]["rows"] == 3 and lineage[("rejects", 1)]["run_id"] == "r1"
    assert lineage[("rejects", 2)]["run_id"] == "r2"
    assert lineage[("rejects", 1)]["recorded_at"] <= dt.datetime.now()
    assert lake.read("rejects", version=1).count() == 3 and lake.read("rejects").count() == 4


def test_replace_where_rewrites_only_that_partition(lake, spark):
    a = [{"source": "s", "uri": "a", "stage": "ingest", "reason": "x", "drop_id": "A"}]
    b = [{"source": "s", "uri": "b", "stage": "ingest", "reason": "x", "drop_id": "B"}]
    lake.write(_rejects(lake, a + b), "rejects")
    lake.write(_rejects(lake, a * 2), "rejects", mode="overwrite", replace_where="drop_id = 'A'")
    assert sorted(r["uri"] for r in lake.read("rejects").collect()) == ["a", "a", "b"]


def test_merge_upserts_on_keys_and_counts_inserted_plus_updated(lake, spark):
    lake.write(_rejects(lake, [{"source": "s", "uri": "a", "stage": "st", "reason": "old"}]), "rejects")
    result = lake.merge(_rejects(lake, [{"source": "s", "uri": "a", "stage": "st", "reason": "new"},
                                         {"source": "s", "uri": "b", "stage": "st", "reason": "new"}]),
                        "rejects", keys=["uri", "stage"])
    assert (result.operation, result.rows) == ("MERGE", 2)
    assert {r["uri"]: r["reason"] for r in lake.read("rejects").collect()} == {"a": "new", "b": "new"}


def test_declared_not_null_columns_are_enforced_by_delta(lake, spark):
    df = spark.createDataFrame([("s", None, "st", "r")], "source string, uri string, stage string, reason string")
    with pytest.raises(Exception, match="(?i)null"):
        lake.write(df.selectExpr("*", "CAST(NULL AS STRING) AS detail", "CAST(NULL AS STRING) AS drop_id"), "rejects")


def test_unknown_tables_and_missing_columns_are_named(lake, spark):
    with pytest.raises(LakeError, match="unknown lake table 'nope'"):
        lake.path("nope")
    with pytest.raises(LakeError, match=r"columns \['stage', 'reason', 'detail', 'drop_id'\] are missing"):
        lake.write(spark.createDataFrame([("s", "u")], "source string, uri string"), "rejects")


def test_a_write_that_changes_nothing_reports_no_commit_and_no_lineage(lake):
    rows = [{"source": "s", "uri": "a", "stage": "ingest", "reason": "x", "drop_id": "A"}]
    lake.write(_rejects(lake, rows), "rejects")
    noop = lake.write(lake.frame("rejects", []), "rejects", mode="overwrite", replace_where="stage = 'none'")
    assert (noop.version, noop.operation, noop.rows) == (1, "NONE", 0)
    assert [r["version"] for r in lake.read("lineage").where("table = 'rejects'").collect()] == [1]
