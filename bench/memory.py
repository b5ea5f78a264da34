"""Tier-1 memory at scale: hit rate, HNSW recall, latency and build throughput.

    nice -n 10 .venv/bin/python -m bench.memory --tokens 10000000 --out /tmp/irm-memory-bench

1. Corpus: installed sources and docs (standard library and this venv: .py .md .rst .txt) in
   a seeded order up to ``--tokens`` tokens of a project tokenizer (SentencePiece Unigram trained
   here with the project's settings, ``--vocab`` pieces), with planted facts (bench/memory_corpus).
2. Chunks: spark_jobs.memory_chunks on Spark into a ``memory_chunks`` Delta table.
3. Index: windows embedded with all-MiniLM-L6-v2 on CPU, upserted into milvus-lite (HNSW +
   BM25). The documents holding planted facts go first, then the rest in doc_id order;
   embedding stops at ``--embed-until`` (UTC HH:MM) if it gets there, and the report then
   states what was indexed (a smaller index is an easier one).
4. Questions: hit@k (the answering fact's chunk among the top k) for dense, BM25, hybrid and
   hybrid + two hops, k = 4 and 8; HNSW recall@k against exact search over the same vectors;
   latency p50/p95; the chunk-length A/B (6k against 12k) on the same documents. The searches
   run in the process that built the index, where milvus-lite may still search its newest
   segments without their index (exact, slower): a fresh process gets the index's own figures.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import itertools
import json
import os
import platform
import shutil
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import sentencepiece as spm

from bench.memory_corpus import Fact, Question, plant, read_documents, source_files
from schemas.memory import ChunkerConfig
from schemas.settings import LakeSettings, MemorySettings, SparkSettings
from schemas.tokenizer import TokenizerConfig


def log(msg: str) -> None:
    print(f"[{dt.datetime.now(dt.timezone.utc):%H:%M:%S}] {msg}", flush=True)


def pick_documents(docs, sp, transform, tokens: int):
    out, total = [], 0
    for path, text in docs:
        n = len(sp.encode(transform(text)))
        out.append((path, text, n))
        total += n
        if total >= tokens:
            break
    return out, total


def chunk_rows(spark, lake, docs: list[dict], model: bytes, cfg: ChunkerConfig, table_version_hint: int):
    from pyspark.sql import functions as F
    from deltalake import DeltaTable

    from spark_jobs.memory_chunks import memory_chunks
    from training.whitespace import encode

    frame = spark.createDataFrame(pa.Table.from_pylist(docs).to_pandas()).repartition(16, "doc_id")
    tok_id = hashlib.sha256(model).hexdigest()[:16]
    t = time.time()
    out = memory_chunks(frame, model, encode, cfg, tok_id, table_version_hint)
    res = lake.write(out, "memory_chunks", mode="overwrite")
    seconds = time.time() - t
    rows = DeltaTable(lake.settings.table_uri("memory_chunks")).to_pyarrow_table().to_pylist()
    return rows, seconds, res


def hit(passages, fact: Fact) -> bool:
    return any(p.doc_id == fact.doc_id and p.byte_span[0] <= fact.byte_start and fact.byte_end <= p.byte_span[1] for p in passages)


def pct(xs, q):
    return float(np.percentile(np.array(xs) * 1000, q)) if xs else float("nan")


def arm_row(name: str, mode: str, k: int, hop: bool, questions: list[Question], facts: dict[str, Fact], answers: list,
            lat: list[float]) -> dict:
    """One table row: hit@k per question kind (and the two-hop bridge) over each question's passages."""
    single, two, bridge = [], [], []
    for q, passages in zip(questions, answers):
        (single if q.kind == "single" else two).append(hit(passages, facts[q.answer]))
        if q.kind == "two-hop":
            bridge.append(hit(passages, facts[q.bridge]))
    mean = lambda xs: float(np.mean(xs)) if xs else None
    return {"arm": name, "mode": mode, "k": k, "multi_hop": hop, "single_hit": mean(single), "two_hop_hit": mean(two),
            "bridge_hit": mean(bridge), "n_single": len(single), "n_two_hop": len(two), "p50_ms": pct(lat, 50), "p95_ms": pct(lat, 95)}


