"""Leak-sealed splits as a lake operation, and the leak count that the blocking check reads."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import Window
from pyspark.sql import functions as F

from ledgers.curation import StageReport
from ledgers.lake import Lake, WriteResult
from schemas.dedup import MinHashConfig
from schemas.splits import SplitConfig
from spark_jobs.splits import (families, family_signatures, family_sketches, leak_counts, near_duplicate_pairs, split_of,
                               straddling_pairs, text_hash)


def _with_relations(lake: Lake, docs: DataFrame) -> DataFrame:
    """``docs`` plus repo (raw_documents), near-duplicate cluster and its size over all cleaned documents (dedup)."""
    dedup = lake.read("dedup").select("doc_id", "minhash_cluster").withColumn(
        "cluster_size", F.count("*").over(Window.partitionBy("minhash_cluster")))
    return (docs.join(lake.read("raw_documents").select("doc_id", "repo"), "doc_id", "left")
            .join(dedup, "doc_id", "left"))


def family_pairs(lake: Lake, cfg: SplitConfig, dedup: MinHashConfig | None = None, run_id: str | None = None,
                 store: bool = False) -> tuple[DataFrame, list[WriteResult]]:
    """Near-duplicate pairs ``(src, dst, est_jaccard)`` among decontaminated documents at
    ``cfg.family_jaccard``, and the writes it made. Texts are sketched once per configuration:
    only those no stored sketch covers are sketched now (and, with ``store``, kept)."""
    minhash = cfg.family_minhash(dedup)
    h = minhash.config_hash
    docs = lake.read("decontaminated_documents").select("doc_id", "text").withColumn("text_hash", text_hash(F.col("text")))
    stored = None
    if lake.exists("family_sketches"):
        stored = (lake.read("family_sketches").where(F.col("config_hash") == h)
                  .select("text_hash", "has_shingles", F.col("signature").cast("array<int>"), F.col("band_keys").cast("array<bigint>"))
                  .dropDuplicates(["text_hash"]))  # two runs that raced may both have appended a text
    fresh = docs.select("text_hash", "text").dropDuplicates(["text_hash"])
    if stored is not None:
        fresh = fresh.join(stored.select("text_hash"), "text_hash", "left_anti")
    sketched = family_sketches(fresh, minhash).localCheckpoint()
    writes = []
    if store and not sketched.isEmpty():
        writes.append(lake.write(sketched.withColumn("config_hash", F.lit(h)), "family_sketches", mode="append", run_id=run_id))
    sketches = sketched if stored is None else stored.unionByName(sketched)
    sigs = family_signatures(docs.select("doc_id", "text_hash"), sketches)
    return near_duplicate_pairs(sigs, minhash, cfg.family_max_bucket), writes


def run_splits(lake: Lake, cfg: SplitConfig, components: MinHashConfig | None = None, run_id: str | None = None) -> StageReport:
    components = components or MinHashConfig()
    pairs, sketch_writes = family_pairs(lake, cfg, components, run_id=run_id, store=True)
    pairs = pairs.localCheckpoint()
    docs = _with_relations(lake, lake.read("decontaminated_documents").select("doc_id", "domain", "bucket", "bytes")).localCheckpoint()
    fams = families(docs.select("doc_id", "repo", "minhash_cluster", "cluster_size"),
                    components.single_task_max_edges, components.max_cc_iterations, near_pairs=pairs)
    rows = docs.join(fams, "doc_id").withColumn("split", split_of(F.col("family"), cfg))
    write = lake.write(rows, "splits", mode="overwrite", run_id=run_id)
    written = lake.read("splits", version=write.version)
    per = {(r["bucket"], r["split"]): (r["documents"], r["bytes"]) for r in
           written.groupBy("bucket", "split").agg(F.count("*").alias("documents"), F.sum("bytes").alias("bytes")).collect()}
    family_count = written.select("family").distinct().count()
    return StageReport(docs.count(), write.rows, {}, [*sketch_writes, write],
                       {"per_bucket_split": dict(sorted(per.items())), "families": family_count, "ratios": cfg.ratios,
                        "near_duplicate_pairs": pairs.count()})


def split_leaks(lake: Lake, cfg: SplitConfig | None = None, dedup: MinHashConfig | None = None) -> dict[str, int]:
    """Repositories, near-duplicate clusters (dedup keeps one document of each, so a cluster in two
    splits means that promise broke upstream) and families found in more than one split, and
    near-duplicate pairs (at ``family_jaccard``, recomputed from the texts' sketches, which are
    keyed by the text's hash, not read from the families) whose documents sit in different
    splits. All must be 0."""
    cfg = cfg or SplitConfig()
    assigned = _with_relations(lake, lake.read("splits").select("doc_id", "family", "split"))
    leaks = leak_counts(assigned, ("repo", "minhash_cluster", "family"))
    pairs, _ = family_pairs(lake, cfg, dedup)
    leaks["near_duplicate_pair"] = straddling_pairs(pairs, lake.read("splits").select("doc_id", "split")).count()
    return leaks


def splits_conservation(lake: Lake) -> tuple[int, int, int, int]:
    """(decontaminated documents, split rows, decontaminated documents without a split, split rows
    that are not one distinct decontaminated document) as the tables hold them now. Equal counts
    alone could hide a lost document behind a duplicated one, so ids are compared too."""
    docs = lake.read("decontaminated_documents").groupBy("doc_id").agg(F.count(F.lit(1)).alias("d"))
    assigned = lake.read("splits").groupBy("doc_id").agg(F.count(F.lit(1)).alias("a"))
    t = (docs.join(assigned, "doc_id", "full_outer").fillna(0, ["d", "a"])
         .agg(F.sum("d").alias("docs"), F.sum("a").alias("assigned"), F.sum(F.when(F.col("a") == 0, F.col("d"))).alias("missing"),
              F.sum(F.when(F.col("d") == 0, F.col("a")).otherwise(0) + F.greatest(F.col("a") - 1, F.lit(0))).alias("stray"))
         .first())
    return int(t["docs"] or 0), int(t["assigned"] or 0), int(t["missing"] or 0), int(t["stray"] or 0)
