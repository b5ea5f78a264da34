"""What one packed sequence becomes as a training sample, the same in Megatron and on CPU.

Every packed sequence is stored padded with EOD tokens to exactly ``seq_len`` tokens. With
megatron-core's ``GPTDatasetConfig(add_extra_token_to_sequence=False)`` a sample is then
``seq_len`` consecutive tokens of the concatenated shard, so sample *i* is exactly packed
sequence *i* (of the shuffled document index): the packing survives into training. The labels
are the tokens shifted left with the last one padded (masked), ``eod_mask_loss=True`` masks every
position whose input is an EOD (the padding and the jump into the next document), and
``reset_position_ids=True`` restarts positions after each EOD. Attention stays inside a
document through ``cu_seqlens`` (THD, block-diagonal, no dense ``seq_len²`` mask) in Megatron
and through a 4D block-diagonal causal mask on CPU.
"""

from __future__ import annotations

import numpy as np


def pad_to(sequence: np.ndarray, seq_len: int, eod: int) -> np.ndarray:
    """``sequence`` followed by EOD tokens up to ``seq_len``."""
    if len(sequence) > seq_len:
        raise ValueError(f"a packed sequence of {len(sequence)} tokens exceeds seq_len={seq_len}")
    return np.concatenate([np.asarray(sequence), np.full(seq_len - len(sequence), eod, dtype=np.asarray(sequence).dtype)])


def content_length(sequence: np.ndarray, eod: int) -> int:
    """Tokens of the sequence before its padding: up to and including the first EOD of the
    trailing run of EODs (documents never contain EOD themselves, and each ends with one)."""
    seq = np.asarray(sequence)
    real = np.flatnonzero(seq != eod)
    if len(real) == 0:
        return min(1, len(seq))
    last = int(real[-1])
    return last + 2 if last + 1 < len(seq) else len(seq)


def document_spans(sequence: np.ndarray, eod: int) -> list[tuple[int, int]]:
    """``[start, end)`` of each document (piece) in the sequence, its EOD included, padding excluded."""
    seq = np.asarray(sequence)[:content_length(sequence, eod)]
    ends = list(np.flatnonzero(seq == eod) + 1)
    if not ends or ends[-1] != len(seq):
        ends.append(len(seq))
    starts = [0] + ends[:-1]
    return [(int(a), int(b)) for a, b in zip(starts, ends)]


def segment_ids(tokens: np.ndarray, eod: int) -> np.ndarray:
    """Document number of every position: it changes right after each EOD (Megatron's reset rule)."""
    is_eod = np.asarray(tokens) == eod
    return np.concatenate([[0], np.cumsum(is_eod[:-1])]).astype(np.int64)


def gpt_sample(sequence: np.ndarray, eod: int) -> dict[str, np.ndarray]:
    """The fields megatron-core's ``GPTDataset.__getitem__`` returns for this sequence with
    ``add_extra_token_to_sequence=False, reset_position_ids=True, eod_mask_loss=True``, plus the
    segment ids the attention mask is built from."""
    tokens = np.asarray(sequence, dtype=np.int64)
    labels = np.roll(tokens, -1)
    loss_mask = (tokens != eod).astype(np.float32)
    loss_mask[-1] = 0.0
    labels[-1] = 0
    seg = segment_ids(tokens, eod)
    starts = np.concatenate([[0], np.flatnonzero(np.diff(seg)) + 1])
    position_ids = np.arange(len(tokens)) - np.repeat(starts, np.diff(np.append(starts, len(tokens))))
    return {"tokens": tokens, "labels": labels, "loss_mask": loss_mask, "position_ids": position_ids.astype(np.int64),
            "segment_ids": seg}


def cu_seqlens(sequence: np.ndarray, eod: int, width: int | None = None) -> np.ndarray:
    """Cumulative document boundaries for THD attention: one segment per document and one for
    the padding. ``width`` pads with -1 (Megatron-Bridge's convention, cut at the argmin)."""
    seq = np.asarray(sequence)
    bounds = [0] + [b for _, b in document_spans(seq, eod)]
    if bounds[-1] != len(seq):
        bounds.append(len(seq))
    out = np.asarray(bounds, dtype=np.int32)
    if width is not None:
        if width < len(out):
            raise ValueError(f"{len(out) - 1} segments need a cu_seqlens width of at least {len(out)}, got {width}")
        out = np.concatenate([out, np.full(width - len(out), -1, dtype=np.int32)])
    return out


def block_causal_mask(segments, dtype):
    """Additive 4D mask ``(batch, 1, seq, seq)``: a position sees earlier positions of its own document only."""
    import torch

    seg = torch.as_tensor(segments)
    n = seg.shape[-1]
    causal = torch.ones(n, n, dtype=torch.bool).tril()
    allowed = causal & (seg[:, :, None] == seg[:, None, :])
    mask = torch.zeros(allowed.shape, dtype=dtype)
    mask.masked_fill_(~allowed, torch.finfo(dtype).min)
    return mask[:, None]
