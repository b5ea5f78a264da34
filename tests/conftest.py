"""One Spark session for the whole run (a JVM start costs seconds), and small real landing data."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pytest
import zstandard

from ledgers.lake import Lake
from schemas.settings import IrmSettings, LakeSettings, LandingSettings, SparkSettings
from spark_jobs.session import get_spark

ROOT = Path(__file__).resolve().parents[1]
TEST_SPARK = SparkSettings(shuffle_partitions=2, jars_dir=str(ROOT / "jars" / "lib"))


@pytest.fixture(scope="session")
def spark():
    return get_spark(TEST_SPARK)


@pytest.fixture
def settings(tmp_path: Path) -> IrmSettings:
    return IrmSettings(
        spark=TEST_SPARK,
        lake=LakeSettings(root=str(tmp_path / "lake")),
        landing=LandingSettings(root=str(tmp_path / "landing"), settle_seconds=0, batch_rows=3),
    )


@pytest.fixture
def lake(settings: IrmSettings, spark) -> Lake:
    """Holding lineage rows back, as the assets' lake does (any lineage read in the process writes them first)."""
    return Lake(settings.lake, spark, defer_lineage=True)


from tests.lakes import packed_lake, trained  # noqa: E402,F401  (fixtures for training and serving tests)


JSONL_LINES = [
    b'{"text": "def add(a, b):\\n    return a + b\\n", "path": "m/add.py", "repo": "m", "domain": "code"}',
    b'{"text": "The integral of x is x^2/2.", "source": "notes"}',
    b'{"text": "broken", ',                       # malformed JSON
    b"",                                          # blank line
    b'{"text": "caf\xe9"}',                       # invalid UTF-8 (latin-1 byte)
    b'{"title": "no text here"}',                 # missing text
    b'{"text": "   "}',                           # empty document
    b'{"text": "The integral of x is x^2/2.", "source": "notes"}',  # duplicate of line 2
    b'["not", "an", "object"]',                   # JSON but not an object
]
JSONL_REASONS = {"malformed-json": 2, "blank-line": 1, "invalid-utf8": 1, "missing-text": 1,
                 "empty-document": 1, "duplicate-in-drop": 1}


def write_jsonl(path: Path, lines: list[bytes] = JSONL_LINES) -> Path:
    data = b"\n".join(lines) + b"\n"
    if path.name.endswith(".gz"):
        data = gzip.compress(data, mtime=0)
    elif path.name.endswith(".zst"):
        data = zstandard.ZstdCompressor().compress(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def write_tree(root: Path) -> Path:
    """A small repository: MIT at the top, a vendored BSD folder, a binary and an empty file."""
    files = {
        "LICENSE": b"MIT License\n\nPermission is hereby granted...\n",
        "src/pkg/__init__.py": b"from .core import run\n",
        "src/pkg/core.py": b"def run():\n    return 42\n",
        "vendor/lib/COPYING": b"BSD 3-Clause License\n",
        "vendor/lib/util.c": b"int util(void) { return 1; }\n",
        "assets/logo.png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        "src/pkg/empty.py": b"",
        "docs/latin1.txt": b"na\xefve caf\xe9\n",
    }
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    os.makedirs(root / ".git", exist_ok=True)
    (root / ".git" / "HEAD").write_bytes(b"ref: refs/heads/main\n")
    return root


def read_json_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
