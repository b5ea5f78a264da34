"""Checkpoints on disk → the ``checkpoints`` ledger, and their held-out evaluation.

A checkpoint is a folder ``<root>/<run_id>/checkpoints/step-NNNNNN`` holding the marker file
the trainer writes last (inside a staging folder renamed into place), so a folder with the
marker is complete. Its key, ``<run_id>.step-NNNNNN``, is also its Dagster partition.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from pathlib import Path

import numpy as np
from pyspark.sql import functions as F

from ledgers.lake import Lake, WriteResult
from schemas.tables import CheckpointEval, CheckpointRecord
from training.local_trainer import CHECKPOINT_MARKER, cut_windows
from training.megatron_shards import read_sequences


def checkpoint_key(path: Path) -> str:
    return f"{path.parent.parent.name}.{path.name}"


def checkpoint_path(root: str, key: str) -> Path:
    run_id, step = key.split(".", 1)
    return Path(root) / run_id / "checkpoints" / step


def discover(root: str) -> list[str]:
    """Keys of every complete checkpoint under ``root``, in name order."""
    base = Path(root)
    if not base.is_dir():
        return []
    return sorted(checkpoint_key(p.parent) for p in base.glob(f"*/checkpoints/step-*/{CHECKPOINT_MARKER}"))


def register(lake: Lake, root: str, key: str, run_id: str | None = None) -> tuple[CheckpointRecord, WriteResult]:
    path = checkpoint_path(root, key)
    marker = json.loads((path / CHECKPOINT_MARKER).read_text())
    weights = hashlib.sha256((path / "model.safetensors").read_bytes()).hexdigest()
    if weights != marker["sha256"]:
        raise ValueError(f"checkpoint {key}: model.safetensors sha256 {weights[:16]} differs from its marker {marker['sha256'][:16]}")
    record = CheckpointRecord(checkpoint_id=key, run_id=marker["run_id"], step=marker["step"], uri=str(path), sha256=weights,
                              tokens_seen=marker["tokens_seen"], loss=marker["loss"], registered_at=dt.datetime.now(dt.timezone.utc))
    write = lake.merge(lake.frame("checkpoints", [record]), "checkpoints", keys=["checkpoint_id"], update=False, run_id=run_id)
    return record, write


def evaluate(lake: Lake, key: str, context: int = 128, max_windows: int = 64, run_id: str | None = None) -> CheckpointEval:
    """Mean next-token loss of the checkpoint on its run's val shards (train when the manifest has none)."""
    import torch
    from transformers import LlamaForCausalLM

    ckpt = lake.read("checkpoints").where(F.col("checkpoint_id") == key).first()
    if ckpt is None:
        raise ValueError(f"checkpoint {key} is not registered")
    run = lake.read("training_runs").where(F.col("run_id") == ckpt["run_id"]).first()
    shards = lake.read("manifests").where(F.col("manifest_id") == run["manifest_id"])
    split = "val" if shards.where(F.col("split") == "val").count() else "train"
    prefixes = [r["uri"] for r in shards.where(F.col("split") == split).orderBy("uri").collect()]
    windows = [w for p in prefixes for w in cut_windows(read_sequences(p), context)]
    windows = windows[:max_windows]
    if not windows:
        raise ValueError(f"checkpoint {key}: no {split} sequence is longer than context={context}")
    model = LlamaForCausalLM.from_pretrained(ckpt["uri"]).eval()
    losses = []
    with torch.no_grad():
        for start in range(0, len(windows), 8):
            batch = torch.as_tensor(np.stack([w.astype(np.int64) for w in windows[start:start + 8]]))
            losses.append((float(model(input_ids=batch, labels=batch).loss), len(batch)))
    tokens = sum(n for _, n in losses) * context
    loss = sum(l * n for l, n in losses) / max(1, sum(n for _, n in losses))
    result = CheckpointEval(checkpoint_id=key, split=split, tokens=tokens, loss=loss, perplexity=math.exp(loss),
                            evaluated_at=dt.datetime.now(dt.timezone.utc))
    lake.merge(lake.frame("checkpoint_evals", [result]), "checkpoint_evals", keys=["checkpoint_id", "split"], run_id=run_id)
    return result
