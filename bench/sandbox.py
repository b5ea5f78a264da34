"""Sandbox overhead and the red-team run.

    .venv/bin/python -m bench.sandbox --runs 15

1. Per-run overhead: ``python3 -c pass`` as a plain subprocess (the peer: no isolation) against
   the same program through ``python_exec`` (bwrap namespaces, seccomp, workspace tmpfs, cgroup),
   median wall clock of ``--runs``.
2. Verification: one honest candidate for a 3-assert task through the judged harness (candidate
   and judge sandboxes) against the single sandboxed process it replaced (candidate + asserts in
   one program, which any candidate could fake with ``sys.exit(0)``).
3. The red team of tests/serving/test_verification_redteam.py: every cheat through
   ``verify_code``, total wall clock and how many were failed.
"""

from __future__ import annotations

import argparse
import platform
import resource
import statistics
import subprocess
import sys
import time

from schemas.distill import Task
from schemas.sandbox import SandboxLimits
from serving.confinement import capabilities
from serving.sandbox import python_exec
from serving.verify import verify_code

TASK = Task(task_id="add", kind="code", prompt="add", tests=["assert add(2, 3) == 5", "assert add(-1, 1) == 0", "assert add(10, 5) == 15"])
HONEST = "def add(a, b):\n    return a + b\n"


def _cpu() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def paired_medians(first, second, runs: int) -> list[tuple[float, float]]:
    """(median wall clock, median CPU seconds of this process and its children) of each, run
    alternately so a shared machine's load hits both alike; CPU time is what load does not inflate."""
    samples: tuple[list, list] = ([], [])
    for _ in range(runs):
        for fn, out in ((first, samples[0]), (second, samples[1])):
            wall, cpu = time.perf_counter(), _cpu()
            fn()
            out.append((time.perf_counter() - wall, _cpu() - cpu))
    return [(statistics.median(w for w, _ in s), statistics.median(c for _, c in s)) for s in samples]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    limits = SandboxLimits()
    print(f"machine: {platform.machine()}, {platform.python_version()}; enforcement: {capabilities()}")

    (bare, bare_cpu), (boxed, boxed_cpu) = paired_medians(lambda: subprocess.run(["/usr/bin/python3", "-I", "-B", "-c", "pass"], check=True),
                                 lambda: python_exec("pass", limits), args.runs)
    (single, single_cpu), (judged, judged_cpu) = paired_medians(lambda: python_exec(HONEST + "\n".join(TASK.tests), limits),
                                    lambda: verify_code(TASK, HONEST, limits), args.runs)
    print("\n| what | median wall s | ratio | median CPU s | ratio |\n|---|---|---|---|---|")
    print(f"| `python3 -c pass`, plain subprocess (peer) | {bare:.3f} | 1.00 | {bare_cpu:.3f} | 1.00 |")
    print(f"| same through `python_exec` (sandbox) | {boxed:.3f} | {boxed / bare:.2f} | {boxed_cpu:.3f} | {boxed_cpu / bare_cpu:.2f} |")
    print(f"| 3 asserts in one sandboxed process (fakeable; peer) | {single:.3f} | 1.00 | {single_cpu:.3f} | 1.00 |")
    print(f"| 3 asserts through the judged harness | {judged:.3f} | {judged / single:.2f} | {judged_cpu:.3f} | {judged_cpu / single_cpu:.2f} |")

    sys.path.insert(0, ".")
    from tests.serving.test_verification_redteam import IO, IO_CHEATS, LIMITS, PYTHON_CHEATS

    started = time.perf_counter()
    failed = sum(not verify_code(task, f"```python\n{code}\n```", LIMITS).passed for task, code in PYTHON_CHEATS.values())
    io_limits = LIMITS.model_copy(update={"wall_seconds": 20.0, "cpu_seconds": 10})
    failed += sum(not verify_code(IO.model_copy(update={"language": lang}), f"```\n{code}\n```", io_limits).passed
                  for lang, code in IO_CHEATS.values())
    total = time.perf_counter() - started
    cheats = len(PYTHON_CHEATS) + len(IO_CHEATS)
    print(f"\nred team: {failed}/{cheats} cheating candidates failed in {total:.1f} s ({total / cheats:.2f} s each; "
          "the wall-clock cheats wait out their limit)")


if __name__ == "__main__":
    main()
