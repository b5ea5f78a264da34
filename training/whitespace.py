"""The reversible whitespace transform that feeds the tokenizer's ``<nl> <tab> <indent> <dedent>``.

Newlines become ``<nl>`` and tabs ``<tab>``. A line indented by a whole number of 4-space
steps carries ``<indent>``/``<dedent>`` for the change in level instead of its spaces; any other
line (odd indentation, tabs, whitespace only) first returns to level 0 and keeps its whitespace
as it is. Literal special strings already in the text are escaped with U+E000, and
SentencePiece's own space marker U+2581 stands in as U+E001, so ``decode(encode(t)) == t`` for
every string, also through the tokenizer — byte-exact round trip is the contract.
"""

from __future__ import annotations

import re

NL, TAB, INDENT, DEDENT = "<nl>", "<tab>", "<indent>", "<dedent>"
SPECIALS = (NL, TAB, INDENT, DEDENT)
ESC = "\ue000"
SP_SPACE = "\u2581"  # SentencePiece's space marker: a literal one would come back as a space
SP_SPACE_STANDIN = "\ue001"
UNIT = 4
_LITERAL = re.compile("|".join(re.escape(s) for s in SPECIALS))
_LEADING = re.compile(r"[ \t]*")


def _escape(text: str) -> str:
    text = text.replace(ESC, ESC + ESC).replace(SP_SPACE_STANDIN, ESC + SP_SPACE_STANDIN).replace(SP_SPACE, SP_SPACE_STANDIN)
    return _LITERAL.sub(lambda m: "<" + ESC + m.group(0)[1:], text)


def _unescape(text: str) -> str:
    out, i = [], 0
    while i < len(text):
        ch = text[i]
        if ch == ESC:
            if i + 1 < len(text) and text[i + 1] in (ESC, SP_SPACE_STANDIN):
                out.append(text[i + 1])
                i += 2
                continue
            i += 1
            continue
        out.append(SP_SPACE if ch == SP_SPACE_STANDIN else ch)
        i += 1
    return "".join(out)


def encode(text: str) -> str:
    lines, level = [], 0
    for line in _escape(text).split("\n"):
        leading = _LEADING.match(line).group(0)
        rest = line[len(leading):]
        if not line:
            lines.append("")
        elif rest and "\t" not in leading and len(leading) % UNIT == 0:
            new = len(leading) // UNIT
            marks = INDENT * (new - level) if new > level else DEDENT * (level - new)
            lines.append(marks + rest)
            level = new
        else:
            lines.append(DEDENT * level + line)
            level = 0
    return NL.join(lines).replace("\t", TAB)


def decode(encoded: str) -> str:
    lines, level = [], 0
    for line in encoded.replace(TAB, "\t").split(NL):
        while line.startswith((INDENT, DEDENT)):
            if line.startswith(INDENT):
                level, line = level + 1, line[len(INDENT):]
            else:
                level, line = level - 1, line[len(DEDENT):]
        lines.append(" " * (UNIT * level) + line if line else "")
    return _unescape("\n".join(lines))
