"""Plots for materialization metadata, computed where the data is (Spark aggregates, a handful of
rows reach the driver) and returned as markdown the Dagster UI renders as an image."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from ledgers import plots


def length_histogram(df: DataFrame, column: str = "bytes", title: str = "document length") -> str:
    rows = (df.select(F.floor(F.log2(F.greatest(F.col(column), F.lit(1)))).cast("int").alias("b"))
            .groupBy("b").count().collect())
    return plots.markdown_image(plots.log2_histogram({r["b"]: r["count"] for r in rows}, title, column), title)


def log2_counts(histogram: dict[str, int], title: str = "document length", unit: str = "bytes") -> str:
    """A ``{"2^k": count}`` histogram (as the curation stages report it) drawn as bars."""
    return plots.markdown_image(plots.log2_histogram({int(k.split("^")[1]): v for k, v in histogram.items()}, title, unit), title)


def rate_by(labels_to_rates: dict[str, float], title: str) -> str:
    keys = sorted(labels_to_rates)
    return plots.markdown_image(plots.bar_chart(keys, [labels_to_rates[k] for k in keys], title, "rate"), title)


def curve(points: list[tuple[float, float]], title: str, xlabel: str, ylabel: str, log_x: bool = False) -> str:
    xs, ys = zip(*points) if points else ((), ())
    return plots.markdown_image(plots.line_chart({title: (xs, ys)}, title, xlabel, ylabel, log_x=log_x), title)
