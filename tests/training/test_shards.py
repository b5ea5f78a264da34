import os
from collections import Counter

import numpy as np
import pytest
import sentencepiece as spm
from pyspark.sql import functions as F

from schemas.packing import PackConfig
from tests.lakes import corpus
from training.megatron_shards import token_dtype, write_shard
from training.packed_samples import content_length
from training.shards import PackError, mix_against_target, run_pack, verify_manifest
from training.whitespace import encode

megatron = pytest.importorskip("megatron.core.datasets.indexed_dataset", reason="megatron-core comes with the train extra")


def test_shards_hold_every_document_and_megatron_reads_them_token_for_token(packed_lake):
    lake, tok = packed_lake
    cfg = PackConfig(seq_len=256, max_shard_tokens=2_048)
    report = run_pack(lake, cfg)
    assert report.conserved and report.documents_in == len(corpus())
    rows = lake.read("manifests").where(F.col("manifest_id") == report.manifest_id).collect()
    assert len(rows) == len(report.shards) > 4 and {r["split"] for r in rows} == {"train", "val", "test"}
    assert all(r["tokens"] <= 2_048 and r["dtype"] == "uint16" and r["input_versions"]["splits"] >= 1 for r in rows)
    assert sum(r["truncated_documents"] for r in rows) >= 1

    sp = spm.SentencePieceProcessor(model_file=tok.uri)
    eod = sp.eos_id()
    texts = {r["doc_id"]: (r["bucket"], r["split"]) for r in lake.read("splits").collect()}
    docs = {r["doc_id"]: r["text"] for r in lake.read("decontaminated_documents").collect()}
    expected: dict[tuple, Counter] = {}
    whole_docs, long_docs = set(), []
    for doc_id, key in texts.items():
        ids = sp.encode(encode(docs[doc_id]))
        expected.setdefault(key, Counter()).update(ids + [eod])
        if len(ids) + 1 <= 256:
            whole_docs.add(tuple(ids))
        else:
            long_docs.append(ids)
    got: dict[tuple, Counter] = {}
    for r in rows:
        dataset = megatron.IndexedDataset(r["uri"])
        assert len(dataset) == r["sequences"]
        for i in range(len(dataset)):
            seq = dataset[i]
            assert len(seq) == 256  # padded with EOD so Megatron's samples are the packed sequences
            seq = seq[:content_length(seq, eod)]
            got.setdefault((r["bucket"], r["split"]), Counter()).update(seq.tolist())
            segments = np.split(seq, np.flatnonzero(seq == eod) + 1)
            for seg in segments:
                if len(seg) and seg[-1] == eod and len(seg) < 256 and seg is not segments[0]:
                    body = seg[:-1].tolist()  # a whole document, or the last piece of one cut at seq_len
                    assert tuple(body) in whole_docs or any(ids[-len(body):] == body for ids in long_docs if body)
    assert got == expected
    assert verify_manifest(lake) == []

    again = run_pack(lake, cfg)
    assert again.manifest_id == report.manifest_id and again.write.operation == "NONE"
    mix = {m["domain"]: m for m in mix_against_target(report.shards, cfg.target_mix)}
    assert mix["code"]["tokens"] > 0 and mix["synthetic"]["tokens"] == 0 and mix["code"]["target"] == 0.40


def test_shards_are_verified_by_executors_and_a_tampered_or_missing_shard_fails(packed_lake, monkeypatch):
    lake, _ = packed_lake
    report = run_pack(lake, PackConfig(seq_len=512, max_shard_tokens=4_096))
    assert len(report.shards) >= 2

    def driver_reads_a_shard(*_):
        raise AssertionError("the driver parsed a shard index")

    monkeypatch.setattr("training.shards.parse_index", driver_reads_a_shard)
    assert verify_manifest(lake, report.manifest_id) == []
    monkeypatch.undo()

    tampered, missing = report.shards[0]["uri"], report.shards[1]["uri"]
    data = bytearray(open(tampered + ".bin", "rb").read())
    data[0] ^= 1
    open(tampered + ".bin", "wb").write(bytes(data))
    os.remove(missing + ".idx")
    problems = verify_manifest(lake, report.manifest_id)
    assert len(problems) == 2
    assert f"{tampered}: sha256 differs from the manifest" in problems
    assert any(p.startswith(f"{missing}: cannot be read") for p in problems)
    assert verify_manifest(lake, "no-such-manifest") == ["manifest no-such-manifest has no shard rows"]


def test_large_vocabularies_store_int32_that_megatron_reads_back(tmp_path):
    assert token_dtype(65_499) == np.uint16 and token_dtype(150_000) == np.int32
    seqs = [np.array([149_999, 70_000, 2]), np.array([5, 65_536, 2, 7, 2])]
    shard = write_shard(str(tmp_path), seqs, token_dtype(150_000), "t")
    dataset = megatron.IndexedDataset(shard.uri)
    assert [dataset[i].tolist() for i in range(len(dataset))] == [s.tolist() for s in seqs]
    assert dataset.index.dtype == np.int32 and shard.bytes == 8 * 4


def test_packing_names_the_missing_tokenizer(lake):
    with pytest.raises(PackError, match="tokenizers table is empty"):
        run_pack(lake, PackConfig())
    with pytest.raises(ValueError, match="max_shard_tokens .* must be at least packing.seq_len"):
        PackConfig(seq_len=1024, max_shard_tokens=512)
