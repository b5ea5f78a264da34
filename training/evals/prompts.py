"""How each benchmark schema becomes a prompt, a program to execute, and a public check.

Code: HumanEval continues the function from its prompt; MBPP shows the task and its first test
(the public one) and asks for the code between ``[BEGIN]`` and ``[DONE]``. The exec-guided
serving policy may run only what a user would give it: HumanEval's docstring examples and
MBPP's first test; the item is scored on all of its tests. Every test runs in the judged
harness, so a completion that exits early or prints a verdict cannot pass.
"""

from __future__ import annotations

import ast
import doctest
from dataclasses import dataclass

from training.evals.benchmarks import Item

HUMANEVAL_STOP = ["\ndef ", "\nclass ", "\nif __name__", "\nprint("]
MBPP_STOP = ["[DONE]"]


def code_prompt(item: Item, schema: str) -> tuple[str, list[str]]:
    if schema == "humaneval":
        return item.question, HUMANEVAL_STOP
    shown = item.tests[0] if item.tests else ""
    return (f"You are an expert Python programmer, and here is your task: {item.question} "
            f"Your code should pass this test:\n\n{shown}\n[BEGIN]\n"), MBPP_STOP


def _strip_fence(text: str) -> str:
    if "```" in text:
        parts = text.split("```")
        if len(parts) >= 3:
            body = parts[1]
            return body.split("\n", 1)[1] if body.split("\n", 1)[0].strip().isalpha() else body
    return text


@dataclass(frozen=True)
class Submission:
    """What the judged harness runs: the candidate's module and the assert tests the judge evaluates."""

    code: str
    tests: list[str]


class _Rename(ast.NodeTransformer):
    def __init__(self, names: dict[str, str]):
        self.names = names

    def visit_Name(self, node: ast.Name) -> ast.expr:
        target = self.names.get(node.id)
        if target is None or not isinstance(node.ctx, ast.Load):
            return node
        return ast.copy_location(ast.parse(target, mode="eval").body, node)


def _prompt_helpers(prompt: str, entry_point: str) -> list[ast.stmt]:
    """The prompt's whole-module imports and the functions it defines besides the one to write
    (HumanEval/32's ``poly``, /38's ``encode_cyclic``), without annotations: the tests call them,
    and they must be the benchmark's own, run by the judge, not whatever the completion redefines."""
    out: list[ast.stmt] = []
    for statement in ast.parse(prompt).body:
        if isinstance(statement, ast.Import) and not any(a.asname for a in statement.names):
            out.append(statement)
        elif isinstance(statement, ast.FunctionDef) and statement.name != entry_point:
            for a in statement.args.posonlyargs + statement.args.args + statement.args.kwonlyargs:
                a.annotation = None
            statement.returns, statement.decorator_list = None, []
            out.append(statement)
    return out


def humaneval_tests(test_code: str, entry_point: str, prompt: str = "") -> list[str]:
    """HumanEval's ``check(candidate)`` as one test the judge runs: the prompt's helper functions,
    then the check's body with ``candidate`` named by the entry point, ``from m import x`` spelled
    ``import m`` / ``m.x``, and ``random`` seeded, so an item asks the same inputs every time."""
    tree = ast.parse(test_code)
    body: list[ast.stmt] = _prompt_helpers(prompt, entry_point) if prompt else []
    for statement in tree.body:
        if isinstance(statement, ast.FunctionDef) and statement.name == "check":
            body += statement.body
        elif not (isinstance(statement, ast.Assign) and all(isinstance(t, ast.Name) and t.id == "METADATA" for t in statement.targets)):
            body.append(statement)
    names, out = {"candidate": entry_point}, []
    for statement in body:
        if isinstance(statement, ast.ImportFrom) and statement.module and not statement.level and "." not in statement.module:
            names.update({a.asname or a.name: f"{statement.module}.{a.name}" for a in statement.names})
            out.append(ast.Import(names=[ast.alias(statement.module)]))
            imported = {statement.module}
        else:
            out.append(statement)
            imported = {a.name for a in statement.names} if isinstance(statement, ast.Import) else set()
        if "random" in imported:
            out += ast.parse("random.seed(0)").body
    return [ast.unparse(ast.fix_missing_locations(_Rename(names).visit(ast.Module(body=out, type_ignores=[]))))]


def submission(item: Item, schema: str, completion: str) -> Submission:
    """The candidate's code and every test of the item (the hidden ones included)."""
    if schema == "humaneval":
        return Submission(f"{item.question}{completion}\n",
                          humaneval_tests(item.tests[0], item.entry_point, item.question) if item.tests else [])
    return Submission(f"{item.setup}\n{_strip_fence(completion)}\n", list(item.tests))


def public_submission(item: Item, schema: str, completion: str) -> Submission | None:
    """What the exec-guided policy may run (None: nothing public to run): HumanEval's docstring
    examples whose expected output is a Python literal, as asserts; MBPP's first test."""
    if schema == "humaneval":
        tests = []
        for example in doctest.DocTestParser().get_examples(item.question):
            want = []
            for line in example.want.splitlines():
                if line.strip().startswith(('"""', "'''")):
                    break  # the docstring ends: the prompt is parsed as source, not as the docstring
                want.append(line)
            try:
                expected = ast.literal_eval("\n".join(want).strip())
                call = ast.unparse(ast.parse(example.source, mode="eval"))  # without the example's comments
            except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
                continue
            tests.append(f"assert ({call}) == {expected!r}")
        return Submission(f"{item.question}{completion}\n", tests) if tests else None
    if not item.tests:
        return None
    return Submission(f"{item.setup}\n{_strip_fence(completion)}\n", [item.tests[0]])


def math_prompt(item: Item) -> str:
    return f"Question: {item.question}\nAnswer: Let's think step by step, and end with '#### <number>'.\n"


def choice_context(item: Item, schema: str) -> str:
    if schema == "mmlu":
        topic = item.subject.replace("_", " ")
        return f"The following is a question about {topic}.\n\n{item.question}\nAnswer:" if topic else f"{item.question}\nAnswer:"
    if schema == "hellaswag":
        ctx_b = item.question[:1].upper() + item.question[1:]
        return f"{item.subject}: {item.context} {ctx_b}".strip()
    return f"Question: {item.question}\nAnswer:"
