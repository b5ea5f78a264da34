"""``irm retrieve``: the retrieval tool from the command line, with the passages as a table or JSON."""

from __future__ import annotations

import json

from rich.console import Console
from rich.table import Table

from schemas.settings import IrmSettings
from serving.memory.embed import EmbeddingError
from serving.memory.service import open_retriever
from serving.memory.store import MemoryStoreError
from serving.memory.tool import RetrievalRequest, retrieval


def run_retrieve(settings: IrmSettings, query: str, k: int, mode: str, multi_hop: bool, min_trust: float, as_json: bool) -> int:
    try:
        retriever = open_retriever(settings.memory, settings.lake.uri)
    except (MemoryStoreError, EmbeddingError) as err:
        Console(stderr=True).print(f"irm retrieve: {err}")
        return 2
    try:
        response = retrieval(retriever, RetrievalRequest(query=query, k=k, mode=mode, multi_hop=multi_hop, min_trust=min_trust))
    finally:
        retriever.store.close()
    if as_json:
        print(json.dumps(response.model_dump(), indent=1))
        return 0
    table = Table(title=f"memory: {query}", show_lines=True)
    for col in ("#", "score", "doc / chunk", "tokens", "bytes", "source", "hop", "snippet"):
        table.add_column(col, overflow="fold")
    for p in response.passages:
        table.add_row(str(p.rank), f"{p.score:.4f}", f"{p.doc_id[:12]} / {p.chunk_id[:12]}", f"{p.token_span[0]}–{p.token_span[1]}",
                      f"{p.byte_span[0]}–{p.byte_span[1]}", p.source, f"{p.hop} {p.via}", p.snippet.strip()[:300])
    Console(width=200).print(table)
    return 0
