"""Run a Python candidate against assert tests so that no candidate action can fake a pass.

Two sandboxes run at once, joined only by two pipes: the candidate's (its code, the probe
server and the task's input files — never the tests) and the judge's (the tests with their
expected values, never candidate code). The judge asks for each probe's value, gets plain data
back, and evaluates every comparison itself. So exiting early (``sys.exit``, ``os._exit``,
``SystemExit``), printing anything, patching builtins or ``assert``, forging ``__eq__``, reading
files or killing processes in the candidate's sandbox can only make a probe missing or wrong:
the verdict is the judge's stdout, and the judge's process never runs candidate code.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from schemas.sandbox import SandboxLimits
from serving.confinement import open_workspace
from serving.harness.plan import TestPlan, plan_tests
from serving.sandbox import SandboxResult, run, write_files

HERE = Path(__file__).parent
STOP_GRACE_SECONDS = 3.0
PYTHON = ["/usr/bin/python3", "-I", "-B", "-X", "int_max_str_digits=100000"]


@dataclass(frozen=True)
class JudgedRun:
    plan: TestPlan
    verdicts: list[dict]
    candidate: SandboxResult
    judge: SandboxResult


def _script(name: str) -> str:
    return (HERE / "codec.py").read_text() + "\n\n" + (HERE / name).read_text()


def judge_python(code: str, tests: list[str], limits: SandboxLimits, files: dict[str, str] | None = None) -> JudgedRun:
    """Per-test verdicts (``passed``, ``error``: an exception name, ``detail``) from the judge."""
    plan = plan_tests(tests)
    # The judge mostly waits on the candidate, and it ends when the candidate's pipe closes: its wall
    # clock is generous so that a candidate started late on a loaded host is not outlived by it.
    judge_limits = limits.model_copy(update={"memory_mb": max(256, limits.memory_mb // 2), "cpu_seconds": max(5, limits.cpu_seconds),
                                             "wall_seconds": 2 * limits.wall_seconds + 5.0})
    candidate_ws = open_workspace(limits.disk_bytes, limits.max_files)
    judge_ws = open_workspace(judge_limits.disk_bytes, judge_limits.max_files)
    requests_in, requests_out = os.pipe()  # judge → candidate
    replies_in, replies_out = os.pipe()  # candidate → judge
    results: dict[str, SandboxResult] = {}
    try:
        write_files(candidate_ws, {**(files or {}), "solution.py": code, "irm_candidate.py": _script("candidate.py")})
        write_files(judge_ws, {"irm_judge.py": _script("judge.py"), "plan.json": json.dumps({"tests": plan.tests, "probes": plan.probes, "modules": plan.modules})})
    except BaseException:
        for fd in (requests_in, requests_out, replies_in, replies_out):
            os.close(fd)
        candidate_ws.close()
        judge_ws.close()
        raise
    stop = threading.Event()

    failures: list[BaseException] = []

    def candidate() -> None:
        try:
            results["candidate"] = run([*PYTHON, "irm_candidate.py", str(requests_in), str(replies_out)], candidate_ws, limits,
                                       pass_fds=(requests_in, replies_out), stop=stop)
        except BaseException as err:  # re-raised below: a sandbox that could not start is an error, not a verdict
            failures.append(err)

    thread = threading.Thread(target=candidate, name="irm-candidate", daemon=True)
    try:
        thread.start()
        judge = run([*PYTHON, "irm_judge.py", str(requests_out), str(replies_in)], judge_ws, judge_limits,
                    pass_fds=(requests_out, replies_in))
    finally:
        # The candidate ends by itself once the judge's pipe closes; it is killed only if it does
        # not, so that its sandbox can reap it and report what ended it (a kill before that loses
        # the CPU time that says "timeout").
        thread.join(timeout=STOP_GRACE_SECONDS)
        stop.set()
        thread.join()
        candidate_ws.close()
        judge_ws.close()
    if failures:
        raise failures[0]
    verdicts = []
    if judge.ok:
        try:
            verdicts = json.loads(judge.stdout.strip().splitlines()[-1])["verdicts"]
        except (ValueError, KeyError, IndexError):
            verdicts = []
    if len(verdicts) != len(plan.tests):
        verdicts = [{"passed": False, "error": "JudgeFailed", "detail": f"judge {judge.outcome}: {judge.stderr[-300:]}"}] * len(plan.tests)
    return JudgedRun(plan, verdicts, results["candidate"], judge)
