"""Decontamination as a lake operation: curated documents → decontaminated_documents + report."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from pyspark import StorageLevel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from ledgers.curation import StageReport
from ledgers.lake import Lake, WriteResult
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


def eval_hashes_digest(lake: Lake) -> str:
    """An order-free digest of what eval_hashes holds (not its version: a table rebuilt with other
    benchmarks can come back at the same version number); one aggregate, computed by executors."""
    row = lake.read("eval_hashes").select(F.xxhash64("benchmark", "item_id", "ngram_hash", "n").alias("h")).agg(
        F.count(F.lit(1)).alias("rows"), F.sum(F.col("h").cast("decimal(38,0)")).alias("sum"),
        F.sum(F.xxhash64(F.col("h")).cast("decimal(38,0)")).alias("sum2")).first()
    return f"{row['rows']}:{row['sum']}:{row['sum2']}"


def fingerprint(lake: Lake, cfg: DecontaminationConfig, n: int) -> str:
    """What a judgment depends on besides the document: the settings, n and the benchmark hashes' content."""
    return hashlib.sha256(f"{cfg.model_dump_json()}|n={n}|eval_hashes={eval_hashes_digest(lake)}".encode()).hexdigest()[:16]


@dataclass
class _Judged:
    kept: DataFrame
    report: DataFrame
    removed: DataFrame
    inputs: DataFrame
    persisted: list[DataFrame]


def _judge(docs: DataFrame, evals: DataFrame, n: int, cfg: DecontaminationConfig, fp: str) -> _Judged:
    hits = counted_hits(docs, evals, n, cfg).persist(StorageLevel.MEMORY_AND_DISK)
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
    items = (pairs.groupBy("doc_id").agg(F.array_sort(F.collect_list(F.concat_ws("/", "benchmark", "item_id"))).alias("items"),
                                         F.sum("overlapping_ngrams").alias("ngrams")))
    removed = (rows.where(F.col("action") == "removed").join(items, "doc_id").select(
        "source", "uri", F.lit(STAGE).alias("stage"), F.lit("contaminated").alias("reason"),
        F.format_string("doc_id %s: %d n-grams shared with %s", "doc_id", "ngrams",
                        F.array_join(F.slice("items", 1, 5), ", ")).alias("detail"),
        F.lit(None).cast("string").alias("drop_id")))
    inputs = rows.select("doc_id", "text_sha256", F.lit(fp).alias("fingerprint"), F.coalesce("action", F.lit("kept")).alias("action"),
                         "source", "uri")
    return _Judged(rows.where(F.col("action").isNull() | (F.col("action") == "redacted")), pairs.join(outcome.select("doc_id", "action"), "doc_id"),
                   removed, inputs, [hits, pairs, outcome])


def _judged_ids(lake: Lake, table: str) -> DataFrame:
    if table == "rejects":
        return lake.read("rejects").where(F.col("stage") == STAGE).select(F.regexp_extract("detail", r"^doc_id (\S+):", 1).alias("doc_id"))
    return lake.read(table).select("doc_id")


OUTPUTS = ("decontaminated_documents", "contamination", "rejects", "decontamination_inputs")


def _holding(lake: Lake, ids: DataFrame) -> set[str]:
    """The outputs holding any of ``ids``, in one Spark job: a drop of new documents is in none,
    and deleting it from every output would cost a commit each for nothing."""
    hits = [_judged_ids(lake, t).join(ids, "doc_id", "left_semi").limit(1).select(F.lit(t).alias("table")) for t in OUTPUTS]
    union = hits[0]
    for hit in hits[1:]:
        union = union.unionByName(hit)
    return {r["table"] for r in union.collect()}


