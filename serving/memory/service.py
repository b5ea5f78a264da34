"""The memory as the rest of the system uses it: sync the collection with ``memory_chunks``
(record the run in ``memory_index_runs``), and open a retriever on the configured Milvus."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

from ledgers.lake import Lake, WriteResult
from ledgers.memory import TABLE, chunks_of, table_keys
from schemas.memory import MemoryIndexRun
from schemas.settings import MemorySettings
from serving.memory.embed import Encoder
from serving.memory.indexer import IndexReport, Progress, index_chunks, plan
from serving.memory.retrieve import Retriever
from serving.memory.store import MemoryStore, public_uri, resolve_uri


@dataclass
class SyncResult:
    run: MemoryIndexRun
    report: IndexReport
    write: WriteResult


def open_store(settings: MemorySettings, lake_root: str | None, encoder: Encoder) -> MemoryStore:
    return MemoryStore(settings, resolve_uri(settings, lake_root), encoder.dim)


def encoder_for(settings: MemorySettings) -> Encoder:
    return Encoder(settings.embedding_model, settings.window_tokens, settings.embedding_batch, settings.embedding_threads)


def sync_index(lake: Lake, settings: MemorySettings, run_id: str | None = None, progress: Progress | None = None,
               encoder: Encoder | None = None) -> SyncResult:
    """Index the chunks the collection lacks and delete those the table no longer has."""
    t0 = time.time()
    encoder = encoder or encoder_for(settings)
    store = open_store(settings, lake.settings.uri, encoder)
    try:
        version = lake.version(TABLE)
        add, remove = plan(table_keys(lake), store.chunk_keys())
        chunks = chunks_of(lake, {d for _, d in add})
        report = index_chunks(store, encoder, chunks, add=add, remove=remove, progress=progress)
        store.flush()
        total = store.count()
    finally:
        store.close()
    run = MemoryIndexRun(run_at=dt.datetime.now(dt.timezone.utc), collection=settings.collection,
                         uri=public_uri(resolve_uri(settings, lake.settings.uri)), chunks_version=version if version is not None else -1,
                         chunks_added=report.chunks_added, chunks_removed=report.chunks_removed, windows_upserted=report.rows_upserted,
                         windows_total=total, seconds=time.time() - t0, embedding_model=encoder.name, run_id=run_id)
    write = lake.write(lake.frame("memory_index_runs", [run]), "memory_index_runs", run_id=run_id)
    return SyncResult(run, report, write)


def index_problems(lake: Lake, settings: MemorySettings, encoder: Encoder | None = None, limit: int = 10) -> list[str]:
    """The collection holds exactly the chunks of ``memory_chunks``: none missing, none extra."""
    encoder = encoder or encoder_for(settings)
    store = open_store(settings, lake.settings.uri, encoder)
    try:
        missing, extra = plan(table_keys(lake), store.chunk_keys())
    finally:
        store.close()
    return ([f"chunk {c[:12]} of document {d[:12]} is in memory_chunks but not in the collection" for c, d in sorted(missing)[:limit]]
            + [f"chunk {c[:12]} of document {d[:12]} is in the collection but not in memory_chunks" for c, d in sorted(extra)[:limit]])


def open_retriever(settings: MemorySettings, lake_root: str | None) -> Retriever:
    encoder = encoder_for(settings)
    return Retriever(open_store(settings, lake_root, encoder), encoder, settings)
