"""A near-duplicate corpus with known answers, for dedup tests and benchmarks.

Base documents are real text (standard-library sources and docs). Each gets copies with word
edits at a spread of rates (so exact Jaccard lands on both sides of the threshold), reordered
paragraphs and a changed header; "look-alikes" share a base document's header and first
paragraph but nothing else. Ground truth is the exact Jaccard of word n-gram shingle sets, using
the same tokenizer as the Spark job, over every pair of documents.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass

import pyarrow as pa

from spark_jobs.minhash import words

EDIT_RATES = (0.0, 0.005, 0.01, 0.02, 0.03, 0.05, 0.08, 0.15)


@dataclass
class PlantedCorpus:
    docs: dict[str, str]
    truth: set[tuple[str, str]]
    jaccard: dict[tuple[str, str], float]


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


def _reorder(text: str, rng: random.Random) -> str:
    paragraphs = text.split("\n\n")
    rng.shuffle(paragraphs)
    return "\n\n".join(paragraphs)


def planted_corpus(bases: list[str], seed: int = 7, ngram: int = 5, threshold: float = 0.8, all_pairs: bool = True) -> PlantedCorpus:
    rng = random.Random(seed)
    vocab = sorted({w for b in bases for w in b.split()[:200]})
    docs: dict[str, str] = {}
    for i, base in enumerate(bases):
        docs[f"b{i:04d}"] = base
        for rate in EDIT_RATES[1:]:
            docs[f"b{i:04d}-edit{rate}"] = _edit(base, rate, rng, vocab)
        docs[f"b{i:04d}-reorder"] = _reorder(base, rng)
        docs[f"b{i:04d}-header"] = "# " + " ".join(rng.sample(vocab, 6)) + "\n" + base.split("\n", 1)[-1]
        head = "\n\n".join(base.split("\n\n")[:1])
        other = bases[(i + 1) % len(bases)]
        docs[f"b{i:04d}-lookalike"] = head + "\n\n" + other[len(other) // 2:]
    shingles = {k: shingle_set(v, ngram) for k, v in docs.items()}
    keys = sorted(docs)
    pairs = itertools.combinations(keys, 2) if all_pairs else (
        (a, b) for a, b in itertools.combinations(keys, 2) if a[:5] == b[:5])
    scores = {}
    for a, b in pairs:
        if shingles[a] and shingles[b] and not shingles[a].isdisjoint(shingles[b]):
            scores[(a, b)] = jaccard(shingles[a], shingles[b])
    return PlantedCorpus(docs, {p for p, j in scores.items() if j >= threshold}, scores)


def pair_scores(clusters: dict[str, str], truth: set[tuple[str, str]]) -> tuple[float, float, float]:
    """Precision, recall and F1 of "same cluster" pairs against the ground-truth pairs."""
    members: dict[str, list[str]] = {}
    for doc, cluster in clusters.items():
        members.setdefault(cluster, []).append(doc)
    predicted = {tuple(sorted(p)) for m in members.values() for p in itertools.combinations(m, 2)}
    tp = len(predicted & truth)
    precision = tp / len(predicted) if predicted else 1.0
    recall = tp / len(truth) if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1
