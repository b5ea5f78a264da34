"""Curated-corpus tables written directly, for the stages after curation."""

from __future__ import annotations

import datetime as dt
import hashlib

from ledgers.lake import Lake
from schemas.tables import CuratedDocument, DedupRow, DocumentClean, LicenseRecord, RawDocument

LANDED = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


def doc_id(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def write_curated(lake: Lake, docs: list[dict], near_duplicates: dict[str, int] | None = None) -> list[str]:
    """``docs``: dicts with text and optionally domain, bucket, repo. ``near_duplicates`` maps a
    doc_id to how many removed near-duplicates its cluster has (dedup rows, not curated)."""
    raw, clean, dedup, curated, ledger = [], [], [], [], []
    for d in docs:
        i = d.get("doc_id") or doc_id(d["text"])
        domain = d.get("domain", "code")
        bucket = d.get("bucket", "code/python" if domain == "code" else f"{domain}/en")
        size = len(d["text"].encode())
        raw.append(RawDocument(doc_id=i, source="test", uri=f"test/{i[:8]}", text=d["text"], bytes=size, repo=d.get("repo"),
                               ingested_at=LANDED, drop_id="drop"))
        clean.append(DocumentClean(doc_id=i, source="test", uri=f"test/{i[:8]}", text=d["text"], bytes=size, lang="en",
                                   lang_score=1.0, pii_redactions={}, quality={}, domain=domain, bucket=bucket))
        dedup.append(DedupRow(doc_id=i, domain=domain, exact_hash=i, minhash_cluster=i, is_keeper=True))
        curated.append(CuratedDocument(doc_id=i, domain=domain, bucket=bucket, bytes=size))
        ledger.append(LicenseRecord(doc_id=i, source="test", domain=domain, repo=d.get("repo"), sha256=hashlib.sha256(d["text"].encode()).hexdigest(),
                                    spdx_expression="MIT", licenses_found=["MIT"], evidence="policy:test-corpus", score=1.0,
                                    decision="allow", detector_version="test"))
        for k in range((near_duplicates or {}).get(i, 0)):
            dup = doc_id(f"{i}-dup-{k}")
            dedup.append(DedupRow(doc_id=dup, domain=domain, exact_hash=dup, minhash_cluster=i, is_keeper=False,
                                  removed_reason="near-duplicate", duplicate_of=i))
    for table, rows in (("raw_documents", raw), ("documents_clean", clean), ("dedup", dedup), ("license_ledger", ledger),
                        ("curated_documents", curated)):
        lake.write(lake.frame(table, rows), table, mode="overwrite")
    return [r.doc_id for r in raw]
