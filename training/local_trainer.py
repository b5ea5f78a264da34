"""The embedded default's trainer: a small Llama-family model (transformers' implementation:
RMSNorm, SwiGLU, RoPE, GQA) trained on CPU for a bounded number of steps on Megatron shards.
Each packed sequence is one sample exactly as Megatron's GPTDataset draws it
(``training.packed_samples``): positions restart per document, attention never crosses a
document boundary, and padding and EOD inputs carry no loss.

Run as ``python -m training.local_trainer CONFIG.json`` (NeMo-Run's LocalExecutor does). It
writes HF-format checkpoints (safetensors, config, the tokenizer model) under
``<out_dir>/checkpoints/step-NNNNNN``, each moved into place in one rename so a watcher never
sees half of one, its loss curve as ``loss.jsonl`` and a final ``metrics.json``.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch
from transformers import LlamaConfig, LlamaForCausalLM

from schemas.launch import LocalTrainConfig
from training.megatron_shards import read_sequences
from training.packed_samples import block_causal_mask, gpt_sample

CHECKPOINT_MARKER = "irm_checkpoint.json"


def packed_sequences(shards: list[str], weights: list[float]) -> tuple[list[np.ndarray], np.ndarray]:
    """Every packed sequence of the shards (each one training sample, as in Megatron's
    GPTDataset) and its sampling probability (a shard's blend weight shared by its sequences)."""
    out, probs = [], []
    for prefix, weight in zip(shards, weights):
        mine = read_sequences(prefix)
        out += mine
        probs += [weight / len(mine)] * len(mine) if mine else []
    if not out:
        raise ValueError(f"the shards {shards} hold no sequence")
    p = np.asarray(probs, dtype=np.float64)
    return out, p / p.sum()


def batch_of(sequences: list[np.ndarray], eod: int) -> dict[str, torch.Tensor]:
    """Stacked ``gpt_sample`` fields of the sequences."""
    samples = [gpt_sample(s, eod) for s in sequences]
    return {k: torch.as_tensor(np.stack([x[k] for x in samples])) for k in samples[0]}


def masked_loss(model: LlamaForCausalLM, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int]:
    """Mean next-token loss over the unmasked positions, each document attending only to itself
    (4D block-diagonal causal mask) with positions restarting per document; and how many
    positions counted."""
    logits = model(input_ids=batch["tokens"], position_ids=batch["position_ids"],
                   attention_mask=block_causal_mask(batch["segment_ids"], model.dtype)).logits
    losses = torch.nn.functional.cross_entropy(logits.flatten(0, 1).float(), batch["labels"].flatten(), reduction="none")
    mask = batch["loss_mask"].flatten()
    counted = int(mask.sum())
    return (losses * mask).sum() / max(1, counted), counted


def build_model(cfg: LocalTrainConfig) -> LlamaForCausalLM:
    m = cfg.model
    return LlamaForCausalLM(LlamaConfig(
        vocab_size=cfg.vocab_size, hidden_size=m.hidden_size, intermediate_size=m.ffn_hidden_size,
        num_hidden_layers=m.num_layers, num_attention_heads=m.num_attention_heads, num_key_value_heads=m.num_query_groups,
        hidden_act="silu", max_position_embeddings=cfg.context, rms_norm_eps=1e-5, rope_theta=m.rotary_base,
        tie_word_embeddings=m.tie_embeddings, eos_token_id=cfg.eod, bos_token_id=None, pad_token_id=None))


def lr_at(step: int, cfg: LocalTrainConfig) -> float:
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    progress = (step - cfg.warmup_steps) / max(1, cfg.steps - cfg.warmup_steps)
    return cfg.min_lr + 0.5 * (cfg.lr - cfg.min_lr) * (1 + math.cos(math.pi * min(1.0, progress)))


def save_checkpoint(model: LlamaForCausalLM, cfg: LocalTrainConfig, step: int, tokens_seen: int, loss: float) -> Path:
    final = Path(cfg.out_dir) / "checkpoints" / f"step-{step:06d}"
    staging = final.with_name(f"_{final.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    model.save_pretrained(staging, safe_serialization=True)
    shutil.copyfile(cfg.tokenizer_uri, staging / "tokenizer.model")
    weights = hashlib.sha256((staging / "model.safetensors").read_bytes()).hexdigest()
    (staging / CHECKPOINT_MARKER).write_text(json.dumps({
        "run_id": cfg.run_id, "manifest_id": cfg.manifest_id, "step": step, "tokens_seen": tokens_seen,
        "loss": loss, "sha256": weights, "base_checkpoint_id": getattr(cfg, "base_checkpoint_id", None)}, indent=1))
    if (final / CHECKPOINT_MARKER).exists():
        shutil.rmtree(staging)
        raise FileExistsError(f"{final} is a complete checkpoint already: a rerun writes under a new run id and never replaces one")
    shutil.rmtree(final, ignore_errors=True)
    staging.rename(final)
    return final


def train(cfg: LocalTrainConfig) -> dict:
    torch.manual_seed(cfg.seed)
    torch.use_deterministic_algorithms(True)
    rng = np.random.default_rng(cfg.seed)
    data, probs = packed_sequences(cfg.train_shards, cfg.train_weights)
    if len(data[0]) != cfg.context:
        raise ValueError(f"the shards hold {len(data[0])}-token sequences but the trainer's context is {cfg.context}: "
                         "the context must be the manifest's seq_len")
    model = build_model(cfg)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
                                  lr=cfg.lr, betas=(0.9, 0.95), eps=1e-8)
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    curve = (out / "loss.jsonl").open("w")
    started, tokens_seen, losses = time.monotonic(), 0, []
    model.train()
    for step in range(1, cfg.steps + 1):
        picks = rng.choice(len(data), size=cfg.batch_size, p=probs)
        batch = batch_of([data[i] for i in picks], cfg.eod)
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step - 1, cfg)
        loss, counted = masked_loss(model, batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        tokens_seen += counted
        losses.append(loss.item())
        curve.write(json.dumps({"step": step, "loss": round(losses[-1], 5), "lr": lr_at(step - 1, cfg), "tokens_seen": tokens_seen}) + "\n")
        curve.flush()
        if step % cfg.save_every == 0 or step == cfg.steps:
            save_checkpoint(model, cfg, step, tokens_seen, losses[-1])
    curve.close()
    metrics = {"steps": cfg.steps, "tokens_seen": tokens_seen, "first_loss": losses[0], "final_loss": losses[-1],
               "min_loss": min(losses), "seconds": round(time.monotonic() - started, 2),
               "parameters": sum(p.numel() for p in model.parameters())}
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1))
    return metrics


if __name__ == "__main__":
    print(json.dumps(train(LocalTrainConfig.model_validate_json(Path(sys.argv[1]).read_text()))))
