"""Leak-sealed splits: a document's split is decided by its family, never by the document alone.

A family is a connected component of the graph that joins documents sharing a near-duplicate
cluster or a repository, and documents that are near-duplicates of each other at the looser
``family_jaccard`` (dedup keeps one document per cluster, so clusters alone join almost nothing
among the documents that reach the splits; a 0.6-similar rewrite of a test document is exactly
what must not sit in train). Its key is the smallest node, with clusters ranked before repositories
before documents, so a family reads as ``cluster:<id>``, ``repo:<name>`` or ``doc:<id>``. The
split is a seeded hash of that key, so everything in a family lands in the same split in every
bucket, and the assignment never changes unless the family or the seed does.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np
import pyarrow as pa
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from schemas.dedup import MinHashConfig
from schemas.splits import SPLITS, SplitConfig
from spark_jobs.dedup import graph_components
from spark_jobs.minhash import band_keys, permutations, signatures

_RANK = {"cluster": "1", "repo": "2", "doc": "3"}


def _node(kind: str, key: Column) -> Column:
    return F.concat(F.lit(f"{_RANK[kind]}{kind}:"), key)


FAMILY_SKETCHES = T.StructType([
    T.StructField("text_hash", T.StringType()), T.StructField("has_shingles", T.BooleanType()),
    T.StructField("signature", T.ArrayType(T.IntegerType(), containsNull=False)),
    T.StructField("band_keys", T.ArrayType(T.LongType(), containsNull=False))])


def text_hash(text: Column) -> Column:
    return F.sha2(text, 256)


def family_sketches(texts: DataFrame, cfg: MinHashConfig) -> DataFrame:
    """``(text_hash, has_shingles, signature, band_keys)`` of each ``texts(text_hash, text)`` row,
    from the same vectorized MinHash as dedup, banded for ``cfg.threshold``."""
    bands, rows = cfg.bands_rows
    cfg_json = cfg.model_dump_json()

    def compute(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        local = MinHashConfig.model_validate_json(cfg_json)
        perms = permutations(local)
        for batch in batches:
            sig, has = signatures(batch.column("text"), local, perms)
            keys = band_keys(sig, bands, rows)
            yield pa.RecordBatch.from_arrays([
                batch.column("text_hash"), pa.array(has),
                pa.FixedSizeListArray.from_arrays(pa.array(sig.view(np.int32).ravel()), local.num_perm).cast(pa.list_(pa.int32())),
                pa.FixedSizeListArray.from_arrays(pa.array(keys.ravel()), bands).cast(pa.list_(pa.int64())),
            ], names=["text_hash", "has_shingles", "signature", "band_keys"])

    return texts.select("text_hash", "text").mapInArrow(compute, FAMILY_SKETCHES)


def family_signatures(docs: DataFrame, sketches: DataFrame) -> DataFrame:
    """``(doc_id, signature, band_keys)`` of every ``docs(doc_id, text_hash)`` document with at
    least one shingle, from ``sketches`` keyed by text hash."""
    return (docs.select("doc_id", "text_hash").join(sketches.where("has_shingles").select("text_hash", "signature", "band_keys"), "text_hash")
            .select("doc_id", "signature", "band_keys"))


_AGREEMENT = "aggregate(zip_with({a}, {b}, (x, y) -> IF(x = y, 1, 0)), 0, (acc, v) -> acc + v)"


def near_duplicate_pairs(sigs: DataFrame, cfg: MinHashConfig, max_bucket: int) -> DataFrame:
    """``(src, dst, est_jaccard)`` with ``src < dst``: documents sharing an LSH bucket whose
    signatures agree on at least ``cfg.threshold`` of the slots. Buckets of up to ``max_bucket``
    documents are compared all pairs; a larger bucket links each member to its smallest one."""
    buckets = sigs.select("doc_id", "signature", F.posexplode("band_keys").alias("band", "key"))
    sized = buckets.withColumn("_size", F.count("*").over(Window.partitionBy("band", "key"))).where("_size > 1")
    small = sized.where(F.col("_size") <= max_bucket)
    a, b = small.alias("a"), small.alias("b")
    all_pairs = (a.join(b, (F.col("a.band") == F.col("b.band")) & (F.col("a.key") == F.col("b.key")) & (F.col("a.doc_id") < F.col("b.doc_id")))
                 .select(F.col("a.doc_id").alias("src"), F.col("b.doc_id").alias("dst"),
                         F.col("a.signature").alias("sa"), F.col("b.signature").alias("sb")))
    first = Window.partitionBy("band", "key").orderBy("doc_id")
    stars = (sized.where(F.col("_size") > max_bucket)
             .withColumn("src", F.first("doc_id").over(first)).withColumn("sa", F.first("signature").over(first))
             .where(F.col("src") != F.col("doc_id"))
             .select("src", F.col("doc_id").alias("dst"), "sa", F.col("signature").alias("sb")))
    agreement = F.expr(_AGREEMENT.format(a="sa", b="sb")) / F.lit(cfg.num_perm)
    return (all_pairs.unionByName(stars).dropDuplicates(["src", "dst"])
            .select("src", "dst", agreement.alias("est_jaccard"))
            .where(F.col("est_jaccard") >= cfg.threshold))


def family_edges(docs: DataFrame, near_pairs: DataFrame | None = None) -> DataFrame:
    """``(src, dst)`` from each document to its repository, to its near-duplicate cluster (only
    clusters with more than one member: a singleton cluster joins nothing) and to each document
    it is a near-duplicate of at the family threshold (``near_pairs``)."""
    doc = _node("doc", F.col("doc_id"))
    to_repo = docs.where(F.col("repo").isNotNull()).select(doc.alias("src"), _node("repo", F.col("repo")).alias("dst"))
    to_cluster = (docs.where(F.col("cluster_size") > 1)
                  .select(doc.alias("src"), _node("cluster", F.col("minhash_cluster")).alias("dst")))
    edges = to_repo.unionByName(to_cluster)
    if near_pairs is not None:
        edges = edges.unionByName(near_pairs.select(_node("doc", F.col("src")).alias("src"), _node("doc", F.col("dst")).alias("dst")))
    return edges


def families(docs: DataFrame, single_task_max_edges: int = 2_000_000, max_iterations: int = 40,
             near_pairs: DataFrame | None = None) -> DataFrame:
    """``(doc_id, family)`` for ``docs(doc_id, repo, minhash_cluster, cluster_size)``, joined
    further by ``near_pairs(src, dst)`` when given."""
    edges = family_edges(docs, near_pairs).localCheckpoint()
    components = graph_components(edges, single_task_max_edges, max_iterations)
    doc = _node("doc", F.col("doc_id"))
    return (docs.select("doc_id", doc.alias("node")).join(components, "node", "left")
            .select("doc_id", F.expr("substring(coalesce(component, node), 2)").alias("family")))


def split_of(family: Column, cfg: SplitConfig) -> Column:
    """The split a family's seeded hash falls in, ratios taken cumulatively in train, val, test order."""
    u = F.pmod(F.xxhash64(F.lit(cfg.seed), family), F.lit(1_000_000_007)) / F.lit(1_000_000_007.0)
    bound, expr = 0.0, None
    for name in SPLITS[:-1]:
        bound += cfg.ratios[name]
        expr = (F.when(u < bound, name) if expr is None else expr.when(u < bound, name))
    return expr.otherwise(SPLITS[-1])


