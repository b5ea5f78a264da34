"""MinHash signatures and LSH band keys, vectorized over Arrow batches.

Per-row Python is what makes Spark dedup slow, so nothing here loops over words or shingles in
Python: words come from Arrow's regex split, word hashes from a polynomial hash computed over
the distinct words' Arrow string buffer with numpy, shingle hashes from shifted word-hash
arrays, and the ``num_perm`` multiply-add-shift permutations with their per-document minimum
from one compiled loop (numba), which keeps each signature in cache instead of materializing a
shingles × permutations matrix.
"""

from __future__ import annotations

import numba
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from schemas.dedup import MinHashConfig

_P = np.uint64(1099511628211)
WORD_SPLIT = r"[^0-9A-Za-z_\x80-\xff]+"


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finalizer: spreads every input bit over the output."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def words(texts: pa.Array) -> pa.ListArray:
    """Lower-cased words: runs of letters, digits and underscore (any non-ASCII byte counts as a letter)."""
    return pc.split_pattern_regex(pc.utf8_lower(texts), pattern=WORD_SPLIT)


def _string_hashes(strings: pa.StringArray) -> np.ndarray:
    """Polynomial hash of each string's UTF-8 bytes, computed over the Arrow buffers at once."""
    if len(strings) == 0:
        return np.zeros(0, np.uint64)
    offsets = np.frombuffer(strings.buffers()[1], dtype=np.int32)[strings.offset: strings.offset + len(strings) + 1].astype(np.int64)
    lengths = np.diff(offsets)
    data = np.frombuffer(strings.buffers()[2], dtype=np.uint8)[offsets[0]:offsets[-1]]
    nonempty = lengths > 0
    starts = (offsets[:-1] - offsets[0])[nonempty]
    position = np.arange(len(data), dtype=np.int64) - np.repeat(starts, lengths[nonempty])
    powers = np.cumprod(np.full(int(lengths.max()), _P, dtype=np.uint64), dtype=np.uint64)
    contrib = (data.astype(np.uint64) + np.uint64(1)) * powers[position]
    hashed = np.zeros(len(strings), dtype=np.uint64)
    hashed[nonempty] = np.add.reduceat(contrib, starts)
    return _mix(hashed + lengths.astype(np.uint64))


