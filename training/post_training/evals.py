"""Held-out evaluation of SFT and DPO checkpoints.

SFT: answer-only loss on the held-out packed examples. DPO: on held-out pairs, the DPO loss and
the pairwise win-rate of the tuned policy over its reference (the base checkpoint): the share of
pairs where the policy raises the chosen answer's log-likelihood relative to the rejected one
more than the reference does (implicit reward margin > 0).
"""

from __future__ import annotations

import datetime as dt
import math

from schemas.tables import CheckpointEval


def evaluate_post_training(ckpt: dict, dataset: dict, base_uri: str, beta: float, eod: int) -> CheckpointEval:
    import torch
    from transformers import LlamaForCausalLM

    from training.local_finetune import dpo_terms, load_pairs, sft_batch, sft_loss
    from training.post_training.sft_data import load_records

    policy = LlamaForCausalLM.from_pretrained(ckpt["uri"]).eval()
    files = {u.rsplit("/", 1)[-1]: u for u in dataset["uris"]}
    now = dt.datetime.now(dt.timezone.utc)
    with torch.no_grad():
        if dataset["kind"] == "sft":
            records = load_records(files["val.npy"])
            loss, counted = sft_loss(policy, sft_batch(records, eod))
            return CheckpointEval(checkpoint_id=ckpt["checkpoint_id"], split="val-answers", tokens=counted, loss=float(loss),
                                  perplexity=math.exp(float(loss)), evaluated_at=now, metrics={"examples": float(dataset["held_out"])})
        pairs = load_pairs(files["val.jsonl"])
        reference = LlamaForCausalLM.from_pretrained(base_uri).eval()
        loss, margin = dpo_terms(policy, reference, pairs, beta, eod)
    wins = float((margin > 0).float().mean())
    return CheckpointEval(checkpoint_id=ckpt["checkpoint_id"], split="heldout-pairs",
                          tokens=sum(len(p["chosen"]) + len(p["rejected"]) for p in pairs), loss=float(loss),
                          perplexity=math.exp(float(loss)), evaluated_at=now,
                          metrics={"win_rate_vs_reference": wins, "pairs": float(len(pairs)), "beta": beta,
                                   "mean_margin": float(margin.mean())})
