"""A training plan + manifest → Megatron-Bridge pretraining configs, one YAML per curriculum stage.

Each file is a ``ConfigContainer`` written section by section with the field names of
Megatron-Bridge 0.3.1 (``megatron.bridge.training.config``, ``megatron.bridge.models.gpt_provider``)
and the megatron-core configs they extend; ``_target_`` entries follow Megatron-Bridge's
instantiate convention. Stage B loads stage A's checkpoint and continues the same cosine
schedule, so the two files are one run in two stages.

The dataset section keeps the packing: shards hold sequences of exactly ``seq_length`` tokens
and ``add_extra_token_to_sequence=False`` makes each GPTDataset sample one packed sequence;
positions reset per document, EOD/padding inputs carry no loss, and no dense attention mask is
built (``create_attention_mask=False``): ``training.bridge_pretrain`` serves the samples with
THD ``cu_seqlens`` so attention is block-diagonal (see ``training.packed_samples``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import yaml

from schemas.launch import Stage, TrainingPlan
from schemas.model import ModelConfig

MIXED_PRECISION = {"delayed": "bf16_with_fp8_delayed_scaling_mixed", "current": "bf16_with_fp8_current_scaling_mixed",
                   "none": "bf16_mixed"}
SPLIT_ORDER = ("train", "val", "test")


def blend(shards: list[dict], split: str, target_mix: dict[str, float]) -> list | None:
    """``[paths, weights]`` for one split: each domain gets its target share, spread over its
    shards by tokens. Domains with no shards drop out and the rest are renormalized by Megatron."""
    rows = [s for s in shards if s["split"] == split]
    if not rows:
        return None
    per_domain: dict[str, int] = {}
    for s in rows:
        d = s["bucket"].split("/", 1)[0]
        per_domain[d] = per_domain.get(d, 0) + s["tokens"]
    rows.sort(key=lambda s: s["uri"])
    weights = [target_mix.get(s["bucket"].split("/", 1)[0], 0.0) * s["tokens"] / per_domain[s["bucket"].split("/", 1)[0]] for s in rows]
    if not any(weights):  # no domain of the mix present: weight by tokens
        weights = [float(s["tokens"]) for s in rows]
    return [[s["uri"] for s in rows], [round(w, 8) for w in weights]]


@dataclass(frozen=True)
class StageIterations:
    first: int
    last: int


def iterations(plan: TrainingPlan) -> dict[str, StageIterations]:
    tokens_per_step = plan.stages[0].global_batch_size * plan.stages[0].seq_length
    out, start = {}, 0
    for s in plan.stages:
        n = math.ceil(plan.total_tokens * s.token_share / tokens_per_step)
        out[s.name] = StageIterations(start, start + n)
        start += n
    return out


def model_section(m: ModelConfig, stage: Stage) -> dict:
    p = stage.parallelism
    section = {
        "_target_": "megatron.bridge.models.gpt_provider.GPTModelProvider",
        "num_layers": m.num_layers, "hidden_size": m.hidden_size, "ffn_hidden_size": m.ffn_hidden_size,
        "num_attention_heads": m.num_attention_heads, "num_query_groups": m.num_query_groups, "kv_channels": m.head_dim,
        "normalization": "RMSNorm", "layernorm_epsilon": 1e-5,
        "gated_linear_unit": True, "activation_func": {"_target_": "torch.nn.functional.silu", "_call_": False},
        "add_bias_linear": False, "add_qkv_bias": False,
        "position_embedding_type": "rope", "rotary_base": m.rotary_base, "rotary_percent": 1.0,
        "vocab_size": m.vocab_size, "make_vocab_size_divisible_by": m.make_vocab_size_divisible_by,
        "share_embeddings_and_output_weights": m.share_embeddings_and_output_weights,
        "seq_length": stage.seq_length, "attention_dropout": 0.0, "hidden_dropout": 0.0,
        "tensor_model_parallel_size": p.tensor, "pipeline_model_parallel_size": p.pipeline,
        "context_parallel_size": p.context, "sequence_parallel": p.tensor > 1,
        "bf16": True, "params_dtype": {"_target_": "torch.bfloat16", "_call_": False},
    }
    if stage.rope_scaling_factor:
        section.update({"rope_scaling": True, "rope_scaling_factor": stage.rope_scaling_factor})
    if stage.recompute:
        section.update({"recompute_granularity": "full", "recompute_method": "uniform", "recompute_num_layers": 1})
    return section


def stage_config(plan: TrainingPlan, stage: Stage, shards: list[dict], tokenizer_uri: str, target_mix: dict[str, float],
                 output_dir: str, previous: str | None) -> dict:
    its = iterations(plan)
    total = its[plan.stages[-1].name].last
    checkpoints = f"{output_dir}/checkpoints"
    return {
        "model": model_section(plan.model, stage),
        "train": {"train_iters": its[stage.name].last, "global_batch_size": stage.global_batch_size,
                  "micro_batch_size": stage.micro_batch_size, "eval_interval": plan.eval_interval, "eval_iters": 32,
                  "manual_gc": True, "manual_gc_interval": 100},
        "optimizer": {"_target_": "megatron.bridge.training.config.OptimizerConfig", "optimizer": "adam",
                      "lr": plan.lr, "min_lr": plan.min_lr, "weight_decay": plan.weight_decay,
                      "adam_beta1": plan.adam_beta1, "adam_beta2": plan.adam_beta2, "adam_eps": plan.adam_eps,
                      "clip_grad": plan.clip_grad, "bf16": True, "use_distributed_optimizer": True},
        "scheduler": {"lr_decay_style": "cosine", "lr_warmup_iters": math.ceil(plan.warmup_fraction * total),
                      "lr_decay_iters": total, "start_weight_decay": plan.weight_decay, "end_weight_decay": plan.weight_decay,
                      "weight_decay_incr_style": "constant"},
        "ddp": {"use_distributed_optimizer": True, "overlap_grad_reduce": True, "overlap_param_gather": True,
                "grad_reduce_in_fp32": True, "check_for_nan_in_grad": True},
        "dataset": {"_target_": "megatron.bridge.training.config.GPTDatasetConfig",
                    "seq_length": stage.seq_length, "random_seed": plan.seed,
                    "blend_per_split": [blend(shards, split, target_mix) for split in SPLIT_ORDER], "split": None,
                    "add_extra_token_to_sequence": False, "reset_position_ids": True, "reset_attention_mask": False,
                    "eod_mask_loss": True, "create_attention_mask": False,
                    "mmap_bin_files": True, "num_dataset_builder_threads": 1, "dataloader_type": "single",
                    "path_to_cache": f"{output_dir}/index_cache"},
        "tokenizer": {"tokenizer_type": "SentencePieceTokenizer", "tokenizer_model": tokenizer_uri},
        "checkpoint": {"save": checkpoints, "load": checkpoints,
                       "save_interval": plan.save_interval, "ckpt_format": "torch_dist", "fully_parallel_save": True,
                       "async_save": True},
        "logger": {"log_interval": 10, "tensorboard_dir": f"{output_dir}/tb", "log_throughput": True},
        "rng": {"seed": plan.seed},
        "mixed_precision": MIXED_PRECISION[plan.fp8],
    }


def header(plan: TrainingPlan, stage: Stage, manifest_id: str, seq_len: int, previous: str | None) -> str:
    its = iterations(plan)[stage.name]
    tokens_per_step = stage.global_batch_size * stage.seq_length
    m = plan.model.summary()
    lines = [
        f"# Megatron-Bridge pretraining config: {plan.model.name}, stage {stage.name} (generated by irm; review, do not edit)",
        f"# model: {m['parameters_B']}B parameters ({m['non_embedding_B']}B non-embedding)",
        f"# manifest {manifest_id} (packed at {seq_len:,} tokens); iterations {its.first}..{its.last} of one cosine schedule; "
        f"{tokens_per_step:,} tokens/step; {plan.total_tokens * stage.token_share / 1e9:.1f}B tokens in this stage",
        f"# {plan.world_size}x {plan.gpu}: TP {stage.parallelism.tensor} x PP {stage.parallelism.pipeline} x "
        f"CP {stage.parallelism.context} x DP {plan.data_parallel(stage)}",
        f"# training FLOPs of this stage: {plan.model.training_flops(plan.total_tokens * stage.token_share, stage.seq_length):.3e}",
    ]
    if seq_len != stage.seq_length:
        lines.append(f"# NOT LAUNCHABLE: the manifest was packed at {seq_len:,} tokens and this stage trains {stage.seq_length:,}; "
                     f"pack this stage's manifest with packing.seq_len={stage.seq_length}")
    if previous:
        lines.append(f"# continues from {previous}: same checkpoint directory, iteration counter and schedule")
    return "\n".join(lines) + "\n"


class RecipeError(ValueError):
    pass


def write_recipe(plan: TrainingPlan, stage_manifests: dict[str, tuple[str, list[dict]]], tokenizer_uri: str,
                 target_mix: dict[str, float], out_dir: Path, output_dir: str, strict: bool = False) -> list[Path]:
    """One YAML per stage that has a manifest (``stage name → (manifest id, its shard rows)``),
    under ``out_dir``, in curriculum order. Each stage reads its own manifest: a manifest packed
    at another length would break the one-sample-per-packed-sequence alignment, so ``strict``
    (a cluster launch) refuses it and otherwise the file says it is not launchable."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths, previous = [], None
    for stage in plan.stages:
        if stage.name not in stage_manifests:
            if strict:
                raise RecipeError(f"stage {stage.name} has no manifest: materialize manifests with packing.seq_len={stage.seq_length}"
                                  " (and long_share for a long-context stage) and pass it as that stage's manifest")
            continue
        manifest_id, shards = stage_manifests[stage.name]
        seq_len = shards[0].get("seq_len", stage.seq_length) if shards else stage.seq_length
        if strict and seq_len != stage.seq_length:
            raise RecipeError(f"stage {stage.name} trains {stage.seq_length} tokens per sample but manifest {manifest_id} was packed at "
                              f"{seq_len}: pack it with packing.seq_len={stage.seq_length}")
        path = out_dir / f"stage-{stage.name}.yaml"
        body = yaml.safe_dump(stage_config(plan, stage, shards, tokenizer_uri, target_mix, output_dir, previous), sort_keys=False, width=120)
        path.write_text(header(plan, stage, manifest_id, seq_len, previous) + body)
        paths.append(path)
        previous = path.name
    return paths
