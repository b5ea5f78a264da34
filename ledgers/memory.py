"""The ``memory_chunks`` table: which curated documents are chunked, with which tokenizer and
chunker, and the checks that prove every curated document is covered.

Incremental: a document keeps its chunks while it stays curated and the tokenizer and chunker
configuration are unchanged; new documents are chunked; chunks of documents that left the
corpus, or were cut with another tokenizer or configuration, are deleted. Chunk ids are content
hashes, so a rechunk that produces the same text produces the same ids and the index keeps them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from ledgers.lake import Lake, WriteResult
from schemas.settings import MemorySettings
from schemas.tables import Reject
from spark_jobs.memory_chunks import CHUNK_INPUT, memory_chunks

TABLE = "memory_chunks"
CORPUS = "curated_documents"


@dataclass
class ChunkReport:
    documents: int
    chunked: int
    kept: int
    removed_documents: int
    rejected: int
    chunks_written: int
    corpus_version: int | None
    writes: list[WriteResult]


def chunk_input(lake: Lake, settings: MemorySettings) -> DataFrame:
    """Curated documents with their text, source, drop, landing time and trust."""
    docs = (lake.read(CORPUS).select("doc_id", "domain", "bucket")
            .join(lake.read("documents_clean").select("doc_id", "text", "source"), "doc_id")
            .join(lake.read("raw_documents").select("doc_id", "drop_id", "ingested_at"), "doc_id"))
    trust = F.lit(float(settings.default_trust))
    for source, value in sorted(settings.trust.items()):
        trust = F.when(F.col("source") == source, F.lit(float(value))).otherwise(trust)
    return docs.withColumn("trust", trust).select(*CHUNK_INPUT)


def _delete(lake: Lake, condition, run_id: str | None) -> WriteResult:
    return lake.delete(TABLE, condition, run_id=run_id)


def run_memory_chunks(lake: Lake, settings: MemorySettings, model: bytes, tokenizer_id: str,
                      transform: Callable[[str], str], run_id: str | None = None) -> ChunkReport:
    cfg = settings.chunker
    version = lake.version(CORPUS)
    docs = chunk_input(lake, settings).cache()
    existing = lake.read(TABLE).select("doc_id", "tokenizer_id", "chunker_hash").distinct()
    current = existing.where((F.col("tokenizer_id") == tokenizer_id) & (F.col("chunker_hash") == cfg.config_hash)).select("doc_id")
    todo = docs.join(current, "doc_id", "left_anti")
    empty = todo.where(F.length("text") == 0)
    writes: list[WriteResult] = []
    stale = [r["doc_id"] for r in existing.select("doc_id").distinct().join(docs.select("doc_id"), "doc_id", "left_anti").collect()]
    for i in range(0, len(stale), 500):
        writes.append(_delete(lake, F.col("doc_id").isin(stale[i:i + 500]), run_id))
    writes.append(_delete(lake, (F.col("tokenizer_id") != tokenizer_id) | (F.col("chunker_hash") != cfg.config_hash), run_id))
    n_todo = todo.count()
    rejected = 0
    if n_todo:
        chunks = memory_chunks(todo, model, transform, cfg, tokenizer_id, version if version is not None else -1)
        writes.append(lake.merge(chunks, TABLE, keys=["doc_id", "chunk_id"], update=False, run_id=run_id))
        rejects = [Reject(source=r["source"], uri=r["doc_id"], stage="memory", reason="empty-document",
                          detail="a curated document without text has nothing to chunk") for r in empty.collect()]
        if rejects:
            rejected = len(rejects)
            writes.append(lake.write(lake.frame("rejects", rejects), "rejects", run_id=run_id))
    n_docs = docs.count()
    docs.unpersist()
    writes = [w for w in writes if w.operation != "NONE"]
    return ChunkReport(documents=n_docs, chunked=n_todo - rejected, kept=n_docs - n_todo, removed_documents=len(stale),
                       rejected=rejected, chunks_written=sum(w.rows for w in writes if w.operation == "MERGE"),
                       corpus_version=version, writes=writes)


def coverage_problems(lake: Lake, limit: int = 20) -> list[str]:
    """Every curated document is covered by its chunks: the first starts at byte 0, each starts
    no later than the previous one ended, the last ends at the document's length, every chunk id
    is the sha256 of its text. An empty list means the table is sound."""
    chunks = lake.read(TABLE)
    docs = lake.read(CORPUS).select("doc_id").join(lake.read("documents_clean").select("doc_id", "text"), "doc_id")
    empty = docs.where(F.length("text") == 0).select("doc_id")
    nonempty = docs.join(empty, "doc_id", "left_anti")
    problems: list[str] = []
    missing = nonempty.join(chunks.select("doc_id").distinct(), "doc_id", "left_anti").limit(limit).collect()
    problems += [f"curated document {r['doc_id']} has no chunk" for r in missing]
    orphans = chunks.select("doc_id").distinct().join(docs.select("doc_id"), "doc_id", "left_anti").limit(limit).collect()
    problems += [f"chunks of {r['doc_id']}, which is not a curated document" for r in orphans]
    w = Window.partitionBy("doc_id").orderBy("seq")
    spans = (chunks.withColumn("prev_end", F.lag("byte_end").over(w))
             .withColumn("first", F.row_number().over(w) == 1)
             .withColumn("last", F.row_number().over(w.orderBy(F.desc("seq"))) == 1))
    bad = spans.where((F.col("first") & (F.col("byte_start") != 0)) | (F.col("byte_start") > F.col("prev_end"))
                      | (F.col("byte_end") <= F.col("byte_start")) | (F.sha2("text", 256) != F.col("chunk_id"))
                      | (F.length(F.encode("text", "UTF-8")) != F.col("byte_end") - F.col("byte_start")))
    problems += [f"chunk {r['chunk_id'][:12]} (document {r['doc_id'][:12]}, seq {r['seq']}, bytes {r['byte_start']}–{r['byte_end']}): "
                 "gap, bad span or id not the hash of its text" for r in bad.limit(limit).collect()]
    lengths = docs.select("doc_id", F.length(F.encode("text", "UTF-8")).alias("doc_bytes"))
    short = (spans.where("last").join(lengths, "doc_id").where(F.col("byte_end") != F.col("doc_bytes")).limit(limit).collect())
    problems += [f"document {r['doc_id'][:12]}: chunks end at byte {r['byte_end']} of {r['doc_bytes']}" for r in short]
    return problems


def table_keys(lake: Lake) -> set[tuple[str, str]]:
    return {(r["chunk_id"], r["doc_id"]) for r in lake.read(TABLE).select("chunk_id", "doc_id").collect()}


def chunks_of(lake: Lake, doc_ids: set[str]) -> list[dict]:
    """Every chunk of the given documents, as dicts (the indexer cuts windows per document)."""
    if not doc_ids:
        return []
    ids = lake.spark.createDataFrame([(d,) for d in sorted(doc_ids)], "doc_id string")
    return [r.asDict() for r in lake.read(TABLE).join(F.broadcast(ids), "doc_id").collect()]
