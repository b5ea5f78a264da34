"""Megatron shards from the split documents: tokenize with the tokenizer artifact, pack per
(bucket, split), write the shard files and register them in ``manifests``.

The Spark plumbing (tokenizing in executors, one task per group of about ``max_shard_tokens``)
is ``spark_jobs.shards``; this module says what a group's task does (pack best-fit, pad every
sequence to ``seq_len``, write its shards) and checks what was written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import sentencepiece as spm
from pyspark import StorageLevel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from ledgers.lake import Lake, WriteResult
from schemas.packing import PackConfig
from schemas.splits import SPLITS
from spark_jobs.shards import bucket_totals, pack_in_groups, rendered_documents, row_problems, tokenize
from training.megatron_shards import filesystem, parse_index, token_dtype, write_shard
from training.packed_samples import content_length, pad_to
from training.post_training.formats import synthetic_doc_id, synthetic_document
from training.packing import compose_long_documents, pack_documents
from training.whitespace import encode

INPUTS = ("splits", "decontaminated_documents", "tokenizers")
UPSTREAM = ("drops", "raw_documents", "documents_clean", "dedup", "license_ledger", "curated_documents", "eval_hashes", "contamination")
SHARD_ROWS = ("uri string, sha256 string, idx_sha256 string, bytes long, tokens long, sequences long, documents long, "
              "truncated_documents long, bucket string, split string, capacity long, group long, group_documents long, group_tokens long, "
              "group_long_tokens long")


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


def synthetic_documents(distilled: DataFrame) -> DataFrame:
    """Verified distilled samples as documents of the ``synthetic/distilled`` train bucket, in
    the tagged format of ``training.post_training.formats``; a task's samples are one family."""
    rows = distilled.where(F.col("passed")).select("task_id", "prompt", "rationale", "tool_calls", "candidate")
    return rendered_documents(rows, synthetic_doc_id, synthetic_document, "synthetic/distilled", lambda r: "task:" + r["task_id"])


def separator(sp: spm.SentencePieceProcessor) -> int:
    """The token between files joined into one long document: the ``<nl>`` piece (a line break)."""
    nl = sp.piece_to_id("<nl>")
    return nl if nl != sp.unk_id() else sp.encode("\n")[-1]


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


def group_packer(root: str, tokenizer_id: str, eod: int, vocab_size: int, cfg: PackConfig, sep_token: int):
    """What one (bucket, split, group) task does: pack its documents (in doc_id order) and write
    its shards, every sequence padded with EOD to exactly ``seq_len`` (see
    ``training.packed_samples``). ``tokens`` counts document tokens (EODs included), not the
    padding; ``group_documents`` is what the group actually packed, so a document lost anywhere
    shows in the conservation check. With ``cfg.long_share`` (a long-context stage) groups are cut
    by family, so a repository stays in one task and can be joined into one long document
    (``compose_long_documents``)."""
    dtype = token_dtype(vocab_size)

    def pack(frame: pd.DataFrame) -> pd.DataFrame:
        frame = frame.sort_values("doc_id")
        bucket, split, group = frame["bucket"].iat[0], frame["split"].iat[0], int(frame["group"].iat[0])
        tokens = [np.asarray(t, dtype=np.int64) for t in frame["tokens"]]
        if cfg.long_share:
            units = compose_long_documents([len(t) + 1 for t in tokens], list(frame["family"]), cfg.long_min_tokens, cfg.long_share)
        else:
            units = [[i] for i in range(len(tokens))]
        joined = [np.concatenate([x for i in u for x in (tokens[i], [sep_token])][:-1]) if len(u) > 1 else tokens[u[0]] for u in units]
        packed = pack_documents(joined, eod, cfg.seq_len)
        packed.members = [[d for unit in members for d in units[unit]] for members in packed.members]
        packed.truncated = {d for unit in packed.truncated for d in units[unit]}
        long_tokens = sum(len(j) + 1 for j in joined if len(j) + 1 >= (cfg.long_min_tokens or cfg.seq_len + 1))
        directory = shard_directory(root, tokenizer_id, cfg.seq_len, bucket, split)
        rows: list[dict] = []
        packed_docs = len({d for members in packed.members for d in members})
        for k, (first, last) in enumerate(shard_ranges([cfg.seq_len] * len(packed.sequences), cfg.max_shard_tokens)):
            chunk = packed.sequences[first:last]
            written = write_shard(directory, [pad_to(s, cfg.seq_len, eod) for s in chunk], dtype, f"g{group:05d}-{k:04d}")
            docs = {d for members in packed.members[first:last] for d in members}
            rows.append({"uri": written.uri, "sha256": written.sha256, "idx_sha256": written.idx_sha256, "bytes": written.bytes,
                         "tokens": int(sum(len(s) for s in chunk)), "sequences": written.sequences, "documents": len(docs),
                         "truncated_documents": len(docs & packed.truncated), "bucket": bucket, "split": split,
                         "capacity": written.sequences * cfg.seq_len, "group": group, "group_documents": packed_docs,
                         "group_tokens": int(frame["n_tokens"].sum()) + len(frame), "group_long_tokens": long_tokens})
        return pd.DataFrame(rows, columns=[c.split()[0] for c in SHARD_ROWS.split(", ")])

    return pack


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
    documents_without_text: int = 0
    long_tokens: int = 0

    @property
    def long_share(self) -> float:
        """Realized share of tokens in long documents (native or joined families)."""
        return self.long_tokens / self.tokens_in if self.tokens_in else 0.0

    @property
    def tokens_packed(self) -> int:
        return sum(s["tokens"] for s in self.shards)

    @property
    def conserved(self) -> bool:
        return self.documents_in == self.documents_packed and self.tokens_in == self.tokens_packed


