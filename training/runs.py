"""A training run as a lake operation: manifest → recipe files → NeMo-Run launch → ledger rows.

Every run writes the Megatron-Bridge stage YAMLs of the production plan next to itself, so the
recipe that would train irm-2B on the cluster is always reviewable for the exact manifest. The
``local`` executor then trains the small CPU model on the same shards; ``slurm`` submits the
stages.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import subprocess
from dataclasses import dataclass
from importlib.metadata import version as package_version
from pathlib import Path

import sentencepiece as spm
from pyspark.sql import functions as F

from ledgers.lake import Lake, WriteResult
from schemas.launch import LocalModel, LocalTrainConfig, TrainingPlan
from schemas.packing import TARGET_MIX
from schemas.settings import IrmSettings
from schemas.tables import TrainingRun
from training.launch import LaunchResult, bridge_stage_script, launch, local_trainer_script
from training.recipe import blend, write_recipe
from training.shards import read_bytes

ROOT = Path(__file__).resolve().parents[1]


class TrainingError(RuntimeError):
    pass


def code_version() -> str:
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
        return commit + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return f"irm-lakehouse {package_version('irm-lakehouse')}"


def checkpoints_root(settings: IrmSettings) -> str:
    return settings.training.checkpoints_root or f"{settings.lake.uri}/artifacts/checkpoints"


def newest_manifest(lake: Lake, manifest_id: str | None) -> list[dict]:
    manifests = lake.read("manifests")
    if manifest_id is None:
        newest = manifests.orderBy(F.desc("created_at"), F.desc("manifest_id")).first()
        if newest is None:
            raise TrainingError("the manifests table is empty: materialize manifests first")
        manifest_id = newest["manifest_id"]
    rows = [r.asDict() for r in manifests.where(F.col("manifest_id") == manifest_id).orderBy("uri").collect()]
    if not rows:
        raise TrainingError(f"manifest {manifest_id!r} is not in the manifests table")
    return rows


@dataclass
class RunReport:
    run: TrainingRun
    launch: LaunchResult | None
    write: WriteResult
    loss_curve: list[dict]


def _hash(obj: object) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def run_training(lake: Lake, settings: IrmSettings, plan: TrainingPlan, local: dict | None = None,
                 manifest_id: str | None = None, dagster_run_id: str | None = None, dryrun: bool = False) -> RunReport:
    """``local``: overrides of the CPU trainer (steps, context, batch_size, save_every, model...)."""
    shards = newest_manifest(lake, manifest_id)
    mid, tokenizer_id = shards[0]["manifest_id"], shards[0]["tokenizer_id"]
    tok = lake.read("tokenizers").where(F.col("tokenizer_id") == tokenizer_id).first()
    sp = spm.SentencePieceProcessor(model_proto=read_bytes(tok["uri"]))
    train_blend = blend(shards, "train", TARGET_MIX)
    if train_blend is None:
        raise TrainingError(f"manifest {mid} has no train shards")
    trainer = {"model": LocalModel().model_dump(), **(local or {})}
    config_hash = _hash({"trainer": trainer, "plan": plan.model_dump(), "manifest_id": mid})
    version = code_version()
    run_id = f"run-{_hash([mid, config_hash, version])}"
    run_dir = f"{checkpoints_root(settings)}/{run_id}"
    recipes = write_recipe(plan, shards, mid, tok["uri"], TARGET_MIX, Path(run_dir) / "recipe", f"{run_dir}/megatron")
    cfg = LocalTrainConfig(run_id=run_id, manifest_id=mid, train_shards=train_blend[0], train_weights=train_blend[1],
                           val_shards=[s["uri"] for s in shards if s["split"] == "val"], tokenizer_uri=tok["uri"],
                           vocab_size=sp.get_piece_size(), eod=sp.eos_id(), out_dir=run_dir, **trainer)
    config_path = Path(run_dir) / "local_trainer.json"
    config_path.write_text(cfg.model_dump_json(indent=1))

    def row(status: str, metrics: dict[str, float], experiment_id: str | None = None) -> TrainingRun:
        return TrainingRun(run_id=run_id, manifest_id=mid, config_hash=config_hash, code_version=version,
                           executor=settings.training.executor, experiment_id=experiment_id, status=status, run_dir=run_dir,
                           recipe_uris=[str(p) for p in recipes], metrics=metrics, dagster_run_id=dagster_run_id,
                           updated_at=dt.datetime.now(dt.timezone.utc))

    lake.merge(lake.frame("training_runs", [row("RUNNING", {})]), "training_runs", keys=["run_id"], run_id=dagster_run_id)
    if settings.training.executor == "local":
        tasks = [("local-train", local_trainer_script(str(config_path)))]
    else:
        tasks = [(f"stage-{p.stem.removeprefix('stage-')}", bridge_stage_script(str(p))) for p in recipes]
    result = launch(settings, f"irm-{run_id}", tasks, dryrun=dryrun)
    metrics_path = Path(run_dir) / "metrics.json"
    metrics = {k: float(v) for k, v in json.loads(metrics_path.read_text()).items()} if metrics_path.exists() else {}
    status = "DRYRUN" if dryrun else ("SUBMITTED" if settings.training.executor != "local" else
                                       ("SUCCEEDED" if result.succeeded and metrics else "FAILED"))
    final = row(status, metrics, result.experiment_id)
    write = lake.merge(lake.frame("training_runs", [final]), "training_runs", keys=["run_id"], run_id=dagster_run_id)
    curve_path = Path(run_dir) / "loss.jsonl"
    curve = [json.loads(line) for line in curve_path.read_text().splitlines()] if curve_path.exists() else []
    return RunReport(final, result, write, curve)