def evaluate(retriever, questions: list[Question], facts: dict[str, Fact], arms: list[tuple[str, str, int, bool]]):
    from serving.memory.retrieve import timed_search

    rows = []
    for name, mode, k, hop in arms:
        timed = [timed_search(retriever, q.text, k=k, mode=mode, multi_hop=hop) for q in questions]
        rows.append(arm_row(name, mode, k, hop, questions, facts, [t.passages for t in timed], [t.seconds for t in timed]))
        log(f"{name} k={k}: single {rows[-1]['single_hit']} two-hop {rows[-1]['two_hop_hit']} p50 {rows[-1]['p50_ms']:.0f} ms")
    return rows


def exact_dense(store, encoder, settings, questions: list[Question], facts: dict[str, Fact], k_values=(4, 8)):
    """Dense hit@k by exact cosine over every window: the embedding model's ceiling, next to
    which the dense row shows what the approximate index loses. Not a product path: no latency."""
    from serving.memory.retrieve import group_chunks
    from serving.memory.store import OUTPUT, Hit

    it = store.client.query_iterator(store.name, batch_size=4000, filter="", output_fields=[*OUTPUT, "dense"])
    rows = []
    try:
        while batch := it.next():
            rows.extend(batch)
    finally:
        it.close()
    rows.sort(key=lambda r: r["id"])
    m = np.asarray([r.pop("dense") for r in rows], dtype=np.float32)
    m /= np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-12)
    qv = encoder.embed([q.text for q in questions])
    qv /= np.maximum(np.linalg.norm(qv, axis=1, keepdims=True), 1e-12)
    out = []
    for k in k_values:
        limit = max(settings.window_candidates, 4 * k)
        answers = []
        for v in qv:
            sims = m @ v
            answers.append(group_chunks([Hit(rows[i], float(sims[i])) for i in np.argsort(-sims, kind="stable")[:limit]], k))
        out.append(arm_row("dense, exact search", "dense-exact", k, False, questions, facts, answers, []))
        log(f"dense exact k={k}: single {out[-1]['single_hit']} two-hop {out[-1]['two_hop_hit']}")
    return out


def hnsw_recall(store, cache, encoder, questions, k_values=(4, 8), n=100):
    """Recall@k of the collection's dense search against exact cosine over the same vectors."""
    rows = store.client.query_iterator(store.name, batch_size=5000, filter="", output_fields=["doc_id", "win_byte_start", "text"])
    keys, vecs = [], []
    try:
        while batch := rows.next():
            for r in batch:
                key = (r["doc_id"], r["win_byte_start"])
                keys.append(key)
                vecs.append(cache.vectors[hashlib.sha256(r["text"].encode()).hexdigest()])
    finally:
        rows.close()
    uniq: dict = {}
    for key, v in zip(keys, vecs):
        uniq.setdefault(key, v)
    ukeys = list(uniq)
    matrix = np.stack([uniq[k] for k in ukeys])
    out = {}
    qs = [q.text for q in questions[:n]]
    qv = encoder.embed(qs)
    for k in k_values:
        rec = []
        for vec in qv:
            exact = {ukeys[i] for i in np.argsort(-(matrix @ vec), kind="stable")[:k]}
            got = []
            for h in store.search("dense", vec.tolist(), 4 * k):
                key = (h.row["doc_id"], h.row["win_byte_start"])
                if key not in got:
                    got.append(key)
            rec.append(len(exact & set(got[:k])) / k)
        out[k] = float(np.mean(rec))
    return out, len(ukeys)


