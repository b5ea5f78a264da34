"""The CPU trainer's post-training objectives, from a pretraining checkpoint (HF folder).

``sft``: packed examples (Megatron-Bridge's packed-sequence records); each example attends only
to itself with positions from 0, and the loss covers the answer tokens only. ``dpo``: the
policy starts as the checkpoint and a frozen copy is the reference; the loss is
``-log σ(β·[(log π(c) - log π_ref(c)) - (log π(r) - log π_ref(r))])`` over the response
tokens of each (chosen, rejected) pair. Run as ``python -m training.local_finetune CONFIG.json``;
checkpoints land where the checkpoint sensor looks, with the same completion marker.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from transformers import LlamaForCausalLM

from schemas.launch import FinetuneConfig
from training.local_trainer import save_checkpoint
from training.packed_samples import block_causal_mask
from training.post_training.sft_data import load_records


def sft_batch(records: list[dict], eod: int) -> dict[str, torch.Tensor]:
    """Pad packed records to one length; segment ids from ``seq_start_id``; labels shifted left."""
    width = max(len(r["input_ids"]) for r in records)
    tokens = np.full((len(records), width), eod, dtype=np.int64)
    mask = np.zeros((len(records), width), dtype=np.float32)
    segments = np.zeros((len(records), width), dtype=np.int64)
    positions = np.zeros((len(records), width), dtype=np.int64)
    for b, r in enumerate(records):
        n = len(r["input_ids"])
        tokens[b, :n] = r["input_ids"]
        mask[b, :n] = r["loss_mask"]
        bounds = list(r["seq_start_id"]) + [n]
        for k, (a, e) in enumerate(zip(bounds, bounds[1:])):
            segments[b, a:e] = k
            positions[b, a:e] = np.arange(e - a)
            mask[b, e - 1] = 0.0  # the last token of an example predicts nothing of it
        segments[b, n:] = len(bounds)
    labels = np.roll(tokens, -1, axis=1)
    return {k: torch.as_tensor(v) for k, v in
            {"tokens": tokens, "labels": labels, "loss_mask": mask, "segment_ids": segments, "position_ids": positions}.items()}


def sft_loss(model: LlamaForCausalLM, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, int]:
    logits = model(input_ids=batch["tokens"], position_ids=batch["position_ids"],
                   attention_mask=block_causal_mask(batch["segment_ids"], model.dtype)).logits
    losses = torch.nn.functional.cross_entropy(logits.flatten(0, 1).float(), batch["labels"].flatten(), reduction="none")
    mask = batch["loss_mask"].flatten()
    counted = int(mask.sum())
    return (losses * mask).sum() / max(1, counted), counted


def response_logprob(model: LlamaForCausalLM, prompts: list[list[int]], responses: list[list[int]], eod: int) -> torch.Tensor:
    """Sum of log-probabilities of each response given its prompt."""
    seqs = [p + r for p, r in zip(prompts, responses)]
    width = max(len(s) for s in seqs)
    tokens = torch.full((len(seqs), width), eod, dtype=torch.long)
    mask = torch.zeros((len(seqs), width - 1))
    for b, (p, s) in enumerate(zip(prompts, seqs)):
        tokens[b, :len(s)] = torch.tensor(s)
        mask[b, len(p) - 1:len(s) - 1] = 1.0
    logits = model(input_ids=tokens).logits[:, :-1].float()
    logp = torch.log_softmax(logits, -1).gather(-1, tokens[:, 1:, None]).squeeze(-1)
    return (logp * mask).sum(-1)


def dpo_terms(policy, reference, pairs: list[dict], beta: float, eod: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(mean DPO loss, per-pair margin of the policy's implicit reward: > 0 means it prefers the chosen side more than the reference does)."""
    prompts = [p["prompt"] for p in pairs]
    pc = response_logprob(policy, prompts, [p["chosen"] for p in pairs], eod)
    pr = response_logprob(policy, prompts, [p["rejected"] for p in pairs], eod)
    with torch.no_grad():
        rc = response_logprob(reference, prompts, [p["chosen"] for p in pairs], eod)
        rr = response_logprob(reference, prompts, [p["rejected"] for p in pairs], eod)
    margin = (pc - rc) - (pr - rr)
    return -torch.nn.functional.logsigmoid(beta * margin).mean(), margin.detach()


def load_pairs(path: str) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def finetune(cfg: FinetuneConfig) -> dict:
    torch.manual_seed(cfg.seed)
    torch.use_deterministic_algorithms(True)
    rng = np.random.default_rng(cfg.seed)
    policy = LlamaForCausalLM.from_pretrained(cfg.base_checkpoint)
    reference = LlamaForCausalLM.from_pretrained(cfg.base_checkpoint).eval() if cfg.objective == "dpo" else None
    data = load_records(cfg.train_data) if cfg.objective == "sft" else load_pairs(cfg.train_data)
    if not data:
        raise ValueError(f"{cfg.train_data} holds no {cfg.objective} examples")
    optimizer = torch.optim.AdamW(policy.parameters(), lr=cfg.lr, betas=(0.9, 0.95), weight_decay=0.0)
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    curve = (out / "loss.jsonl").open("w")
    started, tokens_seen, losses = time.monotonic(), 0, []
    policy.train()
    for step in range(1, cfg.steps + 1):
        picks = [data[i] for i in rng.choice(len(data), size=min(cfg.batch_size, len(data)), replace=False)]
        if cfg.objective == "sft":
            loss, counted = sft_loss(policy, sft_batch(picks, cfg.eod))
        else:
            loss, _ = dpo_terms(policy, reference, picks, cfg.beta, cfg.eod)
            counted = sum(len(p["chosen"]) + len(p["rejected"]) for p in picks)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(policy.parameters(), 1.0)
        optimizer.step()
        tokens_seen += counted
        losses.append(loss.item())
        curve.write(json.dumps({"step": step, "loss": round(losses[-1], 5), "lr": cfg.lr, "tokens_seen": tokens_seen}) + "\n")
        curve.flush()
        if step % cfg.save_every == 0 or step == cfg.steps:
            save_checkpoint(policy, cfg, step, tokens_seen, losses[-1])
    curve.close()
    metrics = {"steps": cfg.steps, "tokens_seen": tokens_seen, "first_loss": losses[0], "final_loss": losses[-1],
               "min_loss": min(losses), "seconds": round(time.monotonic() - started, 2)}
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1))
    return metrics


if __name__ == "__main__":
    print(json.dumps(finetune(FinetuneConfig.model_validate_json(Path(sys.argv[1]).read_text()))))
