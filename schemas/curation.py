"""Typed configuration of the cleaning stage: languages, PII and quality thresholds."""

from __future__ import annotations

import hashlib

from pydantic import BaseModel, Field


class QualityThresholds(BaseModel):
    """Gopher/C4-style rules for prose and code-specific ones; a document failing any is removed
    with the rule's name as reason. Scores are stored either way, so thresholds can be tuned on
    the table without rerunning."""

    min_words: int = Field(20, ge=0, description="text: fewer words is not a document")
    max_words: int = Field(200_000, ge=1)
    min_mean_word_length: float = 3.0
    max_mean_word_length: float = 10.0
    max_symbol_word_ratio: float = Field(0.1, description="text: '#' and '...' per word")
    min_alpha_word_fraction: float = Field(0.6, description="text: share of words with a letter")
    max_duplicate_line_fraction: float = Field(0.3, description="share of non-empty lines that repeat")
    max_line_length: int = Field(1000, description="code: longest line (minified or data)")
    max_mean_line_length: float = Field(100.0, description="code")
    min_alnum_fraction: float = Field(0.25, description="code: letters+digits over all characters")
    max_digit_fraction: float = Field(0.5, description="code: digits over letters+digits (data-like files)")


class CleanConfig(BaseModel):
    target_languages: list[str] = Field(default_factory=lambda: ["en"], description="ISO 639-1 codes kept for text and math")
    min_language_score: float = Field(0.5, ge=0, le=1, description="below this the language is 'unknown' and the document removed")
    quality: QualityThresholds = Field(default_factory=QualityThresholds)
    math_marker_density: float = Field(0.002, description="LaTeX markers per character that make a text 'math'")

    @property
    def config_hash(self) -> str:
        """A drop cleaned under another configuration is cleaned again."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:16]
