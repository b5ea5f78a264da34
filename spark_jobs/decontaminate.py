"""Decontamination: which training documents share counted n-grams with which benchmark items.

Document n-grams are hashed exactly like the benchmark's (``eval_ngrams``) and joined with the
benchmark hashes, which are small next to the corpus and are broadcast. Commonness is counted
on the benchmark side only: an n-gram shared by many benchmark items is the benchmark's own
template (an instruction line) and does not count, but one found in many training documents
still counts, because a benchmark item copied into many places is exactly the leak to remove.
"""

from __future__ import annotations

from typing import Iterator

import pyarrow as pa
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from schemas.decontamination import DecontaminationConfig
from spark_jobs.eval_ngrams import positioned_ngram_hashes, word_spans


def counted_hits(docs: DataFrame, evals: DataFrame, n: int, cfg: DecontaminationConfig) -> DataFrame:
    """``(doc_id, words, pos, ngram_hash)`` for every document n-gram that is a benchmark n-gram
    and counts (is not part of a benchmark template: in at most ``common_ngram_items`` items).
    How many training documents hold it plays no part."""
    counted = (evals.select("benchmark", "item_id", "ngram_hash").distinct().groupBy("ngram_hash")
               .agg(F.count("*").alias("items")).where(F.col("items") <= cfg.common_ngram_items).select("ngram_hash"))
    grams = positioned_ngram_hashes(docs, ["doc_id"], n)
    return grams.join(F.broadcast(counted), "ngram_hash").select("doc_id", "words", "pos", "ngram_hash")


def contamination_pairs(hits: DataFrame, evals: DataFrame, cfg: DecontaminationConfig) -> DataFrame:
    """``(benchmark, item_id, doc_id, overlapping_ngrams, ngram_hashes)`` for every pair sharing
    at least ``min_overlapping_ngrams`` counted n-grams."""
    shared = hits.select("doc_id", "ngram_hash").distinct().join(evals.select("benchmark", "item_id", "ngram_hash"), "ngram_hash")
    return (shared.groupBy("benchmark", "item_id", "doc_id")
            .agg(F.count("*").alias("overlapping_ngrams"),
                 F.slice(F.array_sort(F.collect_list("ngram_hash")), 1, max(cfg.report_hashes, 1)).alias("ngram_hashes"))
            .where(F.col("overlapping_ngrams") >= cfg.min_overlapping_ngrams)
            .withColumn("ngram_hashes", F.col("ngram_hashes") if cfg.report_hashes else F.array().cast("array<bigint>")))


def leak_positions(hits: DataFrame, pairs: DataFrame) -> DataFrame:
    """``(doc_id, words, positions)``: the first-word indices of the n-grams behind the pairs."""
    leaked = pairs.select("doc_id").distinct()
    return (hits.join(leaked, "doc_id").groupBy("doc_id", "words")
            .agg(F.array_sort(F.collect_set("pos")).alias("positions")))


def redact_text(text: str, expected_words: int, positions: list[int], n: int, replacement: str) -> tuple[str | None, int]:
    """``text`` with the word spans covered by the n-grams at ``positions`` replaced, and how many
    n-grams that was. ``None`` when Python's words disagree with Spark's (a case mapping that
    changes length): the caller then removes the document instead of guessing."""
    spans = word_spans(text)
    if len(spans) != expected_words or len(text.lower()) != len(text):
        return None, len(positions)
    covered = [False] * len(spans)
    for p in positions:
        for w in range(p, min(p + n, len(spans))):
            covered[w] = True
    out, cursor, w = [], 0, 0
    while w < len(spans):
        if not covered[w]:
            w += 1
            continue
        start = w
        while w < len(spans) and covered[w]:
            w += 1
        out.append(text[cursor:spans[start][0]])
        out.append(replacement)
        cursor = spans[w - 1][1]
    out.append(text[cursor:])
    return "".join(out), len(positions)


REDACTED = "doc_id string, text string, redacted_ngrams int"


def redact_documents(docs_with_positions: DataFrame, n: int, replacement: str) -> DataFrame:
    """``(doc_id, text, words, positions)`` → ``(doc_id, text, redacted_ngrams)``; text is null
    where redaction could not be done safely."""

    def redact(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            rows = batch.to_pylist()
            out = [redact_text(r["text"], r["words"], r["positions"], n, replacement) for r in rows]
            yield pa.RecordBatch.from_pydict({
                "doc_id": [r["doc_id"] for r in rows],
                "text": [t for t, _ in out],
                "redacted_ngrams": pa.array([k for _, k in out], pa.int32()),
            })

    return docs_with_positions.select("doc_id", "text", "words", "positions").mapInArrow(redact, REDACTED)