def build(store, encoder, chunks, cache, deadline, label, first=None):
    from serving.memory.indexer import index_chunks

    last = [time.time()]

    def progress(what, done, total):
        if time.time() - last[0] > 60:
            last[0] = time.time()
            log(f"{label}: {done} {what} upserted, {len(cache.vectors)} embedded")

    rep = index_chunks(store, encoder, chunks, cache=cache, progress=progress, deadline=deadline, first=first)
    store.flush()
    return rep


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", type=int, default=10_000_000)
    ap.add_argument("--vocab", type=int, default=4000)
    ap.add_argument("--singles", type=int, default=60)
    ap.add_argument("--two-hops", type=int, default=60)
    ap.add_argument("--distractors", type=int, default=2)
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--sample-mb", type=float, default=3.0, help="tokenizer training sample")
    ap.add_argument("--embed-until", default="", help="UTC HH:MM after which no new documents are embedded")
    ap.add_argument("--out", default="/tmp/irm-memory-bench")
    args = ap.parse_args()
    out = Path(args.out)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    deadline = None
    if args.embed_until:
        hh, mm = map(int, args.embed_until.split(":"))
        now = dt.datetime.now(dt.timezone.utc)
        deadline = now.replace(hour=hh, minute=mm, second=0, microsecond=0).timestamp()

    from ledgers.lake import Lake
    from serving.memory.embed import EmbeddingCache, Encoder
    from serving.memory.retrieve import Retriever
    from serving.memory.store import MemoryStore
    from spark_jobs.session import get_spark
    from training.tokenizer import train_sentencepiece
    from training.whitespace import encode

    t0 = time.time()
    files = source_files()
    log(f"{len(files)} candidate files")
    docs = read_documents(files, args.seed)
    head, size = [], 0
    for path, text in docs:
        head.append((path, text))
        size += len(text.encode())
        if size > args.sample_mb * 1e6:
            break
    sample = [t for _, t in head]
    model = train_sentencepiece(sample, TokenizerConfig(vocab_size=args.vocab, sample_bytes=int(args.sample_mb * 1e6), seed=args.seed))
    sp = spm.SentencePieceProcessor(model_proto=model)
    log(f"tokenizer: {sp.get_piece_size()} pieces in {time.time() - t0:.0f}s")
    chosen, total_tokens = pick_documents(itertools.chain(head, docs), sp, encode, args.tokens)
    planted, facts, questions = plant([(p, t) for p, t, _ in chosen], args.singles, args.two_hops, args.distractors, args.seed)
    now = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    rows = []
    for path, text in planted:
        doc_id = hashlib.sha256(f"bench\x00{path}\x00{text}".encode()).hexdigest()
        rows.append({"doc_id": doc_id, "text": text, "source": "installed", "domain": "code" if path.endswith(".py") else "text",
                     "bucket": "code/python" if path.endswith(".py") else "text/en", "drop_id": "bench-installed",
                     "ingested_at": now, "trust": 1.0})
    path_doc = {p: r["doc_id"] for (p, _), r in zip(planted, rows)}
    for f in facts:
        f.doc_id = path_doc[f.path]
    total_tokens = sum(len(sp.encode(encode(r["text"]))) for r in rows)
    total_bytes = sum(len(r["text"].encode()) for r in rows)
    log(f"corpus: {len(rows)} documents, {total_bytes / 1e6:.1f} MB, {total_tokens:,} tokens, {len(facts)} planted facts")

    spark = get_spark(SparkSettings(driver_memory="6g", shuffle_partitions=16))
    lake = Lake(LakeSettings(root=str(out / "lake")), spark)
    chunks, chunk_s, res = chunk_rows(spark, lake, rows, model, ChunkerConfig(), 0)
    log(f"chunked: {len(chunks)} chunks in {chunk_s:.0f}s (memory_chunks v{res.version})")

    settings = MemorySettings(uri=str(out / "milvus.db"), embedding_threads=0)
    encoder = Encoder(settings.embedding_model, settings.window_tokens, settings.embedding_batch)
    cache = EmbeddingCache()
    store = MemoryStore(settings, settings.uri, encoder.dim)
    rep = build(store, encoder, chunks, cache, deadline, "main", first={f.doc_id for f in facts})
    indexed_docs = set(rep.docs_indexed)
    doc_tokens = {}
    for c in chunks:
        doc_tokens[c["doc_id"]] = max(doc_tokens.get(c["doc_id"], 0), c["token_end"])
    idx_tokens = sum(v for d, v in doc_tokens.items() if d in indexed_docs)
    log(f"indexed {len(indexed_docs)} documents ({idx_tokens:,} tokens), {rep.chunks_added} chunks, {rep.windows} rows, "
        f"{rep.windows_embedded} windows embedded, {rep.seconds:.0f}s (embedding {rep.embed_seconds:.0f}s), stopped early: {rep.stopped_early}")
    info = store.client.describe_index(store.name, "dense")
    log(f"dense index: {info}")

    fact_by_id = {f.fact_id: f for f in facts}
    usable = [q for q in questions if fact_by_id[q.answer].doc_id in indexed_docs and (not q.bridge or fact_by_id[q.bridge].doc_id in indexed_docs)]
    retriever = Retriever(store, encoder, settings)
    arms = [(f"{m}{'+2hop' if h else ''}", m, k, h) for k in (4, 8) for m, h in (("dense", False), ("bm25", False), ("hybrid", False), ("hybrid", True))]
    results = evaluate(retriever, usable, fact_by_id, arms)
    results += exact_dense(store, encoder, settings, usable, fact_by_id)
    recall, uniq_windows = hnsw_recall(store, cache, encoder, usable)
    log(f"HNSW recall vs exact: {recall} over {uniq_windows} windows")

    ab = []
    for label, cfg in (("chunk 6k", ChunkerConfig(min_tokens=5400, target_tokens=6000, max_tokens=6600)),
                       ("chunk 12k", ChunkerConfig(min_tokens=10800, target_tokens=12000, max_tokens=12000))):
        sub = [r for r in rows if r["doc_id"] in indexed_docs]
        lake_ab = Lake(LakeSettings(root=str(out / f"lake-{label.split()[-1]}")), spark)
        cks, cs, _ = chunk_rows(spark, lake_ab, sub, model, cfg, 0)
        s_ab = MemorySettings(uri=str(out / f"milvus-{label.split()[-1]}.db"), collection="ab")
        st = MemoryStore(s_ab, s_ab.uri, encoder.dim)
        r_ab = build(st, encoder, cks, cache, None, label)
        log(f"{label}: {len(cks)} chunks, {r_ab.windows} rows, {r_ab.windows_embedded} newly embedded, {r_ab.seconds:.0f}s")
        res_ab = evaluate(Retriever(st, encoder, s_ab), usable, fact_by_id,
                          [(f"{label} hybrid+2hop", "hybrid", 4, True), (f"{label} hybrid+2hop", "hybrid", 8, True)])
        for r in res_ab:
            r["chunks"] = len(cks)
        ab.extend(res_ab)
        st.close()

    summary = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores (shared)", "args": vars(args),
        "documents": len(rows), "bytes": total_bytes, "tokens": total_tokens, "tokenizer_pieces": sp.get_piece_size(),
        "indexed_documents": len(indexed_docs), "indexed_tokens": idx_tokens, "chunks": len(chunks), "chunk_seconds": chunk_s,
        "chunks_indexed": rep.chunks_added, "rows": rep.windows, "windows_embedded": rep.windows_embedded,
        "index_seconds": rep.seconds, "embed_seconds": rep.embed_seconds, "stopped_early": rep.stopped_early,
        "chunks_per_s": rep.chunks_added / rep.seconds if rep.seconds else None,
        "windows_per_s": rep.windows_embedded / rep.embed_seconds if rep.embed_seconds else None,
        "rows_per_s": rep.windows / rep.seconds if rep.seconds else None,
        "questions": len(usable), "facts": len(facts), "dense_index": {k: v for k, v in info.items()} if isinstance(info, dict) else str(info),
        "hnsw_recall": recall, "unique_windows": uniq_windows, "results": results, "ab": ab, "wall_seconds": time.time() - t0,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    print("\n| arm | k | single-hop hit | two-hop hit (answer) | two-hop bridge | p50 ms | p95 ms |\n|---|---|---|---|---|---|---|")
    for r in results + ab:
        f = lambda x: "–" if x is None else f"{x:.1%}"
        ms = lambda x: "–" if x != x else f"{x:.0f}"
        print(f"| {r['arm']} | {r['k']} | {f(r['single_hit'])} | {f(r['two_hop_hit'])} | {f(r['bridge_hit'])} | {ms(r['p50_ms'])} | {ms(r['p95_ms'])} |")
    print(json.dumps({k: v for k, v in summary.items() if k not in ("results", "ab")}, indent=1, default=str))


if __name__ == "__main__":
    main()
