"""The North Star gates, per checkpoint: pass, fail or not-measured, each with its reason.

Benchmarks compare the newest ``evals`` row of the gate's metric, judged only on at least the
gate's ``min_items`` items; needle recall needs a probe the server actually answered at ≥ 512k
tokens, with every refused depth counted as a miss; latency needs a ``latency_runs`` row of this
checkpoint (its ``model``) that reached a 200k-token prompt. Anything missing is
``not-measured`` with what would measure it, never a pass.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ledgers.eval_results import read_rows
from schemas.evals import ScorecardRow
from schemas.settings import LakeSettings


@dataclass(frozen=True)
class Gate:
    """``min_items``: below it a benchmark result is reported but not judged (on 20 items a
    pass@1 of 80 has a standard error of about 9 points); the defaults are the full test sets."""

    name: str
    benchmark: str
    metric: str
    threshold: float
    at_tokens: int | None = None
    min_items: int = 1


GATES = (
    Gate("HumanEval pass@1 (exec-guided) ≥ 80", "humaneval", "exec_guided_pass@1", 80.0, min_items=164),
    Gate("MBPP pass@1 (exec-guided) ≥ 85", "mbpp", "exec_guided_pass@1", 85.0, min_items=500),
    Gate("GSM8K self-consistency (k ≤ 5) ≥ 70", "gsm8k", "self_consistency_acc", 70.0, min_items=1319),
    Gate("MMLU acc (log-likelihood) ≥ 70", "mmlu", "acc", 70.0, min_items=14042),
    Gate("needle recall ≥ 99% at 512k", "needle", "recall", 99.0, 512_000),
    Gate("p95 ≤ 200 ms/token at 200k", "latency_runs", "tpot_p95_ms", 200.0, 200_000),
)


def _benchmark_gate(gate: Gate, evals: list, checkpoint_id: str, now: dt.datetime) -> ScorecardRow:
    rows = [r for r in evals if r["benchmark"] == gate.benchmark and r["metric"] == gate.metric]
    base = dict(checkpoint_id=checkpoint_id, gate=gate.name, benchmark=gate.benchmark, metric=gate.metric, threshold=gate.threshold,
                evaluated_at=now)
    if not rows:
        return ScorecardRow(**base, status="not-measured", contamination="",
                            reason=f"no {gate.benchmark} result for this checkpoint: configure its local file "
                                   f"(IRM_EVALS__BENCHMARK_FILES='{{\"{gate.benchmark}\": \"/path/file.jsonl\"}}')")
    r = max(rows, key=lambda x: (x["evaluated_at"], x["eval_id"]))
    status = "pass" if r["value"] >= gate.threshold else "fail"
    reason = f"{r['value']:.1f} on n={r['n']} items ({r['samples']} samples each, seed {r['seed']})"
    if r["n"] < gate.min_items:
        status = "not-measured"
        reason += (f": fewer than the {gate.min_items} items this gate is judged on, so the value is shown, not judged "
                   "(give the full test set and leave IRM_EVALS__MAX_ITEMS unset)")
    if r["contaminated_items"]:
        reason += f"; {r['contaminated_items']} contaminated item(s) counted"
    return ScorecardRow(**base, value=r["value"], status=status, reason=reason, contamination=r["contamination"])


def _needle_gate(gate: Gate, evals: list, checkpoint_id: str, now: dt.datetime) -> ScorecardRow:
    rows = [r for r in evals if r["benchmark"] == "needle" and r["metric"].startswith("recall@")]
    base = dict(checkpoint_id=checkpoint_id, gate=gate.name, benchmark="needle", metric="recall", threshold=gate.threshold,
                evaluated_at=now, contamination="synthetic")
    reached = [r for r in rows if (r["context_tokens"] or 0) >= gate.at_tokens]
    if not reached:
        best = max(rows, key=lambda x: x["context_tokens"] or 0, default=None)
        told = (f"largest context answered: {best['context_tokens']:,} tokens (recall {best['value']:.0f}% there)"
                if best is not None and best["context_tokens"] else "no needle probe was answered")
        return ScorecardRow(**base, status="not-measured", reason=f"{told}; the gate needs {gate.at_tokens:,} tokens")
    r = min(reached, key=lambda x: x["value"])
    return ScorecardRow(**base, value=r["value"], status="pass" if r["value"] >= gate.threshold else "fail",
                        reason=f"{r['value']:.1f}% over {r['n']} depths at {r['context_tokens']:,} tokens (a refused depth is a miss)")


def _latency_gate(gate: Gate, runs: list, checkpoint_id: str, now: dt.datetime) -> ScorecardRow:
    base = dict(checkpoint_id=checkpoint_id, gate=gate.name, benchmark="latency_runs", metric="tpot_p95_ms", threshold=gate.threshold,
                evaluated_at=now, contamination="n/a")
    reached = [r for r in runs if r["status"] == "ok" and r["prompt_tokens"] >= gate.at_tokens]
    if not reached:
        ok = [r["prompt_tokens"] for r in runs if r["status"] == "ok"]
        told = f"largest prompt reached by a sweep of this checkpoint: {max(ok):,} tokens" if ok else "no latency sweep of this checkpoint"
        return ScorecardRow(**base, status="not-measured", reason=f"{told}; the gate needs {gate.at_tokens:,} (latency_sweep)")
    r = max(reached, key=lambda x: x["measured_at"])
    return ScorecardRow(**base, value=r["tpot_p95_ms"], status="pass" if r["tpot_p95_ms"] <= gate.threshold else "fail",
                        reason=f"p95 {r['tpot_p95_ms']:.1f} ms/token at {r['prompt_tokens']:,} prompt tokens (sweep {r['sweep_id']})")


def gates(checkpoint_id: str, evals: list[dict], latency: list[dict], now: dt.datetime) -> list[ScorecardRow]:
    """Each gate against this checkpoint's ``evals`` rows and its ``latency_runs`` rows."""
    rows = []
    for gate in GATES:
        if gate.benchmark == "needle":
            rows.append(_needle_gate(gate, evals, checkpoint_id, now))
        elif gate.benchmark == "latency_runs":
            rows.append(_latency_gate(gate, latency, checkpoint_id, now))
        else:
            rows.append(_benchmark_gate(gate, evals, checkpoint_id, now))
    return rows


def scorecard(settings: LakeSettings, checkpoint_id: str) -> list[ScorecardRow]:
    evals = read_rows(settings, "evals", "checkpoint_id = ?", (checkpoint_id,))
    latency = read_rows(settings, "latency_runs", "model = ?", (checkpoint_id,))
    return gates(checkpoint_id, evals, latency, dt.datetime.now(dt.timezone.utc))


def markdown(rows: list[ScorecardRow]) -> str:
    body = "\n".join(f"| {r.checkpoint_id} | {r.gate} | {'—' if r.value is None else f'{r.value:.1f}'} | **{r.status}** | "
                     f"{r.reason[:140]} | {r.contamination[:80]} |" for r in rows)
    return "| checkpoint | gate | value | status | reason | contamination |\n|---|---|---|---|---|---|\n" + body
