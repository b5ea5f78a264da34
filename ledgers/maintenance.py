"""Delta table maintenance: OPTIMIZE (compaction), VACUUM within the time-travel window, log cleanup.

The retention is the configured time-travel window, never less: every version younger than it
stays readable (``--as-of``), and Delta's own retention check stays on. Log files older than the
window are removed by Delta at its next checkpoint once ``delta.logRetentionDuration`` says so.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from delta.tables import DeltaTable

from ledgers.lake import Lake
from schemas.operations import MaintenanceRecord
from schemas.tables import TABLES


def _files(lake: Lake, table: str) -> int:
    return int(lake.spark.sql(f"DESCRIBE DETAIL delta.`{lake.path(table)}`").collect()[0]["numFiles"])


def _log_files(lake: Lake, table: str) -> int:
    jvm, conf = lake.spark._jvm, lake.spark._jsc.hadoopConfiguration()
    log = jvm.org.apache.hadoop.fs.Path(lake.path(table) + "/_delta_log")
    return len(log.getFileSystem(conf).listStatus(log))


def maintain_table(lake: Lake, table: str, retention_hours: int, maintenance_id: str, run_id: str | None = None) -> MaintenanceRecord:
    path = lake.path(table)
    target = DeltaTable.forPath(lake.spark, path)
    before = target.history(1).collect()[0]["version"]
    files_before, logs_before = _files(lake, table), _log_files(lake, table)
    wanted = {"delta.logRetentionDuration": f"interval {retention_hours} hours",
              "delta.deletedFileRetentionDuration": f"interval {retention_hours} hours"}
    properties = lake.spark.sql(f"DESCRIBE DETAIL delta.`{path}`").collect()[0]["properties"] or {}
    if any(properties.get(k) != v for k, v in wanted.items()):
        lake.spark.sql(f"ALTER TABLE delta.`{path}` SET TBLPROPERTIES ({', '.join(f'{k!r} = {v!r}' for k, v in wanted.items())})")
    metrics = target.optimize().executeCompaction().collect()[0]["metrics"]
    compacted = int(metrics["numFilesRemoved"])
    stale = lake.spark.sql(f"VACUUM delta.`{path}` RETAIN {retention_hours} HOURS DRY RUN").count()
    target.vacuum(float(retention_hours))
    after = target.history(1).collect()[0]["version"]
    lake.committed(table, before, run_id)
    return MaintenanceRecord(
        maintenance_id=maintenance_id, table=table, version_before=before, version_after=after,
        files_before=files_before, files_after=_files(lake, table), files_compacted=compacted, files_vacuumed=stale,
        retention_hours=retention_hours, log_files_before=logs_before, log_files_after=_log_files(lake, table),
        maintained_at=dt.datetime.now(dt.timezone.utc))


def maintain_lake(lake: Lake, retention_hours: int, run_id: str | None = None) -> list[MaintenanceRecord]:
    """Every existing table but the maintenance log itself, then the rows appended to ``maintenance_runs``."""
    now = dt.datetime.now(dt.timezone.utc)
    maintenance_id = hashlib.sha256(f"{run_id}\0{now.isoformat()}".encode()).hexdigest()[:16]
    rows = [maintain_table(lake, t, retention_hours, maintenance_id, run_id) for t in sorted(TABLES)
            if t != "maintenance_runs" and lake.exists(t)]
    lake.write(lake.frame("maintenance_runs", rows), "maintenance_runs", mode="append", run_id=run_id)
    return rows
