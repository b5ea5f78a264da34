"""Cut curated documents into Tier-1 memory chunks: 6–12k tokens of the project tokenizer,
10–15% overlap, ends at a function, paragraph or line boundary where the document has one.

Token counts are exact: the whole document is tokenized once and every piece is assigned to the
line it starts in, so a chunk of whole lines has exactly the token span it claims. Only a line
longer than a few hundred tokens (minified code, a base64 blob) is cut inside, at a space where
possible; such cuts are marked ``hard``.
"""

from __future__ import annotations

import bisect
import hashlib
import re
from dataclasses import dataclass
from typing import Callable, Iterator

import pyarrow as pa
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from schemas.memory import ChunkerConfig, MemoryChunk
from schemas.types import arrow_schema, spark_schema

Transform = Callable[[str], str]

_FUNCTION = re.compile(r"^(?:async def |def |class |fn |pub(?:\(crate\))? (?:fn|struct|enum|trait|mod) |func |function |impl[ <]"
                       r"|struct |enum |interface |trait |module |public |private |protected |static |template\s*<|@\w|#{1,6} |\.\. )")
SCORE = {"function": 3, "paragraph": 2, "line": 1, "hard": 0}
NL = "<nl>"


@dataclass
class Unit:
    """A whole line (with its newline) or a piece of an overlong line."""

    char_start: int
    char_end: int
    byte_start: int
    byte_end: int
    tokens: int
    kind: str  # boundary kind of the cut *before* this unit


def _kind(line: str, previous_blank: bool) -> str:
    if _FUNCTION.match(line):
        return "function"
    return "paragraph" if previous_blank else "line"


def units(text: str, token_ids_and_offsets: tuple[list[int], list[int]], hard_tokens: int) -> list[Unit]:
    """Lines of ``text`` with their exact token counts; ``token_ids_and_offsets`` gives, per piece
    of the transformed document, its begin offset and the offsets where each ``<nl>`` ends."""
    piece_begins, nl_ends = token_ids_and_offsets
    per_line = [0] * (len(nl_ends) + 1)
    for b in piece_begins:
        per_line[bisect.bisect_right(nl_ends, b)] += 1
    out: list[Unit] = []
    char, byte, previous_blank = 0, 0, True
    lines = text.split("\n")
    for i, line in enumerate(lines):
        full = line + ("\n" if i < len(lines) - 1 else "")
        if not full:
            continue
        nbytes = len(full.encode("utf-8"))
        kind = _kind(line, previous_blank)
        n = per_line[i]
        if n <= hard_tokens or len(full) < 2:
            out.append(Unit(char, char + len(full), byte, byte + nbytes, n, kind))
        else:
            out.extend(_split_line(full, char, byte, n, hard_tokens, kind))
        char += len(full)
        byte += nbytes
        previous_blank = not line.strip()
    return out


