"""Hybrid retrieval against near-identical distractors: the asked-for name decides, not the
sentence that looks most like the question."""

from __future__ import annotations

import hashlib

import pytest

from schemas.settings import MemorySettings
from serving.memory.embed import Encoder
from serving.memory.retrieve import Retriever, fuse_windows, reformulate
from serving.memory.store import MemoryStore

FACT = "Note: the Vormak relay listens on port 4417."
DISTRACTORS = ["Note: the Quilen relay listens on port 9921.", "Note: the Dravos relay listens on port 1203."]
QUESTION = "Which port does the Vormak relay listen on?"


def noise(k: int) -> str:
    return "".join(f"def handler_{k}_{i}(request):\n    return request.value * {i} + {k}\n" for i in range(12))


def windows() -> list[str]:
    """The fact and its distractors sit in windows of code; notes on relays and ports stand
    alone, so a dense model finds them closer to the question, and BM25 finds them too."""
    out = [noise(0) + FACT + "\n" + noise(1)]
    out += [noise(10 + 2 * j) + d + "\n" + noise(11 + 2 * j) for j, d in enumerate(DISTRACTORS)]
    out += [noise(20 + j) for j in range(12)]
    out += [f"The relay server listens on the port set in its config file, step {j}." for j in range(6)]
    return out


@pytest.fixture(scope="module")
def retriever(tmp_path_factory):
    encoder = Encoder(threads=2)
    root = tmp_path_factory.mktemp("distractors")
    settings = MemorySettings(uri=str(root / "milvus.db"), collection="distractors")
    store = MemoryStore(settings, settings.uri, encoder.dim)
    texts = windows()
    vecs = encoder.embed(texts)
    rows = []
    for i, (t, v) in enumerate(zip(texts, vecs)):
        h = hashlib.sha256(t.encode()).hexdigest()
        rows.append({"id": h[:32], "chunk_id": h, "doc_id": f"doc{i}", "chunk_seq": 0, "text": t, "token_start": 0,
                     "token_end": 1, "byte_start": 0, "byte_end": len(t.encode()), "win_byte_start": 0,
                     "win_byte_end": len(t.encode()), "trust": 1.0, "recency": 0, "bucket": "code/python", "source": "repo",
                     "drop_id": "d", "corpus_version": 0, "dense": v.tolist()})
    store.upsert(rows)
    store.flush()
    yield Retriever(store, encoder, settings)
    store.close()


def test_reformulation_names_the_capitalised_words_and_identifiers_past_the_first():
    assert reformulate(QUESTION).names == ("Vormak",)
    assert reformulate("Where is parse_header of the Quilen gauge defined?").names == ("parse_header", "Quilen")
    assert reformulate("Explain how the pipeline stores tables").names == ()


def test_hybrid_finds_the_named_fact_that_dense_and_bm25_together_would_outvote(retriever):
    store, vector, q = retriever.store, retriever.encoder.embed_query(reformulate(QUESTION).dense), reformulate(QUESTION)
    dense = store.search("dense", vector, 32)
    bm25 = store.search("bm25", q.keywords, 32)
    assert all(FACT not in h.row["text"] for h in dense[:3])
    assert FACT in bm25[0].row["text"]
    assert FACT not in fuse_windows([dense, bm25], 1, retriever.settings.rrf_k)[0].row["text"]
    top = retriever.search(QUESTION, k=1, mode="hybrid", multi_hop=False)
    assert FACT in top[0].snippet


def test_a_name_no_window_has_leaves_hybrid_to_dense_and_bm25(retriever):
    top = retriever.search("Which port does the Zorblax relay listen on?", k=3, mode="hybrid", multi_hop=False)
    assert len(top) == 3 and all(p.snippet for p in top)
