"""Ingest one landing drop into ``raw_documents``, ``rejects`` and the ``drops`` ledger.

Rerunning a drop replaces exactly that drop's rows (Delta ``replaceWhere`` on ``drop_id``), so
a retried or re-materialized partition never double counts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from pyspark import StorageLevel
from pyspark.sql import functions as F

from ledgers.lake import Lake, WriteResult
from schemas.landing import Drop
from schemas.settings import LandingSettings
from schemas.tables import IngestedDrop
from spark_jobs.ingest import STAGE, parse_drop, split_parsed


@dataclass
class IngestReport:
    drop: Drop
    records_seen: int
    documents: int
    rejects_by_reason: dict[str, int]
    writes: list[WriteResult] = field(default_factory=list)

    @property
    def rejects(self) -> int:
        return sum(self.rejects_by_reason.values())


@dataclass(frozen=True)
class Conservation:
    """A drop's accounting as the lake holds it. It holds only for a drop the ledger knows as
    ingested whose every file produced a row, and whose rows add up to the records seen: a
    missing ledger row or a silent file is a failure, never ``0 == 0 + 0``."""

    drop_id: str
    records_seen: int
    documents: int
    rejects: int
    status: str | None = None
    files: int = 0
    files_accounted: int = 0

    @property
    def holds(self) -> bool:
        return (self.status == "ingested" and self.files_accounted == self.files
                and self.records_seen == self.documents + self.rejects)


class IngestError(RuntimeError):
    pass


def ingest_drop(lake: Lake, drop: Drop, settings: LandingSettings, run_id: str | None = None) -> IngestReport:
    """Parse and write one drop. Whatever stops it, the ``drops`` ledger gets a row: a failed
    run leaves ``status=failed`` with the error (and the drop's earlier rows, if any, untouched)
    before the error is raised, so the run fails visibly and can be retried."""
    try:
        report = _ingest(lake, drop, settings, run_id)
    except Exception as err:
        record_failed_drop(lake, drop.drop_id, err, drop=drop, run_id=run_id)
        raise IngestError(f"drop {drop.drop_id}: ingest stopped ({type(err).__name__}: {str(err)[:300]}); "
                          "the drops ledger says failed; re-execute the partition to retry") from err
    return report


def _ingest(lake: Lake, drop: Drop, settings: LandingSettings, run_id: str | None) -> IngestReport:
    where = f"drop_id = '{drop.drop_id}'"
    parsed = parse_drop(lake.spark, drop, settings).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        totals = parsed.agg(F.count("*").alias("records"), F.countDistinct("file_no").alias("files")).collect()[0]
        records_seen, files_accounted = int(totals["records"]), int(totals["files"])
        known = lake.read("raw_documents").where(f"NOT ({where})").select("doc_id", "drop_id")
        documents, rejects = split_parsed(parsed, drop, known)
        rejects = rejects.persist(StorageLevel.MEMORY_AND_DISK)
        by_reason = {r["reason"]: r["count"] for r in rejects.groupBy("reason").count().collect()}
        writes = [
            lake.write(documents, "raw_documents", mode="overwrite", replace_where=where, run_id=run_id, partition=drop.drop_id),
            lake.write(rejects, "rejects", mode="overwrite", replace_where=f"stage = '{STAGE}' AND {where}", run_id=run_id, partition=drop.drop_id),
        ]
        rejects.unpersist()
    finally:
        parsed.unpersist()
    ledger_row = IngestedDrop(
        drop_id=drop.drop_id, name=drop.name, kind=drop.kind, sha256=drop.sha256, files=len(drop.files),
        bytes=drop.total_bytes, records_seen=records_seen, files_accounted=files_accounted, documents=writes[0].rows,
        rejects=writes[1].rows, landed_at=drop.landed_at,
    )
    writes.append(lake.merge(lake.frame("drops", [ledger_row]), "drops", keys=["drop_id"], run_id=run_id, partition=drop.drop_id))
    return IngestReport(drop, records_seen, writes[0].rows, dict(sorted(by_reason.items())), writes)


def record_failed_drop(lake: Lake, drop_id: str, error: BaseException | str, drop: Drop | None = None, run_id: str | None = None) -> None:
    """The ledger row of a drop whose run stopped: ``status=failed``, the error, zero counts.
    ``drop`` is None when the drop could not even be found again in the landing zone."""
    message = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    row = IngestedDrop(
        drop_id=drop_id, name=drop.name if drop else drop_id, kind=drop.kind if drop else "unknown",
        sha256=drop.sha256 if drop else "", files=len(drop.files) if drop else 0, bytes=drop.total_bytes if drop else 0,
        records_seen=0, documents=0, rejects=0,
        landed_at=drop.landed_at if drop else dt.datetime.now(dt.timezone.utc), status="failed", error=message[:2000],
    )
    lake.merge(lake.frame("drops", [row]), "drops", keys=["drop_id"], run_id=run_id, partition=drop_id)


def drop_status(lake: Lake, drop_id: str) -> tuple[str, str | None] | None:
    rows = lake.read("drops").where(F.col("drop_id") == drop_id).select("status", "error").collect()
    return (rows[0]["status"], rows[0]["error"]) if rows else None


def drop_conservation(lake: Lake, drop_id: str) -> Conservation:
    """Counts from the lake itself: the ledger's records seen against the rows the tables hold."""
    ledger = lake.read("drops").where(F.col("drop_id") == drop_id).collect()
    row = ledger[0] if ledger else None
    documents = lake.read("raw_documents").where(F.col("drop_id") == drop_id).count()
    rejects = lake.read("rejects").where((F.col("drop_id") == drop_id) & (F.col("stage") == STAGE)).count()
    if row is None:
        return Conservation(drop_id, 0, documents, rejects)
    return Conservation(drop_id, row["records_seen"], documents, rejects, row["status"], row["files"], row["files_accounted"])


def rejects_by_reason(lake: Lake, drop_id: str) -> dict[str, int]:
    rows = lake.read("rejects").where(F.col("drop_id") == drop_id).groupBy("reason").count().collect()
    return dict(sorted((r["reason"], r["count"]) for r in rows))
