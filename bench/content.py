"""Content classification and code quality rules, measured on labelled files of this machine.

    .venv/bin/python -m bench.content [--per-class 400] [--filters-limit 0]

1. Domain by content: code / math / text predicted from the text alone (no hint, no path) by
   ``spark_jobs.text_rules.domain_of``. Labels come from where a file came from: code = source
   files of the standard library and installed packages by extension (the extension is the
   language label, then dropped); text = package descriptions (METADATA), Markdown/reST/plain
   text files and Debian copyright files; math = docstrings of sympy/numpy/torch/scipy that
   carry LaTeX (``.. math::``, ``\\frac``, ``$...$``). Files are split by a hash of their path:
   the half with an even hash was looked at while tuning, the report is on the other half.
2. False rejections of the code rules on known-good code: every ``.py`` file of the installed
   packages, through ``clean_document`` with ``domain_hint=code``; each rejection with its rule
   and score.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import sysconfig
import time
from collections import Counter
from pathlib import Path

from schemas.curation import CleanConfig
from spark_jobs.code_detect import code_language_of
from spark_jobs.text_rules import clean_document, domain_of

CODE_SUFFIXES = {".py": "python", ".c": "c", ".h": "c", ".cpp": "cpp", ".cc": "cpp", ".hpp": "cpp", ".js": "javascript",
                 ".ts": "typescript", ".sh": "shell", ".go": "go", ".rs": "rust", ".java": "java", ".rb": "ruby",
                 ".sql": "sql", ".css": "css", ".html": "html", ".toml": "toml", ".yaml": "yaml", ".yml": "yaml", ".json": "json",
                 ".xml": "xml", ".pyx": "cython"}
PROSE_SUFFIXES = {".md", ".rst", ".txt"}
PER_PACKAGE = 8
MATH_PACKAGES = ("sympy", "numpy", "torch", "scipy", "pandas")
LATEX = ("\\frac", ".. math::", "\\sum", "\\int", "\\begin{", "$\\")


def _held_out(path: Path) -> bool:
    return hashlib.sha256(str(path).encode()).digest()[0] % 2 == 1


def _roots() -> list[Path]:
    paths = sysconfig.get_paths()
    return [Path(paths["stdlib"]), Path(paths["purelib"])]


def labelled_sample(per_class: int, held_out: bool = True, min_bytes: int = 400, max_bytes: int = 200_000) -> list[tuple[str, str, str, str]]:
    """``(label, language, origin, text)``; at most ``per_class`` per label, code spread over languages."""
    code: dict[str, list] = {}
    prose, math = [], []
    per_package: Counter = Counter()
    for root in _roots():
        for path in sorted(root.rglob("*")):
            if _held_out(path) != held_out or "__pycache__" in path.parts or not path.is_file():
                continue
            package = path.relative_to(root).parts[0]
            if per_package[package] >= PER_PACKAGE:
                continue
            size = path.stat().st_size
            if not min_bytes <= size <= max_bytes:
                continue
            suffix = path.suffix.lower()
            if suffix in CODE_SUFFIXES and len(code.setdefault(CODE_SUFFIXES[suffix], [])) < per_class:
                text = path.read_text(errors="replace")
                code[CODE_SUFFIXES[suffix]].append(("code", CODE_SUFFIXES[suffix], str(path.relative_to(root)), text))
                per_package[package] += 1
            elif (suffix in PROSE_SUFFIXES or path.name == "METADATA") and len(prose) < per_class * 3:
                text = path.read_text(errors="replace")
                if path.name == "METADATA":
                    text = text.split("\n\n", 1)[-1]
                if len(text) >= min_bytes:
                    prose.append(("text", "", str(path.relative_to(root)), text))
                    per_package[package] += 1
    for package in MATH_PACKAGES:
        for path in sorted((_roots()[1] / package).rglob("*.py")):
            if _held_out(path) == held_out and len(math) < per_class:
                math.extend(_latex_docstrings(path.read_text(errors="replace"), str(path.relative_to(_roots()[1])))[:3])
    for path in sorted(Path("/usr/share/doc").glob("*/copyright")):
        if _held_out(path) == held_out and len(prose) < per_class * 4:
            prose.append(("text", "", str(path), path.read_text(errors="replace")))
    code_rows = [rows[i] for i in range(per_class) for rows in code.values() if i < len(rows)]
    prose_step = max(1, len(prose) // per_class)
    return code_rows[:per_class] + prose[::prose_step][:per_class] + math[:per_class]


def _latex_docstrings(source: str, origin: str) -> list[tuple[str, str, str, str]]:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    out = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef, ast.Module)):
            doc = ast.get_docstring(node)
            if doc and len(doc) >= 400 and sum(doc.count(m) for m in LATEX) >= 3:
                out.append(("math", "", f"{origin}:{getattr(node, 'name', 'module')}", doc))
    return out


def confusion(sample, cfg: CleanConfig) -> tuple[Counter, Counter, Counter, float]:
    matrix: Counter = Counter()
    languages: Counter = Counter()
    wrong_language: Counter = Counter()
    started = time.perf_counter()
    for label, lang, _origin, text in sample:
        predicted = domain_of(text, None, None, cfg)
        matrix[(label, predicted)] += 1
        if label == "code" and predicted == "code":
            guess = code_language_of(text)
            languages[lang] += 1
            if guess != lang and not (lang == "c" and guess == "cpp") and not (lang == "cython" and guess == "python"):
                wrong_language[(lang, guess)] += 1
    return matrix, languages, wrong_language, time.perf_counter() - started


def code_rejections(cfg: CleanConfig, limit: int = 0) -> tuple[int, list[tuple[str, str, str]]]:
    """Every installed package's .py file through the cleaning rules as code: (files, rejections)."""
    purelib = Path(sysconfig.get_paths()["purelib"])
    files = [p for p in sorted(purelib.rglob("*.py")) if "__pycache__" not in p.parts and p.stat().st_size > 0]
    files = files[:limit] if limit else files
    rejected = []
    for path in files:
        out = clean_document({"doc_id": "x", "text": path.read_text(errors="replace"), "domain_hint": "code", "path": path.name}, cfg)
        if out["reason"]:
            rejected.append((str(path.relative_to(purelib)), out["reason"], out["reason_detail"]))
    return len(files), rejected


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-class", type=int, default=400)
    parser.add_argument("--tuning-half", action="store_true", help="score the half used while tuning instead")
    parser.add_argument("--filters-limit", type=int, default=0, help="only the first N package files (0: all)")
    args = parser.parse_args()
    cfg = CleanConfig()
    sample = labelled_sample(args.per_class, held_out=not args.tuning_half)
    matrix, languages, wrong, seconds = confusion(sample, cfg)
    labels = ["code", "math", "text"]
    print(f"\n{len(sample)} labelled documents, {seconds:.1f} s ({len(sample) / seconds:.0f} docs/s)\n")
    print("| true \\ predicted | " + " | ".join(labels) + " | recall |")
    print("|---|" + "---|" * (len(labels) + 1))
    for t in labels:
        row = [matrix[(t, p)] for p in labels]
        print(f"| {t} | " + " | ".join(map(str, row)) + f" | {row[labels.index(t)] / max(sum(row), 1):.3f} |")
    print("| precision | " + " | ".join(f"{matrix[(p, p)] / max(sum(matrix[(t, p)] for t in labels), 1):.3f}" for p in labels) + " | |")
    n_lang = sum(languages.values())
    print(f"\ncode language named right on {n_lang - sum(wrong.values())}/{n_lang} recognized code files "
          f"({len(languages)} languages); most frequent misses: {wrong.most_common(8)}")
    files, rejected = code_rejections(cfg, args.filters_limit)
    by_rule = Counter(r[1] for r in rejected)
    print(f"\ncode rules on {files} installed .py files: {len(rejected)} rejected ({len(rejected) / max(files, 1):.2%})")
    print("\n| rule | files | example (score) |\n|---|---|---|")
    for rule, n in by_rule.most_common():
        example = next(r for r in rejected if r[1] == rule)
        print(f"| {rule} | {n} | {example[0]} ({example[2]}) |")


if __name__ == "__main__":
    main()
