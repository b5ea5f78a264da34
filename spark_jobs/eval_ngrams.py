"""Word n-gram hashes in Spark SQL (no Python per row), for benchmark items and documents alike.

Words are the same lower-cased runs of letters, digits and underscore that dedup uses, so a
benchmark item pasted into a document with different spacing, case or punctuation still
shares its n-grams with it.
"""

from __future__ import annotations

import re

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from spark_jobs.minhash import WORD_SPLIT

WORD = re.compile(WORD_SPLIT.replace("[^", "[", 1))


def words(text: Column) -> Column:
    return F.filter(F.split(F.lower(text), WORD_SPLIT), lambda w: F.length(w) > 0)


def positioned_ngram_hashes(frame: DataFrame, keys: list[str], n: int) -> DataFrame:
    """``keys + (pos, ngram_hash, words)``: every word n-gram with the index of its first word,
    and the text's word count. A text shorter than ``n`` words gives one hash of all its words."""
    with_words = frame.select(*keys, words(F.col("text")).alias("ws")).where(F.size("ws") > 0)
    starts = F.sequence(F.lit(1), F.greatest(F.size("ws") - F.lit(n) + 1, F.lit(1)))
    grams = F.transform(starts, lambda i: F.xxhash64(F.array_join(F.slice(F.col("ws"), i, n), " ")))
    return with_words.select(*keys, F.size("ws").alias("words"), F.posexplode(grams).alias("pos", "ngram_hash"))


def word_ngram_hashes(items: DataFrame, n: int) -> DataFrame:
    """``(benchmark, item_id, text)`` → distinct ``(benchmark, item_id, ngram_hash, n)``."""
    return (positioned_ngram_hashes(items, ["benchmark", "item_id"], n)
            .select("benchmark", "item_id", "ngram_hash").withColumn("n", F.lit(n)).distinct())


def word_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the words Spark's ``words`` finds, in order (same pattern, lower-cased)."""
    return [m.span() for m in WORD.finditer(text.lower())]
