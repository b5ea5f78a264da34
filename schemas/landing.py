"""What a landing-zone drop is: the unit the sensor detects and one ingest run consumes."""

from __future__ import annotations

import datetime as dt
from typing import Literal, Optional

from pydantic import BaseModel, Field

DropKind = Literal["jsonl", "parquet", "tree"]


class DropFile(BaseModel):
    relpath: str = Field(description="path inside the drop ('' for a single-file drop)")
    size: int
    license_hint: Optional[str] = Field(default=None, description="nearest LICENSE/COPYING file, relative to the drop")
    symlink: bool = False
    unread: Optional[str] = Field(
        default=None, description="why the file is not read (a reject reason): a symlink, not a regular file, an undecodable name")


class Drop(BaseModel):
    """One entry of the landing zone: a JSONL file, a Parquet file or a source tree.

    ``drop_id`` is ``<name>-<first 12 hex of the content sha256>``: readable in the Dagster UI,
    stable across reruns, and new whenever any byte of the drop changes.
    """

    drop_id: str
    name: str
    path: str = Field(description="absolute path of the file or folder")
    kind: DropKind
    compression: Optional[Literal["gzip", "zstd"]] = None
    sha256: str
    files: list[DropFile]
    landed_at: dt.datetime = Field(description="newest mtime in the drop, UTC")

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)
