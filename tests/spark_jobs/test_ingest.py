from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ledgers.landing import describe, list_candidates
from schemas.settings import LandingSettings
from spark_jobs.ingest import document_id, parse_drop, split_parsed
from tests.conftest import JSONL_LINES, JSONL_REASONS, write_jsonl, write_tree


def _drop(landing: Path, name: str):
    candidates, _ = list_candidates(landing)
    return describe(next(c for c in candidates if c.name == name))


def _split(spark, drop, settings):
    parsed = parse_drop(spark, drop, settings)
    known = spark.createDataFrame([], "doc_id string, drop_id string")
    docs, rejects = split_parsed(parsed, drop, known)
    return parsed.count(), docs.collect(), rejects.collect()


@pytest.mark.parametrize("name", ["d.jsonl", "d.jsonl.gz", "d.ndjson.zst"])
def test_jsonl_lines_become_documents_or_rejects_with_a_reason(spark, settings, name):
    write_jsonl(settings.landing.path / name)
    seen, docs, rejects = _split(spark, _drop(settings.landing.path, name), settings.landing)
    assert seen == len(JSONL_LINES) == len(docs) + len(rejects)
    assert Counter(r["reason"] for r in rejects) == JSONL_REASONS
    by_uri = {r["uri"]: r for r in rejects}
    assert by_uri[f"{name}#L5"]["reason"] == "invalid-utf8"
    assert by_uri[f"{name}#L8"]["detail"] == f"same doc_id as {name}#L2"
    code = next(d for d in docs if d["path"] == "m/add.py")
    assert code["doc_id"] == document_id(name, "m/add.py", "def add(a, b):\n    return a + b\n")
    assert (code["repo"], code["domain_hint"], code["bytes"]) == ("m", "code", 32)


def test_the_same_lines_parse_the_same_whatever_the_compression(spark, settings):
    ids = []
    for name in ("a.jsonl", "a.jsonl.gz"):
        write_jsonl(settings.landing.path / name)
        _, docs, _ = _split(spark, _drop(settings.landing.path, name), settings.landing)
        ids.append(sorted(d["text"] for d in docs))
    assert ids[0] == ids[1]


def test_a_truncated_gzip_keeps_its_good_lines_and_rejects_the_rest(spark, settings):
    path = write_jsonl(settings.landing.path / "cut.jsonl.gz", JSONL_LINES[:2] * 50)
    path.write_bytes(path.read_bytes()[:-30])
    seen, docs, rejects = _split(spark, _drop(settings.landing.path, "cut.jsonl.gz"), settings.landing)
    assert seen == len(docs) + len(rejects)
    assert Counter(r["reason"] for r in rejects)["unreadable-file"] == 1


def test_source_tree_files_are_documents_with_repo_path_and_nearest_license(spark, settings):
    write_tree(settings.landing.path / "repo")
    drop = _drop(settings.landing.path, "repo")
    assert not any(f.relpath.startswith(".git") for f in drop.files)
    seen, docs, rejects = _split(spark, drop, settings.landing)
    assert seen == len(drop.files) == 8
    assert {r["reason"] for r in rejects} == {"binary-file", "empty-document", "invalid-utf8"}
    by_path = {d["path"]: d for d in docs}
    assert by_path["src/pkg/core.py"]["license_hint"] == "LICENSE"
    assert by_path["vendor/lib/util.c"]["license_hint"] == "vendor/lib/COPYING"
    assert by_path["vendor/lib/util.c"]["domain_hint"] == "code"
    assert {d["repo"] for d in docs} == {"repo"}


def test_parquet_rows_and_a_parquet_without_text_column(spark, settings):
    settings.landing.path.mkdir(parents=True)
    pq.write_table(pa.table({"text": ["one doc", None, "two doc", ""], "path": ["a", "b", "c", "d"]}),
                   settings.landing.path / "p.parquet")
    seen, docs, rejects = _split(spark, _drop(settings.landing.path, "p.parquet"), settings.landing)
    assert (seen, len(docs)) == (4, 2)
    assert Counter(r["reason"] for r in rejects) == {"missing-text": 1, "empty-document": 1}

    pq.write_table(pa.table({"body": ["x", "y", "z"]}), settings.landing.path / "nobody.parquet")
    seen, docs, rejects = _split(spark, _drop(settings.landing.path, "nobody.parquet"), settings.landing)
    assert (seen, len(docs)) == (3, 0)
    assert sorted(r["uri"] for r in rejects) == [f"nobody.parquet#row{k}" for k in (1, 2, 3)]
    assert {(r["reason"], r["detail"]) for r in rejects} == {("missing-text", "no `text` column")}


def test_oversized_documents_are_rejected_not_loaded(spark, settings):
    write_tree(settings.landing.path / "repo")
    small = LandingSettings(**{**settings.landing.model_dump(), "max_document_bytes": 25})
    _, docs, rejects = _split(spark, _drop(settings.landing.path, "repo"), small)
    assert "too-large" in {r["reason"] for r in rejects}
    assert all(d["bytes"] <= 25 for d in docs)
