"""Server mode: the same store, indexer and retriever against an ``http://`` Milvus URI.

The first test starts milvus-lite's own gRPC server (``python -m milvus_lite server``) in a child
process, so the network path is exercised on every run. The second uses a real Milvus server
when one is reachable (``IRM_TEST_MILVUS_URI``, default http://127.0.0.1:19530) and is skipped,
with the reason, when none is.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import time
from urllib.parse import urlparse

import pytest

from schemas.settings import MemorySettings
from serving.memory.embed import Encoder
from serving.memory.indexer import index_chunks
from serving.memory.retrieve import Retriever
from serving.memory.store import MemoryStore
from tests.serving.memory_lake import SINGLE

DOC = "".join(f"Paragraph {i}: the lake keeps every table version.\n\n" for i in range(30)) + SINGLE + "\n"


def _chunk(doc_id: str = "d" * 64) -> dict:
    import hashlib

    return {"chunk_id": hashlib.sha256(DOC.encode()).hexdigest(), "doc_id": doc_id, "seq": 0, "text": DOC, "token_start": 0,
            "token_end": 900, "byte_start": 0, "byte_end": len(DOC.encode()), "trust": 1.0, "bucket": "text/en",
            "source": "docs", "drop_id": "drop-1", "corpus_version": 1, "ingested_at": dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _reachable(uri: str, timeout: float = 1.0) -> bool:
    u = urlparse(uri)
    try:
        with socket.create_connection((u.hostname or "127.0.0.1", u.port or 19530), timeout=timeout):
            return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    return Encoder(threads=2)


def _roundtrip(uri: str, encoder: Encoder, collection: str) -> None:
    settings = MemorySettings(uri=uri, collection=collection)
    store = MemoryStore(settings, uri, encoder.dim)
    try:
        store.drop()
        store.ensure()
        first = index_chunks(store, encoder, [_chunk()])
        again = index_chunks(store, encoder, [_chunk()])
        store.flush()
        assert store.count() == first.windows == again.windows
        top = Retriever(store, encoder, settings).search("Which port does the Vormak relay listen on?", k=1, multi_hop=False)
        assert SINGLE in top[0].snippet and top[0].drop_id == "drop-1"
    finally:
        store.drop()
        store.close()


def test_same_code_against_a_milvus_grpc_server(tmp_path, encoder):
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(tmp_path / "srv"),
                               "--host", "127.0.0.1", "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        uri = f"http://127.0.0.1:{port}"
        deadline = time.time() + 60
        while not _reachable(uri, 0.2):
            assert server.poll() is None, server.stderr.read().decode()[-2000:]
            assert time.time() < deadline, "milvus-lite server did not listen within 60 s"
            time.sleep(0.2)
        settings = MemorySettings(uri=uri)
        assert settings.is_server
        _roundtrip(uri, encoder, "irm_memory_server_test")
    finally:
        server.terminate()
        server.wait(timeout=30)


SERVER = os.environ.get("IRM_TEST_MILVUS_URI", "http://127.0.0.1:19530")


@pytest.mark.skipif(not _reachable(SERVER), reason=f"no Milvus server at {SERVER} (set IRM_TEST_MILVUS_URI, or start one: "
                                                   "see README, Tier-1 memory)")
def test_same_code_against_a_reachable_milvus_server(encoder):
    _roundtrip(SERVER, encoder, "irm_memory_ci_test")