def _delete_judged(lake: Lake, stale: DataFrame, run_id: str | None) -> list[WriteResult]:
    """Take ``stale`` documents (doc_id, uri: withdrawn, changed, or about to be judged again)
    out of every output that holds any, one commit a table. ``decontamination_inputs`` goes last:
    until it is rewritten, a run that stopped half-way still lists them, and the next run deletes
    them again (a run that stopped before it left them in the other outputs only, and those are
    found by id)."""
    ids = stale.select("doc_id").distinct()
    holding = _holding(lake, ids)

    def by_id(table: str) -> WriteResult:
        return lake.operate(table, lambda t: t.alias("t").merge(ids.alias("s"), "t.doc_id = s.doc_id").whenMatchedDelete().execute(),
                            run_id=run_id)

    def rejected() -> WriteResult:
        keys = stale.select("uri", F.concat(F.lit("doc_id "), "doc_id", F.lit(":%")).alias("prefix")).distinct()
        return lake.operate("rejects", lambda t: t.alias("t").merge(
            keys.alias("s"), f"t.stage = '{STAGE}' AND t.uri = s.uri AND t.detail LIKE s.prefix").whenMatchedDelete().execute(),
            run_id=run_id)

    return [rejected() if table == "rejects" else by_id(table) for table in OUTPUTS if table in holding]


def run_decontamination(lake: Lake, cfg: DecontaminationConfig, run_id: str | None = None, full: bool = False) -> StageReport:
    """Judge the curated documents not judged before under the same settings and benchmark hashes
    (``decontamination_inputs``), and take out of every output the documents that left the
    curated set or changed text. Each document's judgment depends only on its text and the
    benchmark side, so the result equals a full recompute (``full=True``, or any change of the
    settings, the n-gram length or eval_hashes) row for row."""
    n = eval_ngram_length(lake)
    fp = fingerprint(lake, cfg, n)
    docs = (lake.read("curated_documents").select("doc_id", "domain", "bucket")
            .join(lake.read("documents_clean").select("doc_id", "source", "uri", "text", "bytes"), "doc_id")
            .withColumn("text_sha256", F.sha2(F.concat_ws("\u0000", "text", "domain", "bucket", "source", "uri"), 256)))
    evals = lake.read("eval_hashes").select("benchmark", "item_id", "ngram_hash")
    prior = lake.read("decontamination_inputs") if lake.exists("decontamination_inputs") else None
    incremental = (not full and prior is not None and prior.limit(1).count() > 0
                   and prior.where(F.col("fingerprint") != fp).limit(1).count() == 0)
    key = ["doc_id", "text_sha256"]
    persisted: list[DataFrame] = []
    try:
        if incremental:
            # checkpointed: both are read back after the writes below have changed decontamination_inputs
            todo = docs.join(prior.select(*key), key, "left_anti").localCheckpoint()
            gone = prior.join(docs.select(*key), key, "left_anti").select("doc_id", "action", "uri").localCheckpoint()
            stats = {"incremental": True, "judged_documents": todo.count(), "withdrawn_documents": gone.count()}
            judged = _judge(todo, evals, n, cfg, fp)
            persisted += judged.persisted
            stale = gone.select("doc_id", "uri").unionByName(todo.select("doc_id", "uri"))
            writes = _delete_judged(lake, stale, run_id) if stats["withdrawn_documents"] or stats["judged_documents"] else []
            if stats["judged_documents"]:
                kept, report, removed, inputs = (frame.localCheckpoint() for frame in (judged.kept, judged.report, judged.removed, judged.inputs))
                writes += [lake.write(kept, "decontaminated_documents", run_id=run_id),
                           lake.write(report, "contamination", run_id=run_id),
                           lake.write(removed, "rejects", run_id=run_id),
                           lake.write(inputs, "decontamination_inputs", run_id=run_id)]
        else:
            judged = _judge(docs, evals, n, cfg, fp)
            persisted += judged.persisted
            writes = [lake.write(judged.kept, "decontaminated_documents", mode="overwrite", run_id=run_id),
                      lake.write(judged.report, "contamination", mode="overwrite", run_id=run_id),
                      lake.write(judged.removed, "rejects", mode="overwrite", replace_where=f"stage = '{STAGE}'", run_id=run_id),
                      lake.write(judged.inputs, "decontamination_inputs", mode="overwrite", run_id=run_id)]
            stats = {"incremental": False, "judged_documents": None, "withdrawn_documents": 0}
    finally:
        for frame in persisted:
            frame.unpersist()
    input_rows = docs.count()
    if stats["judged_documents"] is None:
        stats["judged_documents"] = input_rows
    actions = {r["action"]: r["count"] for r in lake.read("decontamination_inputs").groupBy("action").count().collect()}
    per_benchmark = {r["benchmark"]: {"items": r["items"], "documents": r["documents"]}
                     for r in lake.read("contamination").groupBy("benchmark").agg(
                         F.countDistinct("item_id").alias("items"), F.countDistinct("doc_id").alias("documents")).collect()}
    kept = actions.get("kept", 0) + actions.get("redacted", 0)
    return StageReport(input_rows, kept, {"contaminated": actions["removed"]} if actions.get("removed") else {},
                       writes, {"n": n, "mode": cfg.mode, "redacted_documents": actions.get("redacted", 0),
                                "per_benchmark": dict(sorted(per_benchmark.items())), **stats})


