import random
import sysconfig
from pathlib import Path

from training.whitespace import DEDENT, ESC, INDENT, NL, decode, encode


def test_indentation_becomes_indent_and_dedent_markers():
    src = "def f():\n    if x:\n        return 1\n    return 2\n"
    assert encode(src) == f"def f():{NL}{INDENT}if x:{NL}{INDENT}return 1{NL}{DEDENT}return 2{NL}"


def test_any_string_round_trips_byte_exactly():
    rng = random.Random(5)
    alphabet = [" ", "    ", "\t", "\n", "\r", "a", "é", "<", "nl>", "<nl>", "<tab>", "<indent>", "<dedent>", ESC, "\u2581", "\ue001"]
    for _ in range(5000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(40)))
        assert decode(encode(text)) == text, repr(text)


def test_real_source_files_round_trip():
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    files = sorted((stdlib / "json").glob("*.py")) + sorted((stdlib / "email").glob("*.py"))
    for path in files:
        text = path.read_text()
        assert decode(encode(text)) == text, path.name
