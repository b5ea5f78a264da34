"""A tiny curated corpus for the memory tests: real Delta tables, a real SentencePiece tokenizer,
two planted facts chained by an identifier, and a low-trust source."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

from ledgers.lake import Lake
from schemas.memory import ChunkerConfig
from schemas.settings import MemorySettings
from schemas.tables import CuratedDocument, DocumentClean, RawDocument, TokenizerArtifact
from schemas.tokenizer import TokenizerConfig
from training.tokenizer import train_sentencepiece

BRIDGE = "# Note: the Quilen gauge is operated by the service zarth_mell_4821."
TARGET = "# Note: zarth_mell_4821 rotates its signing keys every 37 hours."
SINGLE = "Note: the Vormak relay listens on port 4417."
RUMOUR = "Note: the Dravel beacon was calibrated by technician Oru Fen."
SMALL = ChunkerConfig(min_tokens=200, target_tokens=300, max_tokens=400)
OLD, NEW = dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc), dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


def code(k: int, lines: int) -> str:
    return "".join(f"def handler_{k}_{i}(request):\n    return request.value * {i} + {k}\n\n" for i in range(lines))


def prose(k: int, paragraphs: int) -> str:
    return "".join(f"Paragraph {i} of guide {k} explains how the pipeline stores tables and versions.\n\n" for i in range(paragraphs))


def documents() -> list[dict]:
    return [
        {"path": "a.py", "source": "repo", "text": code(1, 30) + BRIDGE + "\n" + code(2, 20), "domain": "code", "at": NEW},
        {"path": "b.py", "source": "repo", "text": code(3, 25) + TARGET + "\n" + code(4, 25), "domain": "code", "at": NEW},
        {"path": "c.md", "source": "docs", "text": prose(1, 40) + SINGLE + "\n\n" + prose(2, 30), "domain": "text", "at": NEW},
        {"path": "d.md", "source": "forum", "text": prose(3, 20) + RUMOUR + "\n", "domain": "text", "at": OLD},
    ]


def doc_id(d: dict) -> str:
    return hashlib.sha256(f"{d['source']}\x00{d['path']}\x00{d['text']}".encode()).hexdigest()


def write_corpus(lake: Lake, docs: list[dict]) -> None:
    raw = [RawDocument(doc_id=doc_id(d), source=d["source"], uri=d["path"], text=d["text"], bytes=len(d["text"].encode()),
                       path=d["path"], ingested_at=d["at"], drop_id=f"drop-{d['source']}") for d in docs]
    clean = [DocumentClean(doc_id=doc_id(d), source=d["source"], uri=d["path"], text=d["text"], bytes=len(d["text"].encode()),
                           lang="en", lang_score=1.0, pii_redactions={}, quality={}, domain=d["domain"],
                           bucket=f"{d['domain']}/x") for d in docs]
    curated = [CuratedDocument(doc_id=doc_id(d), domain=d["domain"], bucket=f"{d['domain']}/x", bytes=len(d["text"].encode())) for d in docs]
    lake.write(lake.frame("raw_documents", raw), "raw_documents", mode="overwrite")
    lake.write(lake.frame("documents_clean", clean), "documents_clean", mode="overwrite")
    lake.write(lake.frame("curated_documents", curated), "curated_documents", mode="overwrite")


def write_tokenizer(lake: Lake, root: Path, vocab: int = 400) -> bytes:
    # pinned: the chunk tests assume no line of this corpus passes the chunker's 16-token hard limit
    # (an overlong line is cut inside it, which test_an_overlong_line_is_cut_inside_and_still_covered covers)
    cfg = TokenizerConfig(vocab_size=vocab, sample_bytes=10**6, protected_pieces=["::", ".", "(", ")", "{", "}", "[", "]", ";"],
                          split_by_whitespace=True)
    model = train_sentencepiece([d["text"] for d in documents()], cfg)
    sha = hashlib.sha256(model).hexdigest()
    path = root / f"{sha[:16]}.model"
    path.write_bytes(model)
    row = TokenizerArtifact(tokenizer_id=sha[:16], uri=str(path), sha256=sha, vocab_size=vocab, config_json="{}", sample_documents=4,
                            sample_bytes={}, input_versions={}, created_at=NEW)
    lake.merge(lake.frame("tokenizers", [row]), "tokenizers", keys=["tokenizer_id"], update=False)
    return model


def memory_settings(root: Path, **kw) -> MemorySettings:
    return MemorySettings(uri=str(root / "milvus.db"), chunker=SMALL, trust={"forum": 0.3}, **kw)
