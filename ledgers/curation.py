"""The curation stages as lake operations: read the input table, run the Spark job, write, count.

Each returns the counts that conservation needs (``input = kept + removed``) so the asset can
report them and its check can compare them with what the tables hold.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from pyspark import StorageLevel
from pyspark.sql import functions as F

from ledgers.conservation import id_audit, rejected_ids
from ledgers.lake import Lake, WriteResult
from schemas.curation import CleanConfig
from schemas.dedup import MinHashConfig
from schemas.tables import CleanedDrop
from spark_jobs.clean import STAGE as CLEAN_STAGE
from spark_jobs.clean import clean_documents, split_clean
from spark_jobs.dedup import bucket_members, candidate_pairs, dedup_rows, document_sketches, exact_hashes, graph_components, jaccard_edges


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


def _in(column: str, values: list[str]) -> str:
    quoted = ", ".join("'" + v.replace("'", "''") + "'" for v in values)
    return f"{column} IN ({quoted})"


def pending_drops(lake: Lake, cfg: CleanConfig) -> list[str]:
    """Drops in raw_documents not yet cleaned under this configuration, or whose content changed
    since (``drops.sha256``). The driver gets drop ids, never rows."""
    raw = lake.read("raw_documents").select("drop_id").distinct()
    landed = raw.join(lake.read("drops").select("drop_id", F.col("sha256").alias("drop_sha256")), "drop_id", "left")
    done = lake.read("clean_drops").where(F.col("config_hash") == cfg.config_hash).select("drop_id", "drop_sha256")
    todo = landed.join(done, (landed.drop_id == done.drop_id) & landed.drop_sha256.eqNullSafe(done.drop_sha256), "left_anti")
    return sorted(r["drop_id"] for r in todo.collect())


def run_clean(lake: Lake, cfg: CleanConfig, run_id: str | None = None, drop_ids: list[str] | None = None) -> StageReport:
    """Clean the pending drops only (or ``drop_ids``): each drop's rows in documents_clean and its
    clean rejects are replaced as a unit, so the cost of a run is the size of the new drops."""
    drops = pending_drops(lake, cfg) if drop_ids is None else sorted(drop_ids)
    if not drops:
        return StageReport(0, 0, {}, [], {"drops": [], "pii_redactions": {}, "domains": {}, "length_histogram": {}})
    where = _in("drop_id", drops)
    raw = lake.read("raw_documents").where(where)
    cleaned = clean_documents(raw, cfg).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        per_drop = {r["drop_id"]: (r["rows_in"], r["kept"]) for r in cleaned.groupBy("drop_id").agg(
            F.count("*").alias("rows_in"), F.count(F.when(F.col("reason").isNull(), 1)).alias("kept")).collect()}
        input_rows = sum(v[0] for v in per_drop.values())
        kept, removed = split_clean(cleaned)
        by_reason = {r["reason"]: r["count"] for r in removed.groupBy("reason").count().collect()}
        pii = {r["key"]: r["n"] for r in kept.select(F.explode("pii_redactions")).groupBy("key").agg(F.sum("value").alias("n")).collect()}
        lengths = kept.select(F.floor(F.log2(F.greatest(F.col("bytes"), F.lit(1)))).alias("log2_bytes")).groupBy("log2_bytes").count().collect()
        domains = {r["domain"]: r["count"] for r in kept.groupBy("domain").count().collect()}
        writes = [
            lake.write(kept, "documents_clean", mode="overwrite", replace_where=where, run_id=run_id),
            lake.write(removed, "rejects", mode="overwrite", replace_where=f"stage = '{CLEAN_STAGE}' AND {where}", run_id=run_id),
        ]
    finally:
        cleaned.unpersist()
    shas = {r["drop_id"]: r["sha256"] for r in lake.read("drops").where(where).select("drop_id", "sha256").collect()}
    ledger = [CleanedDrop(drop_id=d, drop_sha256=shas.get(d, ""), config_hash=cfg.config_hash, rows_in=per_drop.get(d, (0, 0))[0],
                          kept=per_drop.get(d, (0, 0))[1], removed=per_drop.get(d, (0, 0))[0] - per_drop.get(d, (0, 0))[1]) for d in drops]
    writes.append(lake.merge(lake.frame("clean_drops", ledger), "clean_drops", keys=["drop_id"], run_id=run_id))
    return StageReport(input_rows, sum(v[1] for v in per_drop.values()), dict(sorted(by_reason.items())), writes,
                       {"drops": drops, "pii_redactions": dict(sorted(pii.items())), "domains": dict(sorted(domains.items())),
                        "length_histogram": {f"2^{r['log2_bytes']}": r["count"] for r in sorted(lengths, key=lambda r: r["log2_bytes"])}})


def _reset_dedup(lake: Lake, cfg: MinHashConfig, run_id: str | None) -> None:
    """Forget every stored dedup result of this configuration: the next run recomputes all."""
    for table, condition in (("dedup", "true"), ("dedup_sketches", f"config_hash = '{cfg.config_hash}'"),
                             ("dedup_edges", f"config_hash = '{cfg.config_hash}'")):
        _delete(lake, table, condition, run_id)


def _delete(lake: Lake, table: str, condition, run_id: str | None) -> WriteResult:
    return lake.delete(table, condition, run_id=run_id)


def run_dedup(lake: Lake, cfg: MinHashConfig, run_id: str | None = None, full: bool = False) -> StageReport:
    """Exact and near-duplicate removal, incremental: only new documents are sketched; their LSH
    band keys are joined against the stored ones, every candidate pair is confirmed by exact
    Jaccard and kept in ``dedup_edges``; then only the components a change touched get their rows
    rewritten. Keepers are window minima over whole components, so the result equals a full
    recompute (``full=True``) row for row.

    What is not proportional to the drop: the band-key join scans the stored keys, connected
    components run over all stored edges (edges, not documents: a few per duplicate), and the
    anti-joins that find new and removed documents read the doc_id columns of two tables."""
    if full:
        _reset_dedup(lake, cfg, run_id)
    h = cfg.config_hash
    clean_ids = lake.read("documents_clean").select("doc_id", "domain", "drop_id")
    prior = lake.read("dedup").select("doc_id", "domain", "exact_hash", "minhash_cluster")
    changed = clean_ids.join(prior.select("doc_id", "domain"), ["doc_id", "domain"], "left_anti").persist(StorageLevel.MEMORY_AND_DISK)
    gone = prior.join(clean_ids.select("doc_id"), "doc_id", "left_anti").select("doc_id", "minhash_cluster").persist(StorageLevel.MEMORY_AND_DISK)
    new_docs = None
    try:
        drops = sorted(r["drop_id"] for r in changed.select("drop_id").distinct().collect() if r["drop_id"] is not None)
        source = lake.read("documents_clean")
        if drops and not changed.where(F.col("drop_id").isNull()).limit(1).count():
            source = source.where(_in("drop_id", drops))
        new_docs = exact_hashes(source.join(changed.select("doc_id"), "doc_id", "left_semi").select("doc_id", "domain", "text"))
        new_docs = new_docs.select("doc_id", "domain", "exact_hash", "text").persist(StorageLevel.MEMORY_AND_DISK)
        stats = _sketch_and_link(lake, cfg, new_docs, run_id)
        kept_prior = prior.join(gone.select("doc_id"), "doc_id", "left_anti").join(changed.select("doc_id"), "doc_id", "left_anti")
        present = kept_prior.select("doc_id", "domain", "exact_hash").unionByName(new_docs.select("doc_id", "domain", "exact_hash"))
        hashes = present.select(F.col("exact_hash").alias("h")).distinct()
        edges = (lake.read("dedup_edges").where(F.col("config_hash") == h).select("src", "dst")
                 .join(hashes.withColumnRenamed("h", "src"), "src", "left_semi").join(hashes.withColumnRenamed("h", "dst"), "dst", "left_semi")
                 .localCheckpoint())
        components = graph_components(edges, cfg.single_task_max_edges, cfg.max_cc_iterations).localCheckpoint()
        seeds = (new_docs.select(F.col("exact_hash").alias("node"))
                 .unionByName(stats.pop("new_edges").select(F.col("src").alias("node")))
                 .unionByName(prior.join(gone.select("minhash_cluster"), "minhash_cluster", "left_semi").select(F.col("exact_hash").alias("node")))
                 .distinct())
        touched = (seeds.join(components, "node", "left").select(F.coalesce("component", "node").alias("comp")).distinct())
        affected = (components.join(touched.withColumnRenamed("comp", "component"), "component", "left_semi").select("node")
                    .unionByName(seeds).distinct())
        rows = dedup_rows(present.join(affected.withColumnRenamed("node", "exact_hash"), "exact_hash", "left_semi"), components)
        rows = rows.localCheckpoint()
        stats.update(new_documents=new_docs.count(), removed_documents=gone.count(), rewritten_rows=rows.count())
        writes = []
        gone_ids = gone.select("doc_id").localCheckpoint()
        if gone_ids.limit(1).count():
            writes.append(_delete_ids(lake, gone_ids, run_id))
        writes.append(lake.merge(rows, "dedup", keys=["doc_id"], run_id=run_id))
        writes.extend(stats.pop("writes"))
    finally:
        for frame in (changed, gone, new_docs):
            if frame is not None:
                frame.unpersist()
    counts = lake.read("dedup").groupBy("domain", "removed_reason").count().collect()
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
    return StageReport(sum(total.values()), kept, dict(sorted(by_reason.items())), writes,
                       {"dedup_rate_by_domain": per_domain, "bands": bands, "rows_per_band": rows_per_band,
                        "candidate_probability_at_threshold": round(cfg.candidate_probability_at_threshold, 4), **stats})


def _delete_ids(lake: Lake, ids, run_id: str | None) -> WriteResult:
    """Delete dedup rows of documents no longer in documents_clean (one MERGE … DELETE commit)."""
    return lake.operate("dedup", lambda t: t.alias("t").merge(ids.alias("s"), "t.doc_id = s.doc_id").whenMatchedDelete().execute(),
                        run_id=run_id)


def _sketch_and_link(lake: Lake, cfg: MinHashConfig, new_docs, run_id: str | None) -> dict:
    """Sketch the texts no stored sketch covers, store them, and store the confirmed edges of every
    candidate pair with at least one new text. Returns counts, the writes and the new edges."""
    h = cfg.config_hash
    stored = lake.read("dedup_sketches").where(F.col("config_hash") == h)
    fresh = (new_docs.select("exact_hash", "text").dropDuplicates(["exact_hash"])
             .join(stored.select("exact_hash"), "exact_hash", "left_anti"))
    sketches = document_sketches(fresh, cfg, key="exact_hash").withColumn("config_hash", F.lit(h)).localCheckpoint()
    writes = [lake.write(sketches, "dedup_sketches", mode="append", run_id=run_id)]
    everything = lake.read("dedup_sketches").where(F.col("config_hash") == h)
    pairs = candidate_pairs(bucket_members(sketches, "exact_hash"), bucket_members(everything, "exact_hash"), "exact_hash").localCheckpoint()
    edges = (jaccard_edges(pairs, everything, cfg.threshold, "exact_hash")
             .withColumn("config_hash", F.lit(h)).localCheckpoint())
    writes.append(lake.write(edges, "dedup_edges", mode="append", run_id=run_id))
    return {"new_sketches": sketches.count(), "candidate_pairs": pairs.count(), "new_edges_confirmed": edges.count(),
            "writes": writes, "new_edges": edges}


def clean_conservation(lake: Lake) -> tuple[int, int, int]:
    """(raw_documents, documents_clean, clean rejects) as the tables hold them now."""
    return (lake.read("raw_documents").count(), lake.read("documents_clean").count(),
            lake.read("rejects").where(F.col("stage") == CLEAN_STAGE).count())


def clean_id_problems(lake: Lake) -> list[str]:
    return clean_audit(lake)[1]


def clean_audit(lake: Lake) -> tuple[tuple[int, int, int], list[str]]:
    """``clean_conservation`` and ``clean_id_problems`` in one Spark job."""
    return id_audit(lake.read("raw_documents"), lake.read("documents_clean"), rejected_ids(lake, CLEAN_STAGE),
                    "documents_clean", "rejects(stage=clean)")


def dedup_id_problems(lake: Lake) -> list[str]:
    return dedup_audit(lake)[1]


def dedup_audit(lake: Lake) -> tuple[tuple[int, int, int], list[str]]:
    """``dedup_conservation`` and ``dedup_id_problems`` in one Spark job."""
    dedup = lake.read("dedup")
    return id_audit(lake.read("documents_clean"), dedup.where("is_keeper"), dedup.where("NOT is_keeper"),
                    "dedup keepers", "dedup duplicates")


def dedup_conservation(lake: Lake) -> tuple[int, int, int]:
    """(documents_clean, dedup keepers, dedup removed) as the tables hold them now."""
    dedup = lake.read("dedup")
    return (lake.read("documents_clean").count(), dedup.where("is_keeper").count(), dedup.where("NOT is_keeper").count())
