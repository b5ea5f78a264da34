"""Retrieval over the memory collection: query reformulation, dense / BM25 / hybrid (RRF) search
over windows, grouping windows into their parent chunks (small-to-big), two-hop retrieval and
post-filters for duplicates, recency and trust.

Hybrid fuses three window lists by reciprocal rank: dense, BM25, and dense among the windows
that contain the query's names (capitalised words and identifiers past its first word). A
dense model places "the Vormak relay" next to "the Quilen relay": both legs then agree on
the wrong name and outvote BM25, which alone tells them apart. The third leg gives the windows
with the asked-for name a dense vote of their own.

Two hops: the identifiers that hop-1's best windows mention next to the query's own words
(``snake_case``, ``CamelCase``, dotted and hyphenated names, codes with digits) and that the
query lacks become hop-2 queries, searched among the windows that contain the identifier; the
hop lists are fused by reciprocal rank.

The windows that contain a name or an identifier come from the BM25 inverted index (milliseconds;
a TEXT_MATCH filter scans every window in milvus-lite), and dense scores them exactly: an HNSW
walk under so selective a filter finds few of them or, in milvus-lite once it has loaded an
indexed collection from disk, none.
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field
from typing import Literal

from schemas.settings import MemorySettings
from serving.memory.embed import Encoder
from serving.memory.store import Hit, MemoryStore, id_in

Mode = Literal["dense", "bm25", "hybrid"]

STOP = frozenset("""a an and are as at be by can could did do does for from has have how i if in into is it its of on or
that the their then there these this to was were what when where which who whom whose why will with would you your
tell me please find show give about""".split())
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:[.\-][A-Za-z0-9_]+)*")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def is_identifier(token: str) -> bool:
    return bool(re.search(r"[_.\-0-9]", token) or _CAMEL.search(token)) and len(token) >= 4 and not token.isdigit()


def split_identifier(token: str) -> list[str]:
    return [p.lower() for p in re.split(r"[_.\-]+", _CAMEL.sub("_", token)) if p]


@dataclass(frozen=True)
class Reformulated:
    original: str
    dense: str = field(compare=False)
    keywords: str = field(compare=False)
    names: tuple[str, ...] = field(default=(), compare=False)


def reformulate(query: str) -> Reformulated:
    """The dense query keeps the question and spells identifiers out as words; the BM25 query
    keeps the content words, every identifier whole and its parts."""
    words = _WORD.findall(query)
    spelled = [" ".join(split_identifier(w)) for w in words if is_identifier(w)]
    dense = query.strip() + (" (" + "; ".join(spelled) + ")" if spelled else "")
    keys: list[str] = []
    for w in words:
        lw = w.lower()
        if lw in STOP:
            continue
        keys.append(w)
        if is_identifier(w):
            keys.extend(split_identifier(w))
    seen: set[str] = set()
    uniq = [k for k in keys if not (k.lower() in seen or seen.add(k.lower()))]
    named = [w for i, w in enumerate(words) if w.lower() not in STOP and (is_identifier(w) or (i > 0 and w[:1].isupper()))]
    names = tuple(dict.fromkeys(named))
    return Reformulated(query, dense, " ".join(uniq) or query, names)


@dataclass
class Passage:
    """One retrieved chunk: where it comes from, the window that matched and its scores."""

    chunk_id: str
    doc_id: str
    chunk_seq: int
    score: float
    rank: int
    snippet: str
    source: str
    bucket: str
    drop_id: str
    corpus_version: int
    token_span: tuple[int, int]
    byte_span: tuple[int, int]
    window_byte_span: tuple[int, int]
    trust: float
    recency: int
    hop: int = 1
    via: str = ""
    text: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Filters:
    min_trust: float = 0.0
    min_recency: int | None = None
    buckets: list[str] | None = None

    def expr(self) -> str:
        parts = []
        if self.min_trust > 0:
            parts.append(f"trust >= {self.min_trust}")
        if self.min_recency is not None:
            parts.append(f"recency >= {int(self.min_recency)}")
        if self.buckets:
            parts.append("bucket in [" + ", ".join(f'"{b}"' for b in self.buckets) + "]")
        return " and ".join(parts)


def _passage(h: Hit, rank: int, hop: int, via: str) -> Passage:
    r = h.row
    return Passage(chunk_id=r["chunk_id"], doc_id=r["doc_id"], chunk_seq=int(r["chunk_seq"]), score=h.score, rank=rank,
                   snippet=r["text"], source=r["source"], bucket=r["bucket"], drop_id=r["drop_id"],
                   corpus_version=int(r["corpus_version"]), token_span=(int(r["token_start"]), int(r["token_end"])),
                   byte_span=(int(r["byte_start"]), int(r["byte_end"])), window_byte_span=(int(r["win_byte_start"]), int(r["win_byte_end"])),
                   trust=float(r["trust"]), recency=int(r["recency"]), hop=hop, via=via)


def group_chunks(hits: list[Hit], k: int, hop: int = 1, via: str = "") -> list[Passage]:
    """Windows → parent chunks, best window first. Post-filter for duplicates: a chunk seen twice
    (two windows, or the same text in two documents: same chunk id) and a window seen twice (the
    overlap of two neighbouring chunks) count once."""
    out: list[Passage] = []
    chunk_seen: set[str] = set()
    window_seen: set[tuple[str, int]] = set()
    for h in hits:
        r = h.row
        wkey = (r["doc_id"], int(r["win_byte_start"]))
        if r["chunk_id"] in chunk_seen or wkey in window_seen:
            window_seen.add(wkey)
            continue
        chunk_seen.add(r["chunk_id"])
        window_seen.add(wkey)
        out.append(_passage(h, len(out) + 1, hop, via))
        if len(out) == k:
            break
    return out


def _stem(word: str) -> str:
    return word[:5] if len(word) > 5 else word


def hop_identifiers(query: str, passages: list[Passage], limit: int = 3) -> list[tuple[str, set[str]]]:
    """Identifiers of hop-1's windows on the lines that share the most content words with the
    query (compared by a 5-letter stem), which the query does not contain itself; each with the
    stems of its line, which hop 2 no longer needs to look for."""
    qwords = {w.lower() for w in _WORD.findall(query) if w.lower() not in STOP}
    qstems = {_stem(w) for w in qwords} | {_stem(p) for w in qwords for p in split_identifier(w)}
    scored: dict[str, tuple[int, int]] = {}
    line_of: dict[str, set[str]] = {}
    for pi, p in enumerate(passages):
        for line in p.snippet.splitlines():
            toks = _WORD.findall(line)
            stems = {_stem(t.lower()) for t in toks if t.lower() not in STOP}
            overlap = len(qstems & stems)
            if not overlap:
                continue
            for t in toks:
                if is_identifier(t) and t.lower() not in qwords and (overlap, -pi) > scored.get(t, (0, -10**6)):
                    scored[t] = (overlap, -pi)
                    line_of[t] = stems
    if not scored:
        return []
    best = max(v[0] for v in scored.values())
    top = sorted(((t, v) for t, v in scored.items() if v[0] == best), key=lambda kv: (-kv[1][1], kv[0]))[:limit]
    return [(t, line_of[t]) for t, _ in top]


def hop2_query(ident: str, query: str, bridge_stems: set[str]) -> str:
    """The identifier and what the question still asks: its content words the bridge line lacks."""
    rest = [w for w in _WORD.findall(query) if w.lower() not in STOP and _stem(w.lower()) not in bridge_stems]
    return " ".join([ident, *rest])


def fuse_windows(lists: list[list[Hit]], limit: int, rrf_k: int) -> list[Hit]:
    """Reciprocal-rank fusion of window lists (score = sum of 1 / (rrf_k + rank)), as Milvus's
    RRFRanker scores; ties go to the better single rank, then the row id."""
    score: dict[str, float] = {}
    best: dict[str, int] = {}
    row: dict[str, dict] = {}
    for lst in lists:
        for rank, h in enumerate(lst, 1):
            rid = h.row["id"]
            score[rid] = score.get(rid, 0.0) + 1.0 / (rrf_k + rank)
            best[rid] = min(best.get(rid, rank), rank)
            row.setdefault(rid, h.row)
    order = sorted(score, key=lambda r: (-score[r], best[r], r))[:limit]
    return [Hit(row[r], score[r]) for r in order]


def rrf(lists: list[list[Passage]], k: int, rrf_k: int) -> list[Passage]:
    """Reciprocal-rank fusion of the hop lists; on equal scores a later hop's passage wins."""
    score: dict[str, float] = {}
    best: dict[str, tuple[int, int]] = {}
    first: dict[str, Passage] = {}
    for li, lst in enumerate(lists):
        for rank, p in enumerate(lst, 1):
            score[p.chunk_id] = score.get(p.chunk_id, 0.0) + 1.0 / (rrf_k + rank)
            best[p.chunk_id] = min(best.get(p.chunk_id, (rank, -li)), (rank, -li))
            first.setdefault(p.chunk_id, p)
    order = sorted(score, key=lambda c: (-score[c], best[c], c))[:k]
    out = []
    for i, c in enumerate(order, 1):
        p = first[c]
        p.score, p.rank = score[c], i
        out.append(p)
    return out


