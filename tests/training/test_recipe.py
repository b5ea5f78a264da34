"""The recipe's field names are checked against the installed Megatron-Bridge and megatron-core
sources (parsed, not imported: Megatron-Bridge imports transformer-engine, a CUDA-only package)."""

import ast
import importlib.util
from pathlib import Path

import pytest
import yaml

from schemas.launch import Parallelism, Stage, TrainingPlan
from schemas.model import IRM_2B
from training.recipe import blend, iterations, write_recipe


def _source(module: str) -> Path:
    spec = importlib.util.find_spec(module.split(".")[0])
    assert spec is not None, f"{module} is not installed (make setup installs it)"
    root = Path(list(spec.submodule_search_locations)[0]).parent
    return root / (module.replace(".", "/") + ".py")


def fields_of(module: str, cls: str) -> set[str]:
    tree = ast.parse(_source(module).read_text())
    node = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == cls)
    names = {s.target.id for s in node.body if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)}
    for fn in (s for s in node.body if isinstance(s, ast.FunctionDef) and s.name == "__init__"):
        names |= {a.arg for a in fn.args.args + fn.args.kwonlyargs if a.arg != "self"}
    return names


SECTIONS = {
    "model": [("megatron.bridge.models.gpt_provider", "GPTModelProvider"), ("megatron.bridge.models.transformer_config", "TransformerConfig"),
              ("megatron.core.transformer.transformer_config", "TransformerConfig"), ("megatron.core.model_parallel_config", "ModelParallelConfig")],
    "train": [("megatron.bridge.training.config", "TrainingConfig")],
    "optimizer": [("megatron.bridge.training.config", "OptimizerConfig"), ("megatron.core.optimizer.optimizer_config", "OptimizerConfig")],
    "scheduler": [("megatron.bridge.training.config", "SchedulerConfig")],
    "ddp": [("megatron.bridge.training.config", "DistributedDataParallelConfig"),
            ("megatron.core.distributed.distributed_data_parallel_config", "DistributedDataParallelConfig")],
    "dataset": [("megatron.bridge.training.config", "GPTDatasetConfig"), ("megatron.bridge.training.config", "DataloaderConfig"),
                ("megatron.core.datasets.gpt_dataset", "GPTDatasetConfig"),
                ("megatron.core.datasets.blended_megatron_dataset_config", "BlendedMegatronDatasetConfig")],
    "tokenizer": [("megatron.bridge.training.tokenizers.config", "TokenizerConfig")],
    "checkpoint": [("megatron.bridge.training.config", "CheckpointConfig")],
    "logger": [("megatron.bridge.training.config", "LoggerConfig")],
    "rng": [("megatron.bridge.training.config", "RNGConfig")],
}

SHARDS = [
    {"uri": "/lake/shards/code-python/train/a", "bucket": "code/python", "split": "train", "tokens": 300},
    {"uri": "/lake/shards/code-python/train/b", "bucket": "code/python", "split": "train", "tokens": 100},
    {"uri": "/lake/shards/text-en/train/c", "bucket": "text/en", "split": "train", "tokens": 1000},
    {"uri": "/lake/shards/text-en/val/d", "bucket": "text/en", "split": "val", "tokens": 50},
]


def test_every_recipe_field_is_a_megatron_bridge_field(tmp_path):
    stages = {"A-128k": ("m123", SHARDS), "B-512k": ("m456", SHARDS)}
    paths = write_recipe(TrainingPlan(), stages, "/lake/tok.model", {"code": 0.4, "text": 0.3, "math": 0.15, "synthetic": 0.15},
                         tmp_path, "/runs/irm-2b")
    container = fields_of("megatron.bridge.training.config", "ConfigContainer")
    for path in paths:
        config = yaml.safe_load(path.read_text())
        assert set(config) <= container, set(config) - container
        for section, classes in SECTIONS.items():
            known = set().union(*(fields_of(m, c) for m, c in classes))
            unknown = {k for k in config[section] if not k.startswith("_")} - known
            assert not unknown, f"{path.name} {section}: {sorted(unknown)} are not fields of {classes}"
        mixed = config["mixed_precision"]
        assert f"def {mixed}()" in _source("megatron.bridge.training.mixed_precision").read_text()


