import sysconfig
from pathlib import Path

import sentencepiece as spm

from schemas.tables import CuratedDocument, DocumentClean
from schemas.tokenizer import TokenizerConfig
from training.tokenizer import train_sentencepiece, train_tokenizer, training_sample
from training.tokenizer_metrics import DomainMetrics, compare, gates, held_out, irm_codec, llama3_codec, measure_latest
from training.tokenizer_vocab import kind
from training.tokenizer_vocab import report as vocab_report
from training.whitespace import decode, encode


def _curated(lake):
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    code = [p.read_text() for p in sorted((stdlib / "email").glob("*.py"))][:25]
    text = [p.read_text() for p in sorted((stdlib / "email").glob("*.py"))][25:] or ["plain words here " * 50]
    rows = [("code", t) for t in code] + [("text", t.replace("    ", "")) for t in text] + [("math", r"$\frac{a}{b}$ holds " * 40)]
    clean = [DocumentClean(doc_id=f"d{i:03d}", source="t", uri=f"u{i}", text=t, bytes=len(t.encode()), lang="x", lang_score=1.0,
                           pii_redactions={}, quality={}, domain=d, bucket=f"{d}/x") for i, (d, t) in enumerate(rows)]
    lake.write(lake.frame("documents_clean", clean), "documents_clean", mode="overwrite")
    curated = [CuratedDocument(doc_id=c.doc_id, domain=c.domain, bucket=c.bucket, bytes=c.bytes) for c in clean]
    lake.write(lake.frame("curated_documents", curated), "curated_documents", mode="overwrite")
    return clean


def test_training_is_reproducible_content_addressed_and_round_trips(lake):
    clean = _curated(lake)
    cfg = TokenizerConfig(vocab_size=600, sample_bytes=400_000)
    first = train_tokenizer(lake, cfg)
    again = train_tokenizer(lake, cfg)
    assert again.artifact.tokenizer_id == first.artifact.tokenizer_id and again.write.operation == "NONE"
    assert set(first.artifact.sample_bytes) == {"code", "math", "text"}
    largest_code = max(c.bytes for c in clean if c.domain == "code")
    assert 0.6 * 400_000 <= first.artifact.sample_bytes["code"] < 0.6 * 400_000 + largest_code  # stops at the first doc past its share
    assert first.artifact.input_versions == {"curated_documents": 1, "documents_clean": 1}
    row = lake.read("tokenizers").collect()
    assert len(row) == 1 and row[0]["sha256"] == first.artifact.sha256

    sp = spm.SentencePieceProcessor(model_file=first.artifact.uri)
    for special in cfg.specials + cfg.protected_pieces:
        assert sp.piece_to_id(special) != sp.unk_id(), special
    src = "class Parser:\n    def parse_header(self, rawText):\n        return self.headers::value[0];\n\ttab\n"
    pieces = sp.encode(encode(src), out_type=str)
    assert "::" in pieces and "<indent>" in pieces and "<tab>" in pieces
    assert decode(sp.decode(sp.encode(encode(src)))) == src
    for tricky in ["ünïcödé ✓ 漢字", "print(['\u2581This', '\u2581is'])", "  leading spaces", "<nl> literal\ue000"]:
        assert decode(sp.decode(sp.encode(encode(tricky)))) == tricky, repr(tricky)

    texts = {"code": [c.text for c in clean if c.domain == "code"][:3], "text": ["Plain English words, ünïcödé too.\n" * 20]}
    rows = compare([irm_codec(first.artifact.uri, "irm"), llama3_codec()], texts)
    assert [(r.tokenizer, r.domain) for r in rows] == [("irm", "code"), ("Llama-3 128k (tiktoken)", "code"),
                                                       ("irm", "text"), ("Llama-3 128k (tiktoken)", "text")]
    assert all(r.round_trip == 1.0 and r.unknown_rate == 0.0 and r.bytes_per_token > 1.0 for r in rows)

    measured = measure_latest(lake)
    assert measured.tokenizer_id == first.artifact.tokenizer_id
    assert {r.tokenizer for r in measured.rows} == {"irm Unigram 600", "Llama-3 128k (tiktoken)"}
    vocab = measured.vocabulary
    assert vocab.vocab_size == sp.get_piece_size() and sum(vocab.by_kind.values()) == vocab.vocab_size
    assert vocab.by_kind["byte"] == 256 and vocab.by_kind["reserved"] == 3 + len(cfg.specials) + len(cfg.protected_pieces)
    assert 0 < vocab.unused_on_held_out < vocab.vocab_size and vocab.held_out_tokens > 0


def _metrics(tokenizer: str, domain: str, bpt: float, tpl: float, round_trip: float = 1.0, unknown: float = 0.0) -> DomainMetrics:
    return DomainMetrics(tokenizer, domain, 10, bpt, tpl, round_trip, unknown, 1.0)