def decontamination_conservation(lake: Lake) -> tuple[int, int, int]:
    """(curated documents, decontaminated documents, decontamination rejects) as the tables hold them now."""
    return (lake.read("curated_documents").count(), lake.read("decontaminated_documents").count(),
            lake.read("rejects").where(F.col("stage") == STAGE).count())


def decontamination_id_problems(lake: Lake) -> list[str]:
    """Id-level conservation: every curated document judged exactly once, the kept ones present
    once in decontaminated_documents, the removed ones absent from it with one reject each, and
    nothing there that is not curated."""
    return decontamination_audit(lake)[1]


def decontamination_audit(lake: Lake) -> tuple[tuple[int, int, int], list[str]]:
    """``decontamination_conservation`` and ``decontamination_id_problems`` in one Spark job."""
    def counted(frame: DataFrame, **columns) -> DataFrame:
        return frame.groupBy("doc_id").agg(*[F.sum(c.cast("long")).alias(name) for name, c in columns.items()])

    one = F.lit(1)
    removed = F.col("action") == "removed"
    per_id = (counted(lake.read("curated_documents"), c=one)
              .join(counted(lake.read("decontaminated_documents"), k=one), "doc_id", "full_outer")
              .join(counted(lake.read("decontamination_inputs"), j=one, jr=removed, jk=~removed), "doc_id", "full_outer")
              .join(counted(_judged_ids(lake, "rejects"), r=one), "doc_id", "full_outer")
              .fillna(0, ["c", "k", "j", "jr", "jk", "r"]))
    c, k, j, jr, jk, r = (F.col(x) for x in ("c", "k", "j", "jr", "jk", "r"))
    t = per_id.agg(
        F.sum((k > 1).cast("long")).alias("dup_kept"), F.sum((j > 1).cast("long")).alias("dup_judged"),
        F.sum(F.when(j == 0, c).otherwise(0)).alias("unjudged"), F.sum(F.when(c == 0, k).otherwise(0)).alias("stray"),
        F.sum(F.when((k == 0) & (c > 0), jk).otherwise(0)).alias("missing"), F.sum(F.when(k > 0, jr).otherwise(0)).alias("leaked"),
        F.sum(F.when(r != 1, jr).otherwise(0)).alias("unrejected"),
        F.sum(c).alias("curated"), F.sum(k).alias("kept"), F.sum(r).alias("rejected")).first().asDict()
    said = {"dup_kept": "doc_id(s) appear more than once in decontaminated_documents",
            "dup_judged": "doc_id(s) appear more than once in decontamination_inputs",
            "unjudged": "curated document(s) were never judged", "stray": "decontaminated document(s) are not curated",
            "missing": "document(s) judged kept are missing from decontaminated_documents",
            "leaked": "document(s) judged contaminated are still in decontaminated_documents",
            "unrejected": "removed document(s) do not have exactly one decontamination reject"}
    counts = (int(t["curated"] or 0), int(t["kept"] or 0), int(t["rejected"] or 0))
    return counts, [f"{t[key]} {text}" for key, text in said.items() if t[key]]
