"""Tokenize on Spark with the tokenizer artifact, pack per (bucket, split), write Megatron shards,
and register them in ``manifests``.

Tokenization runs in executors (the model file travels in the closure). Each (bucket, split)
is cut into groups of about ``max_shard_tokens`` by a hash of doc_id, and each group is packed
and written by one task, so no task ever holds more than a shard's worth of tokens.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Iterator

import pandas as pd
import pyarrow as pa
import sentencepiece as spm
from pyspark import StorageLevel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from ledgers.lake import Lake, WriteResult
from schemas.packing import PackConfig
from schemas.splits import SPLITS
from training.megatron_shards import filesystem, parse_index, token_dtype, write_shard
from training.packing import pack_documents
from training.whitespace import encode

INPUTS = ("splits", "decontaminated_documents", "tokenizers")
UPSTREAM = ("drops", "raw_documents", "documents_clean", "dedup", "license_ledger", "curated_documents", "eval_hashes", "contamination")
TOKENIZED = "doc_id string, bucket string, split string, tokens array<int>, n_tokens long"
SHARD_ROWS = ("uri string, sha256 string, idx_sha256 string, bytes long, tokens long, sequences long, documents long, "
              "truncated_documents long, bucket string, split string, capacity long, group long, group_documents long, group_tokens long")


class PackError(RuntimeError):
    pass


def tokenizer_row(lake: Lake, tokenizer_id: str | None):
    tokenizers = lake.read("tokenizers")
    if tokenizer_id is not None:
        row = tokenizers.where(F.col("tokenizer_id") == tokenizer_id).first()
        if row is None:
            known = [r["tokenizer_id"] for r in tokenizers.select("tokenizer_id").collect()]
            raise PackError(f"packing.tokenizer_id={tokenizer_id!r} is not in the tokenizers table (known: {known})")
        return row
    row = tokenizers.orderBy(F.desc("created_at"), F.desc("tokenizer_id")).first()
    if row is None:
        raise PackError("the tokenizers table is empty: materialize the tokenizer asset first")
    return row


def read_bytes(uri: str) -> bytes:
    fs, path = filesystem(uri)
    with fs.open_input_stream(path) as stream:
        return stream.read()


def tokenize(docs: DataFrame, model: bytes) -> DataFrame:
    """``(doc_id, bucket, split, text)`` → ``(doc_id, bucket, split, tokens, n_tokens)``, text
    through the reversible whitespace transform first, as the tokenizer was trained."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        sp = spm.SentencePieceProcessor(model_proto=model)
        for batch in batches:
            ids = sp.encode([encode(t) for t in batch.column("text").to_pylist()])
            yield pa.RecordBatch.from_pydict({
                "doc_id": batch.column("doc_id"), "bucket": batch.column("bucket"), "split": batch.column("split"),
                "tokens": pa.array(ids, pa.list_(pa.int32())), "n_tokens": pa.array([len(i) for i in ids], pa.int64())})

    return docs.select("doc_id", "bucket", "split", "text").mapInArrow(run, TOKENIZED)


def shard_directory(root: str, tokenizer_id: str, seq_len: int, bucket: str, split: str) -> str:
    return f"{root}/artifacts/shards/{tokenizer_id}/seq{seq_len}/{bucket.replace('/', '-')}/{split}"


def shard_ranges(lengths: list[int], max_tokens: int) -> list[tuple[int, int]]:
    """Consecutive ``[first, last)`` sequence ranges of at most ``max_tokens`` tokens each."""
    ranges, first, tokens = [], 0, 0
    for i, n in enumerate(lengths):
        if i > first and tokens + n > max_tokens:
            ranges.append((first, i))
            first, tokens = i, 0
        tokens += n
    if first < len(lengths):
        ranges.append((first, len(lengths)))
    return ranges


