"""License ledger and the curated document set, as lake operations."""

from __future__ import annotations

from pyspark import StorageLevel
from pyspark.sql import functions as F

from ledgers.conservation import id_audit, rejected_ids
from ledgers.curation import StageReport
from ledgers.lake import Lake
from schemas.licenses import LicenseConfig
from spark_jobs.licenses import config_hash, license_evidence, license_records, source_policy, sources_with_evidence

STAGE = "license"


def run_license_ledger(lake: Lake, cfg: LicenseConfig, run_id: str | None = None, full: bool = False) -> StageReport:
    """Every document of documents_clean gets a ledger row, whatever its domain; evidence files
    come from raw_documents, so a LICENSE the cleaning stage dropped still speaks for its folder.

    Incremental: rows are decided again only for new documents, for every document of a
    repository whose files changed (a new LICENSE speaks for the whole tree), for rows decided
    under other settings, and for the evidence-less rows of a source that gained or lost its
    only evidence (source policy). The rest keep their stored rows, so the result equals a full
    recompute (``full=True``). What is not proportional to the drop: the anti-joins on doc_id and
    drop_id, and rewriting the ledger (one small row per document, no text)."""
    raw = lake.read("raw_documents")
    clean = lake.read("documents_clean")
    decided_by = config_hash(cfg)
    prior = None if full or not lake.exists("license_ledger") else (
        lake.read("license_ledger").where(F.col("config_hash") == decided_by).join(clean.select("doc_id"), "doc_id", "left_semi"))
    if prior is None:
        redo = clean.select("doc_id")
        repos = raw.select("repo").distinct()
    else:
        seen_drops = clean.join(prior.select("doc_id"), "doc_id", "left_semi").select("drop_id").distinct()
        redo_new = clean.select("doc_id").join(prior.select("doc_id"), "doc_id", "left_anti")
        repos = (raw.join(seen_drops, "drop_id", "left_anti").select("repo")
                 .unionByName(raw.join(redo_new, "doc_id", "left_semi").select("repo"))
                 .unionByName(lake.read("license_ledger").join(clean.select("doc_id"), "doc_id", "left_anti").select("repo"))
                 .where(F.col("repo").isNotNull()).distinct())
        redo = redo_new.unionByName(clean.join(raw.join(repos, "repo", "left_semi").select("doc_id"), "doc_id", "left_semi")
                                    .select("doc_id")).distinct()
    repos = repos.localCheckpoint()
    redo = redo.localCheckpoint()
    docs = (clean.select("doc_id", "domain", "text").join(redo, "doc_id", "left_semi")
            .join(raw.select("doc_id", "source", "repo", "path", "license_hint"), "doc_id"))
    evidence = license_evidence(raw.join(repos, "repo", "left_semi"))
    fresh = license_records(docs, evidence, cfg).localCheckpoint()
    columns = fresh.columns
    redecided = fresh.count()
    if prior is not None:
        kept = prior.join(redo, "doc_id", "left_anti").select(*columns).localCheckpoint()
        before = sources_with_evidence(prior).withColumnRenamed("has_evidence", "before")
        after = sources_with_evidence(kept.unionByName(fresh)).withColumnRenamed("has_evidence", "after")
        flipped = before.join(after, "source").where(F.col("before") != F.col("after")).select("source")
        again = kept.join(flipped, "source", "left_semi").where(F.col("spdx_expression").isNull()).select("doc_id").localCheckpoint()
        if again.limit(1).count():
            more = (clean.select("doc_id", "domain", "text").join(again, "doc_id", "left_semi")
                    .join(raw.select("doc_id", "source", "repo", "path", "license_hint"), "doc_id"))
            evidence = license_evidence(raw.join(more.select("repo").distinct(), "repo", "left_semi"))
            fresh = fresh.unionByName(license_records(more, evidence, cfg)).localCheckpoint()
            kept = kept.join(again, "doc_id", "left_anti")
            redecided = fresh.count()
        fresh = kept.unionByName(fresh)
    ledger = source_policy(fresh, cfg).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        write = lake.write(ledger, "license_ledger", mode="overwrite", run_id=run_id)
        counts = {(r["source"], r["spdx_expression"] or "none", r["decision"]): r["count"]
                  for r in ledger.groupBy("source", "spdx_expression", "decision").count().collect()}
    finally:
        ledger.unpersist()
    by_decision: dict[str, int] = {}
    for (_, _, decision), n in counts.items():
        by_decision[decision] = by_decision.get(decision, 0) + n
    allowed = by_decision.get("allow", 0)
    return StageReport(sum(counts.values()), allowed, {k: v for k, v in sorted(by_decision.items()) if k != "allow"}, [write],
                       {"by_source_spdx_decision": {f"{s} | {e} | {d}": n for (s, e, d), n in sorted(counts.items())},
                        "decided_again": redecided})


def run_curated(lake: Lake, run_id: str | None = None) -> StageReport:
    """Dedup keepers whose ledger decision is ``allow``; every other keeper, code or not, goes to
    rejects (stage license) with its decision as the reason, ``exclude:not-in-ledger`` if it has none."""
    keepers = (lake.read("dedup").where("is_keeper").select("doc_id")
               .join(lake.read("documents_clean").select("doc_id", "domain", "bucket", "bytes", "source", "uri"), "doc_id"))
    ledger = lake.read("license_ledger").select("doc_id", "spdx_expression", "decision")
    rows = keepers.join(ledger, "doc_id", "left").withColumn("decision", F.coalesce("decision", F.lit("exclude:not-in-ledger")))
    rows = rows.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        kept = rows.where(F.col("decision") == "allow")
        removed = rows.where(F.col("decision") != "allow").select(
            "source", "uri", F.lit(STAGE).alias("stage"), F.col("decision").alias("reason"),
            F.concat(F.lit("doc_id "), F.col("doc_id")).alias("detail"), F.lit(None).cast("string").alias("drop_id"))
        by_reason = {r["reason"]: r["count"] for r in removed.groupBy("reason").count().collect()}
        input_rows = rows.count()
        writes = [lake.write(kept, "curated_documents", mode="overwrite", run_id=run_id),
                  lake.write(removed, "rejects", mode="overwrite", replace_where=f"stage = '{STAGE}'", run_id=run_id)]
    finally:
        rows.unpersist()
    return StageReport(input_rows, writes[0].rows, dict(sorted(by_reason.items())), writes)


def excluded_in_curated(lake: Lake) -> int:
    """Curated documents, of any domain, without a ledger row or whose decision is not ``allow`` (must be 0)."""
    curated = lake.read("curated_documents").select("doc_id")
    ledger = lake.read("license_ledger").select("doc_id", "decision")
    return curated.join(ledger, "doc_id", "left").where(F.col("decision").isNull() | (F.col("decision") != "allow")).count()


def curated_id_problems(lake: Lake) -> list[str]:
    return curated_audit(lake)[1]


def curated_audit(lake: Lake) -> tuple[tuple[int, int, int], list[str]]:
    """``curated_conservation`` and ``curated_id_problems`` in one Spark job."""
    return id_audit(lake.read("dedup").where("is_keeper"), lake.read("curated_documents"), rejected_ids(lake, STAGE),
                    "curated_documents", "rejects(stage=license)")


def curated_conservation(lake: Lake) -> tuple[int, int, int]:
    """(dedup keepers, curated documents, license rejects) as the tables hold them now."""
    return (lake.read("dedup").where("is_keeper").count(), lake.read("curated_documents").count(),
            lake.read("rejects").where(F.col("stage") == STAGE).count())
