"""Typed configuration of decontamination against the benchmark n-gram hashes."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, model_validator


class DecontaminationConfig(BaseModel):
    """What counts as a leak. Commonness is measured on the benchmark side only: a benchmark item
    pasted into a hundred training documents is a hundred leaks, not boilerplate."""

    @model_validator(mode="before")
    @classmethod
    def _no_corpus_side_commonness(cls, data):
        if isinstance(data, dict) and "common_ngram_documents" in data:
            raise ValueError("decontamination.common_ngram_documents is not a setting: an n-gram in many training documents "
                             "is a widely copied benchmark item, which must be caught; only common_ngram_items "
                             "(n-grams shared by many benchmark items) marks boilerplate")
        return data

    mode: Literal["remove", "redact"] = Field(
        "remove", description="remove a contaminated document, or cut the overlapping word spans out of it")
    common_ngram_items: int = Field(
        20, ge=1, description="an n-gram shared by more benchmark items than this is part of the benchmark's "
                              "template (an instruction line), and does not count")
    min_overlapping_ngrams: int = Field(1, ge=1, description="counted n-grams a (document, item) pair must share to be a leak")
    redaction: str = Field(" [eval-redacted] ", description="what replaces a redacted span")
    report_hashes: int = Field(32, ge=0, description="overlapping n-gram hashes kept per report row (smallest first)")
