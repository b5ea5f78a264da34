"""Distillation as a lake operation: tasks → teacher samples → sandboxed verification →
majority vote → ``distilled_sft`` (+ Parquet export), ``dpo_pairs``, ``distill_candidates``.

Tasks whose prompt shares eval n-grams with a benchmark are dropped first and reported as
rejects (stage distill, reason eval-overlap). Verification runs in Spark tasks (one group per
task, ``spark_jobs.distill``), each candidate in the sandbox.
"""

from __future__ import annotations

import json
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import ValidationError

from ledgers.decontamination import eval_ngram_length
from ledgers.lake import Lake, WriteResult
from schemas.distill import DistillConfig, FileTeacher, Task
from schemas.tables import DistillCandidate, DistilledSft, DpoPair, Reject
from schemas.types import arrow_schema
from serving.answers import parse_answer
from serving.teachers import FileAnswers, Sample, sample_task
from serving.verify import verify_code, verify_math
from spark_jobs.distill import prompt_overlaps, verify_by_task

STAGE = "distill"


@dataclass
class DistillReport:
    tasks_in: int
    invalid: int
    eval_overlap: dict[str, str]
    candidates: int
    decisions: dict[str, int]
    kept: int
    dpo_pairs: int
    verified_share: float
    confidence_histogram: dict[str, int]
    error_classes: dict[str, int]
    per_teacher: dict[str, dict[str, int]]
    budget: dict[str, int]
    parquet_uri: str
    writes: list[WriteResult] = field(default_factory=list)


