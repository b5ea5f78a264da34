"""The demo's landing drops, built from permissively licensed material already on the machine.

* ``python-stdlib/``: a source tree of a few standard-library packages with CPython's
  LICENSE (PSF-2.0), compiled ``__pycache__`` files included, so binary rejects are real.
* ``package-docs.parquet``: the METADATA (long description) of every installed distribution.
* ``package-licenses.jsonl.zst``: the license files those distributions ship.

Files are written only when missing and keep their source mtimes, so rerunning the demo yields
byte-identical drops with the same drop ids, and the sensor does not ingest them twice.
"""

from __future__ import annotations

import json
import shutil
import sysconfig
from email.parser import Parser
from pathlib import Path

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


def build_stdlib_tree(landing: Path, stdlib: Path | None = None) -> Path:
    stdlib = stdlib or Path(sysconfig.get_paths()["stdlib"])
    target = landing / "python-stdlib"
    if target.exists():
        return target
    staging = landing / "_python-stdlib.partial"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    shutil.copy2(stdlib / "LICENSE.txt", staging / "LICENSE.txt")
    for package in STDLIB_PACKAGES:
        if (stdlib / package).is_dir():
            shutil.copytree(stdlib / package, staging / package, copy_function=shutil.copy2,
                            ignore=shutil.ignore_patterns("test", "tests"))
    staging.rename(target)
    return target


def build_package_docs(landing: Path, site: Path | None = None) -> Path:
    target = landing / "package-docs.parquet"
    if target.exists():
        return target
    rows = []
    for info in _dist_infos(site or _site_packages()):
        meta_path = info / "METADATA"
        if not meta_path.is_file():
            continue
        meta = Parser().parsestr(meta_path.read_text(encoding="utf-8", errors="replace"))
        name = meta.get("Name") or info.name.split("-")[0]
        rows.append({"text": meta.get_payload() or "", "source": "pypi-metadata", "path": f"{info.name}/METADATA",
                     "repo": name, "license": _license_of(meta), "domain": "text"})
    staging = landing / "_package-docs.parquet.partial"
    pq.write_table(pa.Table.from_pylist(rows), staging, compression="zstd")
    staging.rename(target)
    return target


def build_package_licenses(landing: Path, site: Path | None = None) -> Path:
    target = landing / "package-licenses.jsonl.zst"
    if target.exists():
        return target
    lines = []
    for info in _dist_infos(site or _site_packages()):
        for path in sorted(p for p in info.rglob("*") if p.is_file() and ("licen" in p.name.lower() or "copying" in p.name.lower() or p.parent.name == "licenses")):
            text = path.read_bytes().decode("utf-8", errors="replace")
            lines.append(json.dumps({"text": text, "source": "pypi-licenses", "path": str(path.relative_to(info.parent)),
                                     "repo": info.name.split("-")[0], "domain": "text"}, sort_keys=True))
    staging = landing / "_package-licenses.jsonl.zst.partial"
    staging.write_bytes(zstandard.ZstdCompressor(level=10).compress(("\n".join(lines) + "\n").encode()))
    staging.rename(target)
    return target


def build_demo_landing(landing: Path) -> list[Path]:
    landing.mkdir(parents=True, exist_ok=True)
    return [build_stdlib_tree(landing), build_package_docs(landing), build_package_licenses(landing)]
