"""Cluster configs of the post-training runs.

SFT: a Megatron-Bridge 0.3.1 ``ConfigContainer`` for ``megatron.bridge.training.finetune``:
the same model section as pretraining, ``FinetuningDatasetConfig`` with ``PackedSequenceSpecs``
naming the packed ``.npy`` files this project writes (answer-only loss), and
``checkpoint.pretrained_checkpoint`` = the base Megatron checkpoint with ``finetune: true``.

DPO: Megatron-Bridge 0.3.1 has no preference objective, and NeMo-RL is not installable here
(PyPI holds only a 0.0.0 placeholder), so the production DPO config is NeMo-RL's ``dpo.yaml``
layout (``dpo.reference_policy_kl_penalty`` is β; ``BinaryPreferenceDataset`` JSONL with
prompt/chosen/rejected), run by ``examples/run_dpo.py`` inside the NeMo-RL container on the
HF export of the base checkpoint. Its field names follow NeMo-RL's published example config;
they cannot be checked against installed sources.
"""

from __future__ import annotations

import math
from pathlib import Path

import yaml

from schemas.launch import Stage, TrainingPlan
from training.recipe import MIXED_PRECISION, model_section


def sft_config(plan: TrainingPlan, stage: Stage, data: dict[str, str], pack_size: int, tokenizer_uri: str, base_megatron: str,
               output_dir: str, steps: int, lr: float, global_batch_size: int) -> dict:
    model = {**model_section(plan.model, stage), "seq_length": pack_size}
    return {
        "model": model,
        "train": {"train_iters": steps, "global_batch_size": global_batch_size, "micro_batch_size": 1,
                  "eval_interval": max(1, steps // 10), "eval_iters": 8},
        "optimizer": {"_target_": "megatron.bridge.training.config.OptimizerConfig", "optimizer": "adam", "lr": lr, "min_lr": lr / 10,
                      "weight_decay": 0.0, "adam_beta1": 0.9, "adam_beta2": 0.98, "clip_grad": 1.0, "bf16": True,
                      "use_distributed_optimizer": True},
        "scheduler": {"lr_decay_style": "cosine", "lr_warmup_iters": max(1, math.ceil(0.03 * steps)), "lr_decay_iters": steps},
        "ddp": {"use_distributed_optimizer": True, "overlap_grad_reduce": True, "grad_reduce_in_fp32": True},
        "dataset": {"_target_": "megatron.bridge.training.config.FinetuningDatasetConfig", "dataset_root": str(Path(data["train"]).parent),
                    "seq_length": pack_size, "seed": plan.seed, "dataloader_type": "batch",
                    "packed_sequence_specs": {"_target_": "megatron.bridge.data.datasets.packed_sequence.PackedSequenceSpecs",
                                              "packed_sequence_size": pack_size, "packed_train_data_path": data["train"],
                                              "packed_val_data_path": data["val"], "packed_metadata_path": data["metadata"],
                                              "pad_cu_seqlens": False},
                    "dataset_kwargs": {"answer_only_loss": True}, "do_validation": True, "do_test": False},
        "tokenizer": {"tokenizer_type": "SentencePieceTokenizer", "tokenizer_model": tokenizer_uri},
        "checkpoint": {"pretrained_checkpoint": base_megatron, "finetune": True, "save": f"{output_dir}/checkpoints",
                       "load": f"{output_dir}/checkpoints", "save_interval": max(1, steps // 4), "ckpt_format": "torch_dist"},
        "logger": {"log_interval": 10, "tensorboard_dir": f"{output_dir}/tb"},
        "rng": {"seed": plan.seed},
        "mixed_precision": MIXED_PRECISION["none"],
    }


def dpo_config(base_hf: str, tokenizer_dir: str, data: dict[str, str], beta: float, steps: int, lr: float, global_batch_size: int,
               max_length: int, output_dir: str, nodes: int, gpus_per_node: int, seed: int) -> dict:
    return {
        "dpo": {"max_num_epochs": 1, "max_num_steps": steps, "val_period": max(1, steps // 10), "val_batches": 8,
                "val_global_batch_size": global_batch_size, "val_micro_batch_size": 1, "val_at_start": True, "seed": seed,
                "reference_policy_kl_penalty": beta, "preference_average_log_probs": False, "sft_average_log_probs": False,
                "preference_loss_weight": 1, "sft_loss_weight": 0},
        "checkpointing": {"enabled": True, "checkpoint_dir": f"{output_dir}/checkpoints", "metric_name": "val:validation-default_loss",
                          "higher_is_better": False, "keep_top_k": 3, "save_period": max(1, steps // 4)},
        "policy": {"model_name": base_hf, "tokenizer": {"name": tokenizer_dir}, "train_global_batch_size": global_batch_size,
                   "train_micro_batch_size": 1, "max_total_sequence_length": max_length, "precision": "bfloat16",
                   "max_grad_norm": 1.0,
                   "optimizer": {"name": "torch.optim.AdamW", "kwargs": {"lr": lr, "weight_decay": 0.0, "betas": [0.9, 0.98], "eps": 1e-8,
                                                                         "foreach": False, "fused": False}}},
        "data": {"max_input_seq_length": max_length, "shuffle": True,
                 "train": {"data_path": data["train"]}, "validation": {"data_path": data["val"]},
                 "default": {"dataset_name": "BinaryPreferenceDataset", "prompt_key": "prompt", "chosen_key": "chosen",
                             "rejected_key": "rejected"}},
        "logger": {"log_dir": f"{output_dir}/logs", "tensorboard_enabled": True, "wandb_enabled": False},
        "cluster": {"gpus_per_node": gpus_per_node, "num_nodes": nodes},
    }


def write_yaml(path: Path, config: dict, header: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + yaml.safe_dump(config, sort_keys=False, width=120))
    return path
