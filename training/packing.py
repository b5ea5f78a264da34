"""Tokenize and pack: per (bucket, split), best-fit decreasing into ``seq_len`` sequences.

A document is its tokens plus one end-of-document token. One longer than ``seq_len`` is cut
into ``seq_len`` pieces and only its remainder is packed. Pieces are placed largest first,
each into the fullest sequence it still fits (best fit); ties break by document order, so
equal inputs give equal shards. ``concat_and_chunk`` is the plain baseline the benchmark
compares against.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left, insort
from dataclasses import dataclass
from typing import Sequence

import numpy as np


@dataclass(frozen=True)
class Piece:
    document: int
    start: int
    length: int


def document_pieces(document: int, length: int, seq_len: int) -> list[Piece]:
    """Full ``seq_len`` pieces of a long document, then its remainder (if any)."""
    full, rest = divmod(length, seq_len)
    pieces = [Piece(document, k * seq_len, seq_len) for k in range(full)]
    if rest:
        pieces.append(Piece(document, full * seq_len, rest))
    return pieces


def best_fit_decreasing(sizes: Sequence[int], capacity: int) -> list[list[int]]:
    """Bins (lists of item indices, in placement order) holding every item, none over ``capacity``."""
    bins: list[list[int]] = []
    free: list[tuple[int, int]] = []  # (remaining capacity, bin), kept sorted
    for item in sorted(range(len(sizes)), key=lambda i: (-sizes[i], i)):
        size = sizes[item]
        if size > capacity:
            raise ValueError(f"item {item} of size {size} exceeds the capacity {capacity}")
        k = bisect_left(free, (size, -1))
        if k == len(free):
            bins.append([item])
            remaining, b = capacity - size, len(bins) - 1
        else:
            remaining, b = free.pop(k)
            bins[b].append(item)
            remaining -= size
        if remaining > 0:
            insort(free, (remaining, b))
    return bins


@dataclass
class Packed:
    sequences: list[np.ndarray]
    members: list[list[int]]
    truncated: set[int]

    @property
    def tokens(self) -> int:
        return int(sum(len(s) for s in self.sequences))

    @property
    def truncated_documents(self) -> int:
        return len(self.truncated)


def pack_documents(documents: Sequence[np.ndarray], eod: int, seq_len: int) -> Packed:
    """Documents (token arrays, in a fixed order) → packed sequences with an EOD after each
    document, and for each sequence the documents it holds. A piece that is only an EOD (an
    empty document, or a long one that ended exactly on a ``seq_len`` cut) goes first in its
    sequence, so the padding (EODs too) stays unambiguous: it starts after the last EOD that
    follows a document token."""
    with_eod = [np.append(np.asarray(d, dtype=np.int64), eod) for d in documents]
    pieces = [p for i, d in enumerate(with_eod) for p in document_pieces(i, len(d), seq_len)]
    full = [p for p in pieces if p.length == seq_len]
    rest = [p for p in pieces if p.length < seq_len]
    sequences = [with_eod[p.document][p.start:p.start + p.length] for p in full]
    members = [[p.document] for p in full]
    for placed in best_fit_decreasing([p.length for p in rest], seq_len):
        placed = sorted(placed, key=lambda i: rest[i].length > 1)  # a lone EOD never ends a sequence: it would read as padding
        sequences.append(np.concatenate([with_eod[rest[i].document][rest[i].start:rest[i].start + rest[i].length] for i in placed]))
        members.append([rest[i].document for i in placed])
    return Packed(sequences, members, {i for i, d in enumerate(with_eod) if len(d) > seq_len})


def concat_and_chunk(documents: Sequence[np.ndarray], eod: int, seq_len: int) -> Packed:
    """The baseline: all documents end to end, cut every ``seq_len`` tokens. Counts every
    document that a cut goes through as truncated."""
    lengths = np.array([len(d) + 1 for d in documents], dtype=np.int64)
    stream = np.concatenate([np.append(np.asarray(d, dtype=np.int64), eod) for d in documents]) if documents else np.zeros(0, np.int64)
    sequences = [stream[i:i + seq_len] for i in range(0, len(stream), seq_len)]
    ends = np.cumsum(lengths)
    starts = ends - lengths
    cuts = np.arange(seq_len, int(ends[-1]) if len(ends) else 0, seq_len)
    cut_docs = np.searchsorted(ends, cuts, side="right")[np.isin(cuts, starts, invert=True)]
    first = np.searchsorted(ends, np.arange(0, len(stream), seq_len), side="right")
    last = np.searchsorted(ends, np.minimum(np.arange(seq_len, len(stream) + seq_len, seq_len), len(stream)) - 1, side="right")
    members = [list(range(int(a), int(b) + 1)) for a, b in zip(first, last)]
    return Packed(sequences, members, {int(d) for d in cut_docs})


def utilization(packed: Packed, seq_len: int) -> float:
    """Real tokens over the capacity of the sequences they occupy (padding to ``seq_len`` is waste)."""
    return packed.tokens / (len(packed.sequences) * seq_len) if packed.sequences else 0.0


def compose_long_documents(lengths: Sequence[int], families: Sequence[str], long_min: int, share: float) -> list[list[int]]:
    """Units to pack for a long-context stage: each a list of document indices that becomes one
    document (joined by a separator, one EOD at the end). Documents of at least ``long_min``
    tokens are long already; then whole families (same repository or near-duplicate family),
    taken in order of a hash of their key, are joined while their total reaches ``long_min``,
    until long units hold ``share`` of the tokens. Everything else stays a unit of its own."""
    total = sum(lengths)
    units: list[list[int]] = []
    long_tokens = sum(n for n in lengths if n >= long_min)
    by_family: dict[str, list[int]] = {}
    for i, (n, fam) in enumerate(zip(lengths, families)):
        if n >= long_min:
            units.append([i])
        else:
            by_family.setdefault(fam, []).append(i)
    for fam in sorted(by_family, key=lambda f: (hashlib.sha256(f.encode()).hexdigest(), f)):
        members = by_family[fam]
        size = sum(lengths[i] for i in members)
        if long_tokens < share * total and len(members) > 1 and size >= long_min:
            units.append(members)
            long_tokens += size
        else:
            units.extend([i] for i in members)
    return sorted(units)
