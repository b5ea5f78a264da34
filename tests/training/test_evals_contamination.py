"""A checkpoint's contamination note is read at the decontamination versions its own training
data was packed from, not from whatever the latest run left."""

from __future__ import annotations

import datetime as dt

from schemas.tables import CheckpointRecord, ContaminationRecord, EvalHash, PostTrainingDataset, ShardManifestRow, TrainingRun
from training.evals.contamination import ContaminationIndex, training_data

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
IDS = [f"HumanEval/{k}" for k in range(3)]


def _report(lake, removed: list[str]) -> int:
    rows = [ContaminationRecord(benchmark="humaneval", item_id=i, doc_id="d1", overlapping_ngrams=40, ngram_hashes=[0], action="removed")
            for i in removed]
    return lake.write(lake.frame("contamination", rows), "contamination", mode="overwrite").version


def _manifest(mid: str, versions: dict[str, int]) -> ShardManifestRow:
    return ShardManifestRow(manifest_id=mid, uri=f"/lake/shards/{mid}/0", sha256="0" * 64, idx_sha256="0" * 64, bytes=1, tokens=1,
                            sequences=1, documents=1, truncated_documents=0, bucket="code/python", split="train", tokenizer_id="t",
                            seq_len=8, dtype="uint16", input_versions=versions, created_at=NOW)


def _run(run_id: str, manifest_id: str) -> TrainingRun:
    return TrainingRun(run_id=run_id, manifest_id=manifest_id, config_hash="c", code_version="v", executor="local", status="SUCCEEDED",
                       run_dir="/runs", recipe_uris=[], metrics={}, updated_at=NOW)


def _ckpt(run_id: str) -> CheckpointRecord:
    return CheckpointRecord(checkpoint_id=f"{run_id}.step-000001", run_id=run_id, step=1, uri="/c", sha256="0" * 64, tokens_seen=1,
                            loss=1.0, registered_at=NOW)


def test_each_checkpoint_sees_the_contamination_report_its_manifest_was_packed_from(lake):
    hashes = lake.write(lake.frame("eval_hashes", [EvalHash(benchmark="humaneval", item_id=i, ngram_hash=k, n=13) for k, i in enumerate(IDS)]),
                        "eval_hashes", mode="overwrite").version
    old = _report(lake, ["HumanEval/0"])
    new = _report(lake, ["HumanEval/0", "HumanEval/1"])
    manifests = [_manifest("m-old", {"eval_hashes": hashes, "contamination": old}), _manifest("m-new", {"eval_hashes": hashes, "contamination": new}),
                 _manifest("m-pre", {"drops": 0})]
    lake.write(lake.frame("manifests", manifests), "manifests", mode="overwrite")
    lake.write(lake.frame("training_runs", [_run("run-old", "m-old"), _run("run-new", "m-new"), _run("run-pre", "m-pre"),
                                            _run("run-sft", "sft-x")]), "training_runs", mode="overwrite")
    lake.write(lake.frame("post_training_datasets", [PostTrainingDataset(
        dataset_id="sft-x", kind="sft", base_checkpoint_id="run-old.step-000001", uris=[], sha256=[], examples=1, held_out=0, task_ids=[],
        teachers=[], input_versions={}, created_at=NOW)]), "post_training_datasets", mode="overwrite")
    lake.write(lake.frame("checkpoints", [_ckpt(r) for r in ("run-old", "run-new", "run-pre", "run-sft")]), "checkpoints", mode="overwrite")

    def note(checkpoint_id):
        return ContaminationIndex.for_checkpoint(lake.settings, checkpoint_id).check("humaneval", IDS)

    older, newer, sft = note("run-old.step-000001"), note("run-new.step-000001"), note("run-sft.step-000001")
    assert set(older.contaminated) == {"HumanEval/0"} and f"contamination@v{old}" in older.note and "manifest m-old" in older.note
    assert set(newer.contaminated) == {"HumanEval/0", "HumanEval/1"} and f"contamination@v{new}" in newer.note
    assert sft.contaminated == older.contaminated and "via sft-x" in sft.note
    assert training_data(lake.settings, "run-sft.step-000001").manifest_id == "m-old"

    before = note("run-pre.step-000001")
    assert before.note.startswith("NOT CHECKED") and "before any decontamination" in before.note and not before.contaminated

    outside = note("someone-else.step-000001")
    assert set(outside.contaminated) == {"HumanEval/0", "HumanEval/1"} and "does not trace" in outside.note


def test_a_manifest_version_past_the_time_travel_window_falls_back_to_the_latest_report_and_says_so(lake):
    lake.write(lake.frame("eval_hashes", [EvalHash(benchmark="humaneval", item_id=i, ngram_hash=k, n=13) for k, i in enumerate(IDS)]),
               "eval_hashes", mode="overwrite")
    _report(lake, ["HumanEval/2"])
    lake.write(lake.frame("manifests", [_manifest("m-gone", {"eval_hashes": 99, "contamination": 99})]), "manifests", mode="overwrite")
    lake.write(lake.frame("training_runs", [_run("run-gone", "m-gone")]), "training_runs", mode="overwrite")
    lake.write(lake.frame("checkpoints", [_ckpt("run-gone")]), "checkpoints", mode="overwrite")
    note = ContaminationIndex.for_checkpoint(lake.settings, "run-gone.step-000001").check("humaneval", IDS)
    assert set(note.contaminated) == {"HumanEval/2"} and "can no longer be read" in note.note
