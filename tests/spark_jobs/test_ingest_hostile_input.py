"""A careless or hostile data provider: every record of every drop comes out as a document or a
reject with a reason, and no single record (or file) fails the drop."""

import gzip
import hashlib
import os
import socket
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import zstandard

from ledgers.landing import describe, list_candidates
from schemas.settings import LandingSettings
from spark_jobs.ingest import parse_drop, split_parsed


def _drop(landing: Path, name: str):
    candidates, _ = list_candidates(landing)
    return describe(next(c for c in candidates if c.name == name))


def _parse(spark, landing: Path, name: str, settings: LandingSettings, drop=None):
    drop = drop or _drop(landing, name)
    parsed = parse_drop(spark, drop, settings).localCheckpoint()
    docs, rejects = split_parsed(parsed, drop, spark.createDataFrame([], "doc_id string, drop_id string"))
    seen, docs, rejects = parsed.count(), docs.collect(), rejects.collect()
    assert seen == len(docs) + len(rejects)
    return seen, {d["uri"]: d for d in docs}, {r["uri"]: r for r in rejects}


HOSTILE_LINES = [
    "\ufeff" + '{"text": "first line after a byte order mark"}',  # L1
    "[" * 5_000 + "]" * 5_000,                                     # L2 nested past the recursion limit
    '{"text": {"a": ' * 5_000 + "1" + "}" * 5_000 + "}",           # L3 nested object as text
    '{"text": "lone \\ud800 surrogate"}',                          # L4
    '{"text": "ok", "path": "bad\\udfffname.py"}',                 # L5 surrogate in another field
    '{"text": 42}',                                                # L6 non-string text
    '{"text": "nul \\u0000 inside"}',                              # L7
    '{"text": "' + "x" * 25_000 + '"}',                            # L8 a huge line
    '{"text": "windows line end"}\r',                              # L9 CRLF
    "\r",                                                          # L10 CRLF blank line
    '{"text": "valid surrogate pair \\ud83d\\ude00"}',             # L11
    '{"text": null}',                                              # L12
    '"just a string"',                                             # L13
    '{"text": "big number", "n": ' + "9" * 5_000 + "}",            # L14 past Python's int digit limit
    '{"text": "still read after all of that"}',                    # L15
]


def test_hostile_jsonl_lines_are_each_one_document_or_one_reject(spark, settings):
    landing = settings.landing.path
    landing.mkdir(parents=True)
    (landing / "h.jsonl").write_bytes(("\n".join(HOSTILE_LINES) + "\n").encode("utf-8"))
    cfg = LandingSettings(**{**settings.landing.model_dump(), "max_line_bytes": 20_000})
    seen, docs, rejects = _parse(spark, landing, "h.jsonl", cfg)
    assert seen == len(HOSTILE_LINES)
    reasons = {int(uri.split("#L")[1]): r["reason"] for uri, r in rejects.items()}
    assert reasons == {2: "too-deeply-nested", 3: "too-large", 4: "invalid-unicode", 5: "invalid-unicode", 6: "missing-text",
                       7: "binary-content", 8: "too-large", 10: "blank-line", 12: "missing-text", 13: "malformed-json",
                       14: "malformed-json"}
    assert docs["h.jsonl#L1"]["text"] == "first line after a byte order mark"
    assert docs["h.jsonl#L9"]["text"] == "windows line end"
    assert docs["h.jsonl#L11"]["text"].endswith("\U0001F600")
    assert "lone surrogate" in rejects["h.jsonl#L4"]["detail"] and "`path`" in rejects["h.jsonl#L5"]["detail"]
    assert "max_line_bytes=20000" in rejects["h.jsonl#L8"]["detail"]


def test_deep_nesting_within_the_line_limit_is_rejected_not_fatal(spark, settings):
    landing = settings.landing.path
    landing.mkdir(parents=True)
    (landing / "deep.jsonl").write_bytes(b'{"text": "fine"}\n' + b"[" * 200_000 + b"\n" + b'{"text": "also fine"}\n')
    seen, docs, rejects = _parse(spark, landing, "deep.jsonl", settings.landing)
    assert seen == 3 and len(docs) == 2
    assert rejects["deep.jsonl#L2"]["reason"] in {"too-deeply-nested", "malformed-json"}


