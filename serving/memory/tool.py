"""The ``retrieval`` tool as the model's tool router calls it: a JSON-able request in, passages
with provenance and scores out. ``irm retrieve`` prints the same thing."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from serving.memory.retrieve import Filters, Retriever

TOOL_SPEC = {
    "name": "retrieval",
    "description": "Search the Tier-1 memory (curated corpus) and return passages with their source and scores.",
    "parameters": {
        "type": "object",
        "properties": {
            "query": {"type": "string", "description": "what to look for, in words or identifiers"},
            "k": {"type": "integer", "minimum": 1, "maximum": 100, "default": 8},
            "mode": {"type": "string", "enum": ["hybrid", "dense", "bm25"], "default": "hybrid"},
            "multi_hop": {"type": "boolean", "default": True},
            "min_trust": {"type": "number", "minimum": 0, "maximum": 1, "default": 0},
            "min_recency": {"type": "integer", "description": "epoch seconds: only documents landed since"},
        },
        "required": ["query"],
    },
}


class RetrievalRequest(BaseModel):
    query: str = Field(min_length=1)
    k: int = Field(8, ge=1, le=100)
    mode: Literal["hybrid", "dense", "bm25"] = "hybrid"
    multi_hop: bool = True
    min_trust: float = Field(0.0, ge=0, le=1)
    min_recency: int | None = None


class PassageOut(BaseModel):
    rank: int
    score: float
    chunk_id: str
    doc_id: str
    source: str
    bucket: str
    drop_id: str
    corpus_version: int
    token_span: tuple[int, int]
    byte_span: tuple[int, int]
    window_byte_span: tuple[int, int]
    trust: float
    recency: int
    hop: int
    via: str
    snippet: str


class RetrievalResponse(BaseModel):
    query: str
    passages: list[PassageOut]


def retrieval(retriever: Retriever, request: RetrievalRequest | dict) -> RetrievalResponse:
    req = request if isinstance(request, RetrievalRequest) else RetrievalRequest.model_validate(request)
    filters = Filters(min_trust=max(req.min_trust, retriever.settings.min_trust), min_recency=req.min_recency)
    passages = retriever.search(req.query, k=req.k, mode=req.mode, filters=filters, multi_hop=req.multi_hop)
    return RetrievalResponse(query=req.query, passages=[PassageOut(**{f: getattr(p, f) for f in PassageOut.model_fields}) for p in passages])
