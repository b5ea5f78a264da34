"""Typed configuration of tokenize-and-pack into Megatron shards."""

from __future__ import annotations

from typing import Optional

from pydantic import BaseModel, Field, model_validator

TARGET_MIX = {"code": 0.40, "math": 0.15, "text": 0.30, "synthetic": 0.15}
INT32_VOCAB = 65_500


class PackConfig(BaseModel):
    seq_len: int = Field(131_072, ge=8, description="tokens per packed sequence (stage A context); tests use small values")
    max_shard_tokens: int = Field(1 << 28, ge=8, description="upper bound of one shard's tokens (1 GiB of int32 by default)")
    tokenizer_id: Optional[str] = Field(None, description="a tokenizers.tokenizer_id; the newest one when unset")
    target_mix: dict[str, float] = Field(default_factory=lambda: dict(TARGET_MIX), description="share of train tokens per domain")

    @model_validator(mode="after")
    def _valid(self) -> "PackConfig":
        if self.max_shard_tokens < self.seq_len:
            raise ValueError(f"packing.max_shard_tokens ({self.max_shard_tokens}) must be at least packing.seq_len "
                             f"({self.seq_len}): a sequence is never split across shards")
        if abs(sum(self.target_mix.values()) - 1.0) > 1e-9:
            raise ValueError(f"packing.target_mix must sum to 1, got {self.target_mix}")
        return self
