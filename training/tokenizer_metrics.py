"""Tokenizer metrics on held-out curated text, side by side with the Llama-3 128k baseline.

The baseline's ``tokenizer.model`` ships inside the ``llama-models`` package and loads through
tiktoken from that file: nothing is downloaded. Held-out = the curated documents of the
configured held-out sources (whole repositories or packages the sample never saw), or, when none
are configured, the curated documents outside the training sample. Rows are per bucket
(``code/python``, ``code/go``, ``math/en`` ...), so each programming language is measured on its own.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import sentencepiece as spm
from pyspark.sql import Window
from pyspark.sql import functions as F

from ledgers.lake import Lake
from schemas.tokenizer import TokenizerConfig
from training.code_functions import functions
from training.tokenizer import training_sample
from training.tokenizer_vocab import VocabularyReport
from training.tokenizer_vocab import report as vocab_report
from training.whitespace import decode, encode


@dataclass
class DomainMetrics:
    tokenizer: str
    domain: str
    documents: int
    bytes_per_token: float
    tokens_per_line: float
    round_trip: float
    unknown_rate: float
    mb_per_s: float
    functions: int = 0
    tokens_per_function: float | None = None


@dataclass
class Codec:
    name: str
    encode: Callable[[str], list[int]]
    decode: Callable[[list[int]], str]
    unknown_id: int | None


def irm_codec(model_path: str, name: str) -> Codec:
    sp = spm.SentencePieceProcessor(model_file=model_path)
    return Codec(name, lambda t: sp.encode(encode(t)), lambda ids: decode(sp.decode(ids)), sp.unk_id())


def llama3_codec() -> Codec:
    import llama_models
    from llama_models.llama3.tokenizer import Tokenizer

    tok = Tokenizer(Path(llama_models.__file__).parent / "llama3" / "tokenizer.model")
    return Codec("Llama-3 128k (tiktoken)", lambda t: tok.encode(t, bos=False, eos=False, allowed_special="all"), tok.decode, None)


def measure(codec: Codec, domain: str, texts: list[str]) -> DomainMetrics:
    started = time.perf_counter()
    encoded = [codec.encode(t) for t in texts]
    seconds = time.perf_counter() - started
    tokens = sum(map(len, encoded))
    total_bytes = sum(len(t.encode("utf-8", "surrogatepass")) for t in texts)
    lines = sum(t.count("\n") + 1 for t in texts)
    exact = sum(codec.decode(ids) == t for ids, t in zip(encoded, texts))
    unknown = sum(ids.count(codec.unknown_id) for ids in encoded) if codec.unknown_id is not None else 0
    bodies = [f for t in texts for f in functions(t, domain.split("/", 1)[1])] if domain.startswith("code/") else []
    per_function = sum(len(codec.encode(f)) for f in bodies) / len(bodies) if bodies else None
    return DomainMetrics(codec.name, domain, len(texts), total_bytes / max(tokens, 1), tokens / max(lines, 1),
                         exact / max(len(texts), 1), unknown / max(tokens, 1), total_bytes / 1e6 / max(seconds, 1e-9),
                         len(bodies), per_function)


def held_out(lake: Lake, cfg: TokenizerConfig, max_bytes_per_bucket: int) -> dict[str, list[str]]:
    """Held-out texts per bucket, in doc_id order, until ``max_bytes_per_bucket``: the byte budget
    is a running sum on the executors, so the driver receives only the texts it measures."""
    clean = lake.read("documents_clean").select("doc_id", "source", "bytes")
    docs = lake.read("curated_documents").select("doc_id", "domain", "bucket").join(clean, "doc_id").where(F.col("domain").isin(list(cfg.mix)))
    if cfg.held_out_sources:
        rest = docs.where(F.col("source").isin(cfg.held_out_sources))
    else:
        rest = docs.join(training_sample(lake, cfg).select("doc_id"), "doc_id", "left_anti")
    before = Window.partitionBy("bucket").orderBy("doc_id").rowsBetween(Window.unboundedPreceding, -1)
    rows = (rest.withColumn("used", F.coalesce(F.sum("bytes").over(before), F.lit(0)))
            .where(F.col("used") < max_bytes_per_bucket).select("doc_id", "bucket")
            .join(lake.read("documents_clean").select("doc_id", "text"), "doc_id")
            .orderBy("bucket", "doc_id").collect())
    out: dict[str, list[str]] = {}
    for r in rows:
        out.setdefault(r["bucket"], []).append(r["text"])
    return out


def compare(codecs: list[Codec], texts: dict[str, list[str]]) -> list[DomainMetrics]:
    return [measure(c, domain, docs) for domain, docs in sorted(texts.items()) for c in codecs]


def markdown(rows: list[DomainMetrics]) -> str:
    head = ("| tokenizer | bucket | docs | bytes/token | tokens/line | tokens/function (functions) | round-trip | unknown | MB/s |\n"
            "|---|---|---|---|---|---|---|---|---|\n")
    return head + "\n".join(
        f"| {r.tokenizer} | {r.domain} | {r.documents} | {r.bytes_per_token:.2f} | {r.tokens_per_line:.2f} | "
        + (f"{r.tokens_per_function:.1f} ({r.functions})" if r.tokens_per_function is not None else "–")
        + f" | {r.round_trip:.4%} | {r.unknown_rate:.4%} | {r.mb_per_s:.2f} |" for r in rows)


def as_dicts(rows: list[DomainMetrics]) -> list[dict]:
    return [asdict(r) for r in rows]


@dataclass(frozen=True)
class Gate:
    """One of the programme's tokenizer gates, judged on the metrics rows. ``hard`` gates are rules
    (an inexact round-trip corrupts training text); the others are goals, reported as warnings."""

    name: str
    passed: bool
    hard: bool
    detail: str


ROUND_TRIP_MIN = 0.9999
UNKNOWN_MAX = 1e-4  # byte fallback makes every string encodable: "≈ 0"


def gates(rows: list[DomainMetrics], ours_prefix: str = "irm", baseline_prefix: str = "llama") -> list[Gate]:
    """Round-trip ≥ 99.99% and unknown ≈ 0 on every held-out domain (hard), and code compressed at
    least as well as the baseline: tokens/line no more, bytes/token no less (a goal). A domain
    nobody measured fails rather than passing by absence."""
    ours = [r for r in rows if r.tokenizer.startswith(ours_prefix)]
    base = {r.domain: r for r in rows if r.tokenizer.lower().startswith(baseline_prefix)}
    out = [
        Gate("round_trip", bool(ours) and all(r.round_trip >= ROUND_TRIP_MIN for r in ours), True,
             "; ".join(f"{r.domain} {r.round_trip:.4%}" for r in ours) or "no held-out text was measured"),
        Gate("unknown_rate", bool(ours) and all(r.unknown_rate <= UNKNOWN_MAX for r in ours), True,
             "; ".join(f"{r.domain} {r.unknown_rate:.4%}" for r in ours) or "no held-out text was measured"),
    ]
    code = [r for r in ours if r.domain.startswith("code")]
    ok = bool(code) and all(r.domain in base and r.tokens_per_line <= base[r.domain].tokens_per_line
                            and r.bytes_per_token >= base[r.domain].bytes_per_token for r in code)
    detail = "; ".join(f"{r.domain}: {r.tokens_per_line:.2f} tokens/line, {r.bytes_per_token:.2f} bytes/token vs baseline "
                       + (f"{base[r.domain].tokens_per_line:.2f}, {base[r.domain].bytes_per_token:.2f}" if r.domain in base else "not measured")
                       for r in code) or "no held-out code was measured"
    out.append(Gate("code_compression_vs_baseline", ok, False, detail))
    return out


@dataclass
class Measurement:
    tokenizer_id: str
    rows: list[DomainMetrics]
    vocabulary: VocabularyReport


def measure_latest(lake: Lake, max_bytes_per_bucket: int = 5_000_000) -> Measurement:
    """The newest registered tokenizer beside Llama-3 on held-out text, and what its vocabulary holds."""
    latest = lake.read("tokenizers").orderBy(F.desc("created_at"), F.desc("tokenizer_id")).first()
    if latest is None:
        raise ValueError("the tokenizers table is empty; materialize the tokenizer asset first")
    cfg = TokenizerConfig.model_validate_json(latest["config_json"])
    codecs = [irm_codec(latest["uri"], f"irm Unigram {latest['vocab_size']}"), llama3_codec()]
    texts = held_out(lake, cfg, max_bytes_per_bucket)
    vocabulary = vocab_report(latest["uri"], cfg.specials + cfg.protected_pieces, [t for bucket in texts.values() for t in bucket])
    return Measurement(latest["tokenizer_id"], compare(codecs, texts), vocabulary)