def load_tasks(uri: str) -> tuple[list[Task], list[Reject]]:
    tasks, rejects = [], []
    for n, line in enumerate(Path(uri).read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            tasks.append(Task.model_validate_json(line))
        except ValidationError as err:
            rejects.append(Reject(source="distill-tasks", uri=f"{uri}#L{n}", stage=STAGE, reason="invalid-task",
                                  detail=str(err.errors()[0]["msg"])[:300]))
    return tasks, rejects


def eval_overlaps(lake: Lake, tasks: list[Task], min_ngrams: int) -> dict[str, str]:
    """task_id → "benchmark/item (k n-grams)" for tasks whose prompt shares n-grams with a benchmark."""
    out: dict[str, str] = {}
    for task_id, benchmark, item, ngrams in prompt_overlaps(lake.spark, [(t.task_id, t.prompt) for t in tasks], lake.read("eval_hashes"),
                                                            eval_ngram_length(lake), min_ngrams):
        out.setdefault(task_id, f"{benchmark}/{item} ({ngrams} n-grams)")
    return out


def task_verifier(limits_json: str):
    """What one Spark task does with one distillation task's samples: every candidate judged in
    the sandbox (math by majority over the samples' answers, code by its tests)."""

    def verify(group: pd.DataFrame) -> pd.DataFrame:
        from schemas.sandbox import SandboxLimits

        limits = SandboxLimits.model_validate_json(limits_json)
        task = Task.model_validate_json(group["task"].iat[0])
        group = group.sort_values("sample_no")
        texts = list(group["text"])
        verdicts = verify_math(task, texts, limits) if task.kind == "math" else [verify_code(task, t, limits) for t in texts]
        return pd.DataFrame({"task_id": task.task_id, "sample_no": list(group["sample_no"]),
                             "passed": [v.passed for v in verdicts], "error_class": [v.error_class for v in verdicts],
                             "detail": [v.detail for v in verdicts], "agreement_key": [v.agreement_key for v in verdicts]})

    return verify


def verify_all(lake: Lake, tasks: dict[str, Task], samples: list[Sample], cfg: DistillConfig) -> dict[tuple[str, int], dict]:
    """Every sample's verdict, keyed by (task_id, sample_no)."""
    rows = [(s.task_id, s.sample_no, s.text, tasks[s.task_id].model_dump_json()) for s in samples]
    verdicts = verify_by_task(lake.spark, rows, task_verifier(cfg.limits.model_dump_json()))
    return {(r["task_id"], r["sample_no"]): r for r in verdicts}


def decide(samples: list[Sample], verdicts: dict[tuple[str, int], dict], min_agreement: float) -> list[tuple[Sample, dict, float, str]]:
    """(sample, verdict, agreement, decision) for every sample. A sample is kept when it passed,
    its agreement (share of the task's samples with the same outcome; for math, the same
    answer) reaches ``min_agreement``, and no earlier kept sample has the same final answer."""
    by_task: dict[str, list[Sample]] = {}
    for s in samples:
        by_task.setdefault(s.task_id, []).append(s)
    out = []
    for task_id, group in by_task.items():
        keys = Counter(verdicts[(task_id, s.sample_no)]["agreement_key"] for s in group)
        seen: set[str] = set()
        for s in sorted(group, key=lambda s: s.sample_no):
            v = verdicts[(task_id, s.sample_no)]
            agreement = keys[v["agreement_key"]] / len(group) if v["agreement_key"] else 0.0
            final = parse_answer(s.text).final
            if not v["passed"]:
                decision = "failed"
            elif agreement < min_agreement:
                decision = "minority"
            elif final in seen:
                decision = "duplicate"
            else:
                decision = "kept"
                seen.add(final)
            out.append((s, v, agreement if v["passed"] else 0.0, decision))
    return out


def _expected_tests(task: Task) -> list[str]:
    if task.kind == "math":
        return [task.answer or ""]
    return list(task.tests) or [t.model_dump_json() for t in task.io_tests]


def run_distill(lake: Lake, cfg: DistillConfig, run_id: str | None = None) -> DistillReport:
    tasks, invalid = load_tasks(cfg.tasks_uri)
    overlap = eval_overlaps(lake, tasks, cfg.eval_overlap_ngrams) if tasks else {}
    todo = [t for t in tasks if t.task_id not in overlap]
    files = {t.name: FileAnswers(t) for t in cfg.teachers if isinstance(t, FileTeacher)}
    with ThreadPoolExecutor(max_workers=4) as pool:
        sampled = list(pool.map(lambda t: sample_task(t, cfg, files), todo))
    samples = [s for got, _ in sampled for s in got]
    budget = dict(sum((Counter(cost) for _, cost in sampled), Counter()))
    by_id = {t.task_id: t for t in todo}
    verdicts = verify_all(lake, by_id, samples, cfg) if samples else {}
    decided = decide(samples, verdicts, cfg.min_agreement)

    sft, candidates, pairs = [], [], []
    for s, v, agreement, decision in decided:
        task, parsed = by_id[s.task_id], parse_answer(s.text)
        final = parsed.math_answer() if task.kind == "math" else parsed.code()
        candidates.append(DistillCandidate(task_id=s.task_id, teacher=s.teacher, sample_no=s.sample_no, kind=task.kind, final=parsed.final,
                                           passed=v["passed"], error_class=v["error_class"], detail=v["detail"][:1000],
                                           agreement=agreement, decision=decision))
        if decision == "kept":
            sft.append(DistilledSft(task_id=s.task_id, prompt=task.prompt,
                                    input_files=[json.dumps({"path": p, "content": c}) for p, c in sorted(task.input_files.items())],
                                    expected_tests=_expected_tests(task), candidate=[final], passed=v["passed"],
                                    rationale=parsed.rationale, tool_calls=parsed.tool_calls, confidence=round(agreement, 4)))
    kept_by_task = {}
    for s, v, _, decision in decided:
        if decision == "kept":
            kept_by_task.setdefault(s.task_id, s)
    for s, v, _, decision in decided:
        chosen = kept_by_task.get(s.task_id)
        if decision == "failed" and chosen is not None:
            pairs.append(DpoPair(task_id=s.task_id, prompt=by_id[s.task_id].prompt, chosen=parse_answer(chosen.text).final,
                                 rejected=parse_answer(s.text).final, chosen_teacher=chosen.teacher, rejected_teacher=s.teacher,
                                 rejected_error_class=v["error_class"] or "unknown"))

    overlap_rejects = [Reject(source="distill-tasks", uri=f"{cfg.tasks_uri}#{tid}", stage=STAGE, reason="eval-overlap", detail=detail)
                       for tid, detail in sorted(overlap.items())]
    writes = [lake.write(lake.frame("distilled_sft", sft), "distilled_sft", mode="overwrite", run_id=run_id),
              lake.write(lake.frame("distill_candidates", candidates), "distill_candidates", mode="overwrite", run_id=run_id),
              lake.write(lake.frame("dpo_pairs", pairs), "dpo_pairs", mode="overwrite", run_id=run_id),
              lake.write(lake.frame("rejects", [*invalid, *overlap_rejects]), "rejects", mode="overwrite",
                         replace_where=f"stage = '{STAGE}'", run_id=run_id)]
    parquet_uri = f"{lake.settings.uri}/artifacts/distill/distilled_sft.parquet"
    Path(parquet_uri).parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist([r.model_dump() for r in sft], schema=arrow_schema(DistilledSft)), parquet_uri)

    decisions = Counter(d for *_, d in decided)
    histogram = Counter(f"{min(int(r.confidence * 10), 9) / 10:.1f}-{min(int(r.confidence * 10), 9) / 10 + 0.1:.1f}" for r in sft)
    per_teacher: dict[str, dict[str, int]] = {}
    for s, v, _, d in decided:
        stats = per_teacher.setdefault(s.teacher, {"samples": 0, "passed": 0, "kept": 0})
        stats["samples"] += 1
        stats["passed"] += int(v["passed"])
        stats["kept"] += int(d == "kept")
    return DistillReport(
        tasks_in=len(tasks) + len(invalid), invalid=len(invalid), eval_overlap=overlap, candidates=len(decided),
        decisions=dict(sorted(decisions.items())), kept=len(sft), dpo_pairs=len(pairs),
        verified_share=(sum(r.passed for r in sft) / len(sft)) if sft else 0.0, confidence_histogram=dict(sorted(histogram.items())),
        error_classes=dict(sorted(Counter(v["error_class"] for _, v, _, _ in decided if v["error_class"]).items())),
        per_teacher=per_teacher, budget=budget, parquet_uri=parquet_uri, writes=writes)


