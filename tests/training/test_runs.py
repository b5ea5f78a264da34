import json
from pathlib import Path

import pytest
from dagster import DagsterInstance
from safetensors.numpy import load_file

from assets.definitions import build_definitions, tick_sensor
from ledgers.lineage import lineage
from schemas.launch import TrainingPlan
from schemas.settings import TrainingSettings
from training.checkpoints import discover, evaluate, register
from training.runs import checkpoints_root, fresh_run_id


def test_local_executor_trains_and_writes_hf_checkpoints_and_a_loss_curve(trained):
    lake, settings, report = trained
    run = report.run
    assert run.status == "SUCCEEDED" and run.executor == "local" and report.launch.status == {"local-train": "SUCCEEDED"}
    assert [c["step"] for c in report.loss_curve] == list(range(1, 7))
    assert run.metrics["final_loss"] < run.metrics["first_loss"] and 0 < run.metrics["tokens_seen"] < 6 * 4 * 32  # EOD/padding inputs masked
    assert run.run_id.startswith("run-local-")
    keys = discover(checkpoints_root(settings))
    assert keys == [f"{run.run_id}.step-000003", f"{run.run_id}.step-000006"]
    ckpt = Path(run.run_dir) / "checkpoints" / "step-000006"
    assert {"model.safetensors", "config.json", "tokenizer.model", "irm_checkpoint.json"} <= {p.name for p in ckpt.iterdir()}
    weights = load_file(ckpt / "model.safetensors")
    assert any("mlp.gate_proj" in k for k in weights) and any("input_layernorm" in k for k in weights)  # SwiGLU, RMSNorm
    config = json.loads((ckpt / "config.json").read_text())
    assert config["model_type"] == "llama" and config["num_key_value_heads"] < config["num_attention_heads"]  # GQA
    assert all(Path(p).exists() for p in run.recipe_uris) and len(run.recipe_uris) == 1  # no manifest packed for stage B
    rows = lake.read("training_runs").collect()
    assert len(rows) == 1 and rows[0]["status"] == "SUCCEEDED" and rows[0]["config_hash"] == run.config_hash


def test_checkpoints_register_once_evaluate_and_trace_back_to_the_manifest(trained):
    lake, settings, report = trained
    root = checkpoints_root(settings)
    key = discover(root)[-1]
    record, first = register(lake, root, key)
    _, again = register(lake, root, key)
    assert first.operation == "MERGE" and again.operation == "NONE" and record.tokens_seen == report.run.metrics["tokens_seen"]
    result = evaluate(lake, key)
    assert result.split == "val" and result.tokens > 0 and result.perplexity > 1
    node = lineage(settings.lake, key)
    assert node.kind == "checkpoint" and node.children[0].kind == "training_run"
    manifest = node.children[0].children[0]
    assert manifest.kind == "manifest" and manifest.id == report.run.manifest_id
    tables = {c.id.split("@")[0] for c in manifest.children}
    assert {"splits", "decontaminated_documents", "tokenizers", "curated_documents", "raw_documents"} <= tables


def test_the_checkpoint_sensor_requests_each_checkpoint_once(trained):
    _, settings, report = trained
    defs = build_definitions(settings)
    instance = DagsterInstance.ephemeral()
    first = tick_sensor(defs, "checkpoint_sensor", instance, None)
    keys = [r.partition_key for r in first.run_requests]
    assert keys == [f"{report.run.run_id}.step-000003", f"{report.run.run_id}.step-000006"]
    assert [r.run_key for r in first.run_requests] == keys
    assert list(first.dynamic_partitions_requests[0].partition_keys) == keys
    second = tick_sensor(defs, "checkpoint_sensor", instance, first.cursor)
    assert not second.run_requests


def test_a_rerun_gets_its_own_run_id_and_leaves_the_earlier_checkpoints(trained):
    lake, settings, report = trained
    first = report.run.run_id
    assert fresh_run_id(lake, settings, first) == f"{first}-a2"
    assert discover(checkpoints_root(settings))[:2] == [f"{first}.step-000003", f"{first}.step-000006"]
    assert fresh_run_id(lake, settings, first.replace("run-local-", "run-slurm-")) == first.replace("run-local-", "run-slurm-")


def test_slurm_settings_name_what_is_missing():
    with pytest.raises(ValueError, match="training.executor=slurm needs training.slurm.account"):
        TrainingSettings(executor="slurm")
