"""Tier-1 memory on a tiny real index: chunker, memory_chunks, Milvus (milvus-lite), retrieval."""

from __future__ import annotations

import hashlib
import json

import pytest
import sentencepiece as spm
from pydantic import ValidationError

from ledgers.lake import Lake
from ledgers.memory import coverage_problems, run_memory_chunks, table_keys
from schemas.memory import ChunkerConfig
from schemas.settings import IrmSettings, LakeSettings, MemorySettings
from serving.memory.embed import Encoder
from serving.memory.retrieve import Filters, Retriever, hop_identifiers, reformulate
from serving.memory.service import index_problems, open_store, sync_index
from serving.memory.store import public_uri
from serving.memory.tool import RetrievalRequest, retrieval
from spark_jobs.memory_chunks import chunk_document, piece_offsets
from tests.serving.memory_lake import BRIDGE, SINGLE, SMALL, TARGET, documents, memory_settings, write_corpus, write_tokenizer
from training.whitespace import encode


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    return Encoder(threads=2)


@pytest.fixture(scope="module")
def memory(spark, tmp_path_factory, encoder):
    """A lake with the tiny corpus, its memory_chunks and an index over them."""
    root = tmp_path_factory.mktemp("memory")
    lake = Lake(LakeSettings(root=str(root / "lake")), spark)
    write_corpus(lake, documents())
    model = write_tokenizer(lake, root)
    settings = memory_settings(root)
    report = run_memory_chunks(lake, settings, model, "tok-a", encode)
    sync = sync_index(lake, settings, encoder=encoder)
    return {"lake": lake, "root": root, "model": model, "settings": settings, "report": report, "sync": sync}


def _chunks(text: str, model: bytes, cfg: ChunkerConfig) -> list[dict]:
    sp = spm.SentencePieceProcessor(model_proto=model)
    begins, ends = piece_offsets(sp, encode, text)
    return chunk_document(text, begins, ends, cfg), len(sp.encode(encode(text)))


def test_chunks_are_whole_lines_with_exact_token_spans_and_bounded_overlap(memory):
    text = documents()[0]["text"] * 3
    rows, total = _chunks(text, memory["model"], SMALL)
    assert len(rows) > 3
    assert rows[0]["token_start"] == 0 and rows[-1]["token_end"] == total
    assert rows[-1]["byte_end"] == len(text.encode())
    raw = text.encode()
    for prev, row in zip(rows, rows[1:]):
        length = prev["token_end"] - prev["token_start"]
        assert SMALL.min_tokens <= length <= SMALL.max_tokens
        assert 0.10 * length <= row["overlap_tokens"] <= 0.15 * length
        assert row["byte_start"] < prev["byte_end"]
        assert raw[row["byte_start"] - 1:row["byte_start"]] == b"\n", "a chunk starts at a line boundary"
        assert prev["boundary"] in ("function", "paragraph", "line")
    for row in rows:
        assert row["chunk_id"] == hashlib.sha256(row["text"].encode()).hexdigest()
        assert raw[row["byte_start"]:row["byte_end"]].decode() == row["text"]
    assert sum(r["boundary"] == "function" for r in rows[:-1]) >= len(rows) // 2, "code is cut before a def where one is in reach"


def test_an_overlong_line_is_cut_inside_and_still_covered(memory):
    text = "blob = '" + "ab12 " * 3000 + "'\n" + "x = 1\n"
    rows, total = _chunks(text, memory["model"], SMALL)
    assert any(r["boundary"] == "hard" for r in rows)
    assert rows[-1]["token_end"] == total and rows[-1]["byte_end"] == len(text.encode())
    assert all(b["byte_start"] <= a["byte_end"] for a, b in zip(rows, rows[1:]))


def test_chunker_config_rejects_inverted_bounds():
    with pytest.raises(ValidationError, match="min_tokens ≤ target_tokens ≤ max_tokens"):
        ChunkerConfig(min_tokens=900, target_tokens=800, max_tokens=1000)
    with pytest.raises(ValidationError, match="overlap_min"):
        ChunkerConfig(overlap_min=0.2, overlap_max=0.1)


