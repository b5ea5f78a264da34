"""Leak-sealed splits: a document's split is decided by its family, never by the document alone.

A family is a connected component of the graph that joins documents sharing a near-duplicate
cluster or a repository. Its key is the smallest node, with clusters ranked before repositories
before documents, so a family reads as ``cluster:<id>``, ``repo:<name>`` or ``doc:<id>``. The
split is a seeded hash of that key, so everything in a family lands in the same split in every
bucket, and the assignment never changes unless the family or the seed does.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from schemas.splits import SPLITS, SplitConfig
from spark_jobs.dedup import graph_components

_RANK = {"cluster": "1", "repo": "2", "doc": "3"}


def _node(kind: str, key: Column) -> Column:
    return F.concat(F.lit(f"{_RANK[kind]}{kind}:"), key)


def family_edges(docs: DataFrame) -> DataFrame:
    """``(src, dst)`` from each document to its repository and to its near-duplicate cluster
    (only clusters with more than one member: a singleton cluster joins nothing)."""
    doc = _node("doc", F.col("doc_id"))
    to_repo = docs.where(F.col("repo").isNotNull()).select(doc.alias("src"), _node("repo", F.col("repo")).alias("dst"))
    to_cluster = (docs.where(F.col("cluster_size") > 1)
                  .select(doc.alias("src"), _node("cluster", F.col("minhash_cluster")).alias("dst")))
    return to_repo.unionByName(to_cluster)


def families(docs: DataFrame, single_task_max_edges: int = 2_000_000, max_iterations: int = 40) -> DataFrame:
    """``(doc_id, family)`` for ``docs(doc_id, repo, minhash_cluster, cluster_size)``."""
    edges = family_edges(docs).localCheckpoint()
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


def leaking_families(assignments: DataFrame, key: str) -> DataFrame:
    """Values of ``key`` (repo, minhash_cluster, family) whose documents sit in more than one split."""
    return (assignments.where(F.col(key).isNotNull()).groupBy(key)
            .agg(F.countDistinct("split").alias("splits")).where(F.col("splits") > 1))
