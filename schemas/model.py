"""The irm-2B model config, with exact parameter and training-FLOP arithmetic.

The seed's shape (30 layers, d_model 3072, ffn 12288, 24 heads in 6 KV groups, ~150k vocabulary)
is kept as ``SEED_SHAPE`` and reports what it really is (about 5B parameters); ``IRM_2B`` is a
shape of the same family that is 2B. Counts are exact for the architecture: pre-norm decoder,
RMSNorm (a weight, no bias), grouped-query attention without biases, SwiGLU MLP (gate, up,
down), RoPE (no parameters), a final RMSNorm, input embedding and (unless tied) an output layer.
"""

from __future__ import annotations

from pydantic import BaseModel, Field, model_validator

GIGA = 1e9


class ModelConfig(BaseModel):
    name: str = "irm-2b"
    num_layers: int = Field(28, ge=1)
    hidden_size: int = Field(2304, ge=1, description="d_model")
    ffn_hidden_size: int = Field(6144, ge=1, description="SwiGLU inner width")
    num_attention_heads: int = Field(18, ge=1)
    num_query_groups: int = Field(6, ge=1, description="KV heads (GQA groups)")
    vocab_size: int = Field(150_000, ge=1, description="tokenizer pieces before padding")
    make_vocab_size_divisible_by: int = Field(128, ge=1)
    share_embeddings_and_output_weights: bool = True
    rotary_base: int = 500_000
    seq_length: int = Field(131_072, ge=1, description="stage A context")

    @model_validator(mode="after")
    def _shape(self) -> "ModelConfig":
        problems = []
        if self.hidden_size % self.num_attention_heads:
            problems.append(f"num_attention_heads={self.num_attention_heads} does not divide hidden_size={self.hidden_size}")
        if self.num_attention_heads % self.num_query_groups:
            problems.append(f"num_query_groups={self.num_query_groups} does not divide num_attention_heads={self.num_attention_heads}")
        if self.hidden_size % self.num_attention_heads == 0 and (self.hidden_size // self.num_attention_heads) % 2:
            problems.append(f"head dimension {self.hidden_size // self.num_attention_heads} is odd; RoPE rotates pairs of dimensions")
        if problems:
            raise ValueError("impossible model shape: " + "; ".join(problems))
        return self

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_attention_heads

    @property
    def padded_vocab_size(self) -> int:
        m = self.make_vocab_size_divisible_by
        return -(-self.vocab_size // m) * m

    def parameters(self) -> dict[str, int]:
        d, kv = self.hidden_size, self.num_query_groups * self.head_dim
        attention = d * d + 2 * d * kv + d * d          # Q, K, V, O
        mlp = 3 * d * self.ffn_hidden_size              # gate, up, down
        per_layer = attention + mlp + 2 * d             # two RMSNorm weights
        embedding = self.padded_vocab_size * d
        output = 0 if self.share_embeddings_and_output_weights else embedding
        layers = self.num_layers * per_layer
        return {"attention_per_layer": attention, "mlp_per_layer": mlp, "per_layer": per_layer,
                "layers": layers, "final_norm": d, "embedding": embedding, "output_layer": output,
                "non_embedding": layers + d, "total": layers + d + embedding + output}

    def forward_flops_per_token(self, seq_len: int) -> float:
        """Matmul FLOPs of one token's forward pass at context ``seq_len``: 2 per weight in a
        matmul (layers and output projection), plus causal attention (QKᵀ and AV over on
        average ``seq_len / 2`` earlier positions, 2 FLOPs per multiply-add)."""
        p = self.parameters()
        matmul_weights = p["layers"] - self.num_layers * 2 * self.hidden_size + self.padded_vocab_size * self.hidden_size
        attention = 2 * 2 * self.num_layers * self.num_attention_heads * self.head_dim * (seq_len / 2)
        return 2 * matmul_weights + attention

    def training_flops(self, tokens: float, seq_len: int) -> float:
        """Forward + backward (3× forward), no activation recomputation."""
        return 3 * self.forward_flops_per_token(seq_len) * tokens

    def summary(self) -> dict[str, float]:
        p = self.parameters()
        return {"parameters_B": round(p["total"] / GIGA, 3), "non_embedding_B": round(p["non_embedding"] / GIGA, 3),
                "embedding_B": round((p["embedding"] + p["output_layer"]) / GIGA, 3),
                "forward_GFLOPs_per_token_at_seq": round(self.forward_flops_per_token(self.seq_length) / GIGA, 2)}


SEED_SHAPE = ModelConfig(name="irm-2b-as-stated", num_layers=30, hidden_size=3072, ffn_hidden_size=12_288,
                         num_attention_heads=24, num_query_groups=6, share_embeddings_and_output_weights=False)
IRM_2B = ModelConfig()
