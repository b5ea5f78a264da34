"""Exact and MinHash-LSH near-duplicate detection on Spark: LSH for candidates, exact Jaccard to confirm.

Keepers are always the smallest ``doc_id`` of their group (exact hash or near-duplicate
cluster): doc ids are content hashes, so every rerun, on any cluster size, picks the same ones.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np
import pyarrow as pa
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from schemas.dedup import MinHashConfig
from spark_jobs.minhash import band_keys, permutations, signatures, sketch

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


def document_sketches(df: DataFrame, cfg: MinHashConfig, key: str = "doc_id") -> DataFrame:
    """One row per ``key``: MinHash signature, LSH band keys and the sorted distinct shingle
    hashes (``shingles``, ``n_shingles``) that confirm candidates exactly. Computed once per
    document and stored, so later drops never recompute them."""
    bands, rows = cfg.bands_rows
    cfg_json = cfg.model_dump_json()
    schema = T.StructType([
        T.StructField(key, T.StringType()), T.StructField("has_shingles", T.BooleanType()),
        T.StructField("signature", T.ArrayType(T.IntegerType(), containsNull=False)),
        T.StructField("band_keys", T.ArrayType(T.LongType(), containsNull=False)),
        T.StructField("shingles", T.ArrayType(T.LongType(), containsNull=False)), T.StructField("n_shingles", T.IntegerType())])

    def compute(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        local = MinHashConfig.model_validate_json(cfg_json)
        perms = permutations(local)
        for batch in batches:
            text = batch.column("text")
            sig, has, sets = sketch(text, local, perms)
            yield pa.RecordBatch.from_arrays([
                batch.column(key),
                pa.array(has),
                pa.FixedSizeListArray.from_arrays(pa.array(sig.view(np.int32).ravel()), local.num_perm).cast(pa.list_(pa.int32())),
                pa.FixedSizeListArray.from_arrays(pa.array(band_keys(sig, bands, rows).ravel()), bands).cast(pa.list_(pa.int64())),
                sets,
                pa.array(np.diff(np.asarray(sets.offsets)).astype(np.int32)),
            ], names=[key, "has_shingles", "signature", "band_keys", "shingles", "n_shingles"])

    return df.select(key, "text").mapInArrow(compute, schema)


def bucket_members(sketches: DataFrame, key: str = "doc_id") -> DataFrame:
    """``(band, bucket, key)``: one row per document and LSH band."""
    return sketches.where("has_shingles").select(key, F.posexplode("band_keys").alias("band", "bucket"))


def candidate_pairs(probe: DataFrame, stored: DataFrame, key: str = "doc_id") -> DataFrame:
    """Every pair ``(a, b)``, ``a < b``, that shares a band bucket, with at least one side in
    ``probe`` (both are ``bucket_members`` frames; pass the same frame twice for all pairs).
    All pairs of a bucket, not a star around one member: a candidate missed here is a
    duplicate missed for good."""
    p, s = probe.alias("p"), stored.alias("s")
    joined = p.join(s, (F.col("p.band") == F.col("s.band")) & (F.col("p.bucket") == F.col("s.bucket")))
    a, b = F.col(f"p.{key}"), F.col(f"s.{key}")
    return joined.where(a != b).select(F.least(a, b).alias("a"), F.greatest(a, b).alias("b")).distinct()


def jaccard_edges(pairs: DataFrame, sketches: DataFrame, threshold: float, key: str = "doc_id") -> DataFrame:
    """``(src, dst, jaccard)`` for the candidate pairs whose exact shingle-set Jaccard reaches
    ``threshold``. Pairs whose sizes alone rule it out (J <= min/max) skip the intersection.
    Only the sketches of documents in a pair are joined, so the shingle sets of the others are
    never shuffled; ``pairs`` is read twice and should be checkpointed."""
    involved = pairs.select(F.col("a").alias(key)).unionByName(pairs.select(F.col("b").alias(key))).distinct()
    side = sketches.join(involved, key, "left_semi").select(key, "shingles", "n_shingles")
    left = side.select(F.col(key).alias("a"), F.col("shingles").alias("sa"), F.col("n_shingles").alias("na"))
    right = side.select(F.col(key).alias("b"), F.col("shingles").alias("sb"), F.col("n_shingles").alias("nb"))
    inter = F.size(F.array_intersect("sa", "sb"))
    return (pairs.join(left, "a").join(right, "b")
            .where(F.least("na", "nb") >= F.lit(threshold) * F.greatest("na", "nb"))
            .withColumn("inter", inter)
            .select(F.col("a").alias("src"), F.col("b").alias("dst"),
                    (F.col("inter") / (F.col("na") + F.col("nb") - F.col("inter"))).alias("jaccard"))
            .where(F.col("jaccard") >= threshold))


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

    LSH proposes, exact Jaccard decides: every pair sharing a band bucket is confirmed on the
    shingle sets, and clusters are the connected components of the confirmed edges. The edges
    never reach the driver: a small edge set is clustered in one executor task, a large one by
    the distributed iteration (``single_task_max_edges`` decides)."""
    sketches = document_sketches(docs, cfg).localCheckpoint()
    members = bucket_members(sketches)
    edges = jaccard_edges(candidate_pairs(members, members).localCheckpoint(), sketches, cfg.threshold).localCheckpoint()
    components = graph_components(edges, cfg.single_task_max_edges, cfg.max_cc_iterations)
    return (sketches.select("doc_id").join(components.withColumnRenamed("node", "doc_id"), "doc_id", "left")
            .select("doc_id", F.coalesce("component", "doc_id").alias("minhash_cluster")))


def dedup_rows(docs: DataFrame, components: DataFrame) -> DataFrame:
    """``dedup`` rows for ``docs(doc_id, domain, exact_hash)`` given ``components(node, component)``
    over exact hashes (a hash on no edge is its own component). Keepers: the smallest doc_id of
    each exact-hash group, and of each near-duplicate component; ``duplicate_of`` names the
    component's keeper. ``docs`` must hold whole components: keepers are window minima."""
    comp = F.coalesce(F.col("component"), F.col("exact_hash"))
    rows = (docs.join(components.select(F.col("node").alias("exact_hash"), "component"), "exact_hash", "left")
            .withColumn("comp", comp)
            .withColumn("exact_keeper", F.min("doc_id").over(Window.partitionBy("exact_hash")))
            .withColumn("minhash_cluster", F.min("doc_id").over(Window.partitionBy("comp")))
            .withColumn("is_exact_dup", F.col("doc_id") != F.col("exact_keeper"))
            .withColumn("is_near_dup", ~F.col("is_exact_dup") & (F.col("minhash_cluster") != F.col("doc_id"))))
    return rows.select(
        "doc_id", "domain", "exact_hash", "minhash_cluster",
        (~F.col("is_exact_dup") & ~F.col("is_near_dup")).alias("is_keeper"),
        F.when(F.col("is_exact_dup"), "exact-duplicate").when(F.col("is_near_dup"), "near-duplicate").alias("removed_reason"),
        F.when(F.col("is_exact_dup") | F.col("is_near_dup"), F.col("minhash_cluster")).alias("duplicate_of"),
    )
