"""The memory collection on milvus-lite past its HNSW threshold, opened by a later process:
filtered dense search still finds every window its filter selects."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from schemas.settings import MemorySettings
from serving.memory.store import MemoryStore

DIM = 384
ROWS = 12_000
NEEDLES = (101, 5003, 11007)


def row(i: int, doc: str, text: str, vec: np.ndarray) -> dict:
    return {"id": f"{i:032x}", "chunk_id": f"c{i // 8}", "doc_id": doc, "chunk_seq": 0, "text": text, "token_start": 0,
            "token_end": 1, "byte_start": 0, "byte_end": 1, "win_byte_start": i, "win_byte_end": i + 1, "trust": 1.0,
            "recency": 0, "bucket": "code/python", "source": "repo", "drop_id": "d", "corpus_version": 0,
            "dense": vec.tolist()}


def build(uri: str) -> None:
    """12,000 windows with seeded random vectors, sealed and HNSW-indexed; three of them are one
    document's, the only ones that name the Vormak relay."""
    store = MemoryStore(MemorySettings(uri=uri, collection="hnsw"), uri, DIM)
    rows = [row(i, f"doc{i // 8}", f"def handler_{i}(request): return request.value", v) for i, v in enumerate(vectors())]
    for i in NEEDLES:
        rows[i] = row(i, "needle", f"the Vormak relay listens on port {4000 + i}", vectors()[i])
    store.upsert(rows)
    store.flush()
    deadline = time.time() + 120
    while time.time() < deadline:
        info = store.client.describe_index(store.name, "dense")
        if info.get("state") == "Finished" and int(info.get("indexed_rows", 0)) >= ROWS:
            break
        time.sleep(1)
    else:
        raise SystemExit(f"HNSW index not built: {info}")
    store.close()


def vectors() -> np.ndarray:
    v = np.random.default_rng(7).standard_normal((ROWS, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    """The collection as a later process finds it: built by another one, loaded from disk."""
    uri = str(tmp_path_factory.mktemp("hnsw") / "milvus.db")
    subprocess.run([sys.executable, "-c", f"from tests.serving.test_memory_store import build; build({uri!r})"],
                   check=True, cwd=Path(__file__).resolve().parents[2], timeout=600)
    store = MemoryStore(MemorySettings(uri=uri, collection="hnsw"), uri, DIM)
    yield store, vectors()
    store.close()


@pytest.mark.parametrize("expr", ['doc_id == "needle"', 'TEXT_MATCH(text, "Vormak")'])
def test_a_selective_filter_finds_every_window_it_selects_in_exact_cosine_order(indexed, expr):
    store, vecs = indexed
    query = vecs[42]
    hits = store.search("dense", query.tolist(), 8, expr)
    expected = sorted(NEEDLES, key=lambda i: -float(vecs[i] @ query))
    assert [int(h.row["id"], 16) for h in hits] == expected
    assert all(h.row["doc_id"] == "needle" for h in hits)
    assert [round(h.score, 4) for h in hits] == [round(float(vecs[i] @ query), 4) for i in expected]


def test_a_broad_filter_stays_on_the_hnsw_index(indexed):
    store, vecs = indexed
    hits = store.search("dense", vecs[42].tolist(), 8, 'bucket == "code/python"')
    assert len(hits) == 8 and int(hits[0].row["id"], 16) == 42
