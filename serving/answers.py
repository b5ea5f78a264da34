"""A teacher's answer text → rationale, final answer, code and tool calls.

Rationales live in ``<scratchpad>…</scratchpad>``; tool calls in ``<call_tool>…</call_tool>``;
the final answer is what remains. Code is the last fenced block of the final answer (or all
of it when there is none); a math answer is ``\\boxed{…}``, else the text after ``Answer:``,
else the last non-empty line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SCRATCHPAD = re.compile(r"<scratchpad>(.*?)</scratchpad>", re.S)
TOOL_CALL = re.compile(r"<call_tool>(.*?)</call_tool>", re.S)
FENCE = re.compile(r"```[a-zA-Z0-9+#]*\n(.*?)```", re.S)
BOXED = re.compile(r"\\boxed\{([^{}]*(?:\{[^{}]*\}[^{}]*)*)\}")
ANSWER = re.compile(r"(?:final answer|answer)\s*[:=]\s*(.+)", re.I)


@dataclass(frozen=True)
class ParsedAnswer:
    rationale: str
    final: str
    tool_calls: list[str]

    def code(self) -> str:
        blocks = FENCE.findall(self.final)
        return (blocks[-1] if blocks else self.final).strip() + "\n"

    def math_answer(self) -> str:
        boxed = BOXED.findall(self.final)
        if boxed:
            return boxed[-1].strip()
        found = ANSWER.findall(self.final)
        if found:
            return found[-1].strip().rstrip(".")
        lines = [line.strip() for line in self.final.splitlines() if line.strip()]
        return lines[-1].rstrip(".") if lines else ""


def parse_answer(text: str) -> ParsedAnswer:
    rationale = "\n".join(part.strip() for part in SCRATCHPAD.findall(text))
    tool_calls = [part.strip() for part in TOOL_CALL.findall(text)]
    final = TOOL_CALL.sub("", SCRATCHPAD.sub("", text)).strip()
    return ParsedAnswer(rationale, final, tool_calls)