class Retriever:
    def __init__(self, store: MemoryStore, encoder: Encoder, settings: MemorySettings):
        self.store, self.encoder, self.settings = store, encoder, settings

    def _hits(self, q: Reformulated, mode: Mode, limit: int, expr: str, within: list[str] | None = None) -> list[Hit]:
        """``within``: hop 2's windows (those that contain its identifier), found under ``expr``."""
        if within is not None:
            scope = id_in(within)
            bm25 = self.store.search("bm25", q.keywords, limit, scope) if mode != "dense" else []
            dense = self.store.score_dense(self.encoder.embed_query(q.dense), within, limit) if mode != "bm25" else []
            return fuse_windows([dense, bm25], limit, self.settings.rrf_k) if mode == "hybrid" else dense or bm25
        if mode == "bm25":
            return self.store.search("bm25", q.keywords, limit, expr)
        vector = self.encoder.embed_query(q.dense)
        dense = self.store.search("dense", vector, limit, expr)
        if mode == "dense":
            return dense
        lists = [dense, self.store.search("bm25", q.keywords, limit, expr)]
        if q.names:
            named = self.store.matching(" ".join(q.names), self.settings.exact_filter_rows, expr)
            lists.append(self.store.score_dense(vector, named, limit))
        return fuse_windows(lists, limit, self.settings.rrf_k)

    def search(self, query: str, k: int | None = None, mode: Mode = "hybrid", filters: Filters | None = None,
               multi_hop: bool | None = None) -> list[Passage]:
        k = k or self.settings.top_k
        filters = filters or Filters(min_trust=self.settings.min_trust)
        multi_hop = self.settings.multi_hop if multi_hop is None else multi_hop
        expr = filters.expr()
        limit = max(self.settings.window_candidates, 4 * k)
        q = reformulate(query)
        hop1 = group_chunks(self._hits(q, mode, limit, expr), k, hop=1, via=mode)
        if not multi_hop or not hop1:
            return hop1
        lists = [hop1]
        for ident, stems in hop_identifiers(query, hop1):
            within = self.store.matching(ident, self.settings.exact_filter_rows, expr)
            if not within:
                continue
            q2 = reformulate(hop2_query(ident, query, stems))
            lists.append(group_chunks(self._hits(q2, mode, limit, expr, within), k, hop=2, via=f"{mode} via {ident}"))
        return rrf(lists, k, self.settings.rrf_k) if len(lists) > 1 else hop1


@dataclass
class Timed:
    passages: list[Passage]
    seconds: float


def timed_search(retriever: Retriever, query: str, **kw) -> Timed:
    t = time.perf_counter()
    out = retriever.search(query, **kw)
    return Timed(out, time.perf_counter() - t)
