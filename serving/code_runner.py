"""The judged sandbox harness as the evaluation harness's code runner: code and its assert tests in, (passed, detail) out."""

from __future__ import annotations

from typing import Callable

from schemas.sandbox import SandboxLimits
from serving.verify import judged_verdict


def sandbox_runner(limits: SandboxLimits | None = None) -> Callable[[str, list[str]], tuple[bool, str]]:
    limits = limits or SandboxLimits()

    def run(code: str, tests: list[str]) -> tuple[bool, str]:
        verdict = judged_verdict(code, tests, limits)
        return verdict.passed, verdict.detail if verdict.passed else f"{verdict.error_class}: {verdict.detail}"

    return run