def word_hashes(texts: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """64-bit hash of every word and the index of the document it belongs to.

    Words repeat a lot, so only the batch's distinct words are hashed (dictionary encoding)."""
    split = words(texts)
    flat = pc.list_flatten(split)
    parents = np.asarray(pc.list_parent_indices(split), dtype=np.int64)
    encoded = pc.dictionary_encode(flat)
    dictionary = encoded.dictionary
    indices = np.asarray(encoded.indices, dtype=np.int64)
    keep = (np.asarray(pc.binary_length(dictionary), dtype=np.int64) > 0)[indices]
    return _string_hashes(dictionary)[indices[keep]], parents[keep]


@numba.njit(cache=True, nogil=True)
def _shingles_kernel(hashes: np.ndarray, parents: np.ndarray, ngram: int, out_hash: np.ndarray, out_parent: np.ndarray) -> int:
    """Fill the outputs with every in-document window of ``ngram`` word hashes (a short document:
    one window padded with zeros), each combined polynomially and mixed; return how many."""
    n, count, start = hashes.shape[0], 0, 0
    k_mul = np.uint64(0x9E3779B97F4A7C15)
    while start < n:
        end = start
        while end < n and parents[end] == parents[start]:
            end += 1
        last = max(start, end - ngram)
        for first in range(start, last + 1):
            h = np.uint64(0)
            for k in range(ngram):
                h = h * k_mul + (hashes[first + k] if first + k < end else np.uint64(0))
            h ^= h >> np.uint64(30)
            h *= np.uint64(0xBF58476D1CE4E5B9)
            h ^= h >> np.uint64(27)
            h *= np.uint64(0x94D049BB133111EB)
            h ^= h >> np.uint64(31)
            out_hash[count] = h
            out_parent[count] = parents[start]
            count += 1
        start = end
    return count


def shingle_hashes(texts: pa.Array, ngram: int) -> tuple[np.ndarray, np.ndarray]:
    """Hash of every word n-gram and its document. A document with fewer than ``ngram`` words
    gets one shingle of all its words, so short texts still have a signature."""
    hashes, parents = word_hashes(texts)
    out_hash = np.empty(len(hashes), dtype=np.uint64)
    out_parent = np.empty(len(hashes), dtype=np.int64)
    count = _shingles_kernel(hashes, parents, ngram, out_hash, out_parent)
    return out_hash[:count], out_parent[:count]


def permutations(cfg: MinHashConfig) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(cfg.seed)
    a = rng.integers(1, 2**63, size=cfg.num_perm, dtype=np.uint64) | np.uint64(1)
    b = rng.integers(0, 2**63, size=cfg.num_perm, dtype=np.uint64)
    return a, b


@numba.njit(cache=True, nogil=True)
def _min_permuted(shingles: np.ndarray, parents: np.ndarray, a: np.ndarray, b: np.ndarray, sig: np.ndarray) -> None:
    shift = np.uint64(32)
    for i in range(shingles.shape[0]):
        x = shingles[i]
        row = sig[parents[i]]
        for j in range(a.shape[0]):
            h = np.uint32((a[j] * x + b[j]) >> shift)
            if h < row[j]:
                row[j] = h


def signatures(texts: pa.Array, cfg: MinHashConfig, perms: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(n_docs, num_perm) uint32 MinHash signatures and a mask of documents that have shingles."""
    return _signatures_of(*shingle_hashes(texts, cfg.ngram), len(texts), cfg, perms)


def _signatures_of(shingles: np.ndarray, parents: np.ndarray, n_docs: int, cfg: MinHashConfig,
                   perms: tuple[np.ndarray, np.ndarray] | None) -> tuple[np.ndarray, np.ndarray]:
    a, b = perms or permutations(cfg)
    sig = np.full((n_docs, cfg.num_perm), np.iinfo(np.uint32).max, dtype=np.uint32)
    has = np.zeros(n_docs, dtype=bool)
    has[parents] = True
    _min_permuted(shingles, parents, a, b, sig)
    return sig, has


def sketch(texts: pa.Array, cfg: MinHashConfig, perms: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray, pa.ListArray]:
    """Signatures, the has-shingles mask and the shingle sets of ``texts``, shingling them once."""
    shingles, parents = shingle_hashes(texts, cfg.ngram)
    sig, has = _signatures_of(shingles, parents, len(texts), cfg, perms)
    return sig, has, _sets_of(shingles, parents, len(texts))


def band_keys(sig: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """(n_docs, bands) int64 keys: a hash of each band's ``rows`` values, band index mixed in."""
    keys = np.zeros((sig.shape[0], bands), dtype=np.uint64)
    for band in range(bands):
        h = np.full(sig.shape[0], _mix(np.array([band + 1], dtype=np.uint64))[0], dtype=np.uint64)
        for value in sig[:, band * rows:(band + 1) * rows].T:
            h = _mix(h ^ value.astype(np.uint64))
        keys[:, band] = h
    return keys.view(np.int64)


def shingle_sets(texts: pa.Array, ngram: int) -> pa.ListArray:
    """Each document's distinct shingle hashes (sorted as unsigned, stored as int64):
    the sets whose exact Jaccard confirms a candidate pair. Two distinct shingles share a 64-bit
    hash with probability 2^-64, so this Jaccard is exact up to that."""
    return _sets_of(*shingle_hashes(texts, ngram), len(texts))


@numba.njit(cache=True, nogil=True)
def _distinct_per_document(hashes: np.ndarray, parents: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Sort each document's run of hashes (``parents`` is non-decreasing) and drop repeats,
    compacting in place; ``counts[d]`` gets document d's distinct count."""
    n, write, start = hashes.shape[0], 0, 0
    while start < n:
        end = start
        while end < n and parents[end] == parents[start]:
            end += 1
        run = np.sort(hashes[start:end])
        kept = 0
        for i in range(run.shape[0]):
            if i == 0 or run[i] != run[i - 1]:
                hashes[write + kept] = run[i]
                kept += 1
        counts[parents[start]] = kept
        write += kept
        start = end
    return hashes[:write]


def _sets_of(shingles: np.ndarray, parents: np.ndarray, n_docs: int) -> pa.ListArray:
    counts = np.zeros(n_docs, dtype=np.int64)
    distinct = _distinct_per_document(shingles.copy(), parents, counts)
    offsets = np.zeros(n_docs + 1, dtype=np.int32)
    np.cumsum(counts, out=offsets[1:])
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(distinct.view(np.int64)))