@dataclass(frozen=True)
class KeptVerification:
    kept: int
    verified: int
    unverified: dict[str, str]

    @property
    def share(self) -> float:
        return self.verified / self.kept if self.kept else 0.0

    def holds(self, min_share: float = 0.95) -> bool:
        """Every kept sample verifies again, except that up to ``1 - min_share`` of them may time
        out (a re-run on a loaded machine can). Any other failure is a sample that was not earned."""
        earned = all(reason.startswith("timeout:") for reason in self.unverified.values())
        return self.kept > 0 and earned and self.share >= min_share


def reverify_kept(lake: Lake, cfg: DistillConfig) -> KeptVerification:
    """Re-run every kept ``distilled_sft`` row now, independently of the decision that kept it:
    its candidate against its task's tests as the task file states them (a row whose task is
    gone, whose ``expected_tests`` differ from the task's, or whose candidate fails, is not
    verified). The stored ``passed`` flag is not trusted: it is what this check audits."""
    tasks = {t.task_id: t for t in load_tasks(cfg.tasks_uri)[0]}
    rows = lake.read("distilled_sft").select("task_id", "expected_tests", "candidate").collect()
    unverified: dict[str, str] = {}
    math_rows: dict[str, list[int]] = {}
    for k, row in enumerate(rows):
        key = f"{row['task_id']}#{k}"
        task = tasks.get(row["task_id"])
        if task is None:
            unverified[key] = "task not in the task file"
        elif list(row["expected_tests"]) != _expected_tests(task):
            unverified[key] = "expected_tests differ from the task's tests"
        elif len(row["candidate"]) != 1:
            unverified[key] = f"{len(row['candidate'])} candidates in the row"
        elif task.kind == "math":
            math_rows.setdefault(task.task_id, []).append(k)
        else:
            verdict = verify_code(task, row["candidate"][0], cfg.limits)
            if not verdict.passed:
                unverified[key] = f"{verdict.error_class}: {verdict.detail[:200]}"
    for task_id, ks in math_rows.items():
        for k, verdict in zip(ks, verify_math(tasks[task_id], [rows[k]["candidate"][0] for k in ks], cfg.limits)):
            if not verdict.passed:
                unverified[f"{task_id}#{k}"] = f"{verdict.error_class}: {verdict.detail[:200]}"
    return KeptVerification(len(rows), len(rows) - len(unverified), dict(sorted(unverified.items())))
