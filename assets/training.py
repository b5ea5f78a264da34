"""manifests → training_run (NeMo-Run), and the checkpoint sensor → checkpoint → checkpoint_eval."""

import json

from dagster import (
    AssetExecutionContext,
    Config,
    DefaultSensorStatus,
    DynamicPartitionsDefinition,
    MaterializeResult,
    MetadataValue,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    asset,
    define_asset_job,
    sensor,
)
from pydantic import Field

from assets.packing import manifests
from assets.automation import LAKE_WRITER, on_upstream_change
from assets.upstream import consumed_id
from assets.resources import LakeResource, SparkResource, TrainingResource
from ledgers import figures
from schemas.launch import LocalModel, TrainingPlan
from schemas.model import IRM_2B, SEED_SHAPE
from training.checkpoints import discover, evaluate, register
from training.runs import checkpoints_root, run_training

checkpoints_partitions = DynamicPartitionsDefinition(name="checkpoints")


class TrainingRunConfig(Config):
    """The CPU trainer's knobs (the cluster plan is TrainingPlan's defaults)."""

    steps: int = 40
    batch_size: int = 8
    save_every: int = 20
    lr: float = 3e-3
    manifest_id: str = Field("", description="stage A's manifest; empty = the manifest Dagster materialized upstream")
    stage_b_manifest_id: str = Field("", description="stage B's own long-context manifest; empty = the newest one packed at its seq_length")


def _curve_table(curve: list[dict], every: int) -> str:
    rows = [c for c in curve if c["step"] % every == 0 or c["step"] in (1, len(curve))]
    return "| step | loss | lr | tokens seen |\n|---|---|---|---|\n" + "\n".join(
        f"| {c['step']} | {c['loss']:.4f} | {c['lr']:.2e} | {c['tokens_seen']} |" for c in rows)


@asset(deps=[manifests], group_name="training", kinds={"nemo", "pytorch", "delta"},
       description="Launches a training run through NeMo-Run (LocalExecutor: a small Llama-family model on CPU; SlurmExecutor: "
                   "Megatron-Bridge), writing the Megatron-Bridge stage recipes for the manifest next to it.")
def training_run(context: AssetExecutionContext, config: TrainingRunConfig, spark: SparkResource, lake: LakeResource,
                 training: TrainingResource) -> MaterializeResult:
    settings = training.settings(lake)
    local = {"steps": config.steps, "batch_size": config.batch_size, "save_every": config.save_every,
             "lr": config.lr, "model": LocalModel().model_dump()}
    plan = TrainingPlan()
    stages = {plan.stages[1].name: config.stage_b_manifest_id} if config.stage_b_manifest_id else None
    report = run_training(lake.lake(spark), settings, plan, local, consumed_id(context, "manifests", "manifest_id", config.manifest_id),
                          dagster_run_id=context.run_id, stages=stages)
    run = report.run
    if run.status == "FAILED":
        raise RuntimeError(f"training run {run.run_id} failed; logs: `nemo experiment logs {run.experiment_id} 0` "
                           f"(NEMORUN_HOME={settings.training.nemo_run_home or settings.lake.uri + '/artifacts/nemo_run'})")
    return MaterializeResult(metadata={
        "run_id": run.run_id, "status": run.status, "executor": run.executor, "manifest_id": run.manifest_id,
        "config_hash": run.config_hash, "code_version": run.code_version, "experiment_id": run.experiment_id or "",
        "metrics": MetadataValue.json(run.metrics), "recipes": MetadataValue.json(run.recipe_uris),
        "loss_curve": MetadataValue.md(_curve_table(report.loss_curve, max(1, len(report.loss_curve) // 10))) if report.loss_curve else "none",
        "loss_curve_plot": MetadataValue.md(figures.curve([(c["step"], c["loss"]) for c in report.loss_curve], "training loss", "step", "loss"))
        if report.loss_curve else "none",
        "irm_2b": MetadataValue.json({"as_stated": SEED_SHAPE.summary(), "2b_variant": IRM_2B.summary()}),
    })


@asset(partitions_def=checkpoints_partitions, group_name="training", kinds={"delta"},
       description="One checkpoint, registered in the `checkpoints` ledger (sha256 checked against the trainer's marker).")
def checkpoint(context: AssetExecutionContext, spark: SparkResource, lake: LakeResource, training: TrainingResource) -> MaterializeResult:
    settings = training.settings(lake)
    record, write = register(lake.lake(spark), checkpoints_root(settings), context.partition_key, run_id=context.run_id)
    return MaterializeResult(metadata={"run_id": record.run_id, "step": record.step, "tokens_seen": record.tokens_seen,
                                       "loss": record.loss, "sha256": record.sha256, "uri": MetadataValue.path(record.uri),
                                       "newly_registered": write.operation != "NONE"})


@asset(partitions_def=checkpoints_partitions, deps=[checkpoint], group_name="training", kinds={"pytorch", "delta"},
       automation_condition=on_upstream_change(),
       description="Held-out loss and perplexity of the checkpoint on its manifest's val shards.")
def checkpoint_eval(context: AssetExecutionContext, spark: SparkResource, lake: LakeResource) -> MaterializeResult:
    result = evaluate(lake.lake(spark), context.partition_key, run_id=context.run_id)
    return MaterializeResult(metadata={"split": result.split, "tokens": result.tokens, "loss": result.loss,
                                       "perplexity": result.perplexity})


training_job = define_asset_job("training_job", selection=[training_run], tags=LAKE_WRITER, description="Launch a training run on the newest manifest.")
checkpoint_job = define_asset_job("checkpoint_job", selection=[checkpoint, checkpoint_eval], partitions_def=checkpoints_partitions, tags=LAKE_WRITER,
                                  description="Register one checkpoint and evaluate it.")


@sensor(job=checkpoint_job, minimum_interval_seconds=30, default_status=DefaultSensorStatus.RUNNING,
        description="Each new complete checkpoint folder → one partition and one run of checkpoint + checkpoint_eval, exactly once.")
def checkpoint_sensor(context: SensorEvaluationContext, lake: LakeResource, training: TrainingResource):
    root = checkpoints_root(training.settings(lake))
    seen = set(json.loads(context.cursor)) if context.cursor else set()
    new = [key for key in discover(root) if key not in seen]
    if not new:
        return SensorResult(skip_reason=SkipReason(f"no new checkpoint under {root}"), cursor=context.cursor)
    return SensorResult(
        run_requests=[RunRequest(run_key=key, partition_key=key, tags={"irm/checkpoint": key}) for key in new],
        dynamic_partitions_requests=[checkpoints_partitions.build_add_request(new)],
        cursor=json.dumps(sorted(seen | set(new))),
    )