def test_stages_link_into_one_schedule_with_rope_scaling_for_512k(tmp_path):
    plan = TrainingPlan()
    long = [{**s, "uri": s["uri"] + "-512k", "seq_len": 524_288} for s in SHARDS]
    paths = write_recipe(plan, {"A-128k": ("ma", [{**s, "seq_len": 131_072} for s in SHARDS]), "B-512k": ("mb", long)},
                         "/t.model", {"code": 0.4, "text": 0.6}, tmp_path, "/r", strict=True)
    assert "manifest mb" in paths[1].read_text() and "NOT LAUNCHABLE" not in paths[1].read_text()
    a, b = (yaml.safe_load(p.read_text()) for p in paths)
    assert all(u.endswith("-512k") for u in b["dataset"]["blend_per_split"][0][0])  # stage B reads its own manifest
    assert not any(u.endswith("-512k") for u in a["dataset"]["blend_per_split"][0][0])
    ds = a["dataset"]
    assert (ds["add_extra_token_to_sequence"], ds["reset_position_ids"], ds["eod_mask_loss"], ds["create_attention_mask"]) == (False, True, True, False)
    its = iterations(plan)
    assert a["train"]["train_iters"] == its["A-128k"].last and b["train"]["train_iters"] == its["B-512k"].last
    assert a["scheduler"] == b["scheduler"] and a["scheduler"]["lr_decay_style"] == "cosine"
    assert 0.02 <= a["scheduler"]["lr_warmup_iters"] / a["scheduler"]["lr_decay_iters"] <= 0.03
    assert a["checkpoint"]["save"] == b["checkpoint"]["load"]
    assert (a["model"]["seq_length"], b["model"]["seq_length"]) == (131_072, 524_288)
    assert "rope_scaling" not in a["model"] and b["model"]["rope_scaling_factor"] == 4.0
    assert a["train"]["global_batch_size"] * 131_072 == b["train"]["global_batch_size"] * 524_288
    assert 0.6 <= its["A-128k"].last / its["B-512k"].last <= 0.7
    assert (a["optimizer"]["adam_beta1"], a["optimizer"]["adam_beta2"], a["optimizer"]["weight_decay"]) == (0.9, 0.95, 0.1)
    assert "fp8" in a["mixed_precision"] and a["model"]["normalization"] == "RMSNorm" and a["model"]["gated_linear_unit"]


def test_a_cluster_recipe_refuses_a_stage_without_its_own_manifest(tmp_path):
    from training.recipe import RecipeError

    a_only = {"A-128k": ("ma", [{**s, "seq_len": 131_072} for s in SHARDS])}
    with pytest.raises(RecipeError, match="stage B-512k has no manifest: materialize manifests with packing.seq_len=524288"):
        write_recipe(TrainingPlan(), a_only, "/t.model", {"code": 1.0}, tmp_path, "/r", strict=True)
    reused = {**a_only, "B-512k": ("ma", [{**s, "seq_len": 131_072} for s in SHARDS])}
    with pytest.raises(RecipeError, match="stage B-512k trains 524288 tokens per sample but manifest ma was packed at 131072"):
        write_recipe(TrainingPlan(), reused, "/t.model", {"code": 1.0}, tmp_path, "/r", strict=True)
    assert "NOT LAUNCHABLE" in write_recipe(TrainingPlan(), reused, "/t.model", {"code": 1.0}, tmp_path, "/r")[1].read_text()


def test_blend_gives_each_domain_its_target_share_spread_by_tokens():
    paths, weights = blend(SHARDS, "train", {"code": 0.4, "text": 0.6})
    assert paths == ["/lake/shards/code-python/train/a", "/lake/shards/code-python/train/b", "/lake/shards/text-en/train/c"]
    assert weights == pytest.approx([0.3, 0.1, 0.6])
    assert blend(SHARDS, "test", {"code": 1.0}) is None


def test_a_plan_that_does_not_fit_the_cluster_names_the_field():
    with pytest.raises(ValueError, match="tensor×pipeline×context = 3 does not divide 20 GPUs"):
        TrainingPlan(stages=[Stage(name="A", seq_length=131_072, token_share=1.0, global_batch_size=40,
                                   parallelism=Parallelism(context=3))])
    with pytest.raises(ValueError, match="global_batch_size=12 is not a multiple of micro_batch_size×data_parallel=10"):
        TrainingPlan(stages=[Stage(name="A", seq_length=8192, token_share=1.0, global_batch_size=12,
                                   parallelism=Parallelism(context=2))])
    assert IRM_2B.parameters()["total"] < 2.2e9
