"""The lake: where each table lives, and the one helper through which every Delta write goes.

Every write is conformed to the table's schema (from ``schemas``), committed as one Delta
version, and recorded in the ``lineage`` table as ``(table, version, operation, rows, run_id)``,
so any materialization can say exactly which table versions it produced and read.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import asdict, dataclass
from typing import Literal

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


class LakeError(RuntimeError):
    pass


@dataclass(frozen=True)
class WriteResult:
    table: str
    version: int
    operation: str
    rows: int

    def metadata(self) -> dict[str, object]:
        return asdict(self)


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

    def __init__(self, settings: LakeSettings, spark: SparkSession):
        self.settings = settings
        self.spark = spark
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
        if not self.exists(table):
            return self.spark.createDataFrame([], self.schema(table))
        reader = self.spark.read.format("delta")
        if version is not None:
            reader = reader.option("versionAsOf", version)
        return reader.load(self.path(table))

    def version(self, table: str) -> int | None:
        if not self.exists(table):
            return None
        return DeltaTable.forPath(self.spark, self.path(table)).history(1).collect()[0]["version"]

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
        before = self.ensure(table).history(1).collect()[0]["version"]
        writer = self.conform(df, table).write.format("delta").mode(mode)
        if replace_where is not None:
            if mode != "overwrite":
                raise LakeError("replace_where needs mode='overwrite'")
            writer = writer.option("replaceWhere", replace_where)
        writer.save(self.path(table))
        return self._committed(table, before, run_id, partition)

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
        target = self.ensure(table)
        before = target.history(1).collect()[0]["version"]
        condition = " AND ".join(f"t.`{k}` <=> s.`{k}`" for k in keys)
        builder = target.alias("t").merge(self.conform(df, table).alias("s"), condition)
        if update:
            builder = builder.whenMatchedUpdateAll()
        builder.whenNotMatchedInsertAll().execute()
        return self._committed(table, before, run_id, partition)

    def restore(self, table: str, version: int, *, run_id: str | None = None, partition: str | None = None) -> WriteResult:
        """Make ``version`` the current state again (Delta RESTORE, itself a new commit in lineage):
        how a write whose blocking checks failed is taken back from readers."""
        target = self.ensure(table)
        before = target.history(1).collect()[0]["version"]
        target.restoreToVersion(version)
        return self._committed(table, before, run_id, partition)

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

    def _committed(self, table: str, before: int, run_id: str | None, partition: str | None) -> WriteResult:
        """The commit a write made. Delta makes none for a write that changes nothing (say, an
        empty replaceWhere): that is reported as operation NONE, 0 rows, and not put in lineage."""
        last = DeltaTable.forPath(self.spark, self.path(table)).history(1).collect()[0]
        if last["version"] == before:
            return WriteResult(table, before, "NONE", 0)
        result = WriteResult(table, int(last["version"]), str(last["operation"]), _rows_written(str(last["operation"]), last["operationMetrics"] or {}))
        if table != LINEAGE:
            self._record_lineage(result, run_id, partition)
        log.info("wrote %s v%d (%s, %d rows)", table, result.version, result.operation, result.rows)
        return result

    def _record_lineage(self, result: WriteResult, run_id: str | None, partition: str | None) -> None:
        entry = LineageEntry(
            table=result.table, version=result.version, operation=result.operation, rows=result.rows,
            run_id=run_id, partition=partition, recorded_at=dt.datetime.now(dt.timezone.utc),
        )
        self.write(self.frame(LINEAGE, [entry]), LINEAGE, mode="append")