def test_memory_chunks_carry_lineage_and_cover_every_document(memory):
    lake, report = memory["lake"], memory["report"]
    assert report.documents == report.chunked == 4 and report.kept == 0
    rows = lake.read("memory_chunks").collect()
    assert {r["tokenizer_id"] for r in rows} == {"tok-a"}
    assert {r["corpus_version"] for r in rows} == {lake.version("curated_documents")}
    assert {r["drop_id"] for r in rows} == {"drop-repo", "drop-docs", "drop-forum"}
    assert {r["trust"] for r in rows if r["source"] == "forum"} == {0.3}
    assert coverage_problems(lake) == []


def test_rechunking_is_incremental_and_drops_documents_that_left(spark, tmp_path, memory):
    lake = Lake(LakeSettings(root=str(tmp_path / "lake")), spark)
    docs = documents()
    write_corpus(lake, docs)
    settings = memory_settings(tmp_path)
    first = run_memory_chunks(lake, settings, memory["model"], "tok-a", encode)
    again = run_memory_chunks(lake, settings, memory["model"], "tok-a", encode)
    assert again.chunked == 0 and again.kept == 4 and again.writes == []
    write_corpus(lake, docs[:3])
    after = run_memory_chunks(lake, settings, memory["model"], "tok-a", encode)
    assert after.removed_documents == 1 and after.chunked == 0
    new_tok = run_memory_chunks(lake, settings, memory["model"], "tok-b", encode)
    assert new_tok.chunked == 3, "a new tokenizer re-chunks every document"
    assert {r["tokenizer_id"] for r in lake.read("memory_chunks").select("tokenizer_id").collect()} == {"tok-b"}
    assert coverage_problems(lake) == [] and first.chunks_written > 0


def test_coverage_check_fails_on_a_missing_chunk_and_a_forged_text(spark, tmp_path, memory):
    from delta.tables import DeltaTable
    from pyspark.sql import functions as F

    lake = Lake(LakeSettings(root=str(tmp_path / "lake")), spark)
    write_corpus(lake, documents())
    run_memory_chunks(lake, memory_settings(tmp_path), memory["model"], "tok-a", encode)
    table = DeltaTable.forPath(spark, lake.path("memory_chunks"))
    table.update(F.col("seq") == 0, {"text": F.concat(F.col("text"), F.lit("forged"))})
    problems = coverage_problems(lake)
    assert any("id not the hash" in p for p in problems)
    table.delete(F.col("seq") == 1)
    assert any("gap" in p for p in coverage_problems(lake))
    table.delete(F.lit(True))
    assert sum("has no chunk" in p for p in coverage_problems(lake)) == 4


def test_index_upserts_are_idempotent_and_reindex_touches_only_changes(spark, tmp_path, memory, encoder):
    lake = Lake(LakeSettings(root=str(tmp_path / "lake")), spark)
    docs = documents()
    write_corpus(lake, docs)
    settings = memory_settings(tmp_path)
    run_memory_chunks(lake, settings, memory["model"], "tok-a", encode)
    first = sync_index(lake, settings, encoder=encoder)
    assert first.run.chunks_added == len(table_keys(lake)) and first.run.windows_total == first.report.windows
    again = sync_index(lake, settings, encoder=encoder)
    assert (again.run.chunks_added, again.run.chunks_removed, again.run.windows_upserted) == (0, 0, 0)
    assert again.run.windows_total == first.run.windows_total
    changed = dict(docs[2], text=docs[2]["text"] + "\nNote: a late addition about the Vormak relay.\n")
    write_corpus(lake, docs[:2] + [changed, docs[3]])
    run_memory_chunks(lake, settings, memory["model"], "tok-a", encode)
    third = sync_index(lake, settings, encoder=encoder)
    assert third.run.chunks_removed >= 1 and 1 <= third.run.chunks_added < first.run.chunks_added
    assert index_problems(lake, settings, encoder=encoder) == []
    assert lake.read("memory_index_runs").count() == 3


def test_index_check_fails_when_the_collection_drifts(spark, tmp_path, memory, encoder):
    lake = Lake(LakeSettings(root=str(tmp_path / "lake")), spark)
    write_corpus(lake, documents())
    settings = memory_settings(tmp_path)
    run_memory_chunks(lake, settings, memory["model"], "tok-a", encode)
    sync_index(lake, settings, encoder=encoder)
    store = open_store(settings, lake.settings.uri, encoder)
    victim = sorted(store.chunk_keys())[0]
    store.delete_chunks([victim])
    store.close()
    problems = index_problems(lake, settings, encoder=encoder)
    assert problems and "not in the collection" in problems[0]


