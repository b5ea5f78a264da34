"""Split assert-style tests into what the judge evaluates and what only the candidate can.

A test is parsed (never run here). Every maximal sub-expression that needs a candidate name
(a call of the candidate's function, one of its globals) becomes a *probe*: source the
candidate's process evaluates and answers with plain data. Everything else — comparisons,
boolean logic, builtins, literals (so the expected values), comprehension and loop structure —
stays in the judge, which calls ``__probe__(k, bindings)`` in place of probe ``k`` and passes the
judge-side variables the probe uses (a comprehension's loop variable, say).

Builtin and standard-module names in a test always mean the real ones, even where the candidate
defines a name of its own that shadows them.
"""

from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass

JUDGE_MODULES = {"math", "cmath", "re", "itertools", "functools", "collections", "fractions", "decimal", "statistics",
                 "string", "operator", "heapq", "bisect"}
BUILTIN_NAMES = set(dir(builtins)) - {"__import__", "open", "exec", "eval", "compile", "input", "breakpoint", "exit", "quit"}
# what the judge reads off plain data itself: a method or attribute of a value the candidate
# returned (``f(x).startswith("ab")``, ``f(x).real``, ``f(x).__eq__(y)``) runs on the decoded
# builtin value, so no method the candidate wrote decides a test
PLAIN_ATTRS = set().union(*(dir(t) for t in (bool, int, float, complex, str, bytes, list, tuple, set, frozenset, dict)))
STATEMENTS = (ast.Assert, ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Expr, ast.For, ast.If, ast.Pass, ast.Import, ast.ImportFrom)


class PlanError(ValueError):
    pass


@dataclass(frozen=True)
class TestPlan:
    tests: list[str]
    probes: list[str]
    modules: list[list[str]]  # per probe: the standard modules its source names, imported on the candidate's side


def _loaded_names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _target_names(target: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}


class _Split(ast.NodeTransformer):
    def __init__(self, probes: list[str], modules: list[list[str]]):
        self.probes = probes
        self.probe_modules = modules
        self.local: set[str] = set()
        self.modules: set[str] = set()

    def judge_side(self, name: str) -> bool:
        return name in self.local or name in BUILTIN_NAMES or name in JUDGE_MODULES

    def needs_candidate(self, node: ast.AST) -> bool:
        bound = set()
        for n in ast.walk(node):
            if isinstance(n, (ast.comprehension,)):
                bound |= _target_names(n.target)
            elif isinstance(n, ast.Lambda):
                bound |= {a.arg for a in n.args.args + n.args.kwonlyargs}
        return any(not self.judge_side(name) and name not in bound for name in _loaded_names(node))

    def probe(self, node: ast.expr) -> ast.expr:
        self.probes.append(ast.unparse(node))
        self.probe_modules.append(sorted(n for n in _loaded_names(node) if n in JUDGE_MODULES or n in self.modules))
        used = sorted(n for n in _loaded_names(node) if n in self.local and n not in self.modules)
        bindings = ast.Dict(keys=[ast.Constant(n) for n in used], values=[ast.Name(n, ast.Load()) for n in used])
        return ast.Call(ast.Name("__probe__", ast.Load()), [ast.Constant(len(self.probes) - 1), bindings], [])

    def visit_Name(self, node: ast.Name) -> ast.expr:
        if isinstance(node.ctx, ast.Load) and not self.judge_side(node.id):
            return self.probe(node)
        return node

    def visit_Call(self, node: ast.Call) -> ast.expr:
        if self.needs_candidate(node.func) and not self.plain_attribute(node.func):
            return self.probe(node)
        return self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> ast.expr:
        if isinstance(node.ctx, ast.Load) and self.needs_candidate(node.value) and not self.plain_attribute(node):
            return self.probe(node)
        return self.generic_visit(node)

    @staticmethod
    def plain_attribute(node: ast.AST) -> bool:
        """Named like an attribute of plain data: the judge reads it off the candidate's value,
        which must then be plain data. Other names (``Solution().solve``) are the candidate's own."""
        return isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load) and node.attr in PLAIN_ATTRS

    def _scoped(self, node: ast.AST, names: set[str]) -> ast.AST:
        before = set(self.local)
        self.local |= names
        try:
            return self.generic_visit(node)
        finally:
            self.local = before

    def visit_ListComp(self, node):
        return self._comprehension(node)

    visit_SetComp = visit_GeneratorExp = visit_DictComp = visit_ListComp

    def _comprehension(self, node):
        names = set().union(*(_target_names(g.target) for g in node.generators))
        for g in node.generators:  # the first iterable is evaluated outside the comprehension's scope
            g.iter = self.visit(g.iter)
        before = set(self.local)
        self.local |= names
        try:
            for g in node.generators:
                g.ifs = [self.visit(c) for c in g.ifs]
            for field in ("elt", "key", "value"):
                if getattr(node, field, None) is not None:
                    setattr(node, field, self.visit(getattr(node, field)))
        finally:
            self.local = before
        return node

    def visit_Lambda(self, node: ast.Lambda):
        return self._scoped(node, {a.arg for a in node.args.args + node.args.kwonlyargs})


