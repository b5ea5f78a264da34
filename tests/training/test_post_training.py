"""SFT and DPO from the distilled tables, from a pretraining checkpoint, on CPU through NeMo-Run."""

import math
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from transformers import LlamaForCausalLM

from ledgers.lineage import lineage
from schemas.launch import PostTrainingPlan
from schemas.settings import SlurmSettings, TrainingSettings
from schemas.tables import DistillCandidate, DistilledSft, DpoPair
from tests.training.test_recipe import SECTIONS, fields_of
from training.checkpoints import MEGATRON_COMPLETE, discover, evaluate, register
from training.local_finetune import dpo_terms, sft_batch
from training.post_training.formats import response_text
from training.post_training.runs import run_post_training
from training.post_training.sft_data import SftExample, pack_examples
from training.runs import checkpoints_root

PLAN = PostTrainingPlan(pack_size=256, val_share=0.3, steps=4, batch_size=2, save_every=4, lr=3e-3, beta=0.5)


def distilled(lake):
    sft, pairs, candidates = [], [], []
    for k in range(10):
        task = f"t{k:02d}"
        answer = f"def f{k}(x):\n    return x + {k}\n"
        sft.append(DistilledSft(task_id=task, prompt=f"Write f{k} that adds {k}.", input_files=[], expected_tests=[f"assert f{k}(1) == {k + 1}"],
                                candidate=[answer], passed=True, rationale=f"add {k} to x" * (1 + k % 3), tool_calls=['{"name": "python"}'],
                                confidence=1.0))
        pairs.append(DpoPair(task_id=task, prompt=f"Write f{k} that adds {k}.", chosen=answer, rejected=f"def f{k}(x):\n    return x - {k}\n",
                             chosen_teacher="teacher-a", rejected_teacher="teacher-b", rejected_error_class="wrong-answer"))
        candidates += [DistillCandidate(task_id=task, teacher=t, sample_no=n, kind="code", final=answer, passed=ok, detail="", agreement=1.0,
                                        decision="kept" if ok else "failed") for n, (t, ok) in enumerate([("teacher-a", True), ("teacher-b", False)])]
    sft.append(sft[0].model_copy(update={"task_id": "t99", "passed": False}))
    for table, rows in (("distilled_sft", sft), ("dpo_pairs", pairs), ("distill_candidates", candidates)):
        lake.write(lake.frame(table, rows), table, mode="overwrite")


@pytest.fixture(scope="module")
def base(trained):
    lake, settings, report = trained
    key = discover(checkpoints_root(settings))[-1]
    register(lake, checkpoints_root(settings), key)
    distilled(lake)
    return lake, settings, key


def test_sft_trains_on_the_answers_only_from_the_pretraining_checkpoint(base, tmp_path):
    lake, settings, key = base
    report, data = run_post_training(lake, settings, "sft", key, PLAN)
    run = report.run
    assert run.status == "SUCCEEDED" and run.run_id.startswith("sft-local-") and run.manifest_id == data.record.dataset_id
    assert data.record.examples == 10 and 0 < data.record.held_out < 10 and data.record.teachers == ["teacher-a"]
    stats = data.stats["rationale_tokens"]
    assert stats["max"] >= stats["p90"] >= stats["p50"] > 0 and sum(stats["histogram"].values()) == 10
    ckpt = discover(checkpoints_root(settings))
    mine = [k for k in ckpt if k.startswith(run.run_id + ".")]
    assert mine == [f"{run.run_id}.step-000004"]
    record, _ = register(lake, checkpoints_root(settings), mine[0])
    base_weights = LlamaForCausalLM.from_pretrained(lake.read("checkpoints").where(f"checkpoint_id = '{key}'").first()["uri"]).state_dict()
    tuned = LlamaForCausalLM.from_pretrained(record.uri).state_dict()
    assert any(not torch.equal(base_weights[n], tuned[n]) for n in base_weights)  # it started from, and moved off, the base
    result = evaluate(lake, mine[0])
    assert result.split == "val-answers" and result.tokens > 0 and math.isfinite(result.loss)

    recipe = yaml.safe_load(Path(run.recipe_uris[0]).read_text())
    container = fields_of("megatron.bridge.training.config", "ConfigContainer")
    assert set(recipe) <= container
    checks = {**SECTIONS, "dataset": [("megatron.bridge.training.config", "FinetuningDatasetConfig"),
                                      ("megatron.bridge.training.config", "DataloaderConfig")]}
    for section, classes in checks.items():
        known = set().union(*(fields_of(m, c) for m, c in classes))
        unknown = {k for k in recipe[section] if not k.startswith("_")} - known
        assert not unknown, f"sft.yaml {section}: {sorted(unknown)}"
    specs = fields_of("megatron.bridge.data.datasets.packed_sequence", "PackedSequenceSpecs")
    assert set(recipe["dataset"]["packed_sequence_specs"]) - {"_target_"} <= specs
    assert recipe["checkpoint"]["finetune"] is True and recipe["dataset"]["dataset_kwargs"]["answer_only_loss"] is True
    records = np.load(recipe["dataset"]["packed_sequence_specs"]["packed_train_data_path"], allow_pickle=True)
    assert {"input_ids", "loss_mask", "seq_start_id"} == set(records[0])


