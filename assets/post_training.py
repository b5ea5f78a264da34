"""distilled_sft / dpo_pairs + a pretraining checkpoint → SFT and DPO runs (NeMo-Run)."""

from dagster import AssetExecutionContext, Config, MaterializeResult, MetadataValue, asset, define_asset_job
from pydantic import Field
from pyspark.sql import functions as F

from assets.distill import distilled_sft
from assets.resources import LakeResource, SparkResource, TrainingResource
from assets.training import checkpoint
from schemas.launch import PostTrainingPlan
from training.post_training.runs import run_post_training


class PostTrainingRunConfig(Config):
    base_checkpoint_id: str = Field("", description="a registered pretraining checkpoint; empty = the newest one")
    pack_size: int = 512
    steps: int = 8
    batch_size: int = 4
    lr: float = 1e-3
    beta: float = Field(0.1, description="DPO β")

    def plan(self) -> PostTrainingPlan:
        return PostTrainingPlan(pack_size=self.pack_size, steps=self.steps, batch_size=self.batch_size, save_every=self.steps,
                                lr=self.lr, beta=self.beta)


def _base(lake, config: PostTrainingRunConfig) -> str:
    if config.base_checkpoint_id:
        return config.base_checkpoint_id
    runs = lake.read("training_runs").where(F.col("run_id").startswith("run-")).select("run_id")
    newest = lake.read("checkpoints").join(runs, "run_id").orderBy(F.desc("registered_at"), F.desc("checkpoint_id")).first()
    if newest is None:
        raise ValueError("no pretraining checkpoint is registered: run training_job and checkpoint_job first, or set base_checkpoint_id")
    return newest["checkpoint_id"]


def _materialize(context, objective: str, config, spark, lake, training) -> MaterializeResult:
    the_lake, settings = lake.lake(spark), training.settings(lake)
    report, data = run_post_training(the_lake, settings, objective, _base(the_lake, config), config.plan(), dagster_run_id=context.run_id)
    if report.run.status == "FAILED":
        raise RuntimeError(f"{objective} run {report.run.run_id} failed; logs under {report.run.run_dir}")
    return MaterializeResult(metadata={
        "run_id": report.run.run_id, "status": report.run.status, "executor": report.run.executor,
        "dataset_id": data.record.dataset_id, "base_checkpoint_id": data.record.base_checkpoint_id,
        "examples": data.record.examples, "held_out": data.record.held_out, "teachers": MetadataValue.json(data.record.teachers),
        "metrics": MetadataValue.json(report.run.metrics), "recipe": MetadataValue.path(report.run.recipe_uris[0]),
        **({"rationale_tokens": MetadataValue.json(data.stats["rationale_tokens"])} if "rationale_tokens" in data.stats else {}),
    })


@asset(deps=[distilled_sft, checkpoint], group_name="post_training", kinds={"nemo", "pytorch", "delta"},
       description="SFT from a pretraining checkpoint on the verified distilled samples (packed, loss on the answers); "
                   "writes the Megatron-Bridge finetuning config and launches through NeMo-Run.")
def sft_run(context: AssetExecutionContext, config: PostTrainingRunConfig, spark: SparkResource, lake: LakeResource,
            training: TrainingResource) -> MaterializeResult:
    return _materialize(context, "sft", config, spark, lake, training)


@asset(deps=[distilled_sft, checkpoint], group_name="post_training", kinds={"nemo", "pytorch", "delta"},
       description="DPO from a pretraining checkpoint on dpo_pairs against the frozen checkpoint as reference (β from config); "
                   "writes the NeMo-RL DPO config for the cluster and launches through NeMo-Run.")
def dpo_run(context: AssetExecutionContext, config: PostTrainingRunConfig, spark: SparkResource, lake: LakeResource,
            training: TrainingResource) -> MaterializeResult:
    return _materialize(context, "dpo", config, spark, lake, training)


post_training_job = define_asset_job("post_training_job", selection=[sft_run, dpo_run], description="SFT and DPO runs from the newest checkpoint.")
