"""Word n-gram hashes of benchmark items, in Spark SQL (no Python per row).

Words are the same lower-cased runs of letters, digits and underscore that dedup uses, so a
benchmark item pasted into a document with different spacing, case or punctuation still
shares its n-grams with it.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from spark_jobs.minhash import WORD_SPLIT


def word_ngram_hashes(items: DataFrame, n: int) -> DataFrame:
    """``(benchmark, item_id, text)`` → distinct ``(benchmark, item_id, ngram_hash, n)``. An item
    shorter than ``n`` words gives one hash of all its words."""
    words = F.filter(F.split(F.lower(F.col("text")), WORD_SPLIT), lambda w: F.length(w) > 0)
    with_words = items.select("benchmark", "item_id", words.alias("words")).where(F.size("words") > 0)
    starts = F.sequence(F.lit(1), F.greatest(F.size("words") - F.lit(n) + 1, F.lit(1)))
    grams = F.transform(starts, lambda i: F.xxhash64(F.array_join(F.slice(F.col("words"), i, n), " ")))
    return (with_words.select("benchmark", "item_id", F.explode(grams).alias("ngram_hash"))
            .withColumn("n", F.lit(n)).distinct())