def manifest_id(rows: list[dict]) -> str:
    """sha256 (16 hex) of the shard rows, order-free, without the id, the creation time and the input
    versions: packing unchanged data again (after upstream rewrites that changed no row) is the same
    manifest, so its id, its data version and the training it would trigger stay put."""
    keyed = sorted(json.dumps({k: v for k, v in r.items() if k not in ("manifest_id", "created_at", "input_versions")}, sort_keys=True)
                   for r in rows)
    return hashlib.sha256("\n".join(keyed).encode()).hexdigest()[:16]


def run_pack(lake: Lake, cfg: PackConfig, run_id: str | None = None) -> PackReport:
    tok = tokenizer_row(lake, cfg.tokenizer_id)
    versions = {t: lake.version(t) for t in INPUTS}
    missing = [t for t, v in versions.items() if v is None]
    upstream = {t: v for t in UPSTREAM if (v := lake.version(t)) is not None}
    if missing:
        raise PackError(f"packing reads {missing}, which do not exist yet: materialize splits (and the tokenizer) first")
    assigned = lake.read("splits", version=versions["splits"]).select("doc_id", "bucket", "split", "family")
    texts = lake.read("decontaminated_documents", version=versions["decontaminated_documents"]).select("doc_id", "text")
    documents_in = assigned.select("doc_id").distinct().count()
    without_text = assigned.join(texts, "doc_id", "left_anti").count()
    docs = assigned.join(texts, "doc_id")
    if cfg.include_synthetic and (distilled := lake.version("distilled_sft")) is not None:
        versions["distilled_sft"] = distilled
        synthetic = synthetic_documents(lake.read("distilled_sft", version=distilled))
        documents_in += synthetic.count()
        docs = docs.unionByName(synthetic)
    model = read_bytes(tok["uri"])
    sp = spm.SentencePieceProcessor(model_proto=model)
    tokenized = tokenize(docs, model, encode).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        totals = bucket_totals(tokenized)
        if not totals:
            raise PackError(f"splits (version {versions['splits']}) has no documents to pack")
        pack = group_packer(lake.settings.uri, tok["tokenizer_id"], sp.eos_id(), sp.get_piece_size(), cfg, separator(sp))
        key = "family" if cfg.long_share else "doc_id"
        shards = [r.asDict() for r in pack_in_groups(tokenized, totals, cfg.max_shard_tokens, key, pack, SHARD_ROWS).collect()]
    finally:
        tokenized.unpersist()
    shards.sort(key=lambda s: (s["bucket"], SPLITS.index(s["split"]), s["uri"]))
    group_totals = {(s["bucket"], s["split"], s["group"]): (s["group_documents"], s["group_tokens"]) for s in shards}
    long_tokens = sum({(s["bucket"], s["split"], s["group"]): s["group_long_tokens"] for s in shards}.values())
    created = dt.datetime.now(dt.timezone.utc)
    dtype = token_dtype(sp.get_piece_size()).name
    rows = [{"uri": s["uri"], "sha256": s["sha256"], "idx_sha256": s["idx_sha256"], "bytes": s["bytes"], "tokens": s["tokens"],
             "sequences": s["sequences"], "documents": s["documents"], "truncated_documents": s["truncated_documents"],
             "bucket": s["bucket"], "split": s["split"], "tokenizer_id": tok["tokenizer_id"], "seq_len": cfg.seq_len, "dtype": dtype,
             "input_versions": {**upstream, **versions}} for s in shards]
    mid = manifest_id(rows)
    report = PackReport(mid, tok["tokenizer_id"], {**upstream, **versions}, documents_in,
                        sum(d for d, _ in group_totals.values()), sum(t for *_, t in totals),
                        [{**r, "capacity": s["capacity"]} for r, s in zip(rows, shards)], documents_without_text=without_text,
                        long_tokens=long_tokens)
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


