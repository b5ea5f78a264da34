"""Typed configuration of a pretraining plan: cluster shape, parallelism, optimizer, curriculum."""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import BaseModel, Field, model_validator

from schemas.model import ModelConfig


class Parallelism(BaseModel):
    tensor: int = Field(1, ge=1)
    pipeline: int = Field(1, ge=1)
    context: int = Field(1, ge=1)


class Stage(BaseModel):
    """One stage of the context curriculum. Tokens per step are equal across stages, so one
    cosine schedule counts iterations straight through both."""

    name: str
    seq_length: int = Field(ge=1)
    token_share: float = Field(gt=0, le=1, description="share of the plan's tokens trained in this stage")
    global_batch_size: int = Field(ge=1, description="sequences per optimizer step")
    micro_batch_size: int = Field(1, ge=1)
    parallelism: Parallelism
    rope_scaling_factor: Optional[float] = Field(None, description="RoPE frequency scaling for a context beyond the trained one")
    recompute: bool = Field(True, description="full activation recomputation (long sequences need it)")


class TrainingPlan(BaseModel):
    model: ModelConfig = Field(default_factory=ModelConfig)
    total_tokens: float = Field(100e9, gt=0)
    nodes: int = Field(5, ge=1)
    gpus_per_node: int = Field(4, ge=1)
    gpu: str = "H200"
    lr: float = 3e-4
    min_lr: float = 3e-5
    warmup_fraction: float = Field(0.025, ge=0.02, le=0.03, description="2-3% of all steps")
    weight_decay: float = 0.1
    adam_beta1: float = 0.9
    adam_beta2: float = 0.95
    adam_eps: float = 1e-8
    clip_grad: float = 1.0
    fp8: Literal["delayed", "current", "none"] = Field("current", description="FP8 recipe on top of bf16 (Transformer Engine)")
    seed: int = 1234
    save_interval: int = 1000
    eval_interval: int = 1000
    stages: list[Stage] = Field(default_factory=lambda: [
        Stage(name="A-128k", seq_length=131_072, token_share=0.65, global_batch_size=40,
              parallelism=Parallelism(tensor=1, pipeline=1, context=2)),
        Stage(name="B-512k", seq_length=524_288, token_share=0.35, global_batch_size=10,
              parallelism=Parallelism(tensor=1, pipeline=1, context=4), rope_scaling_factor=4.0),
    ])

    @property
    def world_size(self) -> int:
        return self.nodes * self.gpus_per_node

    def data_parallel(self, stage: Stage) -> int:
        p = stage.parallelism
        return self.world_size // (p.tensor * p.pipeline * p.context)

    @model_validator(mode="after")
    def _fits(self) -> "TrainingPlan":
        problems = []
        if abs(sum(s.token_share for s in self.stages) - 1.0) > 1e-9:
            problems.append(f"stages' token_share must sum to 1, got {[s.token_share for s in self.stages]}")
        steps = {s.global_batch_size * s.seq_length for s in self.stages}
        if len(steps) > 1:
            problems.append(f"tokens per step differ between stages {sorted(steps)}: set global_batch_size so that "
                            "global_batch_size × seq_length is equal, or the schedule's iterations stop meaning tokens")
        m = self.model
        for s in self.stages:
            p, where = s.parallelism, f"stage {s.name}"
            model_parallel = p.tensor * p.pipeline * p.context
            if self.world_size % model_parallel:
                problems.append(f"{where}: tensor×pipeline×context = {model_parallel} does not divide {self.world_size} GPUs")
                continue
            dp = self.world_size // model_parallel
            if m.num_attention_heads % p.tensor or m.num_query_groups % p.tensor:
                problems.append(f"{where}: tensor={p.tensor} must divide num_attention_heads={m.num_attention_heads} and num_query_groups={m.num_query_groups}")
            if m.num_layers % p.pipeline:
                problems.append(f"{where}: pipeline={p.pipeline} does not divide num_layers={m.num_layers}")
            if s.seq_length % (2 * p.context):
                problems.append(f"{where}: seq_length={s.seq_length} must be divisible by 2×context={2 * p.context} (load-balanced context parallelism)")
            if s.global_batch_size % (s.micro_batch_size * dp):
                problems.append(f"{where}: global_batch_size={s.global_batch_size} is not a multiple of micro_batch_size×data_parallel={s.micro_batch_size * dp}")
        if problems:
            raise ValueError("training plan does not fit: " + "; ".join(problems))
        return self


