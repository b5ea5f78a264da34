"""The whole-lake audit: conservation of every drop and stage, and zero split leaks, re-proved from
the tables as they are now (not from what each stage reported when it ran)."""

from __future__ import annotations

import datetime as dt
import hashlib

from ledgers.curation import clean_audit, dedup_audit
from ledgers.decontamination import decontamination_audit
from ledgers.ingest import drop_conservation
from ledgers.lake import Lake, WriteResult
from ledgers.licenses import curated_audit, excluded_in_curated
from ledgers.splits import split_leaks, splits_conservation
from schemas.operations import AuditFinding
from schemas.tables import TABLES


def audit_lake(lake: Lake, run_id: str | None = None) -> tuple[list[AuditFinding], WriteResult]:
    now = dt.datetime.now(dt.timezone.utc)
    audit_id = hashlib.sha256(f"{run_id}\0{now.isoformat()}".encode()).hexdigest()[:16]
    findings: list[tuple[str, int, int, str]] = []
    for row in lake.read("drops").select("drop_id").orderBy("drop_id").collect():
        held = drop_conservation(lake, row["drop_id"])
        findings.append((f"conservation:drop:{held.drop_id}", held.records_seen, held.documents + held.rejects,
                         f"{held.documents} documents + {held.rejects} rejects"))
    audits = {stage: audit(lake) for stage, audit in (("clean", clean_audit), ("dedup", dedup_audit), ("license", curated_audit),
                                                      ("decontamination", decontamination_audit))}
    for stage, ((seen, kept, removed), _) in audits.items():
        findings.append((f"conservation:{stage}", seen, kept + removed, f"{kept} kept + {removed} removed"))
    for stage, (_, found) in audits.items():
        findings.append((f"conservation:{stage}:ids", 0, len(found), "; ".join(found) or "every input id kept once or removed once"))
    documents, assigned, missing, stray = splits_conservation(lake)
    findings.append(("conservation:splits", documents, assigned, "decontaminated documents with exactly one split"))
    findings.append(("conservation:splits:ids", 0, missing + stray,
                     f"{missing} documents without a split + {stray} split rows not one distinct decontaminated document"))
    for key, leaking in split_leaks(lake).items():
        findings.append((f"leaks:{key}", 0, leaking, f"{key} values with documents in more than one split"))
    findings.append(("licenses:excluded_in_curated", 0, excluded_in_curated(lake), "curated code files not allowed by the ledger"))
    recorded = lake.lineage_versions()
    for table in sorted(t for t in TABLES if t not in ("lineage", "lake_audits") and lake.exists(t)):
        recovered = lake.recover_lineage(table, recorded=recorded.get(table, set()))
        missing, stray = lake.lineage_gaps(table, recorded=recorded.get(table, set()) | {r.version for r in recovered})
        findings.append((f"lineage:{table}", 0, len(missing) + len(stray),
                         f"{len(recovered)} commits of writers that died before their lineage row recorded now; "
                         f"{len(missing)} still without a row; lineage versions with no commit: {stray[:10]}"))
    rows = [AuditFinding(audit_id=audit_id, invariant=name, passed=expected == actual, expected=expected, actual=actual,
                         detail=detail, audited_at=now) for name, expected, actual, detail in findings]
    return rows, lake.write(lake.frame("lake_audits", rows), "lake_audits", mode="append", run_id=run_id)
