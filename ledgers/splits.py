"""Leak-sealed splits as a lake operation, and the leak count that the blocking check reads."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import Window
from pyspark.sql import functions as F

from ledgers.curation import StageReport
from ledgers.lake import Lake
from schemas.dedup import MinHashConfig
from schemas.splits import SplitConfig
from spark_jobs.splits import families, leaking_families, split_of


def _with_relations(lake: Lake, docs: DataFrame) -> DataFrame:
    """``docs`` plus repo (raw_documents), near-duplicate cluster and its size over all cleaned documents (dedup)."""
    dedup = lake.read("dedup").select("doc_id", "minhash_cluster").withColumn(
        "cluster_size", F.count("*").over(Window.partitionBy("minhash_cluster")))
    return (docs.join(lake.read("raw_documents").select("doc_id", "repo"), "doc_id", "left")
            .join(dedup, "doc_id", "left"))


def run_splits(lake: Lake, cfg: SplitConfig, components: MinHashConfig | None = None, run_id: str | None = None) -> StageReport:
    components = components or MinHashConfig()
    docs = _with_relations(lake, lake.read("decontaminated_documents").select("doc_id", "domain", "bucket", "bytes")).localCheckpoint()
    fams = families(docs.select("doc_id", "repo", "minhash_cluster", "cluster_size"),
                    components.single_task_max_edges, components.max_cc_iterations)
    rows = docs.join(fams, "doc_id").withColumn("split", split_of(F.col("family"), cfg))
    write = lake.write(rows, "splits", mode="overwrite", run_id=run_id)
    written = lake.read("splits", version=write.version)
    per = {(r["bucket"], r["split"]): (r["documents"], r["bytes"]) for r in
           written.groupBy("bucket", "split").agg(F.count("*").alias("documents"), F.sum("bytes").alias("bytes")).collect()}
    family_count = written.select("family").distinct().count()
    return StageReport(docs.count(), write.rows, {}, [write],
                       {"per_bucket_split": dict(sorted(per.items())), "families": family_count, "ratios": cfg.ratios})


def split_leaks(lake: Lake) -> dict[str, int]:
    """Repositories, near-duplicate clusters and families found in more than one split (all must be 0)."""
    assigned = _with_relations(lake, lake.read("splits").select("doc_id", "family", "split"))
    return {key: leaking_families(assigned, key).count() for key in ("repo", "minhash_cluster", "family")}


def splits_conservation(lake: Lake) -> tuple[int, int]:
    """(decontaminated documents, documents with a split) as the tables hold them now."""
    return lake.read("decontaminated_documents").count(), lake.read("splits").count()