def shard_problem(row: dict, eod: int) -> str | None:
    """What is wrong with one shard against its manifest row, or None: a file that cannot be read,
    a sha256 that differs from the row, a sequence not exactly ``seq_len`` long (Megatron's samples
    would drift off the packed sequences), or document tokens that differ from the row."""
    try:
        bin_data, idx_data = read_bytes(row["uri"] + ".bin"), read_bytes(row["uri"] + ".idx")
    except OSError as e:
        return f"{row['uri']}: cannot be read ({type(e).__name__}: {e})"
    if hashlib.sha256(bin_data).hexdigest() != row["sha256"] or hashlib.sha256(idx_data).hexdigest() != row["idx_sha256"]:
        return f"{row['uri']}: sha256 differs from the manifest"
    dtype, lengths, _ = parse_index(idx_data)
    if len(lengths) != row["sequences"] or (lengths != row["seq_len"]).any():
        return (f"{row['uri']}: index holds {len(lengths)} sequences of lengths {sorted(set(lengths.tolist()))[:5]}, "
                f"manifest says {row['sequences']} of exactly seq_len={row['seq_len']}")
    data = np.frombuffer(bin_data, dtype=dtype).reshape(len(lengths), row["seq_len"]) if len(lengths) else np.zeros((0, 1))
    content = sum(content_length(seq, eod) for seq in data)
    if content != row["tokens"]:
        return f"{row['uri']}: shard holds {content} document tokens, manifest says {row['tokens']}"
    return None


def verify_manifest(lake: Lake, mid: str | None = None) -> list[str]:
    """Problems found re-reading every shard of a manifest (the newest when ``mid`` is None; see
    ``shard_problem``). Executors read the shards, one task per few shards; the driver gets the
    problems only, never shard bytes."""
    manifests = lake.read("manifests")
    if mid is None:
        newest = manifests.orderBy(F.desc("created_at"), F.desc("manifest_id")).first()
        if newest is None:
            return ["the manifests table is empty"]
        mid = newest["manifest_id"]
    rows = manifests.where(F.col("manifest_id") == mid).select("uri", "sha256", "idx_sha256", "sequences", "seq_len", "tokens", "tokenizer_id")
    tokenizer_ids = [r["tokenizer_id"] for r in rows.select("tokenizer_id").distinct().collect()]
    if not tokenizer_ids:
        return [f"manifest {mid} has no shard rows"]
    eods = {t: spm.SentencePieceProcessor(model_proto=read_bytes(tokenizer_row(lake, t)["uri"])).eos_id() for t in tokenizer_ids}
    return row_problems(rows, lambda row: shard_problem(row, eods[row["tokenizer_id"]]), "uri")
