import datetime as dt

import pytest

from ledgers.lake import Lake, LakeError
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


def test_a_deferring_lake_records_a_steps_lineage_in_one_commit_before_anyone_in_the_process_reads_it(lake, spark):
    deferring = Lake(lake.settings, spark, defer_lineage=True)
    rows = [{"source": "s", "uri": f"u{i}", "stage": "ingest", "reason": "blank-line", "drop_id": "d1"} for i in range(2)]
    writes = [deferring.write(_rejects(lake, rows[:1]), "rejects", run_id="r1"),
              deferring.merge(_rejects(lake, rows), "rejects", keys=["uri"], run_id="r1"),
              deferring.delete("rejects", "uri = 'u0'", run_id="r1")]
    assert not lake.exists("lineage")  # held back: no lineage commit yet
    lineage = {(r["table"], r["version"]): r["operation"] for r in lake.read("lineage").collect()}  # a read flushes first
    assert lineage == {("rejects", w.version): w.operation for w in writes} and len(lineage) == 3
    assert lake.version("lineage") == 1 and [w.operation for w in writes] == ["WRITE", "MERGE", "DELETE"]  # v0 created it
    deferring.flush_lineage()
    assert lake.version("lineage") == 1  # nothing left to flush

    impatient = Lake(lake.settings.model_copy(update={"lineage_recovery_grace_seconds": 0}), spark, defer_lineage=True)
    impatient.write(_rejects(lake, rows[:1]), "rejects", run_id="r2")
    assert lake.version("lineage") == 2  # the oldest row held back has waited half the grace: written at once


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


def test_concurrent_writers_lose_no_update_and_each_records_its_own_commit(lake, spark):
    """Merges and partition overwrites from several threads at once: Delta's conflicts are redone,
    every row lands, and each result's version is the commit its own token marks."""
    import threading

    from delta.tables import DeltaTable

    lake.write(_rejects(lake, [{"source": "s", "uri": "seed", "stage": "st", "reason": "x", "drop_id": "seed"}]), "rejects")
    barrier, results, errors = threading.Barrier(4), {}, []

    def writer(i: int) -> None:
        rows = [{"source": "s", "uri": f"w{i}-{j}", "stage": "st", "reason": "x", "drop_id": f"w{i}"} for j in range(3)]
        try:
            barrier.wait()
            if i % 2:
                results[i] = lake.merge(_rejects(lake, rows), "rejects", keys=["uri", "stage"], run_id=f"run-{i}")
            else:
                results[i] = lake.write(_rejects(lake, rows), "rejects", mode="overwrite", replace_where=f"drop_id = 'w{i}'",
                                        run_id=f"run-{i}")
        except Exception as e:  # noqa: BLE001  (reported below)
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert sorted(r["uri"] for r in lake.read("rejects").collect()) == sorted(["seed"] + [f"w{i}-{j}" for i in range(4) for j in range(3)])
    versions = [r.version for r in results.values()]
    assert len(set(versions)) == 4 and all(r.rows == 3 for r in results.values())
    history = {r["version"]: r for r in DeltaTable.forPath(spark, lake.path("rejects")).history().collect()}
    lineage = {r["version"]: r["run_id"] for r in lake.read("lineage").where("table = 'rejects'").collect()}
    for i, result in results.items():
        assert history[result.version]["userMetadata"].startswith("irm:") and lineage[result.version] == f"run-{i}"
    assert sorted(lineage) == sorted(v for v in history if v > 0), "every commit but the table's creation is in lineage"


def test_a_write_that_keeps_losing_conflicts_fails_naming_the_table_and_the_setting(lake):
    from ledgers.lake import is_commit_conflict

    lake.write(_rejects(lake, [{"source": "s", "uri": "a", "stage": "st", "reason": "x"}]), "rejects")
    lake.settings = lake.settings.model_copy(update={"commit_retries": 1, "commit_backoff_seconds": 0.0})
    attempts = []

    def conflicting_delete(table):
        attempts.append(1)
        lake.write(_rejects(lake, [{"source": "s", "uri": f"other{len(attempts)}", "stage": "st", "reason": "x"}]), "rejects")
        raise RuntimeError("[DELTA_CONCURRENT_APPEND] ConcurrentAppendException: files were added by a concurrent update")

    with pytest.raises(LakeError, match=r"rejects: the write lost 2 commit conflicts.*IRM_LAKE__COMMIT_RETRIES"):
        lake.operate("rejects", conflicting_delete)
    assert len(attempts) == 2 and is_commit_conflict(RuntimeError("DELTA_CONCURRENT_DELETE_READ"))
    assert not is_commit_conflict(RuntimeError("DELTA_MISSING_COLUMN"))
