"""Programmatic verification: code candidates run against their tests in the sandbox; math
answers are compared with the reference by sympy, also in the sandbox (parsing an expression
evaluates it, and the expression came from a model).

Error classes: syntax, runtime, wrong-answer, timeout, memory (``None`` when passed).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from schemas.distill import Task
from schemas.sandbox import SandboxLimits
from serving.answers import parse_answer
from serving.confinement import open_workspace
from serving.sandbox import SandboxResult, execute, run, write_files


@dataclass(frozen=True)
class Verdict:
    passed: bool
    error_class: str | None
    detail: str
    agreement_key: str = ""


def _error_class(result: SandboxResult) -> str:
    if result.outcome in ("timeout", "memory"):
        return result.outcome
    if result.outcome == "compile-error" or "SyntaxError" in result.stderr or "IndentationError" in result.stderr:
        return "syntax"
    if "AssertionError" in result.stderr:
        return "wrong-answer"
    return "runtime"


def verify_code(task: Task, answer_text: str, limits: SandboxLimits) -> Verdict:
    code = parse_answer(answer_text).code()
    if task.tests:
        result = execute("python", code + "\n\n" + "\n".join(task.tests) + "\n", limits, task.input_files)
        if result.ok:
            return Verdict(True, None, "all tests passed", "passed")
        return Verdict(False, _error_class(result), (result.stderr or result.stdout)[-500:], "failed")
    for k, test in enumerate(task.io_tests):
        result = execute(task.language, code, limits, task.input_files, stdin=test.stdin)
        if not result.ok:
            return Verdict(False, _error_class(result), f"io test {k}: {(result.stderr or result.stdout)[-500:]}", "failed")
        if result.stdout.strip() != test.stdout.strip():
            return Verdict(False, "wrong-answer", f"io test {k}: expected {test.stdout.strip()[:100]!r}, got {result.stdout.strip()[:100]!r}", "failed")
    return Verdict(True, None, f"{len(task.io_tests)} io tests passed", "passed")


CAS_SCRIPT = r'''
import json, sys
sys.path.insert(0, "/opt/irm-site")
from sympy import simplify, srepr, nsimplify
from sympy.parsing.sympy_parser import parse_expr, standard_transformations, implicit_multiplication_application, convert_xor

T = standard_transformations + (implicit_multiplication_application, convert_xor)

def parse(text):
    text = text.strip().strip("$").replace("\\cdot", "*").replace("\\times", "*").replace(",", "")
    if "\\frac" in text:
        import re
        text = re.sub(r"\\frac\{([^{}]*)\}\{([^{}]*)\}", r"((\1)/(\2))", text)
    return nsimplify(parse_expr(text, transformations=T, evaluate=True), rational=True)

reference = parse(open("reference.txt").read())
out = []
for answer in json.load(open("answers.json")):
    try:
        value = parse(answer)
        out.append({"equal": bool(simplify(value - reference) == 0), "canonical": srepr(simplify(value))})
    except Exception as err:
        out.append({"equal": False, "canonical": None, "error": type(err).__name__})
print(json.dumps(out))
'''


SANDBOX_SITE = "/opt/irm-site"


def cas_site() -> str:
    """sympy and mpmath (pure Python) copied once to a folder the sandbox user can read, because
    this environment may live where ``nobody`` cannot look (a home directory)."""
    import mpmath
    import sympy

    target = Path(tempfile.gettempdir()) / f"irm-sandbox-site-sympy{sympy.__version__}-mpmath{mpmath.__version__}"
    if not target.is_dir():
        staging = Path(tempfile.mkdtemp(prefix="irm-sandbox-site-", dir=target.parent))
        for module in (sympy, mpmath):
            source = Path(module.__file__).parent
            shutil.copytree(source, staging / source.name, ignore=shutil.ignore_patterns("tests", "__pycache__"))
        for path in [staging, *staging.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        try:
            staging.rename(target)
        except OSError:  # another process made it first
            shutil.rmtree(staging, ignore_errors=True)
    return str(target)


def verify_math(task: Task, answer_texts: list[str], limits: SandboxLimits) -> list[Verdict]:
    """All candidates of one task in one sandboxed sympy run (sympy's import dominates the cost)."""
    answers = [parse_answer(t).math_answer() for t in answer_texts]
    cas_limits = limits.model_copy(update={"memory_mb": max(limits.memory_mb, 1024), "cpu_seconds": max(limits.cpu_seconds, 20),
                                            "wall_seconds": max(limits.wall_seconds, 30.0)})
    workspace = open_workspace(cas_limits.disk_bytes, cas_limits.max_files)
    try:
        write_files(workspace, {"reference.txt": task.answer or "", "answers.json": json.dumps(answers), "cas.py": CAS_SCRIPT})
        result = run(["/usr/bin/python3", "-I", "-B", "cas.py"], workspace, cas_limits, ro_binds=((cas_site(), SANDBOX_SITE),))
    finally:
        workspace.close()
    if not result.ok:
        return [Verdict(False, _error_class(result), f"CAS: {result.stderr[-300:]}", "") for _ in answers]
    verdicts = []
    for answer, checked in zip(answers, json.loads(result.stdout)):
        if checked.get("error"):
            verdicts.append(Verdict(False, "syntax", f"unparseable answer {answer[:80]!r} ({checked['error']})", ""))
        elif checked["equal"]:
            verdicts.append(Verdict(True, None, f"{answer[:80]!r} equals the reference", checked["canonical"]))
        else:
            verdicts.append(Verdict(False, "wrong-answer", f"{answer[:80]!r} differs from the reference", checked["canonical"]))
    return verdicts
