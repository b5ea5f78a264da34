"""Id-level conservation of a stage: counts alone can balance a lost document with a duplicated
or stray one, so every input id must come out exactly once, kept or removed."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

REJECT_DOC_ID = r"^doc_id (\S+?)(?::|$)"


def rejected_ids(lake, stage: str) -> DataFrame:
    """doc_ids of a stage's rejects (their detail starts with ``doc_id <id>``)."""
    return (lake.read("rejects").where(F.col("stage") == stage)
            .select(F.regexp_extract("detail", REJECT_DOC_ID, 1).alias("doc_id")))


def id_problems(inputs: DataFrame, kept: DataFrame, removed: DataFrame, kept_name: str, removed_name: str) -> list[str]:
    """Each input doc_id kept once or removed once (not both, not twice), and nothing kept or
    removed that was not an input; one Spark job, the driver gets seven numbers."""
    return id_audit(inputs, kept, removed, kept_name, removed_name)[1]


def id_audit(inputs: DataFrame, kept: DataFrame, removed: DataFrame, kept_name: str,
             removed_name: str) -> tuple[tuple[int, int, int], list[str]]:
    """The stage's (input, kept, removed) row counts and its ``id_problems``, from the same one
    Spark job: a conservation check then costs one pass over the ids, not four."""
    def counted(frame: DataFrame, name: str) -> DataFrame:
        return frame.select("doc_id").groupBy("doc_id").agg(F.count(F.lit(1)).alias(name))

    joined = (counted(inputs, "i").join(counted(kept, "k"), "doc_id", "full_outer").join(counted(removed, "r"), "doc_id", "full_outer")
              .fillna(0, ["i", "k", "r"]))
    totals = joined.agg(
        F.sum((F.col("i") > 1).cast("long")).alias("dup_in"), F.sum((F.col("k") > 1).cast("long")).alias("dup_kept"),
        F.sum((F.col("r") > 1).cast("long")).alias("dup_removed"), F.sum(((F.col("i") == 0) & (F.col("k") > 0)).cast("long")).alias("stray_kept"),
        F.sum(((F.col("i") == 0) & (F.col("r") > 0)).cast("long")).alias("stray_removed"),
        F.sum(((F.col("i") > 0) & (F.col("k") + F.col("r") == 0)).cast("long")).alias("lost"),
        F.sum(((F.col("k") > 0) & (F.col("r") > 0)).cast("long")).alias("both"),
        F.sum("i").alias("inputs"), F.sum("k").alias("kept"), F.sum("r").alias("removed")).first().asDict()
    said = {"dup_in": "doc_id(s) appear more than once in the input",
            "dup_kept": f"doc_id(s) appear more than once in {kept_name}", "dup_removed": f"doc_id(s) are removed more than once ({removed_name})",
            "stray_kept": f"doc_id(s) in {kept_name} are not in the input", "stray_removed": f"doc_id(s) in {removed_name} are not in the input",
            "lost": f"input document(s) are neither in {kept_name} nor in {removed_name}",
            "both": f"doc_id(s) are both in {kept_name} and in {removed_name}"}
    counts = (int(totals["inputs"] or 0), int(totals["kept"] or 0), int(totals["removed"] or 0))
    return counts, [f"{totals[k] or 0} {text}" for k, text in said.items() if totals[k]]
