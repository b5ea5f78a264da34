"""Typed configuration of a TensorRT-LLM build spec (LLM-API options)."""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import BaseModel, Field


class BuildSpecConfig(BaseModel):
    max_batch_size: int = Field(64, ge=1)
    max_num_tokens: int = Field(8192, ge=1, description="token budget of one scheduler iteration (all requests)")
    max_seq_len: Optional[int] = Field(None, description="prompt + generation; the model's context when unset")
    tensor_parallel_size: int = Field(1, ge=1)
    kv_cache_dtype: Literal["fp8", "int8", "auto"] = "fp8"
    kv_free_gpu_memory_fraction: float = Field(0.9, gt=0, le=1)
    kv_tokens_per_block: int = Field(32, ge=1)
    kv_enable_block_reuse: bool = True
    weights: Literal["fp8", "bf16"] = Field("fp8", description="fp8: serve a ModelOpt FP8-quantized checkpoint of the export")
    draft_model: Optional[str] = Field(None, description="an exported draft checkpoint folder for draft/target speculative decoding")
    max_draft_len: int = Field(4, ge=1)
