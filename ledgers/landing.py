"""The landing zone: which entries are drops, their content fingerprints, and finding one again.

Drops are identified by content, so a sensor cursor of ``name -> drop_id`` is enough for
exactly-once: an unchanged drop keeps its id, a changed byte gives a new one. Fingerprints are
cached by ``(size, mtime)`` in the cursor so a tick does not re-read unchanged data.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import stat
import time
from dataclasses import dataclass
from pathlib import Path

from schemas.landing import Drop, DropFile

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
JSONL_SUFFIXES = {".jsonl": None, ".ndjson": None, ".jsonl.gz": "gzip", ".ndjson.gz": "gzip", ".jsonl.zst": "zstd", ".ndjson.zst": "zstd"}
LICENSE_NAMES = re.compile(r"^(LICEN[CS]E|COPYING|COPYRIGHT|UNLICENSE)([._-].*)?$", re.IGNORECASE)
VCS_DIRS = {".git", ".hg", ".svn"}


class LandingError(RuntimeError):
    pass


@dataclass(frozen=True)
class Candidate:
    """A landing entry before hashing: what it is and a cheap change signature."""

    name: str
    path: Path
    kind: str
    compression: str | None
    signature: str
    newest_mtime: float


def safe_name(name: str) -> str:
    return _SAFE.sub("_", name).strip("_") or "drop"


def _kind_of(path: Path) -> tuple[str, str | None] | None:
    if path.is_dir():
        return "tree", None
    lower = path.name.lower()
    for suffix, compression in JSONL_SUFFIXES.items():
        if lower.endswith(suffix):
            return "jsonl", compression
    if lower.endswith(".parquet"):
        return "parquet", None
    return None


def _walk(root: Path) -> list[Path]:
    """Every entry of a tree that is not a folder to descend: files, and links of any kind
    (a link to a folder is listed, not followed, so it reaches ``rejects`` as a symlink).
    A folder that cannot be listed is listed itself, and becomes an ``unreadable-file`` reject."""
    files: list[Path] = []

    def unlisted(err: OSError) -> None:
        if err.filename and Path(err.filename) != root:
            files.append(Path(err.filename))

    for dirpath, dirnames, filenames in os.walk(root, followlinks=False, onerror=unlisted):
        here = Path(dirpath)
        files.extend(here / d for d in dirnames if d not in VCS_DIRS and (here / d).is_symlink())
        dirnames[:] = sorted(d for d in dirnames if d not in VCS_DIRS and not (here / d).is_symlink())
        files.extend(here / f for f in filenames)
    return sorted(files)


def _stat(path: Path) -> os.stat_result | None:
    try:
        return path.lstat()
    except OSError:
        return None


def list_candidates(landing: Path) -> tuple[list[Candidate], list[str]]:
    """Every drop-shaped entry, plus a note for each entry that is not one (never silent)."""
    candidates, skipped = [], []
    if not landing.exists():
        return [], [f"landing zone {landing} does not exist yet"]
    for entry in sorted(landing.iterdir()):
        if entry.name.startswith((".", "_")) or entry.name.endswith((".tmp", ".partial")):
            continue
        kind = _kind_of(entry)
        if kind is None:
            skipped.append(f"{entry.name}: not a drop (expected a folder, *.jsonl[.gz|.zst], *.ndjson[...] or *.parquet)")
            continue
        files = _walk(entry) if kind[0] == "tree" else [entry]
        stats = [(f, _stat(f)) for f in files]
        signature = hashlib.sha256(b"\n".join(
            os.fsencode(f.relative_to(landing)) + (f"\0{s.st_size}\0{s.st_mtime_ns}" if s else "\0gone").encode()
            for f, s in stats)).hexdigest()
        newest = max((s.st_mtime for _, s in stats if s), default=entry.stat().st_mtime)
        candidates.append(Candidate(entry.name, entry, kind[0], kind[1], signature, newest))
    return candidates, skipped


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _nearest_license(rel: Path, licenses: dict[Path, str]) -> str | None:
    for parent in rel.parents:
        if parent in licenses:
            return licenses[parent]
    return None


def _tree_entry(path: Path, rel: Path) -> tuple[DropFile, bytes]:
    """The file's listing and the bytes that stand for its content in the drop's hash. Nothing
    that is not a regular file is opened (reading a FIFO would block the sensor forever)."""
    raw_name = os.fsencode(rel)
    name = raw_name.decode("utf-8", "backslashreplace")
    st = _stat(path)
    if st is None:
        return DropFile(relpath=name, size=0, unread="unreadable-file"), b"gone"
    if stat.S_ISLNK(st.st_mode):
        return DropFile(relpath=name, size=st.st_size, symlink=True), hashlib.sha256(os.fsencode(os.readlink(path))).hexdigest().encode()
    if stat.S_ISDIR(st.st_mode):
        return DropFile(relpath=name, size=0, unread="unreadable-file"), b"unlisted-folder"
    if not stat.S_ISREG(st.st_mode):
        return DropFile(relpath=name, size=0, unread="not-a-regular-file"), f"mode {st.st_mode:o}".encode()
    if name != os.fsdecode(raw_name):
        return DropFile(relpath=name, size=st.st_size, unread="undecodable-file-name"), f"{st.st_size}:{st.st_mtime_ns}".encode()
    try:
        return DropFile(relpath=name, size=st.st_size), _file_sha256(path).encode()
    except OSError as err:
        return DropFile(relpath=name, size=st.st_size, unread="unreadable-file"), f"{err.errno}".encode()


def describe(candidate: Candidate) -> Drop:
    """Hash the drop's content and list its files (with license hints for a tree)."""
    root = candidate.path
    if candidate.kind == "tree":
        paths = _walk(root)
        rels = [p.relative_to(root) for p in paths]
        licenses: dict[Path, str] = {}
        for rel in rels:
            if LICENSE_NAMES.match(rel.name) and rel.parent not in licenses:
                licenses[rel.parent] = os.fsencode(rel).decode("utf-8", "backslashreplace")
        digest = hashlib.sha256()
        files = []
        for path, rel in zip(paths, rels):
            entry, content = _tree_entry(path, rel)
            digest.update(os.fsencode(rel) + f"\0{entry.size}\0".encode() + content + b"\n")
            files.append(entry.model_copy(update={"license_hint": _nearest_license(rel, licenses)}))
        sha = digest.hexdigest()
    else:
        sha = _file_sha256(root)
        files = [DropFile(relpath="", size=root.stat().st_size)]
    return Drop(
        drop_id=f"{safe_name(candidate.name)}-{sha[:12]}",
        name=candidate.name,
        path=str(root.resolve()),
        kind=candidate.kind,
        compression=candidate.compression,
        sha256=sha,
        files=files,
        landed_at=dt.datetime.fromtimestamp(candidate.newest_mtime, tz=dt.timezone.utc),
    )


def settled(candidate: Candidate, settle_seconds: float, now: float | None = None) -> bool:
    return (now if now is not None else time.time()) - candidate.newest_mtime >= settle_seconds


def find_drop(landing: Path, drop_id: str) -> Drop:
    """The drop with this id, re-hashed from the landing zone; fails if it changed or left."""
    candidates, _ = list_candidates(landing)
    for candidate in candidates:
        if drop_id.startswith(safe_name(candidate.name) + "-"):
            drop = describe(candidate)
            if drop.drop_id == drop_id:
                return drop
    raise LandingError(
        f"drop {drop_id!r} is no longer in the landing zone {landing} with that content: it was "
        "removed or changed (a changed drop has a new id that the sensor picks up as a new run)"
    )
