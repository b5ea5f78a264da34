"""Decontamination as a lake operation: curated documents → decontaminated_documents + report."""

from __future__ import annotations

from pyspark import StorageLevel
from pyspark.sql import functions as F

from ledgers.curation import StageReport
from ledgers.lake import Lake
from schemas.decontamination import DecontaminationConfig
from spark_jobs.decontaminate import contamination_pairs, counted_hits, leak_positions, redact_documents

STAGE = "decontamination"


class DecontaminationError(RuntimeError):
    pass


def eval_ngram_length(lake: Lake) -> int:
    """The n of eval_hashes; decontamination must hash documents the same way."""
    ns = [r["n"] for r in lake.read("eval_hashes").select("n").distinct().collect()]
    if not ns:
        raise DecontaminationError("eval_hashes is empty: materialize eval_hashes (with at least one benchmark) before decontamination")
    if len(ns) > 1:
        raise DecontaminationError(f"eval_hashes holds n-grams of several lengths {sorted(ns)}: rematerialize it with one n")
    return ns[0]


def run_decontamination(lake: Lake, cfg: DecontaminationConfig, run_id: str | None = None) -> StageReport:
    n = eval_ngram_length(lake)
    docs = (lake.read("curated_documents").select("doc_id", "domain", "bucket")
            .join(lake.read("documents_clean").select("doc_id", "source", "uri", "text", "bytes"), "doc_id"))
    evals = lake.read("eval_hashes").select("benchmark", "item_id", "ngram_hash")
    hits = counted_hits(docs, evals, n, cfg).persist(StorageLevel.MEMORY_AND_DISK)
    pairs = outcome = None
    try:
        pairs = contamination_pairs(hits, evals, cfg).persist(StorageLevel.MEMORY_AND_DISK)
        leaked = pairs.select("doc_id").distinct()
        if cfg.mode == "redact":
            redacted = redact_documents(leak_positions(hits, pairs).join(docs.select("doc_id", "text"), "doc_id"), n, cfg.redaction)
            outcome = redacted.select("doc_id", F.when(F.col("text").isNull(), "removed").otherwise("redacted").alias("action"),
                                      F.col("text").alias("new_text"), "redacted_ngrams")
        else:
            outcome = leaked.select("doc_id", F.lit("removed").alias("action"), F.lit(None).cast("string").alias("new_text"),
                                    F.lit(0).alias("redacted_ngrams"))
        outcome = outcome.persist(StorageLevel.MEMORY_AND_DISK)
        rows = (docs.join(outcome, "doc_id", "left")
                .withColumn("text", F.coalesce("new_text", "text"))
                .withColumn("bytes", F.when(F.col("new_text").isNotNull(), F.octet_length("new_text")).otherwise(F.col("bytes")))
                .withColumn("redacted_ngrams", F.coalesce("redacted_ngrams", F.lit(0))))
        kept = rows.where(F.col("action").isNull() | (F.col("action") == "redacted"))
        items = (pairs.groupBy("doc_id").agg(F.array_sort(F.collect_list(F.concat_ws("/", "benchmark", "item_id"))).alias("items"),
                                             F.sum("overlapping_ngrams").alias("ngrams")))
        removed = (rows.where(F.col("action") == "removed").join(items, "doc_id").select(
            "source", "uri", F.lit(STAGE).alias("stage"), F.lit("contaminated").alias("reason"),
            F.format_string("doc_id %s: %d n-grams shared with %s", "doc_id", "ngrams",
                            F.array_join(F.slice("items", 1, 5), ", ")).alias("detail"),
            F.lit(None).cast("string").alias("drop_id")))
        report = pairs.join(outcome.select("doc_id", "action"), "doc_id")
        input_rows = docs.count()
        writes = [lake.write(kept, "decontaminated_documents", mode="overwrite", run_id=run_id),
                  lake.write(report, "contamination", mode="overwrite", run_id=run_id),
                  lake.write(removed, "rejects", mode="overwrite", replace_where=f"stage = '{STAGE}'", run_id=run_id)]
        per_benchmark = {r["benchmark"]: {"items": r["items"], "documents": r["documents"]}
                         for r in report.groupBy("benchmark").agg(F.countDistinct("item_id").alias("items"),
                                                                  F.countDistinct("doc_id").alias("documents")).collect()}
        actions = {r["action"]: r["count"] for r in outcome.groupBy("action").count().collect()}
    finally:
        for frame in (hits, pairs, outcome):
            if frame is not None:
                frame.unpersist()
    return StageReport(input_rows, writes[0].rows, {"contaminated": actions.get("removed", 0)} if actions.get("removed") else {},
                       writes, {"n": n, "mode": cfg.mode, "redacted_documents": actions.get("redacted", 0),
                                "per_benchmark": dict(sorted(per_benchmark.items()))})


def decontamination_conservation(lake: Lake) -> tuple[int, int, int]:
    """(curated documents, decontaminated documents, decontamination rejects) as the tables hold them now."""
    return (lake.read("curated_documents").count(), lake.read("decontaminated_documents").count(),
            lake.read("rejects").where(F.col("stage") == STAGE).count())
