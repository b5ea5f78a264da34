"""Typed configuration of the leak-sealed train/val/test splits."""

from __future__ import annotations

from pydantic import BaseModel, Field, model_validator

SPLITS = ("train", "val", "test")


class SplitConfig(BaseModel):
    """One set of ratios for every bucket: a family (near-duplicate cluster and repository, joined)
    can span buckets, and it must land in one split in all of them, so ratios cannot differ per
    bucket. Each bucket still gets the ratios in expectation; the realized ones are reported."""

    ratios: dict[str, float] = Field(default_factory=lambda: {"train": 0.96, "val": 0.02, "test": 0.02})
    seed: str = Field("irm-splits-v1", description="salt of the family hash; change it to draw a new, equally sealed split")

    @model_validator(mode="after")
    def _valid_ratios(self) -> "SplitConfig":
        if set(self.ratios) != set(SPLITS):
            raise ValueError(f"splits.ratios must name exactly {list(SPLITS)}, got {sorted(self.ratios)}")
        if any(r < 0 for r in self.ratios.values()) or abs(sum(self.ratios.values()) - 1.0) > 1e-9:
            raise ValueError(f"splits.ratios must be non-negative and sum to 1, got {self.ratios}")
        return self