@pytest.fixture(scope="module")
def retriever(memory, encoder):
    settings = memory["settings"]
    r = Retriever(open_store(settings, memory["lake"].settings.uri, encoder), encoder, settings)
    yield r
    r.store.close()


def _has(passages, line: str) -> bool:
    return any(line in p.snippet for p in passages)


@pytest.mark.parametrize("mode", ["hybrid", "bm25", "dense"])
def test_single_hop_fact_is_found(retriever, mode):
    passages = retriever.search("Which port does the Vormak relay listen on?", k=3, mode=mode, multi_hop=False)
    assert _has(passages, SINGLE)
    top = passages[0]
    assert top.doc_id and top.token_span[1] > top.token_span[0] and top.byte_span[1] > top.byte_span[0]


def test_two_hops_follow_the_identifier_found_in_hop_one(retriever):
    q = "How often does the service that operates the Quilen gauge rotate its signing keys?"
    hop1 = retriever.search(q, k=2, multi_hop=False)
    assert _has(hop1, BRIDGE)
    assert [i for i, _ in hop_identifiers(q, hop1)] == ["zarth_mell_4821"]
    both = retriever.search(q, k=2, multi_hop=True)
    assert _has(both, TARGET) and _has(both, BRIDGE)


def test_duplicate_windows_and_chunks_are_returned_once(retriever):
    passages = retriever.search("pipeline stores tables and versions", k=8, mode="bm25", multi_hop=False)
    assert len({p.chunk_id for p in passages}) == len(passages)
    assert len({(p.doc_id, p.window_byte_span) for p in passages}) == len(passages)


def test_trust_and_recency_filters_leave_out_the_forum(retriever):
    q = "Who calibrated the Dravel beacon?"
    assert retriever.search(q, k=3, multi_hop=False)[0].source == "forum"
    trusted = retriever.search(q, k=3, multi_hop=False, filters=Filters(min_trust=0.5))
    assert trusted and all(p.source != "forum" for p in trusted)
    recent = retriever.search(q, k=3, multi_hop=False, filters=Filters(min_recency=int(documents()[0]["at"].timestamp())))
    assert recent and all(p.source != "forum" for p in recent)


def test_retrieval_tool_answers_with_provenance(retriever, memory):
    out = retrieval(retriever, {"query": "Vormak relay port", "k": 2, "multi_hop": False})
    p = out.passages[0]
    assert SINGLE in p.snippet and p.drop_id == "drop-docs" and p.rank == 1
    assert p.corpus_version == memory["lake"].version("curated_documents")
    json.dumps(out.model_dump())
    with pytest.raises(ValidationError):
        RetrievalRequest(query="", k=0)


def test_reformulation_splits_identifiers_for_dense_and_keeps_them_for_bm25():
    q = reformulate("What does parseHttpHeader return for zarth_mell_4821?")
    assert "parse http header" in q.dense and "zarth mell 4821" in q.dense
    assert q.keywords.split()[:2] == ["parseHttpHeader", "parse"] and "what" not in q.keywords.lower().split()


def test_settings_keep_the_token_secret_and_reject_a_bad_uri(monkeypatch):
    monkeypatch.setenv("IRM_MEMORY__TOKEN", "root:s3cret")
    monkeypatch.setenv("IRM_MEMORY__URI", "http://milvus:19530")
    s = IrmSettings().memory
    assert s.is_server and s.token.get_secret_value() == "root:s3cret"
    assert "s3cret" not in repr(s) and "s3cret" not in s.model_dump_json()
    assert public_uri("http://root:s3cret@milvus:19530") == "http://milvus:19530"
    with pytest.raises(ValidationError, match="IRM_MEMORY__URI"):
        MemorySettings(uri="milvus.sqlite")


def test_irm_retrieve_prints_passages_as_json(memory, monkeypatch):
    from typer.testing import CliRunner

    from ledgers.cli import app

    s = memory["settings"]
    monkeypatch.setenv("IRM_MEMORY__URI", s.uri)
    monkeypatch.setenv("IRM_MEMORY__CHUNKER__MIN_TOKENS", str(s.chunker.min_tokens))
    result = CliRunner().invoke(app, ["retrieve", "Vormak relay port", "-k", "2", "--single-hop", "-f", "json",
                                      "--lake", memory["lake"].settings.root])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert SINGLE in out["passages"][0]["snippet"]
