"""Run one benchmark's items against the endpoint and score them.

Every sample is asked with its own seed, derived from the run seed and the item id, so the
same checkpoint and seed ask the same questions the same way. A refused or malformed reply is
a wrong sample with the reason in ``detail``: it counts, it is never skipped.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Callable

from schemas.settings import EvalSettings
from training.evals import prompts, scoring
from training.evals.benchmarks import Item
from training.evals.client import CompletionClient, EndpointError

CodeRunner = Callable[[str, list[str]], tuple[bool, str]]
"""Judges assert tests against a candidate's code in isolation: (passed, detail). The judged sandbox harness in production."""


@dataclass
class ItemOutcome:
    item_id: str
    sample_no: int
    seed: int
    output: str
    extracted: str | None
    correct: bool
    detail: str


@dataclass
class Metric:
    metric: str
    value: float
    n: int
    samples: int
    context_tokens: int | None = None


@dataclass
class BenchmarkRun:
    benchmark: str
    metrics: list[Metric] = field(default_factory=list)
    items: list[ItemOutcome] = field(default_factory=list)


def sample_seed(seed: int, benchmark: str, item_id: str, sample_no: int) -> int:
    return int(hashlib.sha256(f"{seed}\0{benchmark}\0{item_id}\0{sample_no}".encode()).hexdigest()[:8], 16)


def _ask(client: CompletionClient, prompt: str, cfg: EvalSettings, seed: int, stop: list[str] | None,
         temperature: float | None = None) -> tuple[str, str | None]:
    """(text, failure): a failure is the endpoint's refusal or a malformed reply."""
    try:
        return client.complete(prompt, cfg.max_tokens, cfg.temperature if temperature is None else temperature, seed, stop).text, None
    except EndpointError as err:
        return "", f"{type(err).__name__}: {err}"


def run_code(items: list[Item], schema: str, client: CompletionClient, execute: CodeRunner, cfg: EvalSettings, seed: int) -> BenchmarkRun:
    """pass@1 over ``samples`` samples per item (unbiased estimator), and the exec-guided policy
    over the first ``exec_guided_samples``: the first sample passing the public check is returned
    (the first sample when none does) and scored on all tests (sample_no -1 in the items)."""
    run = BenchmarkRun(items[0].benchmark if items else schema)
    total = max(cfg.samples, cfg.exec_guided_samples)
    counts, policy_hits = [], 0
    for item in items:
        prompt, stop = prompts.code_prompt(item, schema)
        outcomes, unanswered = [], set()
        for k in range(total):
            s = sample_seed(seed, run.benchmark, item.item_id, k)
            text, failure = _ask(client, prompt, cfg, s, stop)
            if failure:
                unanswered.add(k)
                outcomes.append(ItemOutcome(item.item_id, k, s, text, None, False, failure))
                continue
            sub = prompts.submission(item, schema, text)
            passed, detail = execute(sub.code, sub.tests)
            outcomes.append(ItemOutcome(item.item_id, k, s, text, None, passed, detail))
        counts.append(sum(o.correct for o in outcomes[:cfg.samples]))
        chosen, why = 0, "no sample passed the public check: the first one is returned"
        for o in outcomes[:cfg.exec_guided_samples]:
            if o.sample_no in unanswered:
                continue
            check = prompts.public_submission(item, schema, o.output)
            if check is None:
                why = "nothing public to run: the first sample is returned"
                break
            if execute(check.code, check.tests)[0]:
                chosen, why = o.sample_no, f"sample {o.sample_no} passed the public check"
                break
        picked = outcomes[chosen]
        policy_hits += picked.correct
        run.items += outcomes
        run.items.append(ItemOutcome(item.item_id, -1, picked.seed, picked.output, f"sample {chosen}", picked.correct, why))
    n = len(items)
    run.metrics = [Metric("pass@1", scoring.pass_at_k([cfg.samples] * n, counts, 1), n, cfg.samples),
                   Metric("exec_guided_pass@1", 100.0 * policy_hits / n if n else 0.0, n, cfg.exec_guided_samples)]
    return run


def run_math(items: list[Item], client: CompletionClient, cfg: EvalSettings, seed: int) -> BenchmarkRun:
    """Self-consistency: k sampled solutions, the majority final number is the answer (sample_no -1)."""
    run = BenchmarkRun(items[0].benchmark if items else "gsm8k")
    hits = 0
    for item in items:
        reference = scoring.reference_number(item.answer)
        votes = []
        for k in range(cfg.self_consistency_k):
            s = sample_seed(seed, run.benchmark, item.item_id, k)
            text, failure = _ask(client, prompts.math_prompt(item), cfg, s, ["\nQuestion:"])
            value = scoring.final_number(text) if not failure else None
            votes.append(value)
            run.items.append(ItemOutcome(item.item_id, k, s, text, value, value is not None and value == reference,
                                         failure or ("no number in the output" if value is None else f"reference {reference}")))
        voted = scoring.majority(votes)
        correct = voted is not None and voted == reference
        hits += correct
        run.items.append(ItemOutcome(item.item_id, -1, seed, json.dumps(votes), voted, correct,
                                     f"majority of {cfg.self_consistency_k}; reference {reference}"))
    n = len(items)
    run.metrics = [Metric("self_consistency_acc", 100.0 * hits / n if n else 0.0, n, cfg.self_consistency_k)]
    return run


def run_choice(items: list[Item], schema: str, client: CompletionClient, seed: int) -> BenchmarkRun:
    """log p(" " + choice | context) for every choice; acc takes the argmax, acc_norm per character."""
    run = BenchmarkRun(items[0].benchmark if items else schema)
    acc = acc_norm = 0
    for item in items:
        context = prompts.choice_context(item, schema)
        try:
            lls = [client.loglikelihood(context, " " + c) for c in item.choices]
        except EndpointError as err:
            run.items.append(ItemOutcome(item.item_id, 0, seed, "", None, False, f"{type(err).__name__}: {err}"))
            continue
        raw, norm = scoring.choose(lls, item.choices)
        gold = int(item.answer)
        acc += raw == gold
        acc_norm += norm == gold
        run.items.append(ItemOutcome(item.item_id, 0, seed, json.dumps({"loglikelihoods": lls, "acc_norm_choice": norm}), str(raw),
                                     raw == gold, f"gold {gold}, acc_norm {'right' if norm == gold else 'wrong'}"))
    n = len(items)
    run.metrics = [Metric("acc", 100.0 * acc / n if n else 0.0, n, 1), Metric("acc_norm", 100.0 * acc_norm / n if n else 0.0, n, 1)]
    return run