def test_empty_files_and_a_drop_of_only_blank_lines_are_accounted(spark, settings):
    landing = settings.landing.path
    landing.mkdir(parents=True)
    (landing / "empty.jsonl").write_bytes(b"")
    (landing / "empty.jsonl.gz").write_bytes(gzip.compress(b"", mtime=0))
    for name in ("empty.jsonl", "empty.jsonl.gz"):
        seen, docs, rejects = _parse(spark, landing, name, settings.landing)
        assert (seen, [r["reason"] for r in rejects.values()]) == (1, ["empty-file"])


def _lines(n: int) -> bytes:
    """Lines that compress little, so half a compressed file holds many whole lines."""
    return b"".join(b'{"text": "document %d %s"}\n' % (k, hashlib.sha256(b"%d" % k).hexdigest().encode()) for k in range(n))


def test_truncated_or_corrupt_compressed_streams_keep_the_good_lines_and_say_so(spark, settings):
    landing = settings.landing.path
    landing.mkdir(parents=True)
    zst = zstandard.ZstdCompressor().compress(_lines(5_000))
    (landing / "cut.jsonl.zst").write_bytes(zst[: len(zst) // 2])
    (landing / "two-frames.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(_lines(3)) * 2)
    gz = gzip.compress(_lines(5_000), mtime=0)
    (landing / "cut.jsonl.gz").write_bytes(gz[: len(gz) // 2])
    (landing / "garbage.jsonl.gz").write_bytes(b"this is not gzip at all\n" * 10)
    (landing / "garbage.jsonl.zst").write_bytes(b"\x28\xb5\x2f\xfd" + b"\xff" * 64)

    for name in ("cut.jsonl.zst", "cut.jsonl.gz"):
        seen, docs, rejects = _parse(spark, landing, name, settings.landing)
        unreadable = [r for r in rejects.values() if r["reason"] == "unreadable-file"]
        assert len(unreadable) == 1, name
        assert len(docs) > 500 and seen < 5_000
    seen, docs, rejects = _parse(spark, landing, "two-frames.jsonl.zst", settings.landing)
    assert (seen, len(docs)) == (6, 3) and Counter(r["reason"] for r in rejects.values()) == {"duplicate-in-drop": 3}
    for name in ("garbage.jsonl.gz", "garbage.jsonl.zst"):
        seen, docs, rejects = _parse(spark, landing, name, settings.landing)
        assert not docs and [r["reason"] for r in rejects.values()] == ["unreadable-file"], name


def test_parquet_without_usable_text_is_one_reject_per_row(spark, settings):
    landing = settings.landing.path
    landing.mkdir(parents=True)
    pq.write_table(pa.table({"text": [1, 2, 3, 4]}), landing / "ints.parquet")
    pq.write_table(pa.table({"text": [b"bytes text", b"\xff\xfe", None]}), landing / "binary.parquet")
    pq.write_table(pa.table({"text": pa.array([], pa.string())}), landing / "none.parquet")
    seen, docs, rejects = _parse(spark, landing, "ints.parquet", settings.landing)
    assert (seen, len(docs)) == (4, 0) and {r["detail"] for r in rejects.values()} == {"`text` column is int64, expected a string"}
    seen, docs, rejects = _parse(spark, landing, "binary.parquet", settings.landing)
    assert [d["text"] for d in docs.values()] == ["bytes text"]
    assert sorted(r["reason"] for r in rejects.values()) == ["invalid-utf8", "missing-text"]
    seen, docs, rejects = _parse(spark, landing, "none.parquet", settings.landing)
    assert [r["reason"] for r in rejects.values()] == ["empty-file"]
    far = pa.array([0, 2_534_023_008_000 * 10**6, 0], pa.timestamp("us"))  # a path column Python cannot hold in one row
    pq.write_table(pa.table({"text": ["a doc", "b doc", "c doc"], "path": far}), landing / "far.parquet")
    seen, docs, rejects = _parse(spark, landing, "far.parquet", settings.landing)
    assert (seen, len(docs), [(u, r["reason"]) for u, r in rejects.items()]) == (3, 2, [("far.parquet#row2", "unreadable-row")])


def test_a_damaged_parquet_row_group_rejects_its_rows_and_the_other_groups_load(spark, settings):
    landing = settings.landing.path
    landing.mkdir(parents=True)
    texts = [f"row {k} " + "word " * 40 for k in range(300)]
    path = landing / "damaged.parquet"
    pq.write_table(pa.table({"text": texts}), path, row_group_size=100, compression="snappy")
    meta = pq.ParquetFile(path).metadata
    middle = meta.row_group(1).column(0)
    start = middle.dictionary_page_offset or middle.data_page_offset
    data = bytearray(path.read_bytes())
    data[start + 40: start + middle.total_compressed_size - 8] = b"\xa5" * (middle.total_compressed_size - 48)
    path.write_bytes(bytes(data))
    seen, docs, rejects = _parse(spark, landing, "damaged.parquet", settings.landing)
    assert seen == 300
    assert Counter(r["reason"] for r in rejects.values()) == {"unreadable-row-group": 100}
    assert len(docs) == 200 and {f"damaged.parquet#row{k}" for k in range(101, 201)} == set(rejects)

    path.write_bytes(path.read_bytes()[:-20])  # truncated: the footer is gone
    seen, docs, rejects = _parse(spark, landing, "damaged.parquet", settings.landing)
    assert (seen, len(docs), [r["reason"] for r in rejects.values()]) == (1, 0, ["unreadable-file"])


def test_a_hostile_source_tree_is_fully_accounted(spark, settings):
    root = settings.landing.path / "tree"
    files = {
        "bom.py": b"\xef\xbb\xbfprint('bom')\n",
        "crlf.txt": b"line one\r\nline two\r\n",
        "empty.md": b"",
        "late-nul.txt": b"a" * 9000 + b"\0tail",
        "deep/er/and/deeper/still/x.py": b"x = 1\n",
        "name with spaces #and hash.py": b"y = 2\n",
        "caf\u00e9 \u6f22\u5b57.py": b"z = 3\n",
        "line\nbreak.py": b"w = 4\n",
        "-dash.py": b"v = 5\n",
        "vanishes.py": b"gone soon\n",
        "becomes-dir.py": b"soon a folder\n",
        "target/inside.py": b"print('linked')\n",
    }
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    (root / "dir-link").symlink_to(root / "target", target_is_directory=True)
    (root / "outside-link").symlink_to("/etc", target_is_directory=True)
    (root / "file-link.py").symlink_to(root / "bom.py")
    (root / "dangling").symlink_to(root / "nowhere")
    os.mkfifo(root / "a.fifo")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(root / "a.sock"))
    (root / os.fsdecode(b"latin1-\xe9.py")).write_bytes(b"u = 6\n")

    drop = _drop(settings.landing.path, "tree")
    (root / "vanishes.py").unlink()  # removed between detection and parsing
    (root / "becomes-dir.py").unlink()
    (root / "becomes-dir.py").mkdir()
    seen, docs, rejects = _parse(spark, settings.landing.path, "tree", settings.landing, drop=drop)
    sock.close()
    assert seen == len(drop.files) == len(files) + 7
    reasons = {uri.removeprefix("tree/"): r["reason"] for uri, r in rejects.items()}
    assert reasons == {
        "empty.md": "empty-document", "late-nul.txt": "binary-content", "vanishes.py": "unreadable-file",
        "becomes-dir.py": "unreadable-file", "dir-link": "symlink", "outside-link": "symlink", "file-link.py": "symlink",
        "dangling": "symlink", "a.fifo": "not-a-regular-file", "a.sock": "not-a-regular-file",
        "latin1-\\xe9.py": "undecodable-file-name",
    }
    texts = {d["path"]: d["text"] for d in docs.values()}
    assert texts["bom.py"] == "print('bom')\n" and texts["crlf.txt"] == "line one\r\nline two\r\n"
    assert {"deep/er/and/deeper/still/x.py", "name with spaces #and hash.py", "caf\u00e9 \u6f22\u5b57.py",
            "line\nbreak.py", "-dash.py", "target/inside.py"} <= set(texts)


def test_an_unexpected_error_on_one_record_rejects_that_record_and_the_file_reads_on(settings, tmp_path, monkeypatch):
    from spark_jobs import ingest

    real = ingest._document

    def fragile(base, text, *args):
        if "boom" in text:
            raise KeyError("a parser bug this input found")
        return real(base, text, *args)

    monkeypatch.setattr(ingest, "_document", fragile)
    landing = settings.landing.path
    landing.mkdir(parents=True)
    (landing / "j.jsonl").write_text('{"text": "one"}\n{"text": "boom"}\n{"text": "three"}\n')
    pq.write_table(pa.table({"text": ["a", "boom", "c"]}), landing / "p.parquet")
    for name, n in (("j.jsonl", 3), ("p.parquet", 3)):
        drop = _drop(landing, name)
        parser = ingest.PARSERS[drop.kind]
        records = list(ingest._guarded(parser, drop, 0, settings.landing))
        assert [r.get("reason") for r in records] == [None, "parser-error", None], (name, records)
        assert "KeyError" in records[1]["detail"] and [r["record_no"] for r in records] == list(range(1, n + 1))
