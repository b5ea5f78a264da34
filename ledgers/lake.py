"""The lake: where each table lives, and the one helper through which every Delta write goes.

Every write is conformed to the table's schema (from ``schemas``), committed as one Delta
version, and recorded in the ``lineage`` table as ``(table, version, operation, rows, run_id)``,
so any materialization can say exactly which table versions it produced and read.

Concurrent writers: each commit carries a unique token in its ``userMetadata``, and the version
recorded is the one whose commit holds that token (never "the latest version", which another
writer may own). A write that loses a conflict (Delta's optimistic concurrency) is redone on the
new snapshot, a bounded number of times, and then fails naming the table.

A writer killed between its Delta commit and its lineage row leaves a commit lineage lacks. The
token also names the run and partition, so the next write of that table (or the audit) records the
missing row from the table's history: after recovery no commit is without its lineage row.

A lake made with ``defer_lineage`` (what the assets use) holds its lineage rows back and appends
them in one commit when asked (``flush_lineage``: a stage's publication step does), when this
process reads lineage or exits, or once the oldest has waited half the recovery grace; a stage of
a dozen writes then pays for one lineage commit instead of a dozen. Rows held back and lost with
a killed process are recovered like a killed writer's.
"""

from __future__ import annotations

import atexit
import datetime as dt
import json
import logging
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Callable, Literal

from delta.tables import DeltaTable
from pydantic import BaseModel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from schemas.settings import LakeSettings
from schemas.tables import TABLES, LineageEntry, TableSpec
from schemas.types import spark_schema

log = logging.getLogger(__name__)

LINEAGE = "lineage"
USER_METADATA = "spark.databricks.delta.commitInfo.userMetadata"
CONFLICTS = ("DELTA_CONCURRENT", "DELTA_METADATA_CHANGED", "DELTA_PROTOCOL_CHANGED", "ConcurrentAppendException",
             "ConcurrentDeleteReadException", "ConcurrentDeleteDeleteException", "ConcurrentTransactionException",
             "MetadataChangedException", "ProtocolChangedException", "ConcurrentWriteException")
_session_conf = threading.Lock()
_lineage_known: dict[str, int] = {}  # table location -> newest version known to be in lineage (this process)
_lineage_snapshot: dict[str, dict[str, set[int]]] = {}  # lineage location -> table -> versions it held when first read
_deferred: dict[str, tuple[float, list[LineageEntry], "Lake"]] = {}  # lineage location -> (oldest row's time, rows, writer)
_deferred_lock = threading.Lock()
_deferred_at_exit: list[bool] = []  # non-empty once the exit flush is registered


class LakeError(RuntimeError):
    pass


def is_commit_conflict(error: BaseException) -> bool:
    text = f"{type(error).__name__}: {error}"
    return any(c in text for c in CONFLICTS)


@dataclass(frozen=True)
class WriteResult:
    table: str
    version: int
    operation: str
    rows: int

    def metadata(self) -> dict[str, object]:
        return asdict(self)


def commit_token(run_id: str | None, partition: str | None) -> str:
    """The ``userMetadata`` of one commit: unique, and naming the run and partition it belongs to."""
    return "irm:" + json.dumps({"commit": uuid.uuid4().hex, "run_id": run_id, "partition": partition}, separators=(",", ":"))


def token_fields(user_metadata: str | None) -> dict | None:
    """The run and partition a commit's token names; None for a commit not made through the lake."""
    if not user_metadata or not user_metadata.startswith("irm:{"):
        return None
    try:
        return json.loads(user_metadata[4:])
    except ValueError:
        return None


def _rows_written(operation: str, metrics: dict[str, str]) -> int:
    def m(key: str) -> int:
        return int(metrics.get(key, 0) or 0)

    if operation == "MERGE":
        return m("numTargetRowsInserted") + m("numTargetRowsUpdated")
    if operation == "DELETE":
        return m("numDeletedRows")
    return m("numOutputRows")


