"""Packing quality and tokenization overhead.

    make bench-packing          # or: .venv/bin/python -m bench.packing --mb 20

Corpus: bench/dedup.py's source-code corpus (standard library and this venv, path order) up to
``--mb``. Tokenizer: SentencePiece Unigram trained here with the project's settings on the
first 2 MB (``--vocab`` pieces), text through the reversible whitespace transform.

1. Packing: best-fit decreasing (irm) against plain concatenate-and-chunk, per ``seq_len``:
   utilization = real tokens / (sequences x seq_len) and documents cut by a sequence boundary.
2. Tokenization: tokens/s of SentencePiece alone in this process against the same work through
   Spark (``spark_jobs.shards.tokenize``, local[*]) on Parquet input; wall clock, median of
   ``--repeat`` runs after one full warm-up run (a partial warm-up leaves Python workers and
   their model load inside the timed run).
"""

from __future__ import annotations

import argparse
import platform
import shutil
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import sentencepiece as spm

from bench.dedup import build_corpus
from schemas.tokenizer import TokenizerConfig
from training.packing import concat_and_chunk, pack_documents, utilization
from training.tokenizer import train_sentencepiece
from training.whitespace import encode

OUT = Path("bench/out/packing")


def tokenizer_model(texts: list[str], vocab: int) -> bytes:
    sample, size = [], 0
    for t in texts:
        sample.append(t)
        size += len(t.encode())
        if size > 2e6:
            break
    return train_sentencepiece(sample, TokenizerConfig(vocab_size=vocab))


def median_seconds(fn, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return sorted(times)[len(times) // 2], result


def spark_tokens_per_s(ids: list[str], texts: list[str], model: bytes, repeat: int) -> tuple[float, int]:
    from pyspark.sql import functions as F

    from spark_jobs.session import get_spark
    from spark_jobs.shards import tokenize

    spark = get_spark()
    path = OUT / "corpus"
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    shards = spark.sparkContext.defaultParallelism * 4
    for s in range(shards):
        pq.write_table(pa.table({"doc_id": ids[s::shards], "text": texts[s::shards]}), path / f"{s:03d}.parquet")
    df = (spark.read.parquet(str(path.resolve())).withColumn("bucket", F.lit("code/python")).withColumn("split", F.lit("train")).withColumn("family", F.col("doc_id")))
    def run() -> int:
        return int(tokenize(df, model, encode).agg(F.sum("n_tokens")).collect()[0][0])
    run()
    return median_seconds(run, repeat)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=float, default=20.0)
    parser.add_argument("--vocab", type=int, default=8000)
    parser.add_argument("--seq-lens", default="2048,8192,131072")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    corpus = build_corpus(args.mb)
    ids, texts = list(corpus), list(corpus.values())
    mb = sum(len(t.encode()) for t in texts) / 1e6
    model = tokenizer_model(texts, args.vocab)
    sp = spm.SentencePieceProcessor(model_proto=model)
    single_s, docs = median_seconds(lambda: [np.asarray(i, dtype=np.int32) for i in sp.encode([encode(t) for t in texts])], args.repeat)
    tokens = sum(len(d) for d in docs)
    spark_s, spark_tokens = spark_tokens_per_s(ids, texts, model, args.repeat)
    assert spark_tokens == tokens, (spark_tokens, tokens)

    print(f"corpus: {len(texts)} documents, {mb:.1f} MB, {tokens:,} tokens (vocab {sp.get_piece_size()}); "
          f"{platform.processor() or platform.machine()}, {__import__('os').cpu_count()} cores\n")
    print("| seq_len | method | sequences | utilization | truncated documents | seconds |")
    print("|---|---|---|---|---|---|")
    for seq_len in [int(s) for s in args.seq_lens.split(",")]:
        for name, fn in (("best-fit decreasing (irm)", pack_documents), ("concatenate and chunk", concat_and_chunk)):
            started = time.perf_counter()
            packed = fn(docs, sp.eos_id(), seq_len)
            seconds = time.perf_counter() - started
            print(f"| {seq_len:,} | {name} | {len(packed.sequences):,} | {utilization(packed, seq_len):.4f} | "
                  f"{packed.truncated_documents:,} | {seconds:.2f} |")
    print("\n| tokenization | seconds | tokens/s | ratio |")
    print("|---|---|---|---|")
    print(f"| SentencePiece, one process | {single_s:.2f} | {tokens / single_s:,.0f} | 1.00 |")
    print(f"| Spark mapInArrow (local[*]) | {spark_s:.2f} | {tokens / spark_s:,.0f} | {single_s / spark_s:.2f} |")
    print(f"\nSpark costs {spark_s / single_s:.2f}x the time of SentencePiece alone (medians of {args.repeat}).")


if __name__ == "__main__":
    main()
