"""The curation stages as lake operations: read the input table, run the Spark job, write, count.

Each returns the counts that conservation needs (``input = kept + removed``) so the asset can
report them and its check can compare them with what the tables hold.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from pyspark import StorageLevel
from pyspark.sql import functions as F

from ledgers.lake import Lake, WriteResult
from schemas.curation import CleanConfig
from schemas.dedup import MinHashConfig
from spark_jobs.clean import STAGE as CLEAN_STAGE
from spark_jobs.clean import clean_documents, split_clean
from spark_jobs.dedup import exact_hashes, exact_keepers, near_duplicate_clusters


@dataclass
class StageReport:
    input_rows: int
    kept: int
    removed_by_reason: dict[str, int]
    writes: list[WriteResult] = field(default_factory=list)
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def conserved(self) -> bool:
        return self.input_rows == self.kept + sum(self.removed_by_reason.values())


def run_clean(lake: Lake, cfg: CleanConfig, run_id: str | None = None) -> StageReport:
    raw = lake.read("raw_documents")
    cleaned = clean_documents(raw, cfg).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        input_rows = cleaned.count()
        kept, removed = split_clean(cleaned)
        by_reason = {r["reason"]: r["count"] for r in removed.groupBy("reason").count().collect()}
        pii = {r["key"]: r["n"] for r in kept.select(F.explode("pii_redactions")).groupBy("key").agg(F.sum("value").alias("n")).collect()}
        lengths = kept.select(F.floor(F.log2(F.greatest(F.col("bytes"), F.lit(1)))).alias("log2_bytes")).groupBy("log2_bytes").count().collect()
        domains = {r["domain"]: r["count"] for r in kept.groupBy("domain").count().collect()}
        writes = [
            lake.write(kept, "documents_clean", mode="overwrite", run_id=run_id),
            lake.write(removed, "rejects", mode="overwrite", replace_where=f"stage = '{CLEAN_STAGE}'", run_id=run_id),
        ]
    finally:
        cleaned.unpersist()
    return StageReport(input_rows, writes[0].rows, dict(sorted(by_reason.items())), writes,
                       {"pii_redactions": dict(sorted(pii.items())), "domains": dict(sorted(domains.items())),
                        "length_histogram": {f"2^{r['log2_bytes']}": r["count"] for r in sorted(lengths, key=lambda r: r["log2_bytes"])}})


def run_dedup(lake: Lake, cfg: MinHashConfig, run_id: str | None = None) -> StageReport:
    """Exact duplicates first (keeper: smallest doc_id per hash), then MinHash-LSH over the exact
    keepers; a near-duplicate cluster keeps its smallest doc_id. ``duplicate_of`` always names
    the final keeper, also for an exact copy of a document that was itself a near duplicate."""
    docs = exact_keepers(exact_hashes(lake.read("documents_clean").select("doc_id", "domain", "text"))).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        input_rows = docs.count()
        unique = docs.where(F.col("doc_id") == F.col("exact_keeper"))
        clusters = near_duplicate_clusters(unique.select("doc_id", "text"), cfg)
        rows = (docs.join(clusters.withColumnRenamed("doc_id", "exact_keeper"), "exact_keeper", "left")
                .withColumn("is_exact_dup", F.col("doc_id") != F.col("exact_keeper"))
                .withColumn("is_near_dup", ~F.col("is_exact_dup") & (F.col("minhash_cluster") != F.col("doc_id")))
                .select(
                    "doc_id", "domain", "exact_hash", "minhash_cluster",
                    (~F.col("is_exact_dup") & ~F.col("is_near_dup")).alias("is_keeper"),
                    F.when(F.col("is_exact_dup"), "exact-duplicate").when(F.col("is_near_dup"), "near-duplicate").alias("removed_reason"),
                    F.when(F.col("is_exact_dup") | F.col("is_near_dup"), F.col("minhash_cluster")).alias("duplicate_of"),
                ))
        write = lake.write(rows, "dedup", mode="overwrite", run_id=run_id)
        counts = lake.read("dedup", version=write.version).groupBy("domain", "removed_reason").count().collect()
    finally:
        docs.unpersist()
    by_reason: Counter[str] = Counter()
    total: Counter[str] = Counter()
    removed: Counter[str] = Counter()
    for r in counts:
        total[r["domain"]] += r["count"]
        if r["removed_reason"] is not None:
            by_reason[r["removed_reason"]] += r["count"]
            removed[r["domain"]] += r["count"]
    kept = sum(total.values()) - sum(removed.values())
    per_domain = {domain: round(removed[domain] / n, 4) for domain, n in sorted(total.items())}
    bands, rows_per_band = cfg.bands_rows
    return StageReport(input_rows, kept, dict(sorted(by_reason.items())), [write],
                       {"dedup_rate_by_domain": per_domain, "bands": bands, "rows_per_band": rows_per_band})


def clean_conservation(lake: Lake) -> tuple[int, int, int]:
    """(raw_documents, documents_clean, clean rejects) as the tables hold them now."""
    return (lake.read("raw_documents").count(), lake.read("documents_clean").count(),
            lake.read("rejects").where(F.col("stage") == CLEAN_STAGE).count())


def dedup_conservation(lake: Lake) -> tuple[int, int, int]:
    """(documents_clean, dedup keepers, dedup removed) as the tables hold them now."""
    dedup = lake.read("dedup")
    return (lake.read("documents_clean").count(), dedup.where("is_keeper").count(), dedup.where("NOT is_keeper").count())
