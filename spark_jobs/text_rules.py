"""Per-document cleaning rules in plain Python: normalization, domain, language, PII, quality.

They run inside one Arrow-batched Spark task per partition (``spark_jobs.clean``) and are
testable without Spark. Regexes are compiled once per worker.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from functools import lru_cache
from pathlib import PurePosixPath

from schemas.curation import CleanConfig
from spark_jobs.code_detect import code_language_of, content_scores, looks_like_code

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
LATEX = re.compile(r"\\(begin|end|frac|d?binom|sum|prod|int|oint|lim|mathbb|mathrm|mathcal|operatorname|left|right|alpha|beta|gamma|delta|"
                   r"epsilon|lambda|mu|sigma|Sigma|theta|pi|omega|infty|partial|nabla|sqrt|cdot|cdots|ldots|times|leq|geq|neq|"
                   r"approx|equiv|in|subset|forall|exists|to|mapsto|hat|bar|vec|text)\b|\$\$?(?=[^\s${(@])[^$\n]{1,200}?(?<=\S)\$\$?|:math:`")
CODE_LANGUAGES = {
    ".py": "python", ".pyi": "python", ".pyx": "cython", ".c": "c", ".h": "c", ".cc": "cpp", ".cpp": "cpp",
    ".hpp": "cpp", ".cxx": "cpp", ".java": "java", ".kt": "kotlin", ".scala": "scala", ".js": "javascript",
    ".mjs": "javascript", ".ts": "typescript", ".tsx": "typescript", ".jsx": "javascript", ".go": "go",
    ".rs": "rust", ".rb": "ruby", ".php": "php", ".cs": "csharp", ".swift": "swift", ".sh": "shell",
    ".bash": "shell", ".sql": "sql", ".r": "r", ".jl": "julia", ".lua": "lua", ".pl": "perl", ".hs": "haskell",
    ".toml": "toml", ".yaml": "yaml", ".yml": "yaml", ".json": "json", ".xml": "xml", ".proto": "protobuf",
    ".tex": "latex", ".lean": "lean",
}

PROSE_SUFFIXES = {".md", ".rst", ".txt", ".html", ".htm"}

# PII: typed placeholders. Each is valid inside a string literal, so redacted code still parses.
EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
IPV4 = re.compile(r"\b(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?![\d.])\b")
PHONE = re.compile(r"(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{2,4}\)[ .-]?|\d{2,4}[ .-])\d{3,4}[ .-]\d{3,4}(?![\w])")
KNOWN_SECRETS = re.compile(
    r"\b(?:AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{60,}|xox[abpr]-[A-Za-z0-9-]{10,}"
    r"|sk-[A-Za-z0-9_-]{32,}|AIza[0-9A-Za-z_-]{35}|glpat-[A-Za-z0-9_-]{20})\b"
)
PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]+?-----END [A-Z ]*PRIVATE KEY-----")
ASSIGNED_SECRET = re.compile(
    r"(?i)(?P<name>\w*(?:secret|token|passw(?:or)?d|passwd|api_?key|access_?key|auth)\w*)"
    r"(?P<sep>[\"']?\s*[:=]\s*)(?P<quote>[\"']?)(?P<value>[A-Za-z0-9+/_\-.=]{12,})(?P=quote)"
)
PLACEHOLDERS = {"email": "<EMAIL>", "ip_address": "<IP_ADDRESS>", "phone": "<PHONE>", "secret": "<SECRET>"}
IP_KEEP = {"0.0.0.0", "127.0.0.1", "255.255.255.255", "255.255.255.0"}


def normalize(text: str) -> str:
    """NFC, Unix newlines, invisible control and bidi characters removed (tabs and newlines stay)."""
    return CONTROL.sub("", unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n")))


def code_language(path: str | None) -> str | None:
    if not path:
        return None
    p = PurePosixPath(path)
    if p.name.lower() in {"makefile", "dockerfile"}:
        return p.name.lower()
    return CODE_LANGUAGES.get(p.suffix.lower())


def _math_density(text: str) -> float:
    return len(LATEX.findall(text)) / max(len(text), 1)


def domain_of(text: str, domain_hint: str | None, path: str | None, cfg: CleanConfig) -> str:
    """Source hints first (they know), then the file extension, then the content: code by its
    lines (``code_detect``), math by LaTeX density, else text."""
    if domain_hint in {"code", "math", "text", "synthetic"}:
        if domain_hint == "text" and _math_density(text) >= cfg.math_marker_density:
            return "math"
        return domain_hint
    if code_language(path) and code_language(path) not in {"latex", "lean"}:
        return "code"
    prose_file = bool(path) and PurePosixPath(path).suffix.lower() in PROSE_SUFFIXES
    scores = content_scores(text)
    mathy = _math_density(text) >= cfg.math_marker_density
    if not prose_file and looks_like_code(scores) and not (mathy and scores["code_lines"] < 0.6):
        return "code"
    return "math" if mathy else "text"


@lru_cache(maxsize=1)
def _identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def language(text: str) -> tuple[str, float]:
    """py3langid on at most 20k characters (its model ships inside the package: no download)."""
    lang, score = _identifier().classify(text[:20_000])
    return str(lang), float(score)


def _entropy(value: str) -> float:
    counts = Counter(value)
    return -sum(c / len(value) * math.log2(c / len(value)) for c in counts.values())


def redact_pii(text: str) -> tuple[str, dict[str, int]]:
    counts: Counter[str] = Counter()

    def sub(pattern: re.Pattern, kind: str, s: str, keep=lambda m: False) -> str:
        def repl(m: re.Match) -> str:
            if keep(m):
                return m.group(0)
            counts[kind] += 1
            return PLACEHOLDERS[kind]
        return pattern.sub(repl, s)

    text = sub(PRIVATE_KEY, "secret", text)
    text = sub(KNOWN_SECRETS, "secret", text)

    def assigned(m: re.Match) -> str:
        value = m.group("value")
        if _entropy(value) < 3.5 or value.isidentifier() and "_" in value and value.lower() == value:
            return m.group(0)
        counts["secret"] += 1
        return f"{m.group('name')}{m.group('sep')}{m.group('quote')}{PLACEHOLDERS['secret']}{m.group('quote')}"

    text = ASSIGNED_SECRET.sub(assigned, text)
    text = sub(EMAIL, "email", text)
    text = sub(IPV4, "ip_address", text, keep=lambda m: m.group(0) in IP_KEEP)
    text = sub(PHONE, "phone", text)
    return text, dict(counts)


# A generated file says so near the start of a header line ("# Generated by protoc. DO NOT EDIT!", "// Code
# generated by stringer", "# This file was automatically generated from ..."); a sentence that mentions files
# "generated by" some tool after its first few words is not a marker. "Do not edit" is one anywhere.
AUTOGENERATED = re.compile(r"(?im)^[\s#/*;\-!<>'\"]*(?:[\w.@:-]+ ){0,4}(?:(?:is|are|was|were|has been|have been) )?"
                           r"(?:auto-?generated|automatically generated|generated (?:by|from|with|using)|code generated)\b"
                           r"|\b(?:do not edit|never edit)\b|@generated\b")


def quality_scores(text: str) -> dict[str, float]:
    lines = text.split("\n")
    nonempty = [ln.strip() for ln in lines if ln.strip()]
    words = text.split()
    n_words = len(words)
    chars = max(len(text), 1)
    alnum = sum(ch.isalnum() for ch in text)
    digits = sum(ch.isdigit() for ch in text)
    return {
        "words": float(n_words),
        "mean_word_length": sum(map(len, words)) / n_words if n_words else 0.0,
        "symbol_word_ratio": (text.count("#") + text.count("...") + text.count("\u2026")) / max(n_words, 1),
        "alpha_word_fraction": sum(any(c.isalpha() for c in w) for w in words) / max(n_words, 1),
        "duplicate_line_fraction": 1 - len(set(nonempty)) / len(nonempty) if nonempty else 0.0,
        "max_line_length": float(max((len(ln) for ln in lines), default=0)),
        "mean_line_length": sum(map(len, nonempty)) / len(nonempty) if nonempty else 0.0,
        "alnum_fraction": alnum / chars,
        "digit_fraction": digits / max(alnum, 1),
        "autogenerated": float(bool(AUTOGENERATED.search("\n".join(lines[:5])))),
    }


def _rules(domain: str, cfg: CleanConfig) -> list[tuple[str, str, str, float]]:
    """``(rule, score, op, limit)``: a document fails a rule when ``score op limit`` holds.

    Code gets code rules (The Stack / StarCoder: generated-file marker in the first lines, longest
    and mean line length, alphanumeric share, digit-heavy data files), never prose rules: in code,
    repeated lines (``)``, ``}``, ``return None``) and short "words" are normal."""
    q = cfg.quality
    if domain == "code":
        return [("autogenerated", "autogenerated", ">", 0.0), ("max_line_length", "max_line_length", ">", q.max_line_length),
                ("mean_line_length", "mean_line_length", ">", q.max_mean_line_length),
                ("alnum_fraction", "alnum_fraction", "<", q.min_alnum_fraction), ("data_like", "digit_fraction", ">", q.max_digit_fraction)]
    return [("min_words", "words", "<", q.min_words), ("max_words", "words", ">", q.max_words),
            ("mean_word_length", "mean_word_length", "<", q.min_mean_word_length),
            ("mean_word_length", "mean_word_length", ">", q.max_mean_word_length),
            ("symbol_word_ratio", "symbol_word_ratio", ">", q.max_symbol_word_ratio),
            ("alpha_word_fraction", "alpha_word_fraction", "<", q.min_alpha_word_fraction),
            ("duplicate_lines", "duplicate_line_fraction", ">", q.max_duplicate_line_fraction)]


def quality_verdict(scores: dict[str, float], domain: str, cfg: CleanConfig) -> tuple[str, str] | None:
    """The first rule the document breaks, as (``quality:<rule>``, ``<score>=<value> <op> <limit>``)."""
    for rule, score, op, limit in _rules(domain, cfg):
        value = scores[score]
        if (value > limit) if op == ">" else (value < limit):
            return f"quality:{rule}", f"{score}={value:.4g} {op} {limit:g}"
    return None


def quality_failure(scores: dict[str, float], domain: str, cfg: CleanConfig) -> str | None:
    """The first rule the document breaks, as ``quality:<rule>``; None when it passes."""
    verdict = quality_verdict(scores, domain, cfg)
    return verdict[0] if verdict else None


def clean_document(doc: dict, cfg: CleanConfig) -> dict:
    """One raw document → the documents_clean fields plus ``reason`` (None when kept)."""
    text = normalize(doc["text"])
    domain = domain_of(text, doc.get("domain_hint"), doc.get("path"), cfg)
    if domain == "code":
        lang, score = code_language(doc.get("path")) or code_language_of(text), 1.0
    else:
        lang, score = language(text)
    text, pii = redact_pii(text)
    scores = quality_scores(text)
    reason = detail = None
    if domain != "code" and (score < cfg.min_language_score or lang not in cfg.target_languages):
        reason = f"language:{lang if score >= cfg.min_language_score else 'unknown'}"
        detail = f"lang_score={score:.3f}"
    elif verdict := quality_verdict(scores, domain, cfg):
        reason, detail = verdict
    return {
        "doc_id": doc["doc_id"], "text": text, "lang": lang, "lang_score": score, "pii_redactions": pii,
        "quality": scores, "domain": domain, "bucket": f"{domain}/{lang}", "bytes": len(text.encode("utf-8", "surrogatepass")),
        "reason": reason, "reason_detail": detail,
    }
