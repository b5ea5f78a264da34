"""Packing survives into training: megatron-core's own GPTDataset draws each packed sequence as
one sample, and the CPU trainer keeps documents apart the same way."""

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import sentencepiece as spm
import torch
import yaml
from pyspark.sql import functions as F

from ledgers.lake import Lake
from schemas.launch import LocalModel, LocalTrainConfig, Parallelism, Stage, TrainingPlan
from schemas.tables import DistilledSft
from schemas.settings import IrmSettings, LakeSettings, LandingSettings, SlurmSettings, TrainingSettings
from tests.conftest import TEST_SPARK
from tests.lakes import build_packed_lake
from schemas.packing import PackConfig
from training.local_trainer import batch_of, build_model
from training.megatron_shards import token_dtype, write_shard
from training.packed_samples import block_causal_mask, content_length, cu_seqlens, document_spans, gpt_sample, pad_to
from training.runs import run_training
from training.shards import run_pack, verify_manifest
from training.post_training.formats import synthetic_document
from training.shards import mix_against_target
from training.whitespace import decode, encode

gpt = pytest.importorskip("megatron.core.datasets.gpt_dataset", reason="megatron-core comes with the train extra")
from megatron.core.datasets.indexed_dataset import IndexedDataset  # noqa: E402
from megatron.core.datasets.utils import Split  # noqa: E402

from training.packed_gpt_dataset import DocumentPackedGPTDataset  # noqa: E402

SEQ = 64


@pytest.fixture(scope="module")
def packed(spark, tmp_path_factory):
    """One lake packed at SEQ for the module (building it is the slow part)."""
    root = tmp_path_factory.mktemp("packed")
    settings = IrmSettings(spark=TEST_SPARK, lake=LakeSettings(root=str(root / "lake")),
                           landing=LandingSettings(root=str(root / "landing"), settle_seconds=0))
    lake = Lake(settings.lake, spark)
    tok = build_packed_lake(lake)
    return lake, tok, run_pack(lake, PackConfig(seq_len=SEQ, max_shard_tokens=SEQ * 40))


def sequences(uri: str) -> list[np.ndarray]:
    """Every sequence megatron-core's IndexedDataset reads from a shard (it has no bounds-checked iteration)."""
    dataset = IndexedDataset(uri)
    return [np.array(dataset[i]) for i in range(len(dataset))]


class _Tokenizer(SimpleNamespace):
    @property
    def unique_identifiers(self):
        return {"eod": self.eod}


def megatron_dataset(uri: str, eod: int, vocab: int, cache, cls=None):
    config = gpt.GPTDatasetConfig(random_seed=7, sequence_length=SEQ, tokenizer=_Tokenizer(eod=eod, eos=eod, vocab_size=vocab),
                                  reset_position_ids=True, reset_attention_mask=False, eod_mask_loss=True,
                                  create_attention_mask=False, add_extra_token_to_sequence=False, path_to_cache=str(cache),
                                  blend_per_split=[([uri], None), None, None])
    indexed = IndexedDataset(uri)
    return (cls or gpt.GPTDataset)(indexed, uri, np.arange(len(indexed)), None, Split.train, config), indexed


def test_every_megatron_sample_is_one_packed_sequence_with_its_document_boundaries(packed, tmp_path):
    lake, tok, report = packed
    assert report.conserved and verify_manifest(lake, report.manifest_id) == []
    sp = spm.SentencePieceProcessor(model_file=tok.uri)
    eod = sp.eos_id()
    docs = {r["doc_id"]: tuple(sp.encode(encode(r["text"])) + [eod]) for r in lake.read("decontaminated_documents").collect()}
    whole = set(docs.values())
    row = max(lake.read("manifests").where(F.col("manifest_id") == report.manifest_id).collect(), key=lambda r: r["sequences"])
    dataset, indexed = megatron_dataset(row["uri"], eod, sp.get_piece_size(), tmp_path)
    assert len(dataset) == len(indexed) == row["sequences"] > 3
    seen, packed_docs, shared = set(), 0, 0
    for i in range(len(dataset)):
        sample = dataset[i]
        tokens = sample["tokens"].numpy()
        match = [k for k in range(len(indexed)) if np.array_equal(indexed[k], tokens)]
        assert len(match) == 1, "a sample is not exactly one stored packed sequence"
        seen.add(match[0])
        ours = gpt_sample(indexed[match[0]], eod)
        for key in ("tokens", "labels", "loss_mask", "position_ids"):
            np.testing.assert_array_equal(sample[key].numpy(), ours[key], err_msg=key)
        spans = document_spans(tokens, eod)
        shared += len(spans) > 1
        for a, b in spans:
            assert sample["position_ids"][a] == 0 and list(sample["position_ids"][a:b].numpy()) == list(range(b - a))
            if tokens[b - 1] == eod and b - a < SEQ:
                piece = tuple(tokens[a:b].tolist())
                assert piece in whole or any(len(d) > SEQ and d[-len(piece):] == piece for d in whole)
                packed_docs += 1
        assert float(sample["loss_mask"][content_length(tokens, eod):].sum()) == 0  # padding carries no loss
    assert seen == set(range(len(indexed))) and packed_docs > 0 and shared > 0

    thd, _ = megatron_dataset(row["uri"], eod, sp.get_piece_size(), tmp_path / "thd", DocumentPackedGPTDataset)
    sample = thd[0]
    bounds = sample["cu_seqlens"][: int(sample["cu_seqlens_argmin"])].tolist()
    tokens = sample["tokens"].numpy()
    assert bounds[0] == 0 and bounds[-1] == SEQ and sorted(bounds) == bounds
    assert [b for _, b in document_spans(tokens, eod)] == [b for b in bounds[1:] if b <= content_length(tokens, eod)]


