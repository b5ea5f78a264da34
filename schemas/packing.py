"""Typed configuration of tokenize-and-pack into Megatron shards, one manifest per curriculum stage."""

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
    include_synthetic: bool = Field(True, description="verified distilled samples (distilled_sft) as the synthetic train bucket")
    long_share: float = Field(0.0, ge=0.0, le=0.5, description="long-context stage: share of tokens in long documents "
                              "(native, or a whole repository/near-duplicate family joined into one); 0 for stage A, 0.2-0.3 for stage B")
    long_min_tokens: Optional[int] = Field(None, ge=2, description="a document this long counts as long (stage A's seq_len)")

    @model_validator(mode="after")
    def _valid(self) -> "PackConfig":
        if self.max_shard_tokens < self.seq_len:
            raise ValueError(f"packing.max_shard_tokens ({self.max_shard_tokens}) must be at least packing.seq_len "
                             f"({self.seq_len}): a sequence is never split across shards")
        if self.long_share and (self.long_min_tokens is None or self.long_min_tokens >= self.seq_len):
            raise ValueError(f"packing.long_share={self.long_share} needs packing.long_min_tokens below packing.seq_len "
                             f"({self.seq_len}): set it to the previous stage's seq_len")
        if abs(sum(self.target_mix.values()) - 1.0) > 1e-9:
            raise ValueError(f"packing.target_mix must sum to 1, got {self.target_mix}")
        return self
