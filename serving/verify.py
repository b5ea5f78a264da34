"""Programmatic verification: code candidates run against their tests in the sandbox; math
answers are compared with the reference by sympy, also in the sandbox (parsing an expression
evaluates it, and the expression came from a model).

Error classes: syntax, runtime, wrong-answer, timeout, memory, unverifiable (``None`` when passed).
A math answer must look like mathematics (digits, operators, brackets, a few LaTeX commands,
single-letter variables and known function names) before sympy sees it: ``parse_expr``
evaluates Python, and a Python answer could otherwise print the CAS's verdicts itself.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from schemas.distill import Task
from schemas.sandbox import SandboxLimits
from serving.answers import parse_answer
from serving.confinement import open_workspace
from serving.harness.judged import judge_python
from serving.harness.plan import PlanError
from serving.sandbox import SandboxResult, execute, run, write_files
from spark_jobs.text_rules import redact_pii


@dataclass(frozen=True)
class Verdict:
    passed: bool
    error_class: str | None
    detail: str
    agreement_key: str = ""


SYNTAX_ERRORS = {"SyntaxError", "IndentationError", "TabError"}
HIGH_ENTROPY = re.compile(r"[A-Za-z0-9+/_=-]{24,}")
HEX_TOKEN = re.compile(r"\b(?=[0-9]*[a-fA-F])[0-9a-fA-F]{32,}\b")


def _entropy(value: str) -> float:
    counts = Counter(value)
    return -sum(c / len(value) * math.log2(c / len(value)) for c in counts.values())


def scrub(text: str) -> str:
    """Candidate output on its way to a table: secrets, keys and PII become placeholders, as do
    long high-entropy tokens and long hex strings (what an environment variable's value or a key
    usually looks like)."""
    text, _ = redact_pii(text)
    text = HEX_TOKEN.sub("<SECRET>", text)  # 16 symbols cap a hex key's entropy at 4 bits: it is matched by shape
    return HIGH_ENTROPY.sub(lambda m: "<SECRET>" if _entropy(m.group(0)) >= 4.0 else m.group(0), text)


def _error_class(result: SandboxResult) -> str:
    if result.outcome in ("timeout", "memory"):
        return result.outcome
    if result.outcome == "compile-error" or any(e in result.stderr for e in SYNTAX_ERRORS):
        return "syntax"
    return "runtime"


def _class_of(verdict: dict, candidate: SandboxResult) -> str:
    error = verdict.get("error")
    if error in SYNTAX_ERRORS:
        return "syntax"
    if error == "MemoryError":
        return "memory"
    if error == "AssertionError":
        return "wrong-answer"
    if error == "CandidateGone" and candidate.outcome in ("timeout", "memory"):
        return candidate.outcome
    return "runtime"


def judged_verdict(code: str, tests: list[str], limits: SandboxLimits, files: dict[str, str] | None = None) -> Verdict:
    """Assert tests through the judged harness: the verdict never comes from the candidate's process."""
    try:
        judged = judge_python(code, tests, limits, files)
    except PlanError as err:
        return Verdict(False, "unverifiable", str(err), "failed")
    if not judged.plan.probes:
        return Verdict(False, "unverifiable", "no test calls the candidate's code, so a pass would prove nothing", "failed")
    for k, verdict in enumerate(judged.verdicts):
        if not verdict["passed"]:
            detail = f"test {k} ({tests[k][:100]}): {verdict.get('error')}: {verdict.get('detail', '')}"
            if verdict.get("error") == "CandidateGone":
                gone = judged.candidate
                detail += f" | candidate {gone.outcome} ({gone.signal or gone.exit_code}, {gone.cpu_seconds:.2f} s CPU, {gone.wall_seconds:.2f} s wall)"
            if judged.candidate.stderr:
                detail += f" | stderr: {judged.candidate.stderr[-300:]}"
            return Verdict(False, _class_of(verdict, judged.candidate), scrub(detail)[-500:], "failed")
    return Verdict(True, None, f"{len(tests)} tests passed", "passed")


def verify_code(task: Task, answer_text: str, limits: SandboxLimits) -> Verdict:
    """Assert tests go through the judged harness; io tests compare the program's stdout with the
    expected output here, outside the candidate's process."""
    code = parse_answer(answer_text).code()
    if task.tests:
        return judged_verdict(code, task.tests, limits, task.input_files)
    for k, test in enumerate(task.io_tests):
        result = execute(task.language, code, limits, task.input_files, stdin=test.stdin)
        if not result.ok:
            return Verdict(False, _error_class(result), scrub(f"io test {k}: {result.outcome}: {(result.stderr or result.stdout)[-500:]}"), "failed")
        if result.stdout.strip() != test.stdout.strip():
            return Verdict(False, "wrong-answer", scrub(f"io test {k}: expected {test.stdout.strip()[:100]!r}, got {result.stdout.strip()[:100]!r}"), "failed")
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


MATH_WORDS = {"sqrt", "pi", "oo", "sin", "cos", "tan", "log", "ln", "exp", "frac", "cdot", "times", "dfrac", "left", "right", "infty",
              "I", "E"}
MATH_TEXT = re.compile(r"[0-9A-Za-z+\-*/^().,\s\\{}=!|]*")


def math_like(answer: str) -> bool:
    if len(answer) > 500 or not MATH_TEXT.fullmatch(answer) or re.search(r"[A-Za-z]\.|\.[A-Za-z]", answer):
        return False
    return all(len(word) == 1 or word in MATH_WORDS for word in re.findall(r"[A-Za-z]+", answer))


def verify_math(task: Task, answer_texts: list[str], limits: SandboxLimits) -> list[Verdict]:
    """All candidates of one task in one sandboxed sympy run (sympy's import dominates the cost)."""
    parsed = [parse_answer(t).math_answer() for t in answer_texts]
    answers = [a if math_like(a) else "" for a in parsed]
    cas_limits = limits.model_copy(update={"memory_mb": max(limits.memory_mb, 1024), "cpu_seconds": max(limits.cpu_seconds, 20),
                                            "wall_seconds": max(limits.wall_seconds, 30.0)})
    workspace = open_workspace(cas_limits.disk_bytes, cas_limits.max_files)
    try:
        write_files(workspace, {"reference.txt": task.answer or "", "answers.json": json.dumps(answers), "cas.py": CAS_SCRIPT})
        result = run(["/usr/bin/python3", "-I", "-B", "cas.py"], workspace, cas_limits, ro_binds=((cas_site(), SANDBOX_SITE),))
    finally:
        workspace.close()
    if not result.ok:
        return [Verdict(False, _error_class(result), scrub(f"CAS: {result.stderr[-300:]}"), "") for _ in answers]
    verdicts = []
    for original, answer, checked in zip(parsed, answers, json.loads(result.stdout)):
        if not math_like(original):
            verdicts.append(Verdict(False, "syntax", scrub(f"not a mathematical expression: {original[:80]!r}"), ""))
        elif checked.get("error"):
            verdicts.append(Verdict(False, "syntax", f"unparseable answer {answer[:80]!r} ({checked['error']})", ""))
        elif checked["equal"]:
            verdicts.append(Verdict(True, None, f"{answer[:80]!r} equals the reference", checked["canonical"]))
        else:
            verdicts.append(Verdict(False, "wrong-answer", f"{answer[:80]!r} differs from the reference", checked["canonical"]))
    return verdicts
