import sysconfig
from pathlib import Path

import sentencepiece as spm

from schemas.tables import CuratedDocument, DocumentClean
from schemas.tokenizer import TokenizerConfig
from training.tokenizer import train_tokenizer
from training.tokenizer_metrics import DomainMetrics, compare, gates, irm_codec, llama3_codec, measure_latest
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

    tokenizer_id, latest_rows = measure_latest(lake)
    assert tokenizer_id == first.artifact.tokenizer_id
    assert {r.tokenizer for r in latest_rows} == {"irm Unigram 600", "Llama-3 128k (tiktoken)"}


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
