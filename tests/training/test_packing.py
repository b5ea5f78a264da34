import random

import numpy as np
import pytest

from training.packed_samples import content_length, pad_to
from training.packing import best_fit_decreasing, concat_and_chunk, document_pieces, pack_documents, utilization


def test_best_fit_decreasing_places_every_item_once_within_capacity():
    rng = random.Random(7)
    sizes = [rng.randint(1, 100) for _ in range(2_000)]
    bins = best_fit_decreasing(sizes, 100)
    assert sorted(i for b in bins for i in b) == list(range(len(sizes)))
    assert all(sum(sizes[i] for i in b) <= 100 for b in bins)
    # BFD's guarantee: at most 11/9 OPT + 6/9 bins, and OPT >= total / capacity
    assert len(bins) <= 11 / 9 * (sum(sizes) / 100) + 1
    assert best_fit_decreasing(sizes, 100) == bins
    with pytest.raises(ValueError, match="exceeds the capacity"):
        best_fit_decreasing([101], 100)


def test_long_documents_are_cut_into_seq_len_pieces():
    assert [(p.start, p.length) for p in document_pieces(0, 25, 10)] == [(0, 10), (10, 10), (20, 5)]
    assert [(p.start, p.length) for p in document_pieces(0, 20, 10)] == [(0, 10), (10, 10)]


def test_a_lone_eod_piece_never_ends_a_sequence_so_padding_reads_back_exactly():
    rng = np.random.default_rng(5)
    docs = [rng.integers(3, 500, size=int(n)) for n in rng.integers(2, 40, size=60)]
    docs += [np.array([], dtype=np.int64)] * 3 + [rng.integers(3, 500, size=2 * 16)] * 4  # empty, and ending on a cut
    packed = pack_documents(docs, eod=2, seq_len=16)
    assert sum(content_length(pad_to(s, 16, 2), 2) for s in packed.sequences) == packed.tokens == sum(len(d) + 1 for d in docs)


def test_packing_keeps_every_token_in_order_with_an_eod_after_each_document():
    rng = np.random.default_rng(3)
    docs = [rng.integers(3, 500, size=int(n)) for n in rng.integers(1, 300, size=200)]
    packed = pack_documents(docs, eod=2, seq_len=128)
    assert all(len(s) <= 128 for s in packed.sequences)
    assert packed.tokens == sum(len(d) + 1 for d in docs)
    assert packed.truncated == {i for i, d in enumerate(docs) if len(d) + 1 > 128}
    # reassemble each document from its pieces in sequence order: identical to the input
    rebuilt = {i: [] for i in range(len(docs))}
    for seq, members in zip(packed.sequences, packed.members):
        parts = np.split(seq, np.flatnonzero(seq == 2) + 1)
        parts = [p for p in parts if len(p)]
        for doc, part in zip(members, parts):
            rebuilt[doc].append(part)
    for i, d in enumerate(docs):
        whole = np.concatenate(rebuilt[i])
        assert whole[-1] == 2 and np.array_equal(whole[:-1], d), i


def test_best_fit_beats_concatenation_on_truncated_documents():
    rng = np.random.default_rng(5)
    docs = [rng.integers(3, 500, size=int(n)) for n in rng.integers(10, 120, size=500)]
    bfd, cat = pack_documents(docs, 2, 256), concat_and_chunk(docs, 2, 256)
    assert bfd.truncated_documents == 0 < cat.truncated_documents
    assert cat.tokens == bfd.tokens and utilization(bfd, 256) > 0.9


def test_long_context_units_join_whole_families_until_the_share_is_reached():
    from training.packing import compose_long_documents

    lengths = [10] * 12 + [50]
    families = ["repo:a"] * 4 + ["repo:b"] * 4 + ["repo:c"] * 4 + ["doc:x"]
    units = compose_long_documents(lengths, families, long_min=30, share=0.5)
    joined = [u for u in units if len(u) > 1]
    assert sorted(i for u in units for i in u) == list(range(13))  # every document exactly once
    assert [13 - 1] in units  # natively long
    long_tokens = 50 + sum(10 * len(u) for u in joined)
    assert len(joined) == 1 and long_tokens / 170 >= 0.5 and {families[i] for i in joined[0]} == {families[joined[0][0]]}
    assert compose_long_documents(lengths, families, long_min=30, share=0.0) == [[i] for i in range(12)] + [[12]]