def test_a_shard_whose_sequences_are_not_seq_len_long_fails_verification(packed):
    lake, _, report = packed
    row = lake.read("manifests").where(F.col("manifest_id") == report.manifest_id).first()
    short = write_shard(str(lake.settings.uri) + "/artifacts/bad", [np.arange(10), np.arange(SEQ)], token_dtype(400), "bad")
    forged = {**row.asDict(), "uri": short.uri, "sha256": short.sha256, "idx_sha256": short.idx_sha256, "sequences": 2,
              "tokens": 10 + SEQ, "manifest_id": "forged"}
    lake.merge(lake.spark.createDataFrame([forged], lake.schema("manifests")), "manifests", keys=["manifest_id", "uri"], update=False)
    problems = verify_manifest(lake, "forged")
    assert len(problems) == 1 and "exactly seq_len=64" in problems[0]


def test_padding_and_boundaries_round_trip():
    seq = pad_to(np.array([5, 6, 2, 7, 8, 9, 2]), 12, eod=2)
    assert seq.tolist() == [5, 6, 2, 7, 8, 9, 2, 2, 2, 2, 2, 2] and content_length(seq, 2) == 7
    assert document_spans(seq, 2) == [(0, 3), (3, 7)]
    assert cu_seqlens(seq, 2, width=6).tolist() == [0, 3, 7, 12, -1, -1]
    full_piece = np.array([4, 4, 4, 4])
    assert content_length(full_piece, 2) == 4 and document_spans(full_piece, 2) == [(0, 4)]
    with pytest.raises(ValueError, match="exceeds seq_len"):
        pad_to(np.arange(13), 12, 2)


def test_the_cpu_trainer_never_attends_across_documents():
    torch.manual_seed(0)
    cfg = LocalTrainConfig(run_id="r", manifest_id="m", train_shards=["x"], train_weights=[1.0], tokenizer_uri="t", vocab_size=50, eod=2,
                           out_dir="o", context=16, model=LocalModel(num_layers=2, hidden_size=32, ffn_hidden_size=64,
                                                                     num_attention_heads=4, num_query_groups=2))
    model = build_model(cfg).eval()
    doc2 = [11, 12, 13, 14, 15, 2]
    a = pad_to(np.array([5, 6, 7, 2] + doc2), 16, 2)
    b = pad_to(np.array([9, 8, 30, 31, 40, 3, 2] + doc2), 16, 2)
    batch = batch_of([a, b], 2)
    with torch.no_grad():
        logits = model(input_ids=batch["tokens"], position_ids=batch["position_ids"],
                       attention_mask=block_causal_mask(batch["segment_ids"], model.dtype)).logits
        torch.testing.assert_close(logits[0, 4:10], logits[1, 7:13])  # doc 2 the same whatever doc 1 was
        alone = model(input_ids=torch.tensor([doc2])).logits
        torch.testing.assert_close(logits[0, 4:10], alone[0])  # and the same as on its own at position 0
        leaky = model(input_ids=batch["tokens"]).logits  # plain causal attention: doc 1 leaks into doc 2
    assert not torch.allclose(leaky[0, 4:10], leaky[1, 7:13], atol=1e-4)


