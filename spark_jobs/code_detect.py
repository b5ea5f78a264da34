"""Code recognized by its content: is this text source code, and in which language?

Used when a document carries neither a domain hint nor a file extension. Prose has sentences:
lines of alphabetic words with function words ("the", "of", "and"); code has lines that end
in brackets, colons or semicolons, start with keywords, assign, call and indent. A score over
the first lines decides code or not, then per-language signature patterns name the language;
pygments' lexer guess (it ships offline, analyse_text only) names what those leave open.
"""

from __future__ import annotations

import re
from functools import lru_cache

HEAD_LINES = 2000
MARKUP_LINE = re.compile(r"^\s*```|\]\([^)\s]+\)|^\.\. [\w-]+::|^[=\-~^*]{4,}\s*$|^\s*[-+] [A-Za-z`*\[]|^\s*> |^\s*\*\*\w")
PROSE_LINE = re.compile(r"^[^;{}=<>|\\]*$")
STOPWORDS = frozenset("the of and to in is that for it as with was on be by this are or an from at which not have".split())
WORD = re.compile(r"[A-Za-z]+")
CODE_LINE = re.compile(
    r"""(?x)
    [;{}]\s*$                                   # statement or block end
    | [(\[,]\s*$ | ^\s*[)\]}]                  # call/literal continued or closed
    | ^\s*(?:def|class|import|from|return|if|elif|else|for|while|try|except|with|raise|yield|async|await|
           function|var|let|const|public|private|protected|static|void|int|char|float|double|package|fn|func|
           impl|struct|enum|use|mod|pub|\#include|\#define|\#if|\#endif|namespace|template|SELECT|INSERT|
           CREATE|echo|export|local|end|begin|module|require|lambda|case|switch|break|continue)\b
    | ^\s*[\w.\[\]"']+\s*(?:[+\-*/|&]?=|:=|=>|->)\s*\S   # assignment / binding
    | ^\s*(?:\#|//|/\*|\*|--|<!--)                      # comment line
    | \w\([^()]*\)\s*[:;{]?\s*$                         # ends in a call or signature
    | ^\s*@\w+                                          # decorator / annotation
    | ^\s*<[/!?]?[\w:-]+[^>]*>                          # markup tag
    | ^\s*(?:b|r|u|f)?['"].*['"]\s*(?:\#.*)?$             # a literal on its own line (tables, lists)
    """
)
LANGUAGE_PATTERNS: dict[str, list[tuple[str, float]]] = {
    "python": [(r"^\s*def \w+\(.*\)\s*(->.*)?:\s*$", 3), (r"^\s*(from [\w.]+ import|import [\w.]+)", 2), (r"\bself\.", 1),
               (r"^\s*elif\b", 2), (r"^\s*class \w+(\(.*\))?:\s*$", 3), (r"\bNone\b|\bTrue\b|\bFalse\b", 0.5), (r'^\s*"""', 1)],
    "c": [(r"^\s*#include\s*[<\"]", 3), (r"\bprintf\(|\bmalloc\(|\bsizeof\(", 2), (r"^\s*(static |extern )?(int|void|char|unsigned|struct \w+)\s+\**\w+\(", 2),
          (r"->\w", 0.5)],
    "cpp": [(r"\bstd::|\btemplate\s*<|\bnamespace \w+|\bclass \w+\s*(:\s*public)?", 2), (r"#include\s*<(iostream|vector|string|memory)>", 3),
            (r"::\w+\(", 1)],
    "java": [(r"\bpublic (final )?class \w+|\bimport java\.", 3), (r"\bSystem\.out\.|@Override|\bprivate (static |final )*\w+ \w+;", 2)],
    "javascript": [(r"\bfunction\s*\w*\s*\(", 2), (r"\b(const|let|var) \w+ = ", 1.5), (r"=>\s*[{(]?", 1), (r"\brequire\(|\bmodule\.exports|\bconsole\.log\(", 2),
                   (r"^\s*export (default|const|function)", 2)],
    "typescript": [(r"\binterface \w+ \{|: (string|number|boolean)\b|\btype \w+ = ", 2), (r"^\s*import .* from ['\"]", 1)],
    "go": [(r"^package \w+\s*$", 3), (r"^func (\(\w+ \*?\w+\) )?\w+\(", 3), (r":= ", 1), (r"\bfmt\.\w+\(", 2)],
    "rust": [(r"\bfn \w+(<.*>)?\(", 2), (r"\blet mut\b|\bimpl\b|#\[derive|\bpub fn\b", 2), (r"\bOption<|\bResult<|\bVec<", 1)],
    "shell": [(r"^#!.*\b(ba|z)?sh\b", 4), (r"^\s*(if \[|fi$|done$|esac$|then$)", 2), (r"\$\{?\w+\}?", 0.5), (r"^\s*(echo|export|set -e)\b", 1)],
    "ruby": [(r"^\s*end\s*$", 1), (r"^\s*require ['\"]", 2), (r"^\s*(def \w+[?!]?(\(.*\))?|puts )\s*$", 2), (r"\bdo \|\w+\|", 2)],
    "php": [(r"<\?php", 5), (r"\$\w+\s*=", 1)],
    "sql": [(r"(?i)^\s*(SELECT\b.*|INSERT INTO|CREATE (TABLE|INDEX|VIEW)|UPDATE \w+ SET|DELETE FROM)", 2), (r"(?i)\bFROM \w+\b.*\bWHERE\b", 1)],
    "html": [(r"(?i)<!DOCTYPE html|<html|<div\b|<body\b|<script\b", 3)],
    "xml": [(r"^<\?xml ", 5), (r"^\s*</?[\w:-]+( [\w:-]+=\"[^\"]*\")*\s*/?>\s*$", 0.5)],
    "css": [(r"^\s*[.#@]?[\w-]+(\s*[,>]\s*[.#]?[\w-]+)*\s*\{\s*$", 1.5), (r"^\s*[\w-]+:\s*[^;]+;\s*$", 1)],
    "yaml": [(r"^[\w-]+:\s*$", 0.5), (r"^\s+- \w", 0.5), (r"^---\s*$", 1)],
    "toml": [(r"^\[[\w.-]+\]\s*$", 2), (r"^[\w-]+ = [\"\d\[{tf]", 1)],
    "makefile": [(r"^[\w.-]+:( [\w./-]+)*\s*$", 1), (r"^\t\S", 1), (r"\$\(\w+\)", 1)],
    "dockerfile": [(r"^(FROM|RUN|COPY|ENTRYPOINT|WORKDIR|ENV) ", 2)],
}
_COMPILED = {lang: [(re.compile(p, re.MULTILINE), w) for p, w in pats] for lang, pats in LANGUAGE_PATTERNS.items()}
_PYGMENTS_NAMES = {"python": "python", "python 2.x": "python", "c": "c", "c++": "cpp", "java": "java", "javascript": "javascript",
                   "typescript": "typescript", "go": "go", "rust": "rust", "bash": "shell", "ruby": "ruby", "php": "php", "sql": "sql",
                   "html": "html", "xml": "xml", "css": "css", "yaml": "yaml", "toml": "toml", "makefile": "makefile",
                   "docker": "dockerfile", "perl": "perl", "lua": "lua", "scala": "scala", "kotlin": "kotlin", "swift": "swift",
                   "c#": "csharp", "haskell": "haskell", "r": "r", "julia": "julia", "json": "json"}


