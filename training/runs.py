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


def newest_manifest(lake: Lake, manifest_id: str | None, seq_len: int | None = None) -> list[dict]:
    manifests = lake.read("manifests")
    if manifest_id is None:
        candidates = manifests if seq_len is None else manifests.where(F.col("seq_len") == seq_len)
        newest = candidates.orderBy(F.desc("created_at"), F.desc("manifest_id")).first()
        if newest is None and seq_len is not None:
            return []
        if newest is None:
            raise TrainingError("the manifests table is empty: materialize manifests first")
        manifest_id = newest["manifest_id"]
    rows = [r.asDict() for r in manifests.where(F.col("manifest_id") == manifest_id).orderBy("uri").collect()]
    if not rows:
        raise TrainingError(f"manifest {manifest_id!r} is not in the manifests table")
    return rows


def fresh_run_id(lake: Lake, settings: IrmSettings, run_id: str) -> str:
    """``run_id``, or ``run_id-aN`` when an earlier attempt already left checkpoints (on disk or in
    the ledger): a rerun never replaces or deletes a checkpoint. The executor is part of the id,
    so a Slurm dry run never shares rows or folders with a local run."""
    listed = {r["run_id"] for r in lake.read("checkpoints").select("run_id").distinct().collect()}
    candidate, attempt = run_id, 1
    def on_disk(name: str) -> bool:
        folder = Path(checkpoints_root(settings)) / name
        return any(folder.glob("checkpoints/*")) or any(folder.glob("megatron/checkpoints/iter_*"))

    while candidate in listed or on_disk(candidate):
        attempt += 1
        candidate = f"{run_id}-a{attempt}"
    return candidate


@dataclass
class RunReport:
    run: TrainingRun
    launch: LaunchResult | None
    write: WriteResult
    loss_curve: list[dict]


def _hash(obj: object) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def stage_manifests(lake: Lake, plan: TrainingPlan, first: list[dict], chosen: dict[str, str] | None) -> dict[str, tuple[str, list[dict]]]:
    """Each curriculum stage's own manifest: the first stage trains ``first``; a later one the
    manifest named in ``chosen``, else the newest packed at its seq_length (none: no recipe)."""
    out = {plan.stages[0].name: (first[0]["manifest_id"], first)}
    for stage in plan.stages[1:]:
        rows = newest_manifest(lake, (chosen or {}).get(stage.name), seq_len=stage.seq_length)
        if rows:
            out[stage.name] = (rows[0]["manifest_id"], rows)
    return out


def run_training(lake: Lake, settings: IrmSettings, plan: TrainingPlan, local: dict | None = None,
                 manifest_id: str | None = None, dagster_run_id: str | None = None, dryrun: bool = False,
                 stages: dict[str, str] | None = None) -> RunReport:
    """``local``: overrides of the CPU trainer (steps, context, batch_size, save_every, model...);
    ``manifest_id``: the first stage's manifest (the CPU trainer's data); ``stages``: later
    stages' manifests by stage name."""
    shards = newest_manifest(lake, manifest_id or (stages or {}).get(plan.stages[0].name))
    mid, tokenizer_id = shards[0]["manifest_id"], shards[0]["tokenizer_id"]
    tok = lake.read("tokenizers").where(F.col("tokenizer_id") == tokenizer_id).first()
    sp = spm.SentencePieceProcessor(model_proto=read_bytes(tok["uri"]))
    train_blend = blend(shards, "train", TARGET_MIX)
    if train_blend is None:
        raise TrainingError(f"manifest {mid} has no train shards")
    trainer = {"model": LocalModel().model_dump(), **(local or {}), "context": shards[0]["seq_len"]}
    config_hash = _hash({"trainer": trainer, "plan": plan.model_dump(), "manifest_id": mid, "stages": stages or {}})
    version = code_version()
    executor = settings.training.executor
    run_id = fresh_run_id(lake, settings, f"run-{executor}-{_hash([mid, config_hash, version, executor])}")
    run_dir = f"{checkpoints_root(settings)}/{run_id}"
    per_stage = stage_manifests(lake, plan, shards, stages)
    recipes = write_recipe(plan, per_stage, tok["uri"], TARGET_MIX, Path(run_dir) / "recipe", f"{run_dir}/megatron",
                           strict=settings.training.executor != "local")
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
