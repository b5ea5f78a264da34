"""Row models of the lakehouse's own operations: failed runs, table maintenance, whole-lake audits."""

from __future__ import annotations

import datetime as dt
from typing import Optional

from pydantic import BaseModel, Field


class Incident(BaseModel):
    """One failed run (one row per failed step, or one for the run when no step failed)."""

    incident_id: str = Field(description="sha256 prefix of run id and step: a re-seen failure is the same row")
    run_id: str
    job: str
    step: Optional[str] = Field(default=None, description="the failed step (asset) key; empty when the run failed outside a step")
    error_class: str = Field(description="the Python class of the error, e.g. PackError, Py4JJavaError")
    message: str = Field(description="the error's first line, at most 500 characters")
    partition: Optional[str] = None
    failed_at: dt.datetime


class MaintenanceRecord(BaseModel):
    """What one OPTIMIZE + VACUUM pass did to one table."""

    maintenance_id: str
    table: str
    version_before: int
    version_after: int
    files_before: int
    files_after: int
    files_compacted: int = Field(description="data files removed by OPTIMIZE's compaction")
    files_vacuumed: int = Field(description="unreferenced files older than the retention that VACUUM deleted")
    retention_hours: int
    log_files_before: int
    log_files_after: int
    maintained_at: dt.datetime


class AuditFinding(BaseModel):
    """One invariant re-proved over the whole lake by the periodic audit."""

    audit_id: str
    invariant: str = Field(description="e.g. conservation:clean, conservation:drop:<id>, leaks:family")
    passed: bool
    expected: int
    actual: int
    detail: Optional[str] = None
    audited_at: dt.datetime
