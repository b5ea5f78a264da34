"""Function bodies of a source file, so a tokenizer can be measured in tokens per function.

Python functions come from its own parser (exact spans, nested functions included). For the
brace languages a definition is a header line that opens a block — ``func``/``function``/a C
signature followed by ``{`` — and runs to its matching brace, counted outside strings and
comments; anything that does not balance is skipped rather than guessed.
"""

from __future__ import annotations

import ast
import re
import warnings

_HEADERS = {
    "go": re.compile(r"^func\b[^\n{]*\{", re.M),
    "javascript": re.compile(r"^[ \t]*(?:export\s+)?(?:async\s+)?function\b[^\n{]*\{|^[ \t]*[\w$]+\s*\([^()\n]*\)\s*\{", re.M),
    "typescript": re.compile(r"^[ \t]*(?:export\s+)?(?:async\s+)?function\b[^\n{]*\{|^[ \t]*[\w$]+\s*\([^()\n]*\)\s*\{", re.M),
    "rust": re.compile(r"^[ \t]*(?:pub(?:\([\w:]+\))?\s+)?(?:async\s+)?fn\b[^\n{;]*\{", re.M),
    "java": re.compile(r"^[ \t]*(?:(?:public|private|protected|static|final|synchronized|abstract)\s+)+[\w<>\[\], ]+\s+\w+\s*\([^;{]*\)[^;{]*\{", re.M),
}
_C_HEADER = re.compile(r"^[A-Za-z_][\w\s\*&:<>,~]*?\b[A-Za-z_~][\w:~]*\s*\([^;{}]*\)\s*(?:const\s*)?(?:noexcept\s*)?(?:override\s*)?\{",
                       re.M)
_C_LIKE = {"c", "cpp", "c++", "cuda", "objective-c", "cython"}
_NOT_FUNCTIONS = re.compile(r"^\s*(?:if|for|while|switch|else|do|return|catch|struct|class|enum|union|namespace)\b")


def functions(text: str, language: str) -> list[str]:
    """The source text of every function definition found in ``text`` of ``language``."""
    language = language.lower()
    if language == "python":
        return _python(text)
    header = _HEADERS.get(language) or (_C_HEADER if language in _C_LIKE else None)
    if header is None:
        return []
    out = []
    for m in header.finditer(text):
        if _NOT_FUNCTIONS.match(m.group(0)):
            continue
        end = _matching_brace(text, m.end() - 1)
        if end is not None:
            out.append(text[m.start(): end + 1])
    return out


def _python(text: str) -> list[str]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError):
        return []
    lines = text.splitlines(keepends=True)
    return ["".join(lines[n.lineno - 1: n.end_lineno]) for n in ast.walk(tree)
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.end_lineno]


def _matching_brace(text: str, open_at: int) -> int | None:
    """Index of the ``}`` closing the ``{`` at ``open_at``, skipping strings and comments."""
    depth, i, n = 0, open_at, len(text)
    while i < n:
        ch = text[i]
        if ch in "\"'`":
            i = _string_end(text, i)
            if i is None:
                return None
        elif text.startswith("//", i):
            i = text.find("\n", i)
            if i < 0:
                return None
        elif text.startswith("/*", i):
            i = text.find("*/", i + 2)
            if i < 0:
                return None
            i += 1
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return None


def _string_end(text: str, start: int) -> int | None:
    quote, i = text[start], start + 1
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch == quote:
            return i
        if ch == "\n" and quote != "`":
            return i  # an unterminated literal (or a char like '{' in C) ends at the line
        i += 1
    return None
