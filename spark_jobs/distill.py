"""The Spark side of distillation: prompts matched against benchmark n-grams, and verification
spread over executors with one task per distillation task.

How one task's samples are judged is the caller's function (it runs the sandbox): this module
only decides where it runs.
"""

from __future__ import annotations

from typing import Callable

import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from spark_jobs.eval_ngrams import word_ngram_hashes

SAMPLES = "task_id string, sample_no long, text string, task string"
VERDICTS = "task_id string, sample_no long, passed boolean, error_class string, detail string, agreement_key string"


def prompt_overlaps(spark: SparkSession, prompts: list[tuple[str, str]], eval_hashes: DataFrame, n: int,
                    min_ngrams: int) -> list[tuple[str, str, str, int]]:
    """(task_id, benchmark, item_id, shared n-grams) for every prompt sharing at least
    ``min_ngrams`` word n-grams with a benchmark item, most shared first within a task."""
    frame = spark.createDataFrame([("task", task_id, text) for task_id, text in prompts], "benchmark string, item_id string, text string")
    grams = word_ngram_hashes(frame, n).select(F.col("item_id").alias("task_id"), "ngram_hash")
    evals = eval_hashes.select("benchmark", F.col("item_id").alias("eval_item"), "ngram_hash")
    shared = (grams.join(evals, "ngram_hash").groupBy("task_id", "benchmark", "eval_item").agg(F.count("*").alias("ngrams"))
              .where(F.col("ngrams") >= min_ngrams))
    return [(r["task_id"], r["benchmark"], r["eval_item"], r["ngrams"])
            for r in shared.orderBy("task_id", F.desc("ngrams"), "eval_item").collect()]


def verify_by_task(spark: SparkSession, samples: list[tuple[str, int, str, str]],
                   verify_task: Callable[[pd.DataFrame], pd.DataFrame]) -> list[dict]:
    """``verify_task`` over each task's ``(task_id, sample_no, text, task)`` rows, the tasks
    spread over every executor core; one verdict row (``VERDICTS``) per sample."""
    frame = spark.createDataFrame(samples, SAMPLES)
    parts = max(1, spark.sparkContext.defaultParallelism)
    return [r.asDict() for r in frame.repartition(parts, "task_id").groupBy("task_id").applyInPandas(verify_task, VERDICTS).collect()]
