"""A near-duplicate corpus with known answers, for dedup tests and benchmarks.

Base documents are real text (source code and prose). Each base gets ``variants`` copies, each
made by one transform with a random strength, so that the exact Jaccard of the pairs spreads
over both sides of the threshold: word edits (0.1–3% of space-separated tokens replaced),
truncation (70–100% of the lines kept), insertion of foreign text (up to 30%), reordered paragraphs.
"Look-alikes" share a base's first paragraph and nothing else. Ground truth is the exact Jaccard
of word n-gram shingle sets (tuples of words, no hashing), with the Spark job's tokenizer.
"""

from __future__ import annotations

import itertools
import random
import sysconfig
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from spark_jobs.minhash import words

TRANSFORMS = ("edit", "truncate", "insert", "reorder")


@dataclass
class PlantedCorpus:
    docs: dict[str, str]
    truth: set[tuple[str, str]]
    jaccard: dict[tuple[str, str], float]
    kinds: dict[str, str]

    def true_pairs_between(self, lo: float, hi: float) -> set[tuple[str, str]]:
        return {p for p, j in self.jaccard.items() if lo <= j < hi}


def real_bases(code: int, prose: int, min_bytes: int = 3000) -> tuple[list[str], list[str]]:
    """Base documents from this machine: standard-library modules (code) and the long
    descriptions of installed packages (prose, the METADATA text after its headers)."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    modules = sorted(p for pkg in ("email", "json", "http", "logging", "asyncio", "importlib", "xml/dom", "concurrent/futures")
                     for p in (stdlib / pkg).glob("*.py") if p.stat().st_size > min_bytes)
    modules += sorted(p for p in stdlib.glob("*.py") if p.stat().st_size > min_bytes)
    descriptions = []
    for meta in sorted(Path(sysconfig.get_paths()["purelib"]).glob("*.dist-info/METADATA")):
        body = meta.read_text(errors="replace").split("\n\n", 1)[-1]
        if len(body) > min_bytes and body not in descriptions:
            descriptions.append(body)
    return [p.read_text() for p in modules[:code]], descriptions[:prose]


def shingle_set(text: str, ngram: int) -> set[tuple[str, ...]]:
    toks = [w for w in words(pa.array([text])).to_pylist()[0] if w]
    if len(toks) < ngram:
        return {tuple(toks)} if toks else set()
    return {tuple(toks[i:i + ngram]) for i in range(len(toks) - ngram + 1)}


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def _edit(text: str, rate: float, rng: random.Random, vocab: list[str]) -> str:
    tokens = text.split(" ")
    for i in rng.sample(range(len(tokens)), k=int(len(tokens) * rate)):
        tokens[i] = rng.choice(vocab)
    return " ".join(tokens)


def _variant(base: str, other: str, rng: random.Random, vocab: list[str]) -> tuple[str, str]:
    kind = rng.choice(TRANSFORMS)
    if kind == "edit":
        rate = rng.uniform(0.001, 0.03)
        return _edit(base, rate, rng, vocab), f"edit{rate:.3f}"
    if kind == "truncate":
        lines = base.split("\n")
        keep = rng.uniform(0.7, 1.0)
        return "\n".join(lines[: max(1, int(len(lines) * keep))]), f"truncate{keep:.2f}"
    if kind == "insert":
        share = rng.uniform(0.0, 0.3)
        lines, foreign = base.split("\n"), other.split("\n")
        n = int(len(lines) * share)
        at = rng.randrange(len(lines) + 1)
        start = rng.randrange(max(1, len(foreign) - n))
        return "\n".join(lines[:at] + foreign[start:start + n] + lines[at:]), f"insert{share:.2f}"
    paragraphs = base.split("\n\n")
    rng.shuffle(paragraphs)
    return "\n\n".join(paragraphs), "reorder"


def planted_corpus(bases: list[str], seed: int = 7, ngram: int = 5, threshold: float = 0.8, all_pairs: bool = True,
                   variants: int = 1, prefix: str = "b") -> PlantedCorpus:
    """``all_pairs=False`` scores only pairs within a family and look-alikes (for large corpora:
    different real files rarely share 5-grams, and the benchmark's prefix filter finds those)."""
    rng = random.Random(seed)
    vocab = sorted({w for b in bases for w in b.split()[:200]})
    docs: dict[str, str] = {}
    kinds: dict[str, str] = {}
    for i, base in enumerate(bases):
        family = f"{prefix}{i:05d}"
        other = bases[(i + 1) % len(bases)]
        docs[family], kinds[family] = base, "base"
        for v in range(variants):
            docs[f"{family}-v{v}"], kinds[f"{family}-v{v}"] = _variant(base, other, rng, vocab)
        head = "\n\n".join(base.split("\n\n")[:1])
        docs[f"{family}-lookalike"], kinds[f"{family}-lookalike"] = head + "\n\n" + other[len(other) // 2:], "lookalike"
    shingles = {k: shingle_set(v, ngram) for k, v in docs.items()}
    keys = sorted(docs)
    pairs = itertools.combinations(keys, 2) if all_pairs else (
        (a, b) for a, b in itertools.combinations(keys, 2) if a.split("-")[0] == b.split("-")[0])
    scores = {}
    for a, b in pairs:
        if shingles[a] and shingles[b] and not shingles[a].isdisjoint(shingles[b]):
            scores[(a, b)] = jaccard(shingles[a], shingles[b])
    return PlantedCorpus(docs, {p for p, j in scores.items() if j >= threshold}, scores, kinds)


def predicted_pairs(clusters: dict[str, str]) -> set[tuple[str, str]]:
    members: dict[str, list[str]] = {}
    for doc, cluster in clusters.items():
        members.setdefault(cluster, []).append(doc)
    return {tuple(sorted(p)) for m in members.values() for p in itertools.combinations(m, 2)}


def pair_scores(clusters: dict[str, str], truth: set[tuple[str, str]]) -> tuple[float, float, float]:
    """Precision, recall and F1 of "same cluster" pairs against the ground-truth pairs."""
    predicted = predicted_pairs(clusters)
    tp = len(predicted & truth)
    precision = tp / len(predicted) if predicted else 1.0
    recall = tp / len(truth) if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def recall_between(clusters: dict[str, str], corpus: PlantedCorpus, lo: float, hi: float = 1.01) -> tuple[float, int]:
    """Share of true pairs with ``lo <= J < hi`` that ended in one cluster, and how many there are."""
    pairs = corpus.true_pairs_between(lo, hi)
    if not pairs:
        return 1.0, 0
    return len(predicted_pairs(clusters) & pairs) / len(pairs), len(pairs)
