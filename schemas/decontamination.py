"""Typed configuration of decontamination against the benchmark n-gram hashes."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class DecontaminationConfig(BaseModel):
    mode: Literal["remove", "redact"] = Field(
        "remove", description="remove a contaminated document, or cut the overlapping word spans out of it")
    common_ngram_documents: int = Field(
        50, ge=1, description="an n-gram found in more training documents than this is boilerplate (a license "
                              "header, an import block), not a leak, and does not count")
    common_ngram_items: int = Field(
        20, ge=1, description="an n-gram shared by more benchmark items than this is part of the benchmark's "
                              "template (an instruction line), and does not count")
    min_overlapping_ngrams: int = Field(1, ge=1, description="counted n-grams a (document, item) pair must share to be a leak")
    redaction: str = Field(" [eval-redacted] ", description="what replaces a redacted span")
    report_hashes: int = Field(32, ge=0, description="overlapping n-gram hashes kept per report row (smallest first)")
