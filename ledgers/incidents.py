"""The ``incidents`` table: every failed run, written by the run-failure sensor."""

from __future__ import annotations

import hashlib

from ledgers.lake import Lake, WriteResult
from schemas.operations import Incident


def incident_id(run_id: str, step: str | None) -> str:
    return hashlib.sha256(f"{run_id}\0{step or ''}".encode()).hexdigest()[:24]


def record_incidents(lake: Lake, incidents: list[Incident], run_id: str | None = None) -> WriteResult:
    """Insert-only merge on ``incident_id``: a failure the sensor sees twice is still one row."""
    return lake.merge(lake.frame("incidents", incidents), "incidents", keys=["incident_id"], update=False, run_id=run_id)
