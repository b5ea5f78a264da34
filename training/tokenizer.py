"""Tokenizer training: a reproducible mixed sample of the curated corpus → SentencePiece Unigram.

The sample is drawn in Spark by a seeded hash order inside each domain until the domain's byte
share is reached, so the same tables and seed give the same sample. Text goes through the
reversible whitespace transform (``training.whitespace``) before training and encoding.
Pre-tokenization is kept out of identifiers' way: no split at script changes or digits, so
``snake_case`` and ``camelCase`` stay whole unless the model learns otherwise; the protected
pieces (``::``) are user-defined and always stand alone.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from dataclasses import dataclass

import pyarrow.fs as pafs
import sentencepiece as spm
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from ledgers.lake import Lake, WriteResult
from schemas.tables import TokenizerArtifact
from schemas.tokenizer import TokenizerConfig
from training.whitespace import NL, encode

SAMPLE_INPUTS = ("curated_documents", "documents_clean")


class TokenizerError(RuntimeError):
    pass


def training_sample(lake: Lake, cfg: TokenizerConfig) -> DataFrame:
    """(doc_id, domain, text, bytes) of the sample: per domain, documents in seeded hash order
    until that domain's share of ``sample_bytes``; the held-out sources never enter it."""
    docs = (lake.read("curated_documents").select("doc_id", "domain")
            .join(lake.read("documents_clean").select("doc_id", "source", "text", "bytes"), "doc_id")
            .where(F.col("domain").isin(list(cfg.mix)) & ~F.col("source").isin(cfg.held_out_sources)).drop("source"))
    order = Window.partitionBy("domain").orderBy(F.sha2(F.concat(F.lit(str(cfg.seed)), F.col("doc_id")), 256))
    budget = F.create_map(*[x for d, share in cfg.mix.items() for x in (F.lit(d), F.lit(int(share * cfg.sample_bytes)))])
    return (docs.withColumn("_cum", F.sum("bytes").over(order.rowsBetween(Window.unboundedPreceding, Window.currentRow)))
            .where(F.col("_cum") - F.col("bytes") < budget[F.col("domain")]).drop("_cum"))


def sentences(text: str, chunk_bytes: int) -> list[str]:
    """The transformed document cut at ``<nl>`` boundaries into chunks of at most ``chunk_bytes``."""
    out, current, size = [], [], 0
    for line in encode(text).split(NL):
        piece = line + NL
        if current and size + len(piece.encode()) > chunk_bytes:
            out.append("".join(current))
            current, size = [], 0
        current.append(piece)
        size += len(piece.encode())
    if current:
        out.append("".join(current))
    return [s[: chunk_bytes] for s in out if s]


def train_sentencepiece(texts: list[str], cfg: TokenizerConfig) -> bytes:
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter([s for t in texts for s in sentences(t, cfg.chunk_bytes)]),
        model_writer=model,
        model_type="unigram",
        vocab_size=cfg.vocab_size,
        byte_fallback=True,
        character_coverage=cfg.character_coverage,
        user_defined_symbols=cfg.specials + cfg.protected_pieces,
        normalization_rule_name="identity",
        remove_extra_whitespaces=False,
        split_by_unicode_script=False,
        split_by_number=False,
        split_digits=False,
        split_by_whitespace=cfg.split_by_whitespace,
        max_sentencepiece_length=cfg.max_piece_length,
        max_sentence_length=cfg.chunk_bytes * 4,
        allow_whitespace_only_pieces=True,
        hard_vocab_limit=False,
        num_threads=cfg.num_threads,
        minloglevel=2,
    )
    return model.getvalue()


@dataclass
class TrainedTokenizer:
    artifact: TokenizerArtifact
    write: WriteResult


def _put(uri: str, data: bytes, storage_options: dict[str, str]) -> None:
    fs, path = pafs.FileSystem.from_uri(uri if "://" in uri else "file://" + uri)
    fs.create_dir(path.rsplit("/", 1)[0], recursive=True)
    with fs.open_output_stream(path) as out:
        out.write(data)


def train_tokenizer(lake: Lake, cfg: TokenizerConfig, run_id: str | None = None) -> TrainedTokenizer:
    versions = {t: lake.version(t) for t in SAMPLE_INPUTS}
    rows = training_sample(lake, cfg).select("domain", "text", "bytes").orderBy("domain", F.sha2("text", 256)).collect()
    if not rows:
        raise TokenizerError(f"the training sample is empty: curated_documents (version {versions['curated_documents']}) has no "
                             f"document in the domains {sorted(cfg.mix)}; ingest data and materialize curated_documents first")
    model = train_sentencepiece([r["text"] for r in rows], cfg)
    sha = hashlib.sha256(model).hexdigest()
    uri = f"{lake.settings.uri}/artifacts/tokenizers/{sha[:16]}/tokenizer.model"
    _put(uri, model, lake.settings.storage_options)
    per_domain: dict[str, int] = {}
    for r in rows:
        per_domain[r["domain"]] = per_domain.get(r["domain"], 0) + r["bytes"]
    artifact = TokenizerArtifact(
        tokenizer_id=sha[:16], uri=uri, sha256=sha, vocab_size=spm.SentencePieceProcessor(model_proto=model).get_piece_size(),
        config_json=cfg.model_dump_json(), sample_documents=len(rows), sample_bytes=per_domain,
        input_versions={k: v for k, v in versions.items() if v is not None}, created_at=dt.datetime.now(dt.timezone.utc))
    write = lake.merge(lake.frame("tokenizers", [artifact]), "tokenizers", keys=["tokenizer_id"], update=False, run_id=run_id)
    return TrainedTokenizer(artifact, write)
