"""The Spark side of building Megatron shards: tokenize documents in executors, cut each
(bucket, split) into groups of about one shard's worth of tokens, and run one packing task per
group; and check written shards in executors, the driver getting only the problems.

What a group's task does (pack, pad, write the files) and how text is rendered before
tokenizing are the caller's functions: this module only moves rows, so the same job serves the
pretraining stages and the synthetic share.
"""

from __future__ import annotations

import math
from typing import Callable, Iterator

import pandas as pd
import pyarrow as pa
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

Transform = Callable[[str], str]
DOCUMENTS = "doc_id string, bucket string, split string, family string, text string"
TOKENIZED = "doc_id string, bucket string, split string, family string, tokens array<int>, n_tokens long"


def tokenize(docs: DataFrame, model: bytes, transform: Transform) -> DataFrame:
    """``(doc_id, bucket, split, family, text)`` → ``(…, tokens, n_tokens)``: each text through
    ``transform`` (the tokenizer's training-time rendering), then the SentencePiece model, whose
    bytes travel in the closure so executors need no file of the driver's."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        import sentencepiece as spm

        sp = spm.SentencePieceProcessor(model_proto=model)
        for batch in batches:
            ids = sp.encode([transform(t) for t in batch.column("text").to_pylist()])
            yield pa.RecordBatch.from_pydict({
                "doc_id": batch.column("doc_id"), "bucket": batch.column("bucket"), "split": batch.column("split"),
                "family": batch.column("family"),
                "tokens": pa.array(ids, pa.list_(pa.int32())), "n_tokens": pa.array([len(i) for i in ids], pa.int64())})

    return docs.select("doc_id", "bucket", "split", "family", "text").mapInArrow(run, TOKENIZED)


def rendered_documents(rows: DataFrame, doc_id: Callable[[dict], str], text: Callable[[dict], str], bucket: str,
                       family: Callable[[dict], str], split: str = "train") -> DataFrame:
    """Rows of another table rendered as documents of one bucket (``doc_id``, ``text`` and
    ``family`` computed per row by the caller), one row per distinct doc_id."""

    def run(frames: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for frame in frames:
            records = frame.to_dict("records")
            yield pd.DataFrame({"doc_id": [doc_id(r) for r in records], "bucket": bucket, "split": split,
                                "family": [family(r) for r in records], "text": [text(r) for r in records]},
                               columns=["doc_id", "bucket", "split", "family", "text"])

    return rows.mapInPandas(run, DOCUMENTS).dropDuplicates(["doc_id"])


def bucket_totals(tokenized: DataFrame) -> list[tuple[str, str, int, int]]:
    """(bucket, split, documents, tokens with one EOD per document) for every non-empty pair."""
    rows = tokenized.groupBy("bucket", "split").agg(F.count("*").alias("documents"),
                                                     F.sum(F.col("n_tokens") + 1).alias("tokens")).collect()
    return [(r["bucket"], r["split"], r["documents"], r["tokens"]) for r in rows]


def pack_in_groups(tokenized: DataFrame, totals: list[tuple[str, str, int, int]], max_group_tokens: int, key: str,
                   pack_group: Callable[[pd.DataFrame], pd.DataFrame], schema: str) -> DataFrame:
    """``pack_group`` once per (bucket, split, group), where each (bucket, split) is cut into
    ⌈tokens / max_group_tokens⌉ groups by a hash of ``key`` (``doc_id``, or ``family`` to keep a
    repository in one task). No task holds more than about one group's tokens."""
    spark = tokenized.sparkSession
    groups = spark.createDataFrame([(b, s, max(1, math.ceil(t / max_group_tokens))) for b, s, _, t in totals],
                                   "bucket string, split string, groups long")
    return (tokenized.join(F.broadcast(groups), ["bucket", "split"])
            .withColumn("group", F.pmod(F.xxhash64(key), F.col("groups")))
            .groupBy("bucket", "split", "group").applyInPandas(pack_group, schema))


def row_problems(rows: DataFrame, check: Callable[[dict], str | None], key: str) -> list[str]:
    """``check`` run by executors on every row (one shard's files, say), the rows spread by ``key``
    over the cluster's cores; the driver receives only the problems found, sorted."""

    def run(frames: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for frame in frames:
            found = [p for r in frame.to_dict("records") if (p := check(r)) is not None]
            yield pd.DataFrame({"problem": pd.Series(found, dtype=object)})

    parts = rows.sparkSession.sparkContext.defaultParallelism
    return sorted(r["problem"] for r in rows.repartition(parts, key).mapInPandas(run, "problem string").collect())
