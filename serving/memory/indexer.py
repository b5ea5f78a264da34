"""Keep the Milvus collection equal to ``memory_chunks``: add the chunks it lacks, delete the ones
the table no longer has, touch nothing else. Upserts are keyed by a hash of (chunk, document,
window offset), so indexing the same chunk twice writes the same rows.

Windows are cut once per document and shared by every chunk that contains them (overlapping
chunks, or two chunk lengths in an A/B), so each window is embedded once. A window no chunk
contains (chunks shorter than the embedding window) belongs to every chunk it overlaps, and a
chunk still without a window gets the one it overlaps most: every chunk of the table is in the
collection, which is what lets a sync tell what is missing.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable, Iterable

from serving.memory.embed import EmbeddingCache, Encoder, Window
from serving.memory.store import MemoryStore, window_row_id

Progress = Callable[[str, int, int], None]


@dataclass
class IndexReport:
    chunks_added: int = 0
    chunks_removed: int = 0
    windows: int = 0
    windows_embedded: int = 0
    rows_upserted: int = 0
    seconds: float = 0.0
    embed_seconds: float = 0.0
    stopped_early: bool = False
    docs_indexed: list[str] = field(default_factory=list)


def document_text(chunks: list[dict]) -> str:
    """A document rebuilt from its chunks (they cover it, each overlapping the previous one)."""
    out, end = b"", 0
    for c in sorted(chunks, key=lambda c: c["byte_start"]):
        raw = c["text"].encode("utf-8")
        if c["byte_start"] > end:
            raise ValueError(f"document {c['doc_id']}: chunk {c['chunk_id']} starts at byte {c['byte_start']} after the "
                             f"previous chunk ended at {end}; memory_chunks does not cover the document")
        out += raw[end - c["byte_start"]:] if c["byte_end"] > end else b""
        end = max(end, c["byte_end"])
    return out.decode("utf-8")


def window_rows(encoder: Encoder, chunks: list[dict]) -> list[tuple[dict, Window]]:
    """(row without vector, window) for every window of every given chunk of one document."""
    text = document_text(chunks)
    ws = encoder.windows(text)
    rows: list[tuple[dict, Window]] = []
    byte_at, last_char, last_byte = {}, 0, 0
    for w in ws:
        for c in (w.char_start, w.char_end):
            if c not in byte_at:
                last_byte += len(text[last_char:c].encode("utf-8")) if c >= last_char else -len(text[c:last_char].encode("utf-8"))
                last_char = c
                byte_at[c] = last_byte
    ordered = sorted(chunks, key=lambda c: c["byte_start"])
    spans = [(byte_at[w.char_start], byte_at[w.char_end]) for w in ws]
    owners: list[list[dict]] = []
    for a, b in spans:
        inside = [c for c in ordered if c["byte_start"] <= a and b <= c["byte_end"]]
        owners.append(inside or [c for c in ordered if c["byte_start"] < b and a < c["byte_end"]] or [ordered[-1]])
    owned = {id(c) for group in owners for c in group}
    for c in ordered:
        if id(c) not in owned and spans:
            best = max(range(len(spans)), key=lambda i: (min(spans[i][1], c["byte_end"]) - max(spans[i][0], c["byte_start"]), -i))
            owners[best].append(c)
    for w, (a, b), group in zip(ws, spans, owners):
        for c in group:
            rows.append(({
                "id": window_row_id(c["chunk_id"], c["doc_id"], a), "chunk_id": c["chunk_id"], "doc_id": c["doc_id"],
                "chunk_seq": int(c["seq"]), "text": w.text, "token_start": int(c["token_start"]), "token_end": int(c["token_end"]),
                "byte_start": int(c["byte_start"]), "byte_end": int(c["byte_end"]), "win_byte_start": a, "win_byte_end": b,
                "trust": float(c["trust"]), "recency": int(c["ingested_at"].timestamp()), "bucket": c["bucket"],
                "source": c["source"][:500], "drop_id": c["drop_id"], "corpus_version": int(c["corpus_version"]),
            }, w))
    return rows


def plan(table_keys: Iterable[tuple[str, str]], indexed_keys: Iterable[tuple[str, str]]) -> tuple[set, set]:
    """(keys to add, keys to remove) between the table and the collection; keys are (chunk_id, doc_id)."""
    table, indexed = set(table_keys), set(indexed_keys)
    return table - indexed, indexed - table


def index_chunks(store: MemoryStore, encoder: Encoder, chunks: list[dict], add: set[tuple[str, str]] | None = None,
                 remove: Iterable[tuple[str, str]] = (), cache: EmbeddingCache | None = None,
                 progress: Progress | None = None, deadline: float | None = None, doc_batch: int = 64,
                 first: set[str] | None = None) -> IndexReport:
    """Upsert the windows of the ``add`` keys (every key of ``chunks`` when None) and delete the
    ``remove`` keys. ``chunks`` holds *all* chunks of each document concerned: windows are cut on
    the whole document, so the same document always gives the same windows. With a ``deadline``
    (epoch seconds) it stops between document batches and says so; whatever it indexed is
    complete per document. Documents go in doc_id order, those in ``first`` before the rest
    (and they are indexed even past the deadline)."""
    t0 = time.time()
    report = IndexReport()
    cache = cache or EmbeddingCache()
    gone = set(remove)
    if gone:
        store.delete_chunks(gone)
        report.chunks_removed = len(gone)
    by_doc: dict[str, list[dict]] = defaultdict(list)
    for c in chunks:
        by_doc[c["doc_id"]].append(c)
    docs = sorted(by_doc, key=lambda d: (d not in (first or ()), d))
    total_windows_hint = sum(len(c["text"]) for c in chunks) // 1000 or 1
    done_windows = 0
    for i in range(0, len(docs), doc_batch):
        if deadline is not None and time.time() > deadline and docs[i] not in (first or ()):
            report.stopped_early = True
            break
        pairs = [p for d in docs[i:i + doc_batch] for p in window_rows(encoder, by_doc[d])
                 if add is None or (p[0]["chunk_id"], p[0]["doc_id"]) in add]
        te = time.time()
        before = len(cache.vectors)
        vectors = cache.embed(encoder, (w for _, w in pairs))
        report.embed_seconds += time.time() - te
        report.windows_embedded += len(cache.vectors) - before
        rows = []
        for (row, _), vec in zip(pairs, vectors):
            row["dense"] = vec.tolist()
            rows.append(row)
        report.rows_upserted += store.upsert(rows)
        report.windows += len(rows)
        report.chunks_added += sum(1 for d in docs[i:i + doc_batch] for c in by_doc[d]
                                   if add is None or (c["chunk_id"], c["doc_id"]) in add)
        report.docs_indexed.extend(docs[i:i + doc_batch])
        done_windows += len(rows)
        if progress:
            progress("windows", done_windows, max(total_windows_hint, done_windows))
    report.seconds = time.time() - t0
    return report
