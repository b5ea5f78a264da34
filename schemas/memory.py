"""Tier-1 memory: the chunker's configuration and the row of ``memory_chunks``.

A chunk is a 6–12k-token slice of one curated document (project tokenizer), cut at a function,
paragraph or line boundary where one exists, overlapping its predecessor by 10–15%. Its id is
the sha256 of its text, so the same text always has the same id.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Optional

from pydantic import BaseModel, Field, model_validator


class ChunkerConfig(BaseModel):
    min_tokens: int = Field(6_000, ge=16, description="a chunk is at least this long unless its document is shorter")
    target_tokens: int = Field(8_000, ge=16, description="preferred length when several boundaries qualify")
    max_tokens: int = Field(12_000, ge=16, description="hard upper bound (a line longer than this is cut inside)")
    overlap_min: float = Field(0.10, ge=0, lt=0.5, description="overlap with the previous chunk, as a share of it")
    overlap_max: float = Field(0.15, ge=0, lt=0.5)

    @model_validator(mode="after")
    def _ordered(self) -> "ChunkerConfig":
        if not self.min_tokens <= self.target_tokens <= self.max_tokens:
            raise ValueError(f"memory.chunker needs min_tokens ≤ target_tokens ≤ max_tokens, got "
                             f"{self.min_tokens} / {self.target_tokens} / {self.max_tokens} (IRM_MEMORY__CHUNKER__*)")
        if self.overlap_min > self.overlap_max:
            raise ValueError(f"memory.chunker.overlap_min={self.overlap_min} exceeds overlap_max={self.overlap_max}")
        return self

    @property
    def config_hash(self) -> str:
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:16]


class MemoryChunk(BaseModel):
    """One chunk of a curated document with its full lineage. Keyed by (doc_id, chunk_id)."""

    chunk_id: str = Field(description="sha256 hex of the chunk's text")
    doc_id: str
    seq: int = Field(description="0-based position of the chunk inside its document")
    text: str
    token_start: int = Field(description="first token (project tokenizer, whole document) of the chunk")
    token_end: int = Field(description="one past the last token")
    byte_start: int = Field(description="UTF-8 byte offset of the chunk in the document text")
    byte_end: int
    boundary: str = Field(description="where the chunk ends: function, paragraph, line, hard (inside a line) or end")
    overlap_tokens: int = Field(description="tokens shared with the previous chunk of the document")
    source: str
    domain: str
    bucket: str
    drop_id: str = Field(description="landing drop the document arrived in")
    ingested_at: dt.datetime = Field(description="landing time of the drop: the chunk's recency")
    trust: float = Field(description="0..1 trust of the document's source (memory.trust in settings)")
    corpus_version: int = Field(description="Delta version of curated_documents the chunk was cut from")
    tokenizer_id: str
    chunker_hash: str = Field(description="hash of the ChunkerConfig that cut it")


class MemoryIndexRun(BaseModel):
    """One (re)indexing of ``memory_chunks`` into the Milvus collection."""

    run_at: dt.datetime
    collection: str
    uri: str = Field(description="Milvus URI without credentials")
    chunks_version: int
    chunks_added: int
    chunks_removed: int
    windows_upserted: int
    windows_total: int
    seconds: float
    embedding_model: str
    run_id: Optional[str] = None