def test_each_tokenizer_gate_fails_on_what_it_guards():
    good = [_metrics("irm Unigram 2000", "code", 3.0, 8.0), _metrics("Llama-3 128k (tiktoken)", "code", 2.9, 8.5),
            _metrics("irm Unigram 2000", "text", 4.0, 9.0), _metrics("Llama-3 128k (tiktoken)", "text", 4.2, 8.0)]
    assert {g.name: (g.passed, g.hard) for g in gates(good)} == {
        "round_trip": (True, True), "unknown_rate": (True, True), "code_compression_vs_baseline": (True, False)}
    lossy = [good[0], good[1], _metrics("irm Unigram 2000", "text", 4.0, 9.0, round_trip=0.9990)]
    assert not next(g for g in gates(lossy) if g.name == "round_trip").passed
    unknown = [_metrics("irm Unigram 2000", "code", 3.0, 8.0, unknown=0.002), good[1]]
    assert not next(g for g in gates(unknown) if g.name == "unknown_rate").passed
    longer_lines = [_metrics("irm Unigram 2000", "code", 3.0, 9.0), good[1]]
    assert not next(g for g in gates(longer_lines) if g.name == "code_compression_vs_baseline").passed
    no_baseline = [good[0]]
    assert "not measured" in next(g for g in gates(no_baseline) if g.name == "code_compression_vs_baseline").detail
    assert not any(g.passed for g in gates([]))  # nothing measured passes nothing


def test_held_out_sources_never_enter_the_sample_and_are_what_is_measured(lake):
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    files = sorted((stdlib / "json").glob("*.py")) + sorted((stdlib / "email").glob("*.py"))[:10]
    clean = [DocumentClean(doc_id=f"d{i:03d}", source="json" if p.parent.name == "json" else "email", uri=str(p), text=p.read_text(),
                           bytes=len(p.read_bytes()), lang="python", lang_score=1.0, pii_redactions={}, quality={}, domain="code",
                           bucket="code/python") for i, p in enumerate(files)]
    lake.write(lake.frame("documents_clean", clean), "documents_clean", mode="overwrite")
    lake.write(lake.frame("curated_documents", [CuratedDocument(doc_id=c.doc_id, domain=c.domain, bucket=c.bucket, bytes=c.bytes)
                                                for c in clean]), "curated_documents", mode="overwrite")
    cfg = TokenizerConfig(vocab_size=500, sample_bytes=10_000_000, mix={"code": 1.0}, held_out_sources=["json"])
    sampled = {r["doc_id"] for r in training_sample(lake, cfg).collect()}
    assert sampled == {c.doc_id for c in clean if c.source == "email"}
    texts = held_out(lake, cfg, 10_000_000)
    assert list(texts) == ["code/python"] and sorted(texts["code/python"]) == sorted(c.text for c in clean if c.source == "json")
    trained = train_tokenizer(lake, cfg)
    rows = measure_latest(lake).rows
    assert trained.artifact.sample_documents == len(sampled)
    assert {r.domain for r in rows} == {"code/python"} and all(r.functions > 10 and r.tokens_per_function > 5 for r in rows)


def test_the_multi_threaded_trainer_repeats_itself_and_its_thread_count_is_part_of_the_config():
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    texts = [p.read_text() for p in sorted((stdlib / "email").glob("*.py"))]
    two = [train_sentencepiece(texts, TokenizerConfig(vocab_size=800, num_threads=2)) for _ in range(2)]
    one = train_sentencepiece(texts, TokenizerConfig(vocab_size=800, num_threads=1))
    assert two[0] == two[1] and one != two[0]


def test_vocabulary_kinds_name_identifiers_whitespace_and_reserved_pieces(lake):
    _curated(lake)
    cfg = TokenizerConfig(vocab_size=600, sample_bytes=400_000)
    uri = train_tokenizer(lake, cfg).artifact.uri
    sp = spm.SentencePieceProcessor(model_file=uri)
    reserved = frozenset(cfg.specials + cfg.protected_pieces)
    kinds = {sp.id_to_piece(i): kind(sp, i, reserved) for i in range(sp.get_piece_size())}
    assert kinds["<indent>"] == kinds["::"] == kinds["<unk>"] == "reserved" and kinds["<0x41>"] == "byte"
    assert {kinds[p] for p in kinds if p.strip("\u2581") == "" and p} <= {"whitespace"}
    assert any(k == "identifier" and "_" in p for p, k in kinds.items())
    report = vocab_report(uri, list(reserved), ["def f(x):\n    return x\n"])
    assert report.unused_on_held_out > 0.5 * report.vocab_size
    padded = -(-sp.get_piece_size() // 128) * 128
    assert report.embedding_parameters == {"irm-2b (d_model 2304, tied)": padded * 2304,
                                           "irm-2b-as-stated (d_model 3072, untied)": 2 * padded * 3072}
