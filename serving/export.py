"""Checkpoint → HF-format folder that TensorRT-LLM's LLM API loads (it reads HF folders).

The folder holds the safetensors weights, ``config.json``, ``generation_config.json`` and the
tokenizer: our SentencePiece model as ``tokenizer.model`` with a ``LlamaTokenizer`` config, so
HF-style loaders (TensorRT-LLM's included) build it. irm's reversible whitespace transform
(``training/whitespace.py``) is not part of any HF tokenizer: clients apply it to prompts and
its inverse to completions; ``irm_export.json`` says so next to the file hashes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
from pathlib import Path

import sentencepiece as spm
from pyspark.sql import functions as F

from ledgers.lake import Lake, WriteResult
from schemas.tables import ExportRecord

COPIED = ("model.safetensors", "config.json", "generation_config.json", "tokenizer.model")


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def export_checkpoint(lake: Lake, checkpoint_id: str, run_id: str | None = None) -> tuple[ExportRecord, WriteResult]:
    ckpt = lake.read("checkpoints").where(F.col("checkpoint_id") == checkpoint_id).first()
    if ckpt is None:
        raise ValueError(f"checkpoint {checkpoint_id} is not registered (the checkpoint sensor registers new ones)")
    source = Path(ckpt["uri"])
    target = Path(lake.settings.uri) / "artifacts" / "exports" / checkpoint_id
    staging = target.with_name(f"_{target.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for name in COPIED:
        if (source / name).exists():
            shutil.copyfile(source / name, staging / name)
    sp = spm.SentencePieceProcessor(model_file=str(source / "tokenizer.model"))
    pieces = {"bos_token": sp.id_to_piece(sp.bos_id()), "eos_token": sp.id_to_piece(sp.eos_id()), "unk_token": sp.id_to_piece(sp.unk_id())}
    (staging / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "LlamaTokenizer", "add_bos_token": False, "add_eos_token": False, "legacy": True,
        "clean_up_tokenization_spaces": False, "model_max_length": json.loads((source / "config.json").read_text())["max_position_embeddings"],
        **pieces}, indent=1))
    (staging / "special_tokens_map.json").write_text(json.dumps(pieces, indent=1))
    files = {p.name: _sha(p) for p in sorted(staging.iterdir())}
    digest = hashlib.sha256("".join(f"{n}:{h}\n" for n, h in sorted(files.items())).encode()).hexdigest()
    (staging / "irm_export.json").write_text(json.dumps({
        "checkpoint_id": checkpoint_id, "sha256": digest, "files": files,
        "whitespace_transform": "apply training.whitespace.encode to prompts and decode to completions"}, indent=1))
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    record = ExportRecord(export_id=digest[:16], checkpoint_id=checkpoint_id, uri=str(target), sha256=digest, files=files,
                          created_at=dt.datetime.now(dt.timezone.utc))
    write = lake.merge(lake.frame("exports", [record]), "exports", keys=["export_id"], update=False, run_id=run_id)
    return record, write