def test_the_sft_loss_covers_the_answer_and_examples_stay_apart():
    a, b = SftExample("a", (5, 6, 7, 8, 2), answer_start=2), SftExample("b", (9, 10, 11, 2), answer_start=3)
    [record] = pack_examples([a, b], 16)
    assert record["seq_start_id"] == [0, 5] and record["input_ids"] == [5, 6, 7, 8, 2, 9, 10, 11, 2]
    batch = sft_batch([record], eod=2)
    # a label is trained when it is an answer token (or the final EOD) of the same example
    assert batch["loss_mask"][0].tolist()[:9] == [0, 1, 1, 1, 0, 0, 0, 1, 0]
    assert batch["position_ids"][0].tolist()[:9] == [0, 1, 2, 3, 4, 0, 1, 2, 3]
    assert batch["segment_ids"][0, 4] != batch["segment_ids"][0, 5]
    assert response_text("why", ["call"], ["x = 1"]) == "<scratchpad>why</scratchpad>\n<call_tool>call</call_tool>\nx = 1"


def test_dpo_uses_a_frozen_reference_and_reports_a_held_out_win_rate(base):
    lake, settings, key = base
    report, data = run_post_training(lake, settings, "dpo", key, PLAN)
    run = report.run
    assert run.status == "SUCCEEDED" and run.run_id.startswith("dpo-local-") and run.metrics["final_loss"] < run.metrics["first_loss"]
    mine = [k for k in discover(checkpoints_root(settings)) if k.startswith(run.run_id + ".")]
    register(lake, checkpoints_root(settings), mine[0])
    result = evaluate(lake, mine[0])
    assert result.split == "heldout-pairs" and 0.0 <= result.metrics["win_rate_vs_reference"] <= 1.0
    assert result.metrics["pairs"] == data.record.held_out and result.metrics["beta"] == PLAN.beta
    row = lake.read("checkpoint_evals").where(f"checkpoint_id = '{mine[0]}'").first()
    assert row["metrics"]["win_rate_vs_reference"] == result.metrics["win_rate_vs_reference"]

    base_uri = lake.read("checkpoints").where(f"checkpoint_id = '{key}'").first()["uri"]
    policy = LlamaForCausalLM.from_pretrained(base_uri).eval()
    pairs = [{"prompt": [5, 6], "chosen": [7, 8, 2], "rejected": [9, 2]}]
    with torch.no_grad():
        loss, margin = dpo_terms(policy, policy, pairs, beta=0.5, eod=2)
    assert float(margin[0]) == 0.0 and float(loss) == pytest.approx(math.log(2))  # the policy equal to its reference

    tree = lineage(lake.settings, mine[0])
    run_node = tree.children[0]
    data_node = run_node.children[0]
    assert data_node.kind == "post_training_data" and data_node.id == data.record.dataset_id
    kinds = {c.kind: c for c in data_node.children}
    assert {c.id for c in data_node.children if c.kind == "teacher"} == {"teacher-a", "teacher-b"}
    assert any(c.id.startswith("dpo_pairs@v") for c in data_node.children) and kinds["checkpoint"].id == key
    manifest = kinds["checkpoint"].children[0].children[0]
    assert manifest.kind == "manifest" and any(c.id.startswith("raw_documents@v") for c in manifest.children)


def test_a_slurm_dry_run_gets_its_own_run_and_writes_the_nemo_rl_dpo_config(base, tmp_path):
    lake, settings, key = base
    slurm = SlurmSettings(account="irm", partition="h200", job_dir=str(tmp_path / "jobs"), container_image="nvcr.io/nvidia/nemo-rl:v0.4")
    cluster = settings.model_copy(update={"training": TrainingSettings(executor="slurm", slurm=slurm)})
    before = {r["run_id"]: (r["status"], r["updated_at"]) for r in lake.read("training_runs").collect()}
    report, _ = run_post_training(lake, cluster, "dpo", key, PLAN, dryrun=True)
    assert report.run.status == "DRYRUN" and report.run.run_id.startswith("dpo-slurm-") and report.run.run_id not in before
    config = yaml.safe_load(Path(report.run.recipe_uris[0]).read_text())
    assert config["dpo"]["reference_policy_kl_penalty"] == PLAN.beta and config["policy"]["model_name"].endswith("step-000006")
    assert "run_dpo.py" in Path(report.launch.sbatch_scripts[0]).read_text()
    after = {r["run_id"]: (r["status"], r["updated_at"]) for r in lake.read("training_runs").collect()}
    assert {k: after[k] for k in before} == before  # the dry run touched no earlier run's row


def test_the_sensor_side_registers_finished_megatron_checkpoints_only(base):
    lake, settings, _ = base
    folder = Path(checkpoints_root(settings)) / "run-slurm-0123456789abcdef" / "megatron" / "checkpoints" / "iter_0000100"
    folder.mkdir(parents=True)
    (folder / "metadata.json").write_text('{"sharded_backend": "torch_dist"}')
    (folder / "__0_0.distcp").write_bytes(b"\0" * 64)
    key = "run-slurm-0123456789abcdef.iter_0000100"
    assert key not in discover(checkpoints_root(settings))  # async save not finalized: no train_state.pt yet
    with pytest.raises(ValueError, match="lacks \\['train_state.pt'\\]"):
        register(lake, checkpoints_root(settings), key)
    torch.save({"step": 100}, folder / MEGATRON_COMPLETE[1])
    assert key in discover(checkpoints_root(settings))
    record, _ = register(lake, checkpoints_root(settings), key)
    assert record.step == 100 and record.run_id == "run-slurm-0123456789abcdef" and len(record.sha256) == 64
