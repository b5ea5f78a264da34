"""What a trained vocabulary is made of, and what it costs the model.

Pieces are sorted into kinds: the reserved ones (specials, protected pieces, ``<unk>``/``<s>``),
the 256 byte-fallback pieces, whitespace runs (only spaces, ``<tab>``/``<nl>`` and indentation
marks), code identifiers (an identifier shape with ``_``, an inner capital or a digit, the
spellings prose does not have: ``snake_case``, ``camelCase``, ``x2``), plain words, numbers
and punctuation/operators. Pieces never produced on the held-out set show how much of the
vocabulary a new repository does not use; the embedding rows are the parameters the vocabulary
size alone costs.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import sentencepiece as spm

from schemas.model import IRM_2B, SEED_SHAPE, ModelConfig
from training.whitespace import DEDENT, INDENT, NL, SP_SPACE, TAB, encode

_WHITESPACE = re.compile("^(?:" + "|".join(re.escape(x) for x in (SP_SPACE, NL, TAB, INDENT, DEDENT, " ")) + ")+$")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CODE_SHAPE = re.compile(r"_|[a-z][A-Z]|[A-Za-z][0-9]")
_WORD = re.compile(r"^[^\W\d_]+$")
_NUMBER = re.compile(r"^[0-9][0-9._]*$")
KINDS = ("reserved", "byte", "whitespace", "identifier", "word", "number", "other")


def kind(sp: spm.SentencePieceProcessor, piece_id: int, user_defined: frozenset[str] = frozenset()) -> str:
    if sp.is_control(piece_id) or sp.is_unknown(piece_id) or sp.is_unused(piece_id) or sp.id_to_piece(piece_id) in user_defined:
        return "reserved"
    if sp.is_byte(piece_id):
        return "byte"
    piece = sp.id_to_piece(piece_id)
    if _WHITESPACE.match(piece):
        return "whitespace"
    bare = piece.lstrip(SP_SPACE)
    if _IDENTIFIER.match(bare) and _CODE_SHAPE.search(bare):
        return "identifier"
    if _WORD.match(bare):
        return "word"
    if _NUMBER.match(bare):
        return "number"
    return "other"


@dataclass
class VocabularyReport:
    vocab_size: int
    by_kind: dict[str, int]
    longest: list[str]
    unused_on_held_out: int
    held_out_tokens: int
    unused_by_kind: dict[str, int]
    embedding_parameters: dict[str, int] = field(default_factory=dict)

    def markdown(self) -> str:
        rows = [f"| {k} | {self.by_kind.get(k, 0):,} | {self.by_kind.get(k, 0) / self.vocab_size:.1%} | "
                f"{self.unused_by_kind.get(k, 0):,} |" for k in KINDS]
        out = ["| kind | pieces | share | unused on held-out |", "|---|---|---|---|", *rows,
               f"| **all** | {self.vocab_size:,} | 100% | {self.unused_on_held_out:,} ({self.unused_on_held_out / self.vocab_size:.1%}) |",
               "", f"Held-out tokens encoded: {self.held_out_tokens:,}.", "",
               "Longest pieces: " + ", ".join(f"`{p}` ({len(p)})" for p in self.longest), "",
               "| model | embedding parameters of this vocabulary |", "|---|---|"]
        out += [f"| {name} | {n / 1e6:,.1f}M |" for name, n in self.embedding_parameters.items()]
        return "\n".join(out)


def embedding_parameters(vocab_size: int, model: ModelConfig) -> int:
    """Input embedding plus, unless tied, the output layer, at this vocabulary (padded as Megatron pads it)."""
    p = model.model_copy(update={"vocab_size": vocab_size}).parameters()
    return p["embedding"] + p["output_layer"]


def _label(model: ModelConfig) -> str:
    return f"{model.name} (d_model {model.hidden_size}, {'tied' if model.share_embeddings_and_output_weights else 'untied'})"


def report(model_file: str, user_defined: list[str], held_out: list[str], longest: int = 20) -> VocabularyReport:
    sp = spm.SentencePieceProcessor(model_file=model_file)
    reserved = frozenset(user_defined)
    kinds = [kind(sp, i, reserved) for i in range(sp.get_piece_size())]
    used: Counter[int] = Counter()
    for text in held_out:
        used.update(sp.encode(encode(text)))
    unused = [i for i in range(sp.get_piece_size()) if i not in used]
    pieces = sorted((sp.id_to_piece(i) for i, k in enumerate(kinds) if k not in ("reserved", "byte")), key=lambda p: (-len(p), p))
    return VocabularyReport(
        vocab_size=sp.get_piece_size(), by_kind=dict(Counter(kinds)), longest=pieces[:longest],
        unused_on_held_out=len(unused), held_out_tokens=sum(used.values()), unused_by_kind=dict(Counter(kinds[i] for i in unused)),
        embedding_parameters={_label(m): embedding_parameters(sp.get_piece_size(), m) for m in (IRM_2B, SEED_SHAPE)})
