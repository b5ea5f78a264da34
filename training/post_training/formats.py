"""The tagged text of one distilled sample: the rationale inside ``<scratchpad>…</scratchpad>``,
each tool call inside ``<call_tool>…</call_tool>``, then the final answer. The same rendering is
the ``synthetic`` pretraining bucket, the SFT target and both sides of a DPO pair, so the
model sees one format everywhere. ``<scratchpad>``/``<call_tool>`` are the tokenizer's specials;
the closing tags are plain text.
"""

from __future__ import annotations

import hashlib

SCRATCHPAD, CALL_TOOL = "<scratchpad>", "<call_tool>"


def answer_text(candidate: list[str]) -> str:
    return "\n".join(candidate).strip()


def response_text(rationale: str, tool_calls: list[str], candidate: list[str]) -> str:
    """What the model is trained to write after the prompt."""
    parts = [f"{SCRATCHPAD}{rationale.strip()}</scratchpad>"] if rationale.strip() else []
    parts += [f"{CALL_TOOL}{call.strip()}</call_tool>" for call in tool_calls if call.strip()]
    parts.append(answer_text(candidate))
    return "\n".join(parts)


def prompt_text(prompt: str) -> str:
    return prompt.rstrip() + "\n"


def synthetic_document(row: dict) -> str:
    """A distilled sample as one pretraining document: prompt, then the tagged response."""
    return prompt_text(row["prompt"]) + response_text(row["rationale"], list(row["tool_calls"]), list(row["candidate"]))


def synthetic_doc_id(row: dict) -> str:
    """Content hash of the sample, so a re-distilled equal sample is the same document."""
    key = "\x1f".join([row["task_id"], row["prompt"], row["rationale"], *row["candidate"], *row["tool_calls"]])
    return "synthetic-" + hashlib.sha256(key.encode()).hexdigest()
