"""Typed configuration of exact and near-duplicate removal."""

from __future__ import annotations

import hashlib
import json
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


def recall_bands_rows(threshold: float, num_perm: int, min_probability: float) -> tuple[int, int]:
    """The (bands, rows) that makes a pair at exactly ``threshold`` a candidate with probability
    at least ``min_probability``, with as many rows per band as that allows (fewest false
    candidates: each one costs an exact Jaccard check, never a wrong merge). None reaching it is a
    configuration error, named with the fix."""
    best = None
    for rows in range(1, num_perm + 1):
        bands = num_perm // rows
        if float(_probability_collide(np.array([threshold]), bands, rows)[0]) >= min_probability:
            best = (bands, rows)
    if best is None:
        raise ValueError(f"minhash: no bands x rows within num_perm={num_perm} reaches candidate probability "
                         f"{min_probability} at threshold {threshold}; raise num_perm or lower min_candidate_probability")
    return best


def candidate_probability(jaccard: float, bands: int, rows: int) -> float:
    """Probability that a pair with this Jaccard shares at least one LSH band: 1 - (1 - J^r)^b."""
    return float(_probability_collide(np.array([jaccard]), bands, rows)[0])


class MinHashConfig(BaseModel):
    """MinHash-LSH near-dedup, recall first: LSH only proposes candidates, and every candidate pair
    is confirmed by the exact Jaccard of the two documents' shingle sets. ``bands``/``rows`` are
    derived from ``threshold`` and ``min_candidate_probability`` unless set."""

    ngram: int = Field(5, ge=1, description="word n-gram shingle size")
    num_perm: int = Field(128, ge=8, le=1024, description="MinHash permutations")
    threshold: float = Field(0.8, gt=0.0, lt=1.0, description="Jaccard similarity that makes two documents duplicates")
    seed: int = Field(1, description="seed of the permutation coefficients; fixed so reruns agree")
    min_candidate_probability: float = Field(
        0.95, gt=0.0, lt=1.0, description="LSH recall at the threshold: chance that a pair at J = threshold becomes a candidate")
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
        self.bands_rows  # fails fast when no banding reaches min_candidate_probability
        return self

    @cached_property
    def bands_rows(self) -> tuple[int, int]:
        if self.bands_override:
            return self.bands_override, self.rows_override  # type: ignore[return-value]
        return recall_bands_rows(self.threshold, self.num_perm, self.min_candidate_probability)

    @property
    def config_hash(self) -> str:
        """Hash of what decides sketches and edges: stored ones are reused only under the same hash."""
        bands, rows = self.bands_rows
        key = json.dumps([self.ngram, self.num_perm, self.seed, bands, rows, self.threshold])
        return hashlib.sha256(key.encode()).hexdigest()[:16]

    @property
    def candidate_probability_at_threshold(self) -> float:
        """The derived LSH recall at ``threshold`` (>= min_candidate_probability unless overridden)."""
        return candidate_probability(self.threshold, *self.bands_rows)