def _split_line(full: str, char: int, byte: int, tokens: int, hard_tokens: int, kind: str) -> list[Unit]:
    """An overlong line in pieces of about ``hard_tokens`` tokens, cut after a space where one is
    near; the line's tokens are shared out in proportion to characters."""
    parts = -(-tokens // hard_tokens)
    step = max(1, len(full) // parts)
    cuts, pos = [0], 0
    while pos + step < len(full):
        target = pos + step
        space = full.rfind(" ", pos + step // 2, target)
        pos = space + 1 if space > pos else target
        cuts.append(pos)
    cuts.append(len(full))
    out, given = [], 0
    for j in range(len(cuts) - 1):
        piece = full[cuts[j]:cuts[j + 1]]
        share = tokens - given if j == len(cuts) - 2 else round(tokens * cuts[j + 1] / len(full)) - given
        b0 = byte + len(full[:cuts[j]].encode("utf-8"))
        out.append(Unit(char + cuts[j], char + cuts[j + 1], b0, b0 + len(piece.encode("utf-8")), share, kind if j == 0 else "hard"))
        given += share
    return out


def _best(cands: list[int], score: Callable[[int], tuple]) -> int:
    return max(cands, key=score)


def cut(us: list[Unit], cfg: ChunkerConfig) -> list[tuple[int, int]]:
    """``[first, last)`` unit ranges of the chunks of one document."""
    n = len(us)
    if n == 0:
        return []
    cum = [0]
    for u in us:
        cum.append(cum[-1] + u.tokens)
    total = cum[-1]
    out: list[tuple[int, int]] = []
    s = 0
    while True:
        if total - cum[s] <= cfg.max_tokens:
            out.append((s, n))
            return out
        cands = [e for e in range(s + 1, n) if cfg.min_tokens <= cum[e] - cum[s] <= cfg.max_tokens]
        if not cands:  # only when one unit is longer than the whole span: take it alone
            cands = [s + 1]
        roomy = [e for e in cands if total - cum[e] >= cfg.min_tokens * (1 - cfg.overlap_max)]
        cands = roomy or cands
        e = _best(cands, lambda e: (SCORE[us[e].kind], -abs(cum[e] - cum[s] - cfg.target_tokens), -e))
        out.append((s, e))
        length = cum[e] - cum[s]
        lo, hi, mid = cfg.overlap_min * length, cfg.overlap_max * length, (cfg.overlap_min + cfg.overlap_max) / 2 * length
        starts = [t for t in range(s + 1, e) if lo <= cum[e] - cum[t] <= hi]
        if starts:
            s = _best(starts, lambda t: (SCORE[us[t].kind], -abs(cum[e] - cum[t] - mid), t))
        else:
            near = [t for t in range(s + 1, e + 1) if cum[e] - cum[t] <= hi] or [e]
            s = min(near, key=lambda t: (abs(cum[e] - cum[t] - mid), t))


def chunk_document(text: str, piece_begins: list[int], nl_ends: list[int], cfg: ChunkerConfig) -> list[dict]:
    """The chunks of one document as dicts of the span fields of ``MemoryChunk``."""
    hard = max(16, int(cfg.min_tokens * cfg.overlap_min / 4))
    us = units(text, (piece_begins, nl_ends), hard)
    cum = [0]
    for u in us:
        cum.append(cum[-1] + u.tokens)
    rows, prev_end = [], None
    for seq, (a, b) in enumerate(cut(us, cfg)):
        chunk = text[us[a].char_start:us[b - 1].char_end]
        rows.append({
            "chunk_id": hashlib.sha256(chunk.encode("utf-8")).hexdigest(), "seq": seq, "text": chunk,
            "token_start": cum[a], "token_end": cum[b], "byte_start": us[a].byte_start, "byte_end": us[b - 1].byte_end,
            "boundary": "end" if b == len(us) else us[b].kind,
            "overlap_tokens": 0 if prev_end is None else max(0, prev_end - cum[a]),
        })
        prev_end = cum[b]
    return rows


def piece_offsets(sp, transform: Transform, text: str) -> tuple[list[int], list[int]]:
    """Begin offsets (characters) of the tokenizer's pieces over the transformed text, and the
    offsets just after each ``<nl>`` of it (the transform maps line i of the text to line i)."""
    encoded = transform(text)
    begins = [b for b, _ in sp.encode(encoded, return_type="offset_mapping")["offsets"]]
    ends, pos = [], encoded.find(NL)
    while pos >= 0:
        ends.append(pos + len(NL))
        pos = encoded.find(NL, pos + len(NL))
    return begins, ends


CHUNK_INPUT = ("doc_id", "text", "source", "domain", "bucket", "drop_id", "ingested_at", "trust")


def memory_chunks(docs: DataFrame, model: bytes, transform: Transform, cfg: ChunkerConfig,
                  tokenizer_id: str, corpus_version: int) -> DataFrame:
    """``CHUNK_INPUT`` columns → ``MemoryChunk`` rows. Each task loads the tokenizer once."""
    schema = arrow_schema(MemoryChunk)
    chunker_hash = cfg.config_hash

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        import sentencepiece as spm

        sp = spm.SentencePieceProcessor(model_proto=model)
        for batch in batches:
            out: list[dict] = []
            for doc in batch.to_pylist():
                begins, ends = piece_offsets(sp, transform, doc["text"])
                for row in chunk_document(doc["text"], begins, ends, cfg):
                    row.update({k: doc[k] for k in CHUNK_INPUT if k != "text"})
                    row.update(corpus_version=corpus_version, tokenizer_id=tokenizer_id, chunker_hash=chunker_hash)
                    out.append(row)
            yield pa.RecordBatch.from_pylist(out, schema=schema)

    return docs.select(*CHUNK_INPUT).where(F.length("text") > 0).mapInArrow(run, spark_schema(MemoryChunk))
