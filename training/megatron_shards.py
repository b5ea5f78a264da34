"""Megatron indexed-dataset shards (``.bin`` + ``.idx``), written through pyarrow's filesystems.

The index layout is megatron-core's ``IndexedDataset`` (version 1): header, version, dtype code,
sequence count, document count, then the int32 sequence lengths, int64 byte pointers and int64
document boundaries. Each packed sequence is its own document: packing already decided what
goes together, so Megatron must not concatenate across sequences again.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from typing import Iterable

import numpy as np
import pyarrow.fs as pafs

from schemas.packing import INT32_VOCAB

INDEX_HEADER = b"MMIDIDX\x00\x00"
DTYPE_CODES = {np.dtype(np.uint16): 8, np.dtype(np.int32): 4}


def token_dtype(vocab_size: int) -> np.dtype:
    return np.dtype(np.int32 if vocab_size >= INT32_VOCAB else np.uint16)


def index_bytes(lengths: list[int], dtype: np.dtype) -> bytes:
    lengths_arr = np.asarray(lengths, dtype=np.int32)
    pointers = np.zeros(len(lengths_arr), dtype=np.int64)
    if len(lengths_arr) > 1:
        pointers[1:] = np.cumsum(lengths_arr[:-1].astype(np.int64)) * dtype.itemsize
    documents = np.arange(len(lengths_arr) + 1, dtype=np.int64)
    return b"".join([INDEX_HEADER, struct.pack("<Q", 1), struct.pack("<B", DTYPE_CODES[dtype]),
                     struct.pack("<Q", len(lengths_arr)), struct.pack("<Q", len(documents)),
                     lengths_arr.tobytes(), pointers.tobytes(), documents.tobytes()])


@dataclass(frozen=True)
class ShardFile:
    uri: str
    sha256: str
    idx_sha256: str
    bytes: int
    tokens: int
    sequences: int


def filesystem(uri: str) -> tuple[pafs.FileSystem, str]:
    return pafs.FileSystem.from_uri(uri if "://" in uri else "file://" + uri)


def write_shard(directory: str, sequences: Iterable[np.ndarray], dtype: np.dtype, staging_name: str) -> ShardFile:
    """Write the sequences, then name the pair after its content (``<sha16>.bin/.idx``), so a
    shard is never overwritten by different data and rewriting equal data changes nothing.
    ``staging_name`` must be unique among concurrent writers of ``directory``."""
    fs, base = filesystem(directory)
    fs.create_dir(base, recursive=True)
    staging = f"{base}/_staging-{staging_name}"
    digest, lengths = hashlib.sha256(), []
    with fs.open_output_stream(staging + ".bin") as out:
        for seq in sequences:
            data = np.asarray(seq, dtype=dtype).tobytes()
            digest.update(data)
            out.write(data)
            lengths.append(len(seq))
    index = index_bytes(lengths, dtype)
    with fs.open_output_stream(staging + ".idx") as out:
        out.write(index)
    bin_sha, idx_sha = digest.hexdigest(), hashlib.sha256(index).hexdigest()
    name = hashlib.sha256(f"{bin_sha}:{idx_sha}".encode()).hexdigest()[:16]
    for ext in (".bin", ".idx"):
        fs.move(staging + ext, f"{base}/{name}{ext}")
    prefix = f"{directory.rstrip('/')}/{name}"
    tokens = int(sum(lengths))
    return ShardFile(prefix, bin_sha, idx_sha, tokens * dtype.itemsize, tokens, len(lengths))


DTYPES = {code: dtype for dtype, code in DTYPE_CODES.items()}


def parse_index(index: bytes) -> tuple[np.dtype, np.ndarray, np.ndarray]:
    """(token dtype, sequence lengths, byte pointers) of a ``.idx`` file's bytes."""
    if index[:9] != INDEX_HEADER:
        raise ValueError("not a Megatron indexed-dataset index")
    count = struct.unpack("<Q", index[18:26])[0]
    lengths = np.frombuffer(index, dtype=np.int32, count=count, offset=34)
    pointers = np.frombuffer(index, dtype=np.int64, count=count, offset=34 + 4 * count)
    return DTYPES[index[17]], lengths, pointers


def read_sequences(prefix: str) -> list[np.ndarray]:
    """Every sequence of a local shard, memory-mapped (the trainer's reader; megatron-core's
    ``IndexedDataset`` reads the same files in the tests)."""
    with open(prefix + ".idx", "rb") as fh:
        try:
            dtype, lengths, pointers = parse_index(fh.read())
        except ValueError:
            raise ValueError(f"{prefix}.idx is not a Megatron indexed-dataset index") from None
    data = np.memmap(prefix + ".bin", dtype=dtype, mode="r")
    return [data[p // dtype.itemsize: p // dtype.itemsize + n] for p, n in zip(pointers, lengths)]
