"""Byte streams of landing files: decompression that notices truncation, and bounded lines.

A truncated zstd file ends quietly in ``zstandard``'s stream reader (it returns what it had),
so a cut-off drop would lose its tail without a trace; the reader here raises instead. Lines
are read with a cap so one enormous line is skipped in bounded memory, not held whole.
"""

from __future__ import annotations

import gzip
import io
from typing import Iterator

ZSTD_INPUT_CHUNK = 8 * 1024


class TruncatedStream(EOFError):
    pass


class CorruptStream(OSError):
    pass


class _ZstdRaw(io.RawIOBase):
    """Decompresses every frame of a zstd file; raises ``TruncatedStream`` when the input ends
    inside a frame. Input goes in small chunks, which bounds the output of one step."""

    def __init__(self, fh: io.BufferedIOBase):
        import zstandard

        self._zstd = zstandard
        self._fh = fh
        self._obj = zstandard.ZstdDecompressor().decompressobj()
        self._pending = b""
        self._in_frame = False
        self._ended = False

    def readable(self) -> bool:
        return True

    def _fill(self) -> None:
        while not self._pending and not self._ended:
            chunk = self._fh.read(ZSTD_INPUT_CHUNK)
            if not chunk:
                if self._in_frame:
                    raise TruncatedStream("zstd stream ended inside a frame (the file is truncated)")
                self._ended = True
                return
            try:
                self._pending = self._decompress(chunk)
            except self._zstd.ZstdError as err:
                raise CorruptStream(f"not a valid zstd stream: {err}") from err

    def _decompress(self, chunk: bytes) -> bytes:
        out = [self._obj.decompress(chunk)]
        self._in_frame = not self._obj.eof
        while self._obj.eof:
            rest = self._obj.unused_data
            self._obj = self._zstd.ZstdDecompressor().decompressobj()
            self._in_frame = bool(rest)
            if not rest:
                break
            out.append(self._obj.decompress(rest))
            self._in_frame = not self._obj.eof
        return b"".join(out)

    def readinto(self, buffer) -> int:  # type: ignore[override]
        self._fill()
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n

    def close(self) -> None:
        self._fh.close()
        super().close()


def open_stream(path: str, compression: str | None) -> io.BufferedIOBase:
    raw = open(path, "rb")
    if compression == "gzip":
        return gzip.GzipFile(fileobj=raw)  # type: ignore[return-value]
    if compression == "zstd":
        return io.BufferedReader(_ZstdRaw(raw), buffer_size=1 << 16)
    return raw  # type: ignore[return-value]


def bounded_lines(stream: io.BufferedIOBase, max_bytes: int) -> Iterator[bytes | int]:
    """Each line (newline stripped), or, for a line longer than ``max_bytes``, its length in bytes
    (the line itself is read through and dropped, never held)."""
    while True:
        line = stream.readline(max_bytes + 1)
        if not line:
            return
        if len(line) <= max_bytes or line.endswith(b"\n"):
            yield line.rstrip(b"\n")
            continue
        size = len(line)
        while not line.endswith(b"\n"):
            line = stream.readline(1 << 20)
            if not line:
                break
            size += len(line)
        yield size - (1 if line.endswith(b"\n") else 0)