def plan_tests(tests: list[str]) -> TestPlan:
    """The judge's source for each test and the probes they need (PlanError for a test that is
    not Python, or uses statements beyond asserts, assignments, loops and ifs)."""
    probes: list[str] = []
    modules: list[list[str]] = []
    out = []
    for k, test in enumerate(tests):
        try:
            tree = ast.parse(test)
        except SyntaxError as err:
            raise PlanError(f"test {k} is not valid Python ({err.msg}): {test[:80]!r}") from err
        split = _Split(probes, modules)
        inside = _judge_functions(tree, k)
        for statement in ast.walk(tree):
            if isinstance(statement, ast.stmt) and id(statement) not in inside and not isinstance(statement, STATEMENTS):
                raise PlanError(f"test {k}: a {type(statement).__name__} statement is not supported in tests; use asserts over calls")
        body = []
        for statement in tree.body:
            body.append(_statement(split, statement))
        out.append(ast.unparse(ast.fix_missing_locations(ast.Module(body=body, type_ignores=[]))))
    return TestPlan(out, probes, modules)


def _judge_functions(tree: ast.Module, k: int) -> set[int]:
    """Top-level function definitions of a test (a benchmark's own helpers) run in the judge, so
    they may use only what the judge has: builtins, standard modules the test imports, their own
    arguments and locals, and each other. Returns the ids of the nodes inside them."""
    functions = [s for s in tree.body if isinstance(s, ast.FunctionDef)]
    imported = {(a.asname or a.name).split(".")[0] for s in tree.body if isinstance(s, ast.Import) for a in s.names}
    names = {f.name for f in functions}
    for f in functions:
        bound = {a.arg for a in f.args.posonlyargs + f.args.args + f.args.kwonlyargs}
        bound |= {a.arg for a in (f.args.vararg, f.args.kwarg) if a is not None}
        for n in ast.walk(f):
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
                bound.add(n.id)
            elif isinstance(n, ast.comprehension):
                bound |= _target_names(n.target)
            elif isinstance(n, ast.Lambda):
                bound |= {a.arg for a in n.args.args + n.args.kwonlyargs}
        unknown = sorted(_loaded_names(f) - bound - names - imported - BUILTIN_NAMES - JUDGE_MODULES)
        if unknown:
            raise PlanError(f"test {k}: function {f.name} uses {unknown}, which the judge does not have")
    return {id(n) for f in functions for n in ast.walk(f)}


def _statement(split: _Split, statement: ast.stmt) -> ast.stmt:
    if isinstance(statement, ast.FunctionDef):
        split.local.add(statement.name)
        return statement
    if isinstance(statement, (ast.Import, ast.ImportFrom)):
        names = {(a.asname or a.name).split(".")[0] for a in statement.names}
        if isinstance(statement, ast.ImportFrom) or any(a.asname for a in statement.names):
            raise PlanError("tests may import whole standard modules only (import math), so the candidate's side can import them too")
        split.local |= names
        split.modules |= names
        return statement
    if isinstance(statement, ast.For):
        statement.iter = split.visit(statement.iter)
        split.local |= _target_names(statement.target)
        statement.body = [_statement(split, s) for s in statement.body]
        statement.orelse = [_statement(split, s) for s in statement.orelse]
        return statement
    if isinstance(statement, ast.If):
        statement.test = split.visit(statement.test)
        statement.body = [_statement(split, s) for s in statement.body]
        statement.orelse = [_statement(split, s) for s in statement.orelse]
        return statement
    if isinstance(statement, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
        if statement.value is not None:
            statement.value = split.visit(statement.value)
        targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
        for target in targets:
            if not isinstance(target, (ast.Name, ast.Tuple, ast.List)):
                raise PlanError("tests may assign to plain names only, not to the candidate's objects")
            split.local |= _target_names(target)
        return statement
    return split.visit(statement)
