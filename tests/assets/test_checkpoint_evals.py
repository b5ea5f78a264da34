"""A new checkpoint is evaluated automatically (declarative automation asks for its suite), on
the real endpoint over the real small model: near-zero scores, stated honestly; the same seed
gives the same numbers; the scorecard lands in the lake and answers `irm sql`."""

from __future__ import annotations

from pathlib import Path

import pytest
import sentencepiece as spm
import torch
from dagster import AssetKey, DagsterInstance, evaluate_automation_conditions, materialize

from assets.checkpoint_evals import checkpoint_evals_suite, scorecard
from assets.definitions import build_definitions, tick_sensor
from assets.resources import resources_from
from assets.training import checkpoint
from ledgers.query import run_sql
from schemas.launch import LocalTrainConfig
from schemas.settings import EvalSettings, TrainingSettings
from training.local_trainer import build_model, save_checkpoint

FILES = Path(__file__).parents[1] / "training" / "eval_files"


def tiny_checkpoint(root: Path) -> None:
    """An untrained model of the local family with its own small tokenizer (no training run needed)."""
    text = root / "text.txt"
    text.parent.mkdir(parents=True, exist_ok=True)
    text.write_text("\n".join(f"def f{k}(x):\n    return x * {k} + the access code of amber is {k}" for k in range(300)))
    spm.SentencePieceTrainer.train(input=str(text), model_prefix=str(root / "tok"), vocab_size=400, model_type="unigram",
                                   byte_fallback=True, bos_id=-1, eos_id=1, unk_id=0, pad_id=-1, minloglevel=2)
    cfg = LocalTrainConfig(run_id="run-tiny", manifest_id="m0", train_shards=["unused"], train_weights=[1.0], tokenizer_uri=str(root / "tok.model"),
                           vocab_size=400, eod=1, out_dir=str(root / "ckpts" / "run-tiny"), context=256)
    torch.manual_seed(0)
    save_checkpoint(build_model(cfg), cfg, step=1, tokens_seen=0, loss=9.9)


@pytest.mark.slow
def test_a_new_checkpoint_is_evaluated_automatically_and_scored_honestly(settings, tmp_path):
    tiny_checkpoint(tmp_path)
    evals = EvalSettings(benchmark_files={"arc": str(FILES / "arc_challenge.jsonl")}, max_items=2, samples=2, exec_guided_samples=2,
                         self_consistency_k=2, max_tokens=8, seed=11, probe_lengths=[48, 100_000], probe_depths=[0.5])
    settings = settings.model_copy(update={"training": TrainingSettings(checkpoints_root=str(tmp_path / "ckpts")), "evals": evals})
    defs, instance, resources = build_definitions(settings), DagsterInstance.ephemeral(), resources_from(settings)

    before = evaluate_automation_conditions(defs=defs, instance=instance)  # the daemon's first tick: nothing is due yet
    assert not before.get_requested_partitions(AssetKey("checkpoint_evals_suite"))
    ticked = tick_sensor(defs, "checkpoint_sensor", instance, None)
    key = ticked.run_requests[0].partition_key
    instance.add_dynamic_partitions("checkpoints", [key])
    assert materialize([checkpoint], partition_key=key, resources=resources, instance=instance).success

    requested = evaluate_automation_conditions(defs=defs, instance=instance, cursor=before.cursor).get_requested_partitions(AssetKey("checkpoint_evals_suite"))
    assert requested == {key}

    def suite():
        result = materialize([checkpoint_evals_suite], partition_key=key, resources=resources, instance=instance)
        assert result.success
        return run_sql(settings.lake, f"SELECT benchmark, metric, value, n, seed FROM evals WHERE checkpoint_id = '{key}' "
                                      "ORDER BY 1, 2").to_pylist()

    first = suite()
    assert suite() == first
    values = {(r["benchmark"], r["metric"]): r["value"] for r in first}
    assert values[("humaneval", "pass@1")] == 0.0 and values[("humaneval", "exec_guided_pass@1")] == 0.0
    assert ("arc", "acc") in values and ("needle", "recall@48") in values and ("needle", "recall@100000") not in values
    refused = run_sql(settings.lake, "SELECT count(*) AS n FROM eval_items WHERE benchmark = 'needle' AND detail LIKE 'Refused%'").to_pylist()
    assert refused[0]["n"] == 1  # 100k tokens exceed the model's 256 positions: refused, recorded, not scored as recall

    meta = instance.get_latest_materialization_event(AssetKey("checkpoint_evals_suite")).asset_materialization.metadata
    assert Path(meta["needle_plot"].value).is_file() and "![needle" in meta["recall_plots"].value

    assert materialize([scorecard], resources=resources, instance=instance).success
    card = {r["gate"].split()[0]: r for r in run_sql(settings.lake, "SELECT gate, value, status, reason FROM scorecard").to_pylist()}
    # two items: the zero is on the card, and a gate is not judged on so few
    assert card["HumanEval"]["status"] == "not-measured" and card["HumanEval"]["value"] == 0.0 and "n=2 items" in card["HumanEval"]["reason"]
    assert card["MMLU"]["status"] == "not-measured"
    assert card["needle"]["status"] == "not-measured" and card["p95"]["status"] == "not-measured"
    assert "| 0.0 | **not-measured** |" in instance.get_latest_materialization_event(AssetKey("scorecard")).asset_materialization.metadata["scorecard"].value


def test_the_evaluation_assets_are_automated_by_a_running_sensor(settings):
    defs = build_definitions(settings)
    sensor = defs.resolve_sensor_def("default_automation_condition_sensor")
    assert sensor.default_status.value == "RUNNING"
    targeted = sensor.asset_selection.resolve(defs.resolve_asset_graph())
    assert {AssetKey("checkpoint_evals_suite"), AssetKey("scorecard")} <= targeted
    suite = defs.resolve_assets_def("checkpoint_evals_suite")
    assert suite.automation_conditions_by_key[AssetKey("checkpoint_evals_suite")].get_label() == "on_upstream_change"
    assert suite.partitions_def.name == "checkpoints"
    assert defs.resolve_assets_def("scorecard").automation_conditions_by_key[AssetKey("scorecard")] is not None
