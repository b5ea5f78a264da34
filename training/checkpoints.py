"""Checkpoints on disk → the ``checkpoints`` ledger, and their held-out evaluation.

Two kinds of folder are checkpoints, whichever executor wrote them:

* the CPU trainer's ``<root>/<run_id>/checkpoints/step-NNNNNN`` (HF format), complete when it
  holds the marker file the trainer writes last (inside a staging folder renamed into place);
* Megatron's distributed checkpoints ``<root>/<run_id>/megatron/checkpoints/iter_NNNNNNN``
  (Megatron-Bridge's save directory), complete when both ``metadata.json`` (written by
  ``dist_checkpointing.save``) and ``train_state.pt`` (written by Megatron-Bridge's save
  finalizer, after an async save finished) are there.

A key, ``<run_id>.step-NNNNNN`` or ``<run_id>.iter_NNNNNNN``, is also its Dagster partition.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from pathlib import Path

from pyspark.sql import functions as F

from ledgers.lake import Lake, WriteResult
from schemas.tables import CheckpointEval, CheckpointRecord
from training.local_trainer import CHECKPOINT_MARKER, batch_of, masked_loss
from training.megatron_shards import read_sequences

MEGATRON_COMPLETE = ("metadata.json", "train_state.pt")


def checkpoint_path(root: str, key: str) -> Path:
    run_id, step = key.split(".", 1)
    if step.startswith("iter_"):
        return Path(root) / run_id / "megatron" / "checkpoints" / step
    return Path(root) / run_id / "checkpoints" / step


def discover(root: str) -> list[str]:
    """Keys of every complete checkpoint under ``root``, in name order."""
    base = Path(root)
    if not base.is_dir():
        return []
    local = [f"{p.parent.parent.parent.name}.{p.parent.name}" for p in base.glob(f"*/checkpoints/step-*/{CHECKPOINT_MARKER}")]
    megatron = [f"{p.parent.parent.parent.parent.name}.{p.parent.name}" for p in base.glob(f"*/megatron/checkpoints/iter_*/{MEGATRON_COMPLETE[0]}")
                if all((p.parent / f).is_file() for f in MEGATRON_COMPLETE)]
    return sorted(local + megatron)


def folder_digest(path: Path) -> str:
    """sha256 over every file's relative path, size and, for the small metadata files, content:
    a distributed checkpoint is too large to hash whole on every registration."""
    digest = hashlib.sha256()
    for f in sorted(p for p in path.rglob("*") if p.is_file()):
        rel = f.relative_to(path).as_posix()
        digest.update(f"{rel}\0{f.stat().st_size}\0".encode())
        if f.name in MEGATRON_COMPLETE or f.name == ".metadata":
            digest.update(f.read_bytes())
    return digest.hexdigest()


def _megatron_record(path: Path, key: str) -> CheckpointRecord:
    """Tokens and loss of a Megatron checkpoint live in its run's logs, not in the folder: 0 and NaN here."""
    run_id, step = key.split(".", 1)
    return CheckpointRecord(checkpoint_id=key, run_id=run_id, step=int(step.removeprefix("iter_")), uri=str(path), sha256=folder_digest(path),
                            tokens_seen=0, loss=float("nan"), registered_at=dt.datetime.now(dt.timezone.utc))


def register(lake: Lake, root: str, key: str, run_id: str | None = None) -> tuple[CheckpointRecord, WriteResult]:
    path = checkpoint_path(root, key)
    if key.split(".", 1)[1].startswith("iter_"):
        missing = [f for f in MEGATRON_COMPLETE if not (path / f).is_file()]
        if missing:
            raise ValueError(f"checkpoint {key}: {path} lacks {missing}; Megatron has not finished writing it")
        record = _megatron_record(path, key)
    else:
        marker = json.loads((path / CHECKPOINT_MARKER).read_text())
        weights = hashlib.sha256((path / "model.safetensors").read_bytes()).hexdigest()
        if weights != marker["sha256"]:
            raise ValueError(f"checkpoint {key}: model.safetensors sha256 {weights[:16]} differs from its marker {marker['sha256'][:16]}")
        record = CheckpointRecord(checkpoint_id=key, run_id=marker["run_id"], step=marker["step"], uri=str(path), sha256=weights,
                                  tokens_seen=marker["tokens_seen"], loss=marker["loss"], registered_at=dt.datetime.now(dt.timezone.utc))
    write = lake.merge(lake.frame("checkpoints", [record]), "checkpoints", keys=["checkpoint_id"], update=False, run_id=run_id)
    return record, write


def evaluate(lake: Lake, key: str, max_sequences: int = 16, run_id: str | None = None) -> CheckpointEval:
    """Mean next-token loss of the checkpoint on its run's val shards (train when the manifest has
    none), each packed sequence one sample with the training run's document masking."""
    import sentencepiece as spm
    import torch
    from transformers import LlamaForCausalLM

    from training.shards import read_bytes, tokenizer_row

    ckpt = lake.read("checkpoints").where(F.col("checkpoint_id") == key).first()
    if ckpt is None:
        raise ValueError(f"checkpoint {key} is not registered")
    run = lake.read("training_runs").where(F.col("run_id") == ckpt["run_id"]).first()
    if lake.exists("post_training_datasets"):
        dataset = lake.read("post_training_datasets").where(F.col("dataset_id") == run["manifest_id"]).first()
        if dataset is not None:
            return _evaluate_post_training(lake, ckpt.asDict(), dataset.asDict(), run, run_id)
    shards = lake.read("manifests").where(F.col("manifest_id") == run["manifest_id"])
    split = "val" if shards.where(F.col("split") == "val").count() else "train"
    rows = shards.where(F.col("split") == split).orderBy("uri").collect()
    sequences = [s for r in rows for s in read_sequences(r["uri"])][:max_sequences]
    if not sequences:
        raise ValueError(f"checkpoint {key}: manifest {run['manifest_id']} has no {split} sequence")
    eod = spm.SentencePieceProcessor(model_proto=read_bytes(tokenizer_row(lake, rows[0]["tokenizer_id"])["uri"])).eos_id()
    model = LlamaForCausalLM.from_pretrained(ckpt["uri"]).eval()
    total, tokens = 0.0, 0
    with torch.no_grad():
        for start in range(0, len(sequences), 4):
            loss, counted = masked_loss(model, batch_of(sequences[start:start + 4], eod))
            total += float(loss) * counted
            tokens += counted
    loss = total / max(1, tokens)
    result = CheckpointEval(checkpoint_id=key, split=split, tokens=tokens, loss=loss, perplexity=math.exp(loss),
                            evaluated_at=dt.datetime.now(dt.timezone.utc))
    lake.merge(lake.frame("checkpoint_evals", [result]), "checkpoint_evals", keys=["checkpoint_id", "split"], run_id=run_id)
    return result


def _evaluate_post_training(lake: Lake, ckpt: dict, dataset: dict, run, run_id: str | None) -> CheckpointEval:
    import sentencepiece as spm

    from schemas.launch import FinetuneConfig
    from training.post_training.evals import evaluate_post_training

    cfg = FinetuneConfig.model_validate_json((Path(run["run_dir"]) / "local_finetune.json").read_text())
    result = evaluate_post_training(ckpt, dataset, cfg.base_checkpoint, cfg.beta, spm.SentencePieceProcessor(model_file=cfg.tokenizer_uri).eos_id())
    lake.merge(lake.frame("checkpoint_evals", [result]), "checkpoint_evals", keys=["checkpoint_id", "split"], run_id=run_id)
    return result