def _prose_line(line: str) -> bool:
    """A sentence-like line: six or more words, almost all alphabetic, one a function word, no
    code punctuation."""
    tokens = line.split()
    if len(tokens) < 6 or not PROSE_LINE.match(line):
        return False
    alpha = sum(t.strip(".,;:!?()\"'`*").isalpha() for t in tokens)
    return alpha >= 0.8 * len(tokens) and any(t.lower() in STOPWORDS for t in tokens)


def content_scores(text: str) -> dict[str, float]:
    """Over the first ``HEAD_LINES`` non-empty lines: ``code_lines`` and ``prose_lines``, the
    shares that look like code and like sentences; ``markup_lines``: Markdown/reST structure
    (fences, links, directives, underlines, bullets, quotes); ``prose_words``: share of words that are
    English function words."""
    lines = [ln for ln in text.split("\n", HEAD_LINES)[:HEAD_LINES] if ln.strip()]
    if not lines:
        return {"code_lines": 0.0, "prose_lines": 0.0, "markup_lines": 0.0, "prose_words": 0.0}
    words = WORD.findall("\n".join(lines))
    return {
        "code_lines": sum(bool(CODE_LINE.search(ln)) for ln in lines) / len(lines),
        "prose_lines": sum(_prose_line(ln) for ln in lines) / len(lines),
        "markup_lines": sum(bool(MARKUP_LINE.search(ln)) for ln in lines) / len(lines),
        "prose_words": sum(w.lower() in STOPWORDS for w in words) / len(words) if words else 0.0,
    }


def looks_like_code(scores: dict[str, float]) -> bool:
    """Code lines clearly outnumber sentence and Markdown/reST lines. Docstrings and comments make
    code files partly prose, and examples make documentation partly code, so neither share alone
    decides."""
    return scores["code_lines"] >= 0.3 and scores["code_lines"] >= 2 * (scores["prose_lines"] + scores["markup_lines"])


def _json_like(text: str) -> bool:
    head = text.lstrip()[:1]
    if head not in "{[" or not head:
        return False
    import json

    try:
        json.loads(text)
    except ValueError:
        return False
    return True


@lru_cache(maxsize=1)
def _pygments():
    from pygments.lexers import guess_lexer

    return guess_lexer


def code_language_of(text: str) -> str:
    """The language with the strongest signature-pattern evidence in the head; pygments' guess
    when no pattern fires twice; ``unknown`` when neither knows."""
    if _json_like(text):
        return "json"
    head = "\n".join(text.split("\n", HEAD_LINES)[:HEAD_LINES])
    scores = {lang: sum(w * min(len(p.findall(head)), 20) for p, w in pats) for lang, pats in _COMPILED.items()}
    if scores["cpp"] and scores["c"]:
        scores["cpp"] += scores["c"] * 0.5
    if scores["typescript"] and scores["javascript"]:
        scores["typescript"] += scores["javascript"] * 0.5
    best = max(sorted(scores), key=scores.get)
    if scores[best] >= 4:
        return best
    try:
        name = _pygments()(head[:4000]).name.lower()
    except Exception:  # noqa: BLE001 - pygments raises ClassNotFound for text it cannot place
        return best if scores[best] > 0 else "unknown"
    return _PYGMENTS_NAMES.get(name, best if scores[best] > 0 else "unknown")