class LocalModel(BaseModel):
    """A small model of the irm-2B family (RMSNorm, SwiGLU, RoPE, GQA) for the CPU trainer."""

    num_layers: int = 2
    hidden_size: int = 64
    ffn_hidden_size: int = 176
    num_attention_heads: int = 4
    num_query_groups: int = 2
    rotary_base: int = 10_000
    tie_embeddings: bool = True


class LocalTrainConfig(BaseModel):
    """What the embedded default trains: bounded steps on the manifest's train shards."""

    run_id: str
    manifest_id: str
    train_shards: list[str] = Field(description="Megatron shard prefixes (uri without .bin/.idx)")
    train_weights: list[float]
    val_shards: list[str] = Field(default_factory=list)
    tokenizer_uri: str
    vocab_size: int
    eod: int
    out_dir: str = Field(description="the run's folder: checkpoints/, loss.jsonl, metrics.json")
    model: LocalModel = Field(default_factory=LocalModel)
    context: int = Field(128, ge=8, description="tokens per sample: the manifest's seq_len (one packed sequence is one sample)")
    batch_size: int = Field(8, ge=1)
    steps: int = Field(40, ge=1)
    save_every: int = Field(20, ge=1)
    lr: float = 3e-3
    min_lr: float = 3e-4
    warmup_steps: int = 4
    weight_decay: float = 0.1
    seed: int = 1234

    @model_validator(mode="after")
    def _weights(self) -> "LocalTrainConfig":
        if len(self.train_shards) != len(self.train_weights) or not self.train_shards:
            raise ValueError("train_shards and train_weights must be non-empty and of equal length: is the manifest's train split empty?")
        return self


class FinetuneConfig(BaseModel):
    """A post-training run of the CPU trainer from a pretraining checkpoint: SFT on packed
    examples (loss on the answers), or DPO on preference pairs against a frozen reference."""

    run_id: str
    objective: Literal["sft", "dpo"]
    dataset_id: str = Field(description="the SFT dataset or DPO pair set id (the run's manifest_id)")
    base_checkpoint: str = Field(description="HF folder of the checkpoint training starts from (and DPO's reference)")
    base_checkpoint_id: str
    train_data: str = Field(description="SFT: Megatron-Bridge packed .npy; DPO: JSONL of tokenized pairs")
    tokenizer_uri: str
    eod: int
    out_dir: str
    steps: int = Field(8, ge=1)
    batch_size: int = Field(4, ge=1)
    save_every: int = Field(8, ge=1)
    lr: float = Field(1e-3, gt=0)
    beta: float = Field(0.1, gt=0, description="DPO temperature: how far the policy may move from the reference")
    seed: int = 1234

    @property
    def manifest_id(self) -> str:
        return self.dataset_id


class PostTrainingPlan(BaseModel):
    """SFT / DPO knobs: the CPU run's (steps, batch, lr) and the cluster config's."""

    pack_size: int = Field(512, ge=16, description="tokens per packed SFT sequence (and DPO's max sequence length)")
    val_share: float = Field(0.2, ge=0.0, lt=1.0, description="share of tasks held out (all samples of a task on one side)")
    seed: int = 1234
    steps: int = Field(8, ge=1)
    batch_size: int = Field(4, ge=1)
    save_every: int = Field(8, ge=1)
    lr: float = Field(1e-3, gt=0)
    beta: float = Field(0.1, gt=0, description="DPO β (NeMo-RL: dpo.reference_policy_kl_penalty)")
    cluster_steps: int = Field(2000, ge=1)
    cluster_lr: float = Field(5e-6, gt=0)
    cluster_global_batch_size: int = Field(128, ge=1)
    nemo_rl_dpo_script: str = Field("/opt/nemo-rl/examples/run_dpo.py", description="NeMo-RL's DPO entrypoint inside its container")