def pack_groups(tokenized: DataFrame, groups: DataFrame, root: str, tokenizer_id: str, eod: int, vocab_size: int,
                cfg: PackConfig) -> DataFrame:
    """One task per (bucket, split, group): pack its documents (in doc_id order) and write its shards."""
    dtype = token_dtype(vocab_size)

    def pack(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.sort_values("doc_id")
        bucket, split, group = frame["bucket"].iat[0], frame["split"].iat[0], int(frame["group"].iat[0])
        packed = pack_documents(list(frame["tokens"]), eod, cfg.seq_len)
        directory = shard_directory(root, tokenizer_id, cfg.seq_len, bucket, split)
        rows: list[dict] = []
        for k, (first, last) in enumerate(shard_ranges([len(s) for s in packed.sequences], cfg.max_shard_tokens)):
            written = write_shard(directory, packed.sequences[first:last], dtype, f"g{group:05d}-{k:04d}")
            docs = {d for members in packed.members[first:last] for d in members}
            rows.append({"uri": written.uri, "sha256": written.sha256, "idx_sha256": written.idx_sha256, "bytes": written.bytes,
                         "tokens": written.tokens, "sequences": written.sequences, "documents": len(docs),
                         "truncated_documents": len(docs & packed.truncated), "bucket": bucket, "split": split,
                         "capacity": written.sequences * cfg.seq_len, "group": group, "group_documents": len(frame),
                         "group_tokens": int(frame["n_tokens"].sum()) + len(frame)})
        return pd.DataFrame(rows, columns=[c.split()[0] for c in SHARD_ROWS.split(", ")])

    return tokenized.join(F.broadcast(groups), ["bucket", "split"]).withColumn(
        "group", F.pmod(F.xxhash64("doc_id"), F.col("groups"))).groupBy("bucket", "split", "group").applyInPandas(pack, SHARD_ROWS)


@dataclass
class PackReport:
    manifest_id: str
    tokenizer_id: str
    input_versions: dict[str, int]
    documents_in: int
    documents_packed: int
    tokens_in: int
    shards: list[dict] = field(default_factory=list)
    write: WriteResult | None = None

    @property
    def tokens_packed(self) -> int:
        return sum(s["tokens"] for s in self.shards)

    @property
    def conserved(self) -> bool:
        return self.documents_in == self.documents_packed and self.tokens_in == self.tokens_packed


def manifest_id(rows: list[dict]) -> str:
    """sha256 (16 hex) of the shard rows, order-free, without the id and the creation time."""
    keyed = sorted(json.dumps({k: v for k, v in r.items() if k not in ("manifest_id", "created_at")}, sort_keys=True) for r in rows)
    return hashlib.sha256("\n".join(keyed).encode()).hexdigest()[:16]


def run_pack(lake: Lake, cfg: PackConfig, run_id: str | None = None) -> PackReport:
    tok = tokenizer_row(lake, cfg.tokenizer_id)
    versions = {t: lake.version(t) for t in INPUTS}
    missing = [t for t, v in versions.items() if v is None]
    upstream = {t: v for t in UPSTREAM if (v := lake.version(t)) is not None}
    if missing:
        raise PackError(f"packing reads {missing}, which do not exist yet: materialize splits (and the tokenizer) first")
    docs = (lake.read("splits", version=versions["splits"]).select("doc_id", "bucket", "split")
            .join(lake.read("decontaminated_documents", version=versions["decontaminated_documents"]).select("doc_id", "text"), "doc_id"))
    model = read_bytes(tok["uri"])
    sp = spm.SentencePieceProcessor(model_proto=model)
    tokenized = tokenize(docs, model).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        totals = tokenized.groupBy("bucket", "split").agg(F.count("*").alias("documents"), F.sum(F.col("n_tokens") + 1).alias("tokens")).collect()
        if not totals:
            raise PackError(f"splits (version {versions['splits']}) has no documents to pack")
        groups = lake.spark.createDataFrame(
            [(r["bucket"], r["split"], max(1, math.ceil(r["tokens"] / cfg.max_shard_tokens))) for r in totals],
            "bucket string, split string, groups long")
        shards = [r.asDict() for r in pack_groups(tokenized, groups, lake.settings.uri, tok["tokenizer_id"], sp.eos_id(),
                                                  sp.get_piece_size(), cfg).collect()]
    finally:
        tokenized.unpersist()
    shards.sort(key=lambda s: (s["bucket"], SPLITS.index(s["split"]), s["uri"]))
    group_totals = {(s["bucket"], s["split"], s["group"]): (s["group_documents"], s["group_tokens"]) for s in shards}
    created = dt.datetime.now(dt.timezone.utc)
    dtype = token_dtype(sp.get_piece_size()).name
    rows = [{"uri": s["uri"], "sha256": s["sha256"], "idx_sha256": s["idx_sha256"], "bytes": s["bytes"], "tokens": s["tokens"],
             "sequences": s["sequences"], "documents": s["documents"], "truncated_documents": s["truncated_documents"],
             "bucket": s["bucket"], "split": s["split"], "tokenizer_id": tok["tokenizer_id"], "seq_len": cfg.seq_len, "dtype": dtype,
             "input_versions": {**upstream, **versions}} for s in shards]
    mid = manifest_id(rows)
    report = PackReport(mid, tok["tokenizer_id"], {**upstream, **versions}, sum(r["documents"] for r in totals),
                        sum(d for d, _ in group_totals.values()), sum(r["tokens"] for r in totals),
                        [{**r, "capacity": s["capacity"]} for r, s in zip(rows, shards)])
    frame = lake.spark.createDataFrame([{**r, "manifest_id": mid, "created_at": created} for r in rows], lake.schema("manifests"))
    report.write = lake.merge(frame, "manifests", keys=["manifest_id", "uri"], update=False, run_id=run_id)
    return report


def mix_against_target(shards: list[dict], target: dict[str, float], split: str = "train") -> list[dict]:
    """Tokens of ``split`` per domain (the bucket's first part) against the target mix."""
    tokens: dict[str, int] = {}
    for s in shards:
        if s["split"] == split:
            domain = s["bucket"].split("/", 1)[0]
            tokens[domain] = tokens.get(domain, 0) + s["tokens"]
    total = sum(tokens.values()) or 1
    return [{"domain": d, "tokens": tokens.get(d, 0), "share": round(tokens.get(d, 0) / total, 4), "target": target.get(d, 0.0)}
            for d in sorted(set(tokens) | set(target))]


def verify_manifest(lake: Lake, mid: str | None = None) -> list[str]:
    """Problems found re-reading every shard of a manifest (the newest when ``mid`` is None):
    a file whose sha256 differs from its row, or an index whose token count does not."""
    manifests = lake.read("manifests")
    if mid is None:
        newest = manifests.orderBy(F.desc("created_at"), F.desc("manifest_id")).first()
        if newest is None:
            return ["the manifests table is empty"]
        mid = newest["manifest_id"]
    problems = []
    for row in manifests.where(F.col("manifest_id") == mid).collect():
        bin_data, idx_data = read_bytes(row["uri"] + ".bin"), read_bytes(row["uri"] + ".idx")
        if hashlib.sha256(bin_data).hexdigest() != row["sha256"] or hashlib.sha256(idx_data).hexdigest() != row["idx_sha256"]:
            problems.append(f"{row['uri']}: sha256 differs from the manifest")
            continue
        _, lengths, _ = parse_index(idx_data)
        if int(lengths.sum()) != row["tokens"] or len(lengths) != row["sequences"]:
            problems.append(f"{row['uri']}: index holds {int(lengths.sum())} tokens in {len(lengths)} sequences, "
                            f"manifest says {row['tokens']} in {row['sequences']}")
    return problems
