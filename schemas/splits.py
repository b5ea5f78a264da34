"""Typed configuration of the leak-sealed train/val/test splits."""

from __future__ import annotations

from pydantic import BaseModel, Field, model_validator

from schemas.dedup import MinHashConfig, optimal_bands_rows

FAMILY_MISS_WEIGHT = 0.9

SPLITS = ("train", "val", "test")


class SplitConfig(BaseModel):
    """One set of ratios for every bucket: a family (near-duplicate cluster and repository, joined)
    can span buckets, and it must land in one split in all of them, so ratios cannot differ per
    bucket. Each bucket still gets the ratios in expectation; the realized ones are reported."""

    ratios: dict[str, float] = Field(default_factory=lambda: {"train": 0.96, "val": 0.02, "test": 0.02})
    seed: str = Field("irm-splits-v1", description="salt of the family hash; change it to draw a new, equally sealed split")
    family_jaccard: float = Field(
        0.5, gt=0.0, lt=1.0,
        description="documents this similar (MinHash-estimated Jaccard of word 5-gram shingles) join one family, so "
                    "they share a split; looser than the dedup threshold, which already removed closer copies")
    family_num_perm: int = Field(256, ge=8, le=1024, description="MinHash permutations of the family signatures "
                                                                  "(more than dedup's: the estimate decides a seal)")
    family_max_bucket: int = Field(
        256, ge=2, description="LSH buckets up to this size are compared all pairs; larger ones (boilerplate) "
                               "link each member to the bucket's smallest document only")

    @model_validator(mode="after")
    def _valid_ratios(self) -> "SplitConfig":
        if set(self.ratios) != set(SPLITS):
            raise ValueError(f"splits.ratios must name exactly {list(SPLITS)}, got {sorted(self.ratios)}")
        if any(r < 0 for r in self.ratios.values()) or abs(sum(self.ratios.values()) - 1.0) > 1e-9:
            raise ValueError(f"splits.ratios must be non-negative and sum to 1, got {self.ratios}")
        return self

    def family_minhash(self, dedup: MinHashConfig | None = None) -> MinHashConfig:
        """The MinHash-LSH setting of near-duplicate families: dedup's shingles and seed, with
        bands and rows chosen for ``family_jaccard`` weighing a missed pair 9 to 1 against an extra
        candidate (a leak seal errs toward comparing more: candidates are confirmed on the
        signatures anyway). Fails when it is not looser than dedup's."""
        dedup = dedup or MinHashConfig()
        if self.family_jaccard >= dedup.threshold:
            raise ValueError(f"splits.family_jaccard={self.family_jaccard} must be below minhash.threshold={dedup.threshold}: "
                             "documents closer than the dedup threshold are already removed, so the family seal must reach further")
        bands, rows = optimal_bands_rows(self.family_jaccard, self.family_num_perm,
                                         fp_weight=1 - FAMILY_MISS_WEIGHT, fn_weight=FAMILY_MISS_WEIGHT)
        return MinHashConfig(ngram=dedup.ngram, num_perm=self.family_num_perm, threshold=self.family_jaccard, seed=dedup.seed,
                             bands_override=bands, rows_override=rows)