def test_stage_b_packs_its_own_long_context_manifest_and_its_recipe_reads_it(packed, tmp_path):
    lake, tok, a = packed
    b = run_pack(lake, PackConfig(seq_len=4 * SEQ, max_shard_tokens=SEQ * 160, long_share=0.2, long_min_tokens=2 * SEQ))
    assert b.conserved and verify_manifest(lake, b.manifest_id) == [] and b.manifest_id != a.manifest_id
    # native long documents hold most of the long share of this small corpus; joined families add to it, until a
    # group runs out of families (so the realized share can fall a little short of the requested 0.2)
    assert 0.15 <= b.long_share <= 0.3
    sp = spm.SentencePieceProcessor(model_file=tok.uri)
    eod, sep = sp.eos_id(), sp.piece_to_id("<nl>")
    rows = lake.read("manifests").where(F.col("manifest_id") == b.manifest_id).collect()
    spans = [s[x:y] for r in rows for s in sequences(r["uri"]) for x, y in document_spans(s, eod)]
    assert any(len(s) > 2 * SEQ and sep in s.tolist() for s in spans)  # a family joined into one long document

    slurm = SlurmSettings(account="irm", partition="h200", job_dir=str(tmp_path / "jobs"), container_image="nvcr.io/nvidia/nemo:25.11",
                          container_mounts=["/lustre:/lustre"])
    settings = IrmSettings(spark=TEST_SPARK, lake=lake.settings, landing=LandingSettings(root=str(tmp_path / "landing")),
                           training=TrainingSettings(executor="slurm", slurm=slurm))
    plan = TrainingPlan(stages=[Stage(name="A", seq_length=SEQ, token_share=0.65, global_batch_size=40, parallelism=Parallelism(context=2)),
                                Stage(name="B", seq_length=4 * SEQ, token_share=0.35, global_batch_size=10,
                                      parallelism=Parallelism(context=4), rope_scaling_factor=4.0)])
    run = run_training(lake, settings, plan, {}, manifest_id=a.manifest_id, stages={"B": b.manifest_id}, dryrun=True)
    assert run.run.status == "DRYRUN" and run.run.run_id.startswith("run-slurm-") and len(run.launch.sbatch_scripts) == 2
    script = Path(run.launch.sbatch_scripts[0]).read_text()
    for expected in ("#SBATCH --account=irm", "#SBATCH --partition=h200", "#SBATCH --nodes=5", "#SBATCH --gpus-per-node=4",
                     "nvcr.io/nvidia/nemo:25.11", "training.bridge_pretrain", "torchrun"):
        assert expected in script, expected
    recipe_a, recipe_b = (yaml.safe_load(Path(p).read_text()) for p in run.run.recipe_uris)
    assert set(recipe_b["dataset"]["blend_per_split"][0][0]) <= {r["uri"] for r in rows}
    assert set(recipe_a["dataset"]["blend_per_split"][0][0]).isdisjoint({r["uri"] for r in rows})

def test_verified_distilled_samples_become_the_synthetic_bucket(packed):
    lake, tok, _ = packed
    rows = [DistilledSft(task_id=f"s{k}", prompt=f"Compute {k} + 1.", input_files=[], expected_tests=[str(k + 1)], candidate=[str(k + 1)],
                         passed=k != 3, rationale=f"{k} plus one is {k + 1}", tool_calls=[f'{{"name": "python", "code": "{k}+1"}}'],
                         confidence=1.0) for k in range(4)]
    lake.write(lake.frame("distilled_sft", rows), "distilled_sft", mode="overwrite")
    report = run_pack(lake, PackConfig(seq_len=4 * SEQ, max_shard_tokens=SEQ * 160))
    assert report.conserved and report.input_versions["distilled_sft"] == lake.version("distilled_sft")
    synthetic = [s for s in report.shards if s["bucket"] == "synthetic/distilled"]
    assert synthetic and {s["split"] for s in synthetic} == {"train"} and sum(s["documents"] for s in synthetic) == 3  # the failed one stays out
    mix = {m["domain"]: m for m in mix_against_target(report.shards, {"code": 0.4, "math": 0.15, "text": 0.3, "synthetic": 0.15})}
    assert mix["synthetic"]["tokens"] > 0 and mix["synthetic"]["target"] == 0.15
    sp = spm.SentencePieceProcessor(model_file=tok.uri)
    texts = [decode(sp.decode([int(t) for t in s[a:b - 1]])) for r in synthetic for s in sequences(r["uri"])
             for a, b in document_spans(s, sp.eos_id())]
    expected = synthetic_document(rows[0].model_dump())
    assert expected.startswith("Compute 0 + 1.\n<scratchpad>0 plus one is 1</scratchpad>\n<call_tool>") and expected.endswith("</call_tool>\n1")
    assert expected in texts

def test_a_document_lost_between_splits_and_its_text_fails_conservation(packed):
    lake, _, _ = packed
    texts = lake.read("decontaminated_documents")
    victim = texts.orderBy("doc_id").first()["doc_id"]
    lake.write(texts.where(F.col("doc_id") != victim), "decontaminated_documents", mode="overwrite")
    report = run_pack(lake, PackConfig(seq_len=SEQ, max_shard_tokens=SEQ * 40))
    assert not report.conserved
    assert report.documents_in == report.documents_packed + 1 and report.documents_without_text == 1
