"""distilled_sft → packed SFT examples in Megatron-Bridge's packed-sequence format.

An example is the prompt followed by the tagged response (``formats.response_text``) and one
EOD; the loss covers the response and its EOD only. Examples are packed best-fit decreasing
into ``pack_size`` sequences and saved as the ``.npy`` Megatron-Bridge's ``GPTSFTPackedDataset``
loads (``np.save`` of dicts ``input_ids``, ``loss_mask`` rolled one left to align with the
labels, ``seq_start_id``), with the packing metadata JSON its ``PackedSequenceSpecs`` names. A
task's samples all land in one split (seeded hash of the task id), so validation is held out.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import sentencepiece as spm

from training.packing import best_fit_decreasing
from training.post_training.formats import prompt_text, response_text
from training.whitespace import encode


@dataclass(frozen=True)
class SftExample:
    task_id: str
    input_ids: tuple[int, ...]
    answer_start: int

    @property
    def answer_mask(self) -> list[bool]:
        return [i >= self.answer_start for i in range(len(self.input_ids))]


def held_out(task_id: str, val_share: float, seed: int) -> bool:
    digest = hashlib.sha256(f"{seed}:{task_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < val_share


def sft_example(row: dict, sp: spm.SentencePieceProcessor) -> SftExample:
    prompt = sp.encode(encode(prompt_text(row["prompt"])))
    response = sp.encode(encode(response_text(row["rationale"], list(row["tool_calls"]), list(row["candidate"]))))
    return SftExample(row["task_id"], tuple(prompt + response + [sp.eos_id()]), len(prompt))


def pack_examples(examples: list[SftExample], pack_size: int) -> list[dict]:
    """Megatron-Bridge packed-sequence records, deterministic (examples in the given order)."""
    bins = best_fit_decreasing([len(e.input_ids) for e in examples], pack_size)
    records = []
    for placed in bins:
        ids, mask, starts = [], [], []
        for i in placed:
            e = examples[i]
            starts.append(len(ids))
            ids.extend(e.input_ids)
            m = e.answer_mask
            mask.extend(m[1:] + [False])
        records.append({"input_ids": ids, "loss_mask": mask, "seq_start_id": starts})
    return records


def pack_metadata(examples: list[SftExample], records: list[dict], pack_size: int) -> dict:
    used = sum(len(r["input_ids"]) for r in records)
    return {"dataset_max_seqlen": max((len(e.input_ids) for e in examples), default=0),
            "max_samples_per_bin": max((len(r["seq_start_id"]) for r in records), default=0),
            "packing_factor": round(len(examples) / max(1, len(records)), 2),
            "packing_efficiency": round(100 * used / max(1, len(records) * pack_size), 2), "pack_size": pack_size,
            "min_packed_seqlen": min((len(r["input_ids"]) for r in records), default=0)}


def save_records(path: Path, records: list[dict]) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    array = np.empty(len(records), dtype=object)
    array[:] = records
    np.save(path, array, allow_pickle=True)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_records(path: str) -> list[dict]:
    return list(np.load(path, allow_pickle=True))


def rationale_lengths(rows: list[dict], sp: spm.SentencePieceProcessor) -> dict:
    """Token counts of the rationales: the "concise" target is read off these quantiles."""
    lengths = np.asarray([len(sp.encode(encode(r["rationale"]))) for r in rows] or [0])
    edges = [0, 32, 64, 128, 256, 512, 1024, 2048, 1 << 62]
    histogram = {f"{a}-{b - 1}" if b < 1 << 62 else f"{a}+": int(((lengths >= a) & (lengths < b)).sum()) for a, b in zip(edges, edges[1:])}
    return {"p50": float(np.percentile(lengths, 50)), "p90": float(np.percentile(lengths, 90)), "max": int(lengths.max()),
            "mean": round(float(lengths.mean()), 2), "histogram": {k: v for k, v in histogram.items() if v}}


def dataset_id(records: dict[str, list[dict]]) -> str:
    return "sft-" + hashlib.sha256(json.dumps(records, sort_keys=True).encode()).hexdigest()[:16]
