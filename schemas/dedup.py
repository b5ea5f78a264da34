"""Typed configuration of exact and near-duplicate removal."""

from __future__ import annotations

from functools import cached_property

import numpy as np
from pydantic import BaseModel, Field, model_validator


def _probability_collide(s: np.ndarray, bands: int, rows: int) -> np.ndarray:
    return 1.0 - (1.0 - s**rows) ** bands


def optimal_bands_rows(threshold: float, num_perm: int, fp_weight: float = 0.5, fn_weight: float = 0.5) -> tuple[int, int]:
    """The (bands, rows) with bands*rows <= num_perm minimizing the weighted false-positive and
    false-negative areas of the LSH S-curve around ``threshold`` (the criterion datasketch uses)."""
    grid_lo, grid_hi = np.linspace(0.0, threshold, 201), np.linspace(threshold, 1.0, 201)
    best, best_err = (1, num_perm), float("inf")
    for bands in range(1, num_perm + 1):
        for rows in range(1, num_perm // bands + 1):
            fp = np.trapezoid(_probability_collide(grid_lo, bands, rows), grid_lo)
            fn = np.trapezoid(1.0 - _probability_collide(grid_hi, bands, rows), grid_hi)
            err = fp_weight * fp + fn_weight * fn
            if err < best_err:
                best, best_err = (bands, rows), err
    return best


class MinHashConfig(BaseModel):
    """MinHash-LSH near-dedup. ``bands``/``rows`` are derived from the threshold unless set."""

    ngram: int = Field(5, ge=1, description="word n-gram shingle size")
    num_perm: int = Field(128, ge=8, le=1024, description="MinHash permutations")
    threshold: float = Field(0.8, gt=0.0, lt=1.0, description="Jaccard similarity that makes two documents duplicates")
    seed: int = Field(1, description="seed of the permutation coefficients; fixed so reruns agree")
    bands_override: int | None = Field(None, ge=1, description="force the number of LSH bands")
    rows_override: int | None = Field(None, ge=1, description="force rows per band")
    max_cc_iterations: int = Field(40, ge=1, description="cap on large-star/small-star rounds")
    single_task_max_edges: int = Field(
        2_000_000, ge=0,
        description="confirmed edges up to this count are clustered by union-find in one Spark task; "
                    "more use the distributed large-star/small-star iteration",
    )

    @model_validator(mode="after")
    def _fits(self) -> "MinHashConfig":
        if (self.bands_override is None) != (self.rows_override is None):
            raise ValueError("minhash: set both bands_override and rows_override, or neither")
        if self.bands_override and self.bands_override * self.rows_override > self.num_perm:
            raise ValueError(f"minhash: bands_override*rows_override = {self.bands_override * self.rows_override} "
                             f"exceeds num_perm={self.num_perm}; lower one of them")
        return self

    @cached_property
    def bands_rows(self) -> tuple[int, int]:
        if self.bands_override:
            return self.bands_override, self.rows_override  # type: ignore[return-value]
        return optimal_bands_rows(self.threshold, self.num_perm)