def leak_counts(assignments: DataFrame, keys: tuple[str, ...]) -> dict[str, int]:
    """For each of ``keys`` (repo, minhash_cluster, family), how many of its values have documents
    in more than one split; one Spark job for all keys."""
    pairs = F.explode(F.array(*[F.struct(F.lit(k).alias("key"), F.col(k).cast("string").alias("value")) for k in keys]))
    found = (assignments.select("split", pairs.alias("kv")).select("split", "kv.key", "kv.value").where(F.col("value").isNotNull())
             .groupBy("key", "value").agg(F.countDistinct("split").alias("splits")).where(F.col("splits") > 1)
             .groupBy("key").count().collect())
    counts = {r["key"]: r["count"] for r in found}
    return {k: counts.get(k, 0) for k in keys}


def straddling_pairs(pairs: DataFrame, assignments: DataFrame) -> DataFrame:
    """Near-duplicate pairs whose two documents sit in different splits (``assignments(doc_id, split)``)."""
    left = assignments.select(F.col("doc_id").alias("src"), F.col("split").alias("src_split"))
    right = assignments.select(F.col("doc_id").alias("dst"), F.col("split").alias("dst_split"))
    return pairs.join(left, "src").join(right, "dst").where(F.col("src_split") != F.col("dst_split"))
