"""Synthetic long-context probes, deterministic in (seed, length, depth).

* needle: one fact ("The access code of <key> is <6 digits>.") inside filler prose at a depth
  (0 = start, 1 = end), asked for at the end.
* multi_needle: four facts about different keys spread through the haystack, which carries
  sparse section markers ("[section 7]") as distractors; one key is asked for, its fact at the depth.
* cross_segment: two halves of one code far apart (10% and 90% deep); the answer needs both.

Lengths are in the server's tokens: one calibration request measures tokens per filler word,
and each result records what the server counted. The score is exact match of the first word
of the completion (punctuation stripped) with the expected value.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from training.evals.client import CompletionClient, EndpointError
from training.evals.runner import BenchmarkRun, ItemOutcome, Metric

FILLER = ("the river bends past old mills where grass grows tall and quiet boats drift slowly under grey stone bridges "
          "while distant bells mark each hour for farmers walking home along narrow lanes").split()
KEYS = ("amber", "birch", "cobalt", "delta", "ember", "fjord", "garnet", "harbor", "indigo", "juniper", "kestrel", "lumen")
SECTION_EVERY = 0.125


@dataclass(frozen=True)
class Probe:
    kind: str
    target_tokens: int
    depth: float
    prompt: str
    answer: str

    @property
    def probe_id(self) -> str:
        return f"{self.kind}/len={self.target_tokens}/depth={self.depth:g}"


def _filler(rng: random.Random, words: int) -> list[str]:
    return [rng.choice(FILLER) for _ in range(words)]


def _place(words: list[str], facts: list[tuple[float, str]], markers: bool) -> str:
    """Insert each fact at its depth (as a share of the filler) and optional section markers."""
    inserts = [(int(d * len(words)), f) for d, f in facts]
    if markers:
        inserts += [(int(k * SECTION_EVERY * len(words)), f"[section {k}]") for k in range(1, int(1 / SECTION_EVERY))]
    out, last = [], 0
    for pos, text in sorted(inserts, key=lambda x: x[0]):
        out += words[last:pos] + [text]
        last = pos
    return " ".join(out + words[last:])


def _code(rng: random.Random) -> str:
    return f"{rng.randrange(100000, 1000000)}"


def make_probe(kind: str, target_tokens: int, depth: float, seed: int, tokens_per_word: float) -> Probe:
    """The facts and the question first, then filler up to ``target_tokens`` in total."""
    rng = random.Random(f"{seed}/{kind}/{target_tokens}/{depth}")
    markers = kind != "needle"
    if kind in ("needle", "multi_needle"):
        keys = rng.sample(KEYS, 4 if kind == "multi_needle" else 1)
        values = [_code(rng) for _ in keys]
        others = [(d + depth) % 1.0 for d in (0.2, 0.45, 0.7)]
        facts = [(d, f"The access code of {k} is {v}.") for d, k, v in zip([depth, *others], keys, values)]
        key, value = keys[0], values[0]
        question = f"What is the access code of {key}? The access code of {key} is"
    elif kind == "cross_segment":
        first, second = _code(rng)[:3], _code(rng)[:3]
        key, value = rng.choice(KEYS), first + second
        facts = [(0.1, f"The first half of the vault code of {key} is {first}."), (0.9, f"The second half of the vault code of {key} is {second}.")]
        question = f"Join the two halves: the full vault code of {key} is"
    else:
        raise ValueError(f"unknown probe kind {kind!r}; kinds: needle, multi_needle, cross_segment")
    overhead = sum(len(f.split()) for _, f in facts) + len(question.split()) + (2 * int(1 / SECTION_EVERY) if markers else 0)
    words = _filler(rng, max(1, int(target_tokens / tokens_per_word) - overhead))
    return Probe(kind, target_tokens, depth, f"{_place(words, facts, markers)}\n\n{question}", value)


def tokens_per_word(client: CompletionClient, seed: int) -> float:
    """The server's tokens per filler word, from a 200-word request (20 words if the server
    refuses that; 1.0 if it does not count)."""
    for size in (200, 20):
        try:
            counted = client.complete(" ".join(_filler(random.Random(seed), size)), 1, 0.0, seed).prompt_tokens
        except EndpointError:
            continue
        return counted / size if counted else 1.0
    return 1.0


def exact_match(output: str, answer: str) -> tuple[bool, str]:
    first = output.strip().split()[0] if output.strip() else ""
    word = re.sub(r"^\W+|\W+$", "", first)
    return word == answer, word


def run_probes(client: CompletionClient, lengths: list[int], depths: list[float], seed: int,
               kinds: tuple[str, ...] = ("needle", "multi_needle", "cross_segment")) -> dict[str, BenchmarkRun]:
    """One run per kind; recall per length over every depth asked, a refused depth counting as a
    miss (refusals are items with the reason), so a length the server only partly answers cannot
    show full recall. A length nothing was answered at has no recall row: it was not measured."""
    tpw = tokens_per_word(client, seed)
    runs = {}
    for kind in kinds:
        run = BenchmarkRun(kind)
        for length in lengths:
            hits, answered, counted = 0, 0, []
            asked = depths if kind != "cross_segment" else [0.5]
            for depth in asked:
                probe = make_probe(kind, length, depth, seed, tpw)
                try:
                    reply = client.complete(probe.prompt, 8, 0.0, seed)
                except EndpointError as err:
                    run.items.append(ItemOutcome(probe.probe_id, 0, seed, "", None, False, f"{type(err).__name__}: {err}"))
                    continue
                correct, word = exact_match(reply.text, probe.answer)
                answered += 1
                hits += correct
                counted.append(reply.prompt_tokens or 0)
                run.items.append(ItemOutcome(probe.probe_id, 0, seed, reply.text, word, correct,
                                             f"expected {probe.answer}; server counted {reply.prompt_tokens} prompt tokens"))
            if answered:
                run.metrics.append(Metric(f"recall@{length}", 100.0 * hits / len(asked), len(asked), 1, min(counted) or None))
        runs[kind] = run
    return runs


def recall_grid(run: BenchmarkRun, lengths: list[int], depths: list[float]) -> list[list[float | None]]:
    """Recall (0/100) per length × depth cell; None where the server refused."""
    cell = {o.item_id: (100.0 if o.correct else 0.0) if not o.detail.startswith(("Refused", "MalformedReply", "EndpointError")) else None
            for o in run.items}
    return [[cell.get(f"{run.benchmark}/len={n}/depth={d:g}") for d in depths] for n in lengths]
