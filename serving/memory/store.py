"""The Milvus collection of memory windows: one row per (chunk, window), a dense HNSW vector and
a BM25 sparse vector over the same window text, and the scalar fields provenance needs.

The URI decides the deployment: a folder ending in ``.db`` is embedded milvus-lite (a local
server pymilvus starts on 127.0.0.1, one per folder), ``http://host:19530`` a Milvus server.
Nothing else differs. milvus-lite builds HNSW per sealed segment and searches growing data by brute force,
so a small collection is searched exactly; a server builds indexes once a segment is large.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from schemas.settings import MemorySettings

TEXT_BYTES = 16_384
FIELDS = ("id", "chunk_id", "doc_id", "chunk_seq", "text", "token_start", "token_end", "byte_start", "byte_end",
          "win_byte_start", "win_byte_end", "trust", "recency", "bucket", "source", "drop_id", "corpus_version")
OUTPUT = [f for f in FIELDS if f != "id"]
HEX = "0123456789abcdef"
QUERY_WINDOW = 16_384  # Milvus caps offset + limit of one query
# milvus-lite's gRPC server keeps gRPC's default ping policy (one ping per 5 minutes on an idle
# channel); pymilvus pings every 10 s, so a channel left idle through a long Spark stage is sent
# GOAWAY "too_many_pings" and cannot reconnect. Idle pings are turned off for it.
LITE_GRPC_OPTIONS = {"grpc.keepalive_time_ms": 360_000, "grpc.keepalive_permit_without_calls": 0}


class MemoryStoreError(RuntimeError):
    pass


def window_row_id(chunk_id: str, doc_id: str, win_byte_start: int) -> str:
    return hashlib.sha256(f"{chunk_id}:{doc_id}:{win_byte_start}".encode()).hexdigest()[:32]


def resolve_uri(settings: MemorySettings, lake_root: str | None = None) -> str:
    """A relative milvus-lite folder lives under a local lake root; servers pass through."""
    if settings.is_server:
        return settings.uri
    path = Path(settings.uri)
    if not path.is_absolute() and lake_root and "://" not in lake_root:
        path = Path(lake_root) / path
    path = path.resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return str(path)


def public_uri(uri: str) -> str:
    """The URI as it may be shown: credentials in it (user:pass@) are cut out."""
    if "@" in uri and "://" in uri:
        scheme, rest = uri.split("://", 1)
        return f"{scheme}://{rest.split('@', 1)[1]}"
    return uri


@dataclass
class Hit:
    row: dict
    score: float


class MemoryStore:
    def __init__(self, settings: MemorySettings, uri: str, dim: int):
        from pymilvus import MilvusClient
        from pymilvus.exceptions import MilvusException

        self.settings, self.uri, self.dim = settings, uri, dim
        self.name = settings.collection
        token = settings.token.get_secret_value()
        kwargs = {"token": token} if token else {}
        if not settings.is_server:
            kwargs["grpc_options"] = LITE_GRPC_OPTIONS
        try:
            # a channel of its own: a store never inherits another's broken connection
            self.client = MilvusClient(uri=uri, dedicated=True, **kwargs)
        except MilvusException as e:
            raise MemoryStoreError(f"cannot reach Milvus at {public_uri(uri)} ({e.message}); start a server or set "
                                   "IRM_MEMORY__URI to a local folder ending in .db") from None
        self.ensure()

    def schema(self):
        from pymilvus import DataType, Function, FunctionType

        s = self.client.create_schema(auto_id=False, description="irm Tier-1 memory windows")
        s.add_field("id", DataType.VARCHAR, is_primary=True, max_length=32)
        s.add_field("chunk_id", DataType.VARCHAR, max_length=64)
        s.add_field("doc_id", DataType.VARCHAR, max_length=64)
        s.add_field("chunk_seq", DataType.INT64)
        s.add_field("text", DataType.VARCHAR, max_length=TEXT_BYTES, enable_analyzer=True, enable_match=True)
        s.add_field("dense", DataType.FLOAT_VECTOR, dim=self.dim)
        s.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        for f in ("token_start", "token_end", "byte_start", "byte_end", "win_byte_start", "win_byte_end", "recency", "corpus_version"):
            s.add_field(f, DataType.INT64)
        s.add_field("trust", DataType.FLOAT)
        s.add_field("bucket", DataType.VARCHAR, max_length=128)
        s.add_field("source", DataType.VARCHAR, max_length=512)
        s.add_field("drop_id", DataType.VARCHAR, max_length=256)
        s.add_function(Function(name="text_bm25", function_type=FunctionType.BM25,
                                input_field_names=["text"], output_field_names=["sparse"]))
        return s

    def index_params(self):
        p = self.client.prepare_index_params()
        p.add_index("dense", index_type="HNSW", metric_type="COSINE",
                    params={"M": self.settings.hnsw_m, "efConstruction": self.settings.hnsw_ef_construction})
        p.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25", params={"bm25_k1": 1.2, "bm25_b": 0.75})
        return p

    def ensure(self) -> None:
        if not self.client.has_collection(self.name):
            self.client.create_collection(self.name, schema=self.schema(), index_params=self.index_params())
        else:
            fields = {f["name"]: f for f in self.client.describe_collection(self.name)["fields"]}
            dim = fields.get("dense", {}).get("params", {}).get("dim")
            if dim is not None and int(dim) != self.dim:
                raise MemoryStoreError(f"collection {self.name!r} at {public_uri(self.uri)} holds {dim}-dimensional vectors but the "
                                       f"embedding model gives {self.dim}; drop it (irm memory drop) or set IRM_MEMORY__COLLECTION")
        self.client.load_collection(self.name)

    def drop(self) -> None:
        if self.client.has_collection(self.name):
            self.client.drop_collection(self.name)

    def upsert(self, rows: list[dict], batch: int = 512) -> int:
        n = 0
        for i in range(0, len(rows), batch):
            n += int(self.client.upsert(self.name, rows[i:i + batch])["upsert_count"])
        return n

    def delete_chunks(self, keys: Iterable[tuple[str, str]], batch: int = 200) -> int:
        """Delete every window of the given (chunk_id, doc_id) keys."""
        ks = sorted(set(keys))
        n = 0
        for i in range(0, len(ks), batch):
            expr = " or ".join(f'(chunk_id == "{c}" and doc_id == "{d}")' for c, d in ks[i:i + batch])
            res = self.client.delete(self.name, filter=expr)
            n += int(res["delete_count"]) if isinstance(res, dict) else len(res)
        return n

    def chunk_keys(self) -> set[tuple[str, str]]:
        """Every (chunk_id, doc_id) in the collection, read by primary-key prefix (row ids are hex):
        a prefix whose page comes back full is split into its 16 longer prefixes, so any size is
        listed within Milvus's query window, with strong consistency (it decides what to index)."""
        out: set[tuple[str, str]] = set()
        prefixes = list(HEX)
        while prefixes:
            prefix = prefixes.pop()
            page = self.client.query(self.name, filter=f'id like "{prefix}%"', output_fields=["chunk_id", "doc_id"],
                                     limit=QUERY_WINDOW, consistency_level="Strong")
            if len(page) >= QUERY_WINDOW and len(prefix) < 32:
                prefixes.extend(prefix + h for h in HEX)
                continue
            out.update((r["chunk_id"], r["doc_id"]) for r in page)
        return out

    def count(self) -> int:
        return int(self.client.query(self.name, filter="", output_fields=["count(*)"], consistency_level="Strong")[0]["count(*)"])

    def flush(self) -> None:
        self.client.flush(self.name)

    def search(self, kind: str, query, limit: int, expr: str = "") -> list[Hit]:
        """``dense`` (query = vector) or ``bm25`` (query = text) window hits, best first."""
        if kind == "dense":
            params = {"metric_type": "COSINE", "params": {"ef": max(self.settings.hnsw_ef, limit)}}
            field = "dense"
        else:
            params, field = {"metric_type": "BM25"}, "sparse"
        res = self.client.search(self.name, data=[query], anns_field=field, search_params=params, limit=limit,
                                 filter=expr, output_fields=OUTPUT)
        hits = [Hit(dict(h["entity"], id=h["id"]), float(h["distance"])) for h in res[0]]
        if kind == "dense" and expr and len(hits) < limit:
            exact = self.exact_dense(query, limit, expr)
            if exact is not None and len(exact) > len(hits):
                return exact
        return hits

    def exact_dense(self, vector, limit: int, expr: str) -> list[Hit] | None:
        """Cosine over every window the filter selects, or None when it selects more than
        ``exact_filter_rows``. An HNSW walk keeps only the candidates the filter lets through, so
        a selective filter (one document, a recent drop) can end the walk with few or none of them:
        milvus-lite then answers with what it found. Those windows are few enough to score exactly."""
        cap = self.settings.exact_filter_rows
        ids = self.client.query(self.name, filter=expr, output_fields=["id"], limit=cap + 1)
        if len(ids) > cap:
            return None
        return self.score_dense(vector, [r["id"] for r in ids], limit)

    def matching(self, text: str, limit: int, expr: str = "") -> list[str]:
        """Ids of the windows that contain any of ``text``'s terms, best BM25 first. The inverted
        index answers this in milliseconds; a TEXT_MATCH filter scans every window in milvus-lite."""
        res = self.client.search(self.name, data=[text], anns_field="sparse", search_params={"metric_type": "BM25"},
                                 limit=limit, filter=expr, output_fields=[])
        return [h["id"] for h in res[0]]

    def score_dense(self, vector, ids: list[str], limit: int) -> list[Hit]:
        """These windows ranked by exact cosine to ``vector``; ties by row id."""
        if not ids:
            return []
        rows = self.client.get(self.name, ids=ids, output_fields=[*OUTPUT, "dense"])
        m = np.asarray([r["dense"] for r in rows], dtype=np.float32)
        v = np.asarray(vector, dtype=np.float32)
        sims = (m @ v) / np.maximum(np.linalg.norm(m, axis=1) * np.linalg.norm(v), 1e-12)
        order = sorted(range(len(rows)), key=lambda i: (-float(sims[i]), rows[i]["id"]))[:limit]
        return [Hit({**{f: rows[i][f] for f in OUTPUT}, "id": rows[i]["id"]}, float(sims[i])) for i in order]

    def close(self) -> None:
        self.client.close()


def id_in(ids: list[str]) -> str:
    return "id in [" + ", ".join(f'"{i}"' for i in ids) + "]"


def batched(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i:i + size]
