"""Exact and MinHash-LSH near-duplicate detection on Spark.

Keepers are always the smallest ``doc_id`` of their group (exact hash or near-duplicate
cluster): doc ids are content hashes, so every rerun, on any cluster size, picks the same ones.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np
import pyarrow as pa
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from schemas.dedup import MinHashConfig
from spark_jobs.minhash import band_keys, permutations, signatures

SIGNATURE_SCHEMA = "doc_id string, has_shingles boolean, signature array<int>, band_keys array<bigint>"


def exact_hashes(df: DataFrame) -> DataFrame:
    """``exact_hash``: sha256 of the text with whitespace runs collapsed and ends trimmed."""
    normalized = F.trim(F.regexp_replace(F.col("text"), r"\s+", " "))
    return df.withColumn("exact_hash", F.sha2(normalized, 256))


def exact_keepers(df: DataFrame) -> DataFrame:
    """Adds ``exact_keeper``: the smallest doc_id sharing this document's exact hash."""
    return df.withColumn("exact_keeper", F.min("doc_id").over(Window.partitionBy("exact_hash")))


def minhash_signatures(df: DataFrame, cfg: MinHashConfig) -> DataFrame:
    """One row per document: its MinHash signature and LSH band keys (Arrow-batched, no per-row Python)."""
    bands, rows = cfg.bands_rows
    cfg_json = cfg.model_dump_json()

    def compute(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        local = MinHashConfig.model_validate_json(cfg_json)
        perms = permutations(local)
        for batch in batches:
            sig, has = signatures(batch.column("text"), local, perms)
            keys = band_keys(sig, bands, rows)
            yield pa.RecordBatch.from_arrays([
                batch.column("doc_id"),
                pa.array(has),
                pa.FixedSizeListArray.from_arrays(pa.array(sig.view(np.int32).ravel()), local.num_perm).cast(pa.list_(pa.int32())),
                pa.FixedSizeListArray.from_arrays(pa.array(keys.ravel()), bands).cast(pa.list_(pa.int64())),
            ], names=["doc_id", "has_shingles", "signature", "band_keys"])

    return df.select("doc_id", "text").mapInArrow(compute, SIGNATURE_SCHEMA)


def confirmed_edges(sigs: DataFrame, cfg: MinHashConfig) -> DataFrame:
    """Near-duplicate edges ``(src, dst, est_jaccard)``: documents sharing an LSH band bucket,
    linked to the bucket's smallest doc_id when their signatures agree on at least
    ``threshold`` of the slots.

    Stars instead of all pairs keep a bucket of k documents at k-1 edges, not k²/2. The
    smallest member's signature travels with the bucket window, so confirming an edge needs no
    join back to the signatures."""
    buckets = sigs.where("has_shingles").select("doc_id", "signature", F.posexplode("band_keys").alias("band", "key"))
    w = Window.partitionBy("band", "key").orderBy("doc_id")
    equal = F.expr("aggregate(zip_with(smallest_signature, signature, (x, y) -> IF(x = y, 1, 0)), 0, (acc, v) -> acc + v)")
    return (buckets.withColumn("src", F.first("doc_id").over(w)).withColumn("smallest_signature", F.first("signature").over(w))
            .where(F.col("src") != F.col("doc_id"))
            .select("src", F.col("doc_id").alias("dst"), (equal / F.lit(cfg.num_perm)).alias("est_jaccard"))
            .where(F.col("est_jaccard") >= cfg.threshold)
            .dropDuplicates(["src", "dst"]))


def _both_ways(edges: DataFrame) -> DataFrame:
    return edges.select("src", "dst").unionByName(edges.select(F.col("dst").alias("src"), F.col("src").alias("dst")))


def _large_star(edges: DataFrame) -> DataFrame:
    nbrs = _both_ways(edges)
    m = nbrs.groupBy("src").agg(F.least(F.min("dst"), F.col("src")).alias("m"))
    return (nbrs.where(F.col("dst") > F.col("src")).join(m, "src")
            .select(F.col("dst").alias("src"), F.col("m").alias("dst")).distinct())


def _small_star(edges: DataFrame) -> DataFrame:
    nbrs = _both_ways(edges).where(F.col("dst") < F.col("src"))
    m = nbrs.groupBy("src").agg(F.min("dst").alias("m"))
    spokes = nbrs.join(m, "src").where(F.col("dst") != F.col("m")).select(F.col("dst").alias("src"), F.col("m").alias("dst"))
    centres = m.select("src", F.col("m").alias("dst"))
    return spokes.unionByName(centres).distinct()


def _edge_digest(edges: DataFrame) -> tuple[int, int]:
    """(count, order-free checksum) of an edge set: one pass, and it materializes a pending checkpoint."""
    row = edges.agg(F.count("*").alias("n"), F.sum(F.xxhash64("src", "dst") % (1 << 40)).alias("h")).collect()[0]
    return int(row["n"]), int(row["h"] or 0)


def connected_components(edges: DataFrame, max_iterations: int = 40) -> DataFrame:
    """``(node, component)`` for every node on an edge; component = smallest node id in it.

    Alternates large-star and small-star (Kiveris et al., 2014) until the edge set stops
    changing: O(log² n) rounds, each a few shuffles, and the driver never holds the edges.
    Edges are stored oriented (larger id → smaller id). Each round is one Spark job: the lazy
    local checkpoint that cuts the lineage is filled by the same pass that computes the edge
    set's digest, and an unchanged digest ends the iteration."""
    current = edges.select(F.greatest("src", "dst").alias("src"), F.least("src", "dst").alias("dst")).where("src != dst").distinct()
    current = current.localCheckpoint(eager=False)
    digest = _edge_digest(current)
    for _ in range(max_iterations):
        nxt = _small_star(_large_star(current)).localCheckpoint(eager=False)
        nxt_digest = _edge_digest(nxt)
        current, changed = nxt, nxt_digest != digest
        digest = nxt_digest
        if not changed:
            break
    else:
        raise RuntimeError(f"connected components did not converge in {max_iterations} rounds; raise minhash.max_cc_iterations")
    nodes = _both_ways(current).groupBy(F.col("src").alias("node")).agg(F.min("dst").alias("m"))
    return nodes.select("node", F.least("node", "m").alias("component"))


def _union_find(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    for batch in batches:
        for src, dst in zip(batch.column("src").to_pylist(), batch.column("dst").to_pylist()):
            parent.setdefault(src, src)
            parent.setdefault(dst, dst)
            a, b = find(src), find(dst)
            if a != b:
                parent[max(a, b)] = min(a, b)
    nodes = sorted(parent)
    yield pa.RecordBatch.from_arrays([pa.array(nodes, pa.string()), pa.array([find(n) for n in nodes], pa.string())],
                                     names=["node", "component"])


def components_in_one_task(edges: DataFrame) -> DataFrame:
    """Union-find over all edges inside one executor task: the same ``(node, component)`` as
    ``connected_components`` without its per-round job overhead, for edge sets that fit one task."""
    return edges.select("src", "dst").repartition(1).mapInArrow(_union_find, "node string, component string")


def graph_components(edges: DataFrame, single_task_max_edges: int, max_iterations: int) -> DataFrame:
    """``(node, component)``: union-find in one task for a small edge set, the distributed
    iteration for a large one. ``edges`` should be checkpointed: it is counted, then read."""
    if edges.count() <= single_task_max_edges:
        return components_in_one_task(edges)
    return connected_components(edges, max_iterations)


def near_duplicate_clusters(docs: DataFrame, cfg: MinHashConfig) -> DataFrame:
    """``(doc_id, minhash_cluster)`` for every input document; singletons are their own cluster.

    The edges never reach the driver: a small edge set is clustered in one executor task, a
    large one by the distributed iteration (``single_task_max_edges`` decides)."""
    sigs = minhash_signatures(docs, cfg).localCheckpoint()
    edges = confirmed_edges(sigs, cfg).localCheckpoint()
    components = graph_components(edges, cfg.single_task_max_edges, cfg.max_cc_iterations)
    return (sigs.select("doc_id").join(components.withColumnRenamed("node", "doc_id"), "doc_id", "left")
            .select("doc_id", F.coalesce("component", "doc_id").alias("minhash_cluster")))