class Lake:
    """Table locations under one root (a folder or an object-store URI) and Delta I/O on Spark."""

    def __init__(self, settings: LakeSettings, spark: SparkSession, defer_lineage: bool = False):
        self.settings = settings
        self.spark = spark
        self.defer_lineage = defer_lineage
        self._ensured: set[str] = set()

    def spec(self, table: str) -> TableSpec:
        try:
            return TABLES[table]
        except KeyError:
            raise LakeError(f"unknown lake table {table!r}; known tables: {sorted(TABLES)} (add a model to schemas/tables.py)") from None

    def schema(self, table: str) -> StructType:
        return spark_schema(self.spec(table).model)

    def frame(self, table: str, rows: list[BaseModel]) -> DataFrame:
        """A small DataFrame of validated rows (ledger entries) in the table's schema."""
        return self.spark.createDataFrame([r.model_dump() for r in rows], self.schema(table))

    def path(self, table: str) -> str:
        self.spec(table)
        return self.settings.table_uri(table, for_spark=True)

    def exists(self, table: str) -> bool:
        return DeltaTable.isDeltaTable(self.spark, self.path(table))

    def ensure(self, table: str) -> DeltaTable:
        """Create the table empty with its declared schema (NOT NULL constraints included).

        Deletion vectors stay off so that every reader (delta-rs behind DuckDB, pyarrow datasets)
        can scan any version without Spark. Each table is ensured once per ``Lake``: the check
        reads the Delta log, and every write would otherwise pay for it.
        """
        if table not in self._ensured:
            (DeltaTable.createIfNotExists(self.spark)
             .location(self.path(table))
             .addColumns(self.schema(table))
             .comment(self.spec(table).description)
             .property("delta.enableDeletionVectors", "false")
             .execute())
            self._ensured.add(table)
        return DeltaTable.forPath(self.spark, self.path(table))

    def read(self, table: str, version: int | None = None) -> DataFrame:
        if table == LINEAGE:
            self.flush_lineage()
        if not self.exists(table):
            return self.spark.createDataFrame([], self.schema(table))
        reader = self.spark.read.format("delta")
        if version is not None:
            reader = reader.option("versionAsOf", version)
        return reader.load(self.path(table))

    def version(self, table: str) -> int | None:
        if not self.exists(table):
            return None
        return self._latest(table)

    def conform(self, df: DataFrame, table: str) -> DataFrame:
        schema = self.schema(table)
        missing = [f.name for f in schema if f.name not in df.columns]
        if missing:
            raise LakeError(f"cannot write {table}: columns {missing} are missing (schema: schemas/tables.py {self.spec(table).model.__name__})")
        return df.select([F.col(f.name).cast(f.dataType).alias(f.name) for f in schema])

    def write(
        self,
        df: DataFrame,
        table: str,
        *,
        mode: Literal["append", "overwrite"] = "append",
        replace_where: str | None = None,
        run_id: str | None = None,
        partition: str | None = None,
    ) -> WriteResult:
        """Append or overwrite (all rows, or only those matching ``replace_where``) as one commit."""
        if replace_where is not None and mode != "overwrite":
            raise LakeError("replace_where needs mode='overwrite'")
        self.ensure(table)
        frame = self.conform(df, table)

        def commit(token: str) -> None:
            writer = frame.write.format("delta").mode(mode).option("userMetadata", token)
            if replace_where is not None:
                writer = writer.option("replaceWhere", replace_where)
            writer.save(self.path(table))
        return self._commit(table, commit, run_id, partition)

    def merge(
        self,
        df: DataFrame,
        table: str,
        keys: list[str],
        *,
        update: bool = True,
        run_id: str | None = None,
        partition: str | None = None,
    ) -> WriteResult:
        """Upsert on ``keys``: insert new rows, and update matched ones unless ``update=False``."""
        self.ensure(table)
        source = self.conform(df, table)
        condition = " AND ".join(f"t.`{k}` <=> s.`{k}`" for k in keys)

        def commit(token: str) -> None:
            builder = DeltaTable.forPath(self.spark, self.path(table)).alias("t").merge(source.alias("s"), condition)
            if update:
                builder = builder.whenMatchedUpdateAll()
            with self._user_metadata(token):
                builder.whenNotMatchedInsertAll().execute()
        return self._commit(table, commit, run_id, partition)

    def operate(self, table: str, operation: Callable[[DeltaTable], object], *, run_id: str | None = None,
                partition: str | None = None) -> WriteResult:
        """One Delta operation that commits by itself (``delete``, a ``merge`` builder's ``execute``),
        with the same token, conflict redo and lineage as ``write``."""
        self.ensure(table)

        def commit(token: str) -> None:
            with self._user_metadata(token):
                operation(DeltaTable.forPath(self.spark, self.path(table)))
        return self._commit(table, commit, run_id, partition)

    def delete(self, table: str, condition, *, run_id: str | None = None) -> WriteResult:
        return self.operate(table, lambda t: t.delete(condition), run_id=run_id)

    def restore(self, table: str, version: int, *, run_id: str | None = None, partition: str | None = None) -> WriteResult:
        """Make ``version`` the current state again (Delta RESTORE, itself a new commit in lineage):
        how a write whose blocking checks failed is taken back from readers."""
        return self.operate(table, lambda t: t.restoreToVersion(version), run_id=run_id, partition=partition)

    def lineage_versions(self) -> dict[str, set[int]]:
        """Every table's versions lineage holds, in one read."""
        out: dict[str, set[int]] = {}
        for r in self.read(LINEAGE).select("table", "version").distinct().collect():
            out.setdefault(r["table"], set()).add(int(r["version"]))
        return out

    def lineage_gaps(self, table: str, grace_seconds: float | None = None, recorded: set[int] | None = None) -> tuple[list, list[int]]:
        """(history rows of commits made through the lake that lineage lacks and that are older than
        the grace, lineage versions the table's history does not hold). Versions older than the
        oldest history entry (log cleanup) cannot be checked and are left out."""
        if table == LINEAGE or not self.exists(table):
            return [], []
        grace = self.settings.lineage_recovery_grace_seconds if grace_seconds is None else grace_seconds
        history = DeltaTable.forPath(self.spark, self.path(table)).history().collect()
        versions = {int(r["version"]) for r in history}
        if recorded is None:
            recorded = {int(r["version"]) for r in self.read(LINEAGE).where(F.col("table") == table).select("version").distinct().collect()}
        now = time.time()
        missing = sorted((r for r in history if int(r["version"]) not in recorded and token_fields(r["userMetadata"]) is not None
                          and now - r["timestamp"].timestamp() >= grace), key=lambda r: r["version"])
        stray = sorted(v for v in recorded - versions if v >= min(versions))
        return missing, stray

    def recover_lineage(self, table: str, grace_seconds: float | None = None, recorded: set[int] | None = None) -> list[WriteResult]:
        """Record the lineage rows a killed writer left out, with the run and partition its token
        names. Running it again records nothing."""
        missing, _ = self.lineage_gaps(table, grace_seconds, recorded)
        results = []
        for row in missing:
            fields = token_fields(row["userMetadata"]) or {}
            result = WriteResult(table, int(row["version"]), str(row["operation"]),
                                 _rows_written(str(row["operation"]), row["operationMetrics"] or {}))
            log.warning("%s v%d was committed by run %s without its lineage row (the writer died); recording it now",
                        table, result.version, fields.get("run_id"))
            self._record_lineage(result, fields.get("run_id"), fields.get("partition"))
            results.append(result)
        return results

    def _recover_before_writing(self, table: str, head) -> None:
        """Once per table and process: if the newest commit (``head``) is the lake's own and lineage
        lacks it, a writer died in between; record what it left out before adding to it."""
        version, location = int(head["version"]), self.path(table)
        if table == LINEAGE or _lineage_known.get(location, -1) >= version or token_fields(head["userMetadata"]) is None:
            return
        listed = version in self._listed_once().get(table, ()) or \
            self.read(LINEAGE).where((F.col("table") == table) & (F.col("version") == version)).limit(1).count()
        if listed or self.recover_lineage(table):
            _lineage_known[location] = version

    def _listed_once(self) -> dict[str, set[int]]:
        """The versions lineage held when this process first asked, read once for every table:
        a version listed then is listed for good (lineage only grows). A head not in it is asked
        of lineage itself, since another process may have recorded it since."""
        location = self.path(LINEAGE)
        if location not in _lineage_snapshot:
            _lineage_snapshot[location] = self.lineage_versions()
        return _lineage_snapshot[location]

    def committed(self, table: str, before: int, run_id: str | None = None) -> list[WriteResult]:
        """Record in lineage every commit after ``before`` made by table operations outside
        ``write``/``merge`` (SET TBLPROPERTIES, OPTIMIZE, VACUUM START/END)."""
        rows = (DeltaTable.forPath(self.spark, self.path(table)).history().where(F.col("version") > before)
                .orderBy("version").collect())
        results = [WriteResult(table, int(r["version"]), str(r["operation"]), _rows_written(str(r["operation"]), r["operationMetrics"] or {}))
                   for r in rows]
        if table != LINEAGE:
            for result in results:
                self._record_lineage(result, run_id, None)
        return results

    @contextmanager
    def _user_metadata(self, token: str):
        """Operations without a writer option (MERGE, RESTORE) take the commit's userMetadata from
        the session conf; the lock keeps two threads of this process from swapping tokens."""
        with _session_conf:
            self.spark.conf.set(USER_METADATA, token)
            try:
                yield
            finally:
                self.spark.conf.unset(USER_METADATA)

    def _commit(self, table: str, commit, run_id: str | None, partition: str | None) -> WriteResult:
        """Run ``commit(token)``, redoing it when a concurrent writer won the conflict, and return
        the commit that carries the token. Delta makes no commit for a write that changes nothing
        (say, an empty replaceWhere): that is reported as operation NONE, 0 rows, not in lineage."""
        retries, wait = self.settings.commit_retries, self.settings.commit_backoff_seconds
        for attempt in range(retries + 1):
            token = commit_token(run_id, partition)
            head = self._head(table)
            before = int(head["version"])
            if attempt == 0:
                self._recover_before_writing(table, head)
            try:
                commit(token)
                break
            except Exception as e:
                if not is_commit_conflict(e):
                    raise
                if attempt == retries:
                    raise LakeError(f"{table}: the write lost {retries + 1} commit conflicts to concurrent writers; "
                                    "raise lake.commit_retries (IRM_LAKE__COMMIT_RETRIES) or serialise the writers") from e
                log.warning("%s: commit conflict with a concurrent writer (%s); redoing the write (%d/%d)",
                            table, type(e).__name__, attempt + 1, retries)
                time.sleep(wait * 2 ** attempt)
        last = self._own_commit(table, before, token)
        if last is None:
            return WriteResult(table, self._latest(table), "NONE", 0)
        result = WriteResult(table, int(last["version"]), str(last["operation"]), _rows_written(str(last["operation"]), last["operationMetrics"] or {}))
        if table != LINEAGE:
            self._record_lineage(result, run_id, partition)
            _lineage_known[self.path(table)] = result.version
        log.info("wrote %s v%d (%s, %d rows)", table, result.version, result.operation, result.rows)
        return result

    def _own_commit(self, table: str, before: int, token: str):
        """The history row of the commit carrying ``token``: the latest one unless another writer
        committed since, then among the commits after ``before`` (never the whole log)."""
        latest = self._head(table)
        if latest["userMetadata"] == token:
            return latest
        if latest["version"] <= before:
            return None
        target = DeltaTable.forPath(self.spark, self.path(table))
        mine = [r for r in target.history(int(latest["version"]) - before).collect() if r["userMetadata"] == token]
        return mine[0] if mine else None

    def _head(self, table: str) -> dict:
        """The newest commit's version, operation, metrics and userMetadata. Every write asks twice
        (for its table and for lineage), so this reads the snapshot's version and that one commit
        file through the table's own file system instead of building ``history(1)`` as a
        DataFrame, which costs a Spark job (several times slower on every write)."""
        log = self._delta_log(table)
        version = self._snapshot_version(log)
        jvm = self.spark._jvm
        commit_file = jvm.org.apache.hadoop.fs.Path(log.logPath(), f"{version:020d}.json")
        stream = commit_file.getFileSystem(self.spark._jsc.hadoopConfiguration()).open(commit_file)
        reader = jvm.java.io.BufferedReader(jvm.java.io.InputStreamReader(stream, "UTF-8"))
        try:
            while (line := reader.readLine()) is not None:
                if line.startswith('{"commitInfo"'):
                    info = json.loads(line)["commitInfo"]
                    return {"version": version, "operation": info.get("operation"),
                            "operationMetrics": info.get("operationMetrics") or {}, "userMetadata": info.get("userMetadata")}
        finally:
            reader.close()
        row = DeltaTable.forPath(self.spark, self.path(table)).history(1).collect()[0]
        return {k: row[k] for k in ("version", "operation", "operationMetrics", "userMetadata")}

    def _delta_log(self, table: str):
        return DeltaTable.forPath(self.spark, self.path(table))._jdt.deltaLog()

    def _snapshot_version(self, log) -> int:
        jvm = self.spark._jvm
        return int(log.update(False, jvm.scala.Option.empty(), jvm.scala.Option.empty()).version())

    def _latest(self, table: str) -> int:
        return self._snapshot_version(self._delta_log(table))

    def _record_lineage(self, result: WriteResult, run_id: str | None, partition: str | None) -> None:
        entry = LineageEntry(
            table=result.table, version=result.version, operation=result.operation, rows=result.rows,
            run_id=run_id, partition=partition, recorded_at=dt.datetime.now(dt.timezone.utc),
        )
        if not self.defer_lineage:
            self._append_lineage([entry])
            return
        location = self.path(LINEAGE)
        with _deferred_lock:
            if not _deferred_at_exit:
                atexit.register(_flush_every_lake)
                _deferred_at_exit.append(True)
            since, rows, _ = _deferred.get(location, (time.monotonic(), [], self))
            _deferred[location] = (since, [*rows, entry], self)
        if time.monotonic() - since >= self.settings.lineage_recovery_grace_seconds / 2:
            self.flush_lineage()

    def flush_lineage(self) -> None:
        """Append every lineage row this process holds back for this lake, in one commit."""
        with _deferred_lock:
            _, rows, _ = _deferred.pop(self.path(LINEAGE), (0.0, [], self))
        if rows:
            self._append_lineage(rows)

    def _append_lineage(self, rows: list[LineageEntry]) -> None:
        self.write(self.frame(LINEAGE, rows), LINEAGE, mode="append")


def flush_held_lineage(settings: LakeSettings) -> None:
    """Write the lineage rows this process holds back for the lake at ``settings``: readers that
    are not a ``Lake`` (DuckDB, delta-rs) call it first."""
    held = _deferred.get(settings.table_uri(LINEAGE, for_spark=True))
    if held is not None:
        held[2].flush_lineage()


def _flush_every_lake() -> None:
    """At exit, the lineage rows still held back (registered with the first row held back)."""
    for _, _, lake in list(_deferred.values()):
        try:
            lake.flush_lineage()
        except Exception as e:  # the JVM may already be gone: the next write or audit recovers the rows
            log.warning("could not record held-back lineage rows at exit (%s); they are recovered from the commits' tokens", e)
