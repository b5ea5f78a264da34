"""The sandbox as the evaluation harness's code runner: one program in, (passed, detail) out."""

from __future__ import annotations

from typing import Callable

from schemas.sandbox import SandboxLimits
from serving.sandbox import python_exec


def sandbox_runner(limits: SandboxLimits | None = None) -> Callable[[str], tuple[bool, str]]:
    limits = limits or SandboxLimits()

    def run(program: str) -> tuple[bool, str]:
        result = python_exec(program, limits)
        tail = (result.stderr or result.stdout).strip()[-300:]
        return result.ok, f"{result.outcome}" + (f": {tail}" if tail else "")

    return run
