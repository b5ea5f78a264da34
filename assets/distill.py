"""Distillation: tasks + teachers → verified distilled_sft (+ Parquet), dpo_pairs, with the verification check."""

from dagster import AssetCheckResult, AssetCheckSpec, AssetExecutionContext, Config, MaterializeResult, MetadataValue, asset
from pydantic import Field

from assets.evals import eval_hashes
from assets.resources import LakeResource, SparkResource
from schemas.distill import DistillConfig, EndpointTeacher, FileTeacher
from training.post_training.distill import reverify_kept, run_distill


class EndpointTeacherConfig(Config):
    name: str
    base_url: str
    model: str
    api_key_env: str = Field("", description="name of the environment variable holding the key (never the key itself)")


class DistillRunConfig(Config):
    tasks_uri: str
    file_teachers: dict[str, str] = Field(default_factory=dict, description="teacher name → JSONL of answers")
    endpoint_teachers: list[EndpointTeacherConfig] = Field(default_factory=list, description="OpenAI-compatible endpoints")
    samples_per_task: int = 4
    min_agreement: float = 0.5
    max_calls_per_task: int = 8
    max_tokens_per_task: int = 8192

    def to_config(self) -> DistillConfig:
        teachers = [FileTeacher(name=n, path=p) for n, p in sorted(self.file_teachers.items())]
        teachers += [EndpointTeacher(name=e.name, base_url=e.base_url, model=e.model, api_key_env=e.api_key_env or None)
                     for e in self.endpoint_teachers]
        return DistillConfig(tasks_uri=self.tasks_uri, teachers=teachers, samples_per_task=self.samples_per_task,
                             min_agreement=self.min_agreement, max_calls_per_task=self.max_calls_per_task,
                             max_tokens_per_task=self.max_tokens_per_task)


@asset(
    deps=[eval_hashes], group_name="distillation", kinds={"spark", "delta", "sandbox"},
    check_specs=[AssetCheckSpec("kept_samples_verified", asset="distilled_sft", blocking=True,
                                description="every kept sample passes when re-run now against its task's tests (the stored flag is not trusted); "
                                            "only timeouts, up to 5% of the samples, are forgiven"),
                 AssetCheckSpec("candidates_conserved", asset="distilled_sft", blocking=True,
                                description="every teacher sample is a distill_candidates row with a decision")],
    description="Teacher samples verified in the sandbox (tests) or by sympy (math), majority-backed; DPO pairs; Parquet export.",
)
def distilled_sft(context: AssetExecutionContext, config: DistillRunConfig, spark: SparkResource, lake: LakeResource) -> MaterializeResult:
    the_lake = lake.lake(spark)
    cfg = config.to_config()
    report = run_distill(the_lake, cfg, run_id=context.run_id)
    checked = reverify_kept(the_lake, cfg)
    candidates = the_lake.read("distill_candidates").count()
    teachers = "| teacher | samples | passed | kept |\n|---|---|---|---|\n" + "\n".join(
        f"| {t} | {s['samples']} | {s['passed']} | {s['kept']} |" for t, s in sorted(report.per_teacher.items()))
    return MaterializeResult(
        metadata={"dagster/row_count": report.kept, "tasks_in": report.tasks_in, "invalid_tasks": report.invalid,
                  "dropped_eval_overlap": MetadataValue.json(report.eval_overlap), "decisions": MetadataValue.json(report.decisions),
                  "error_classes": MetadataValue.json(report.error_classes), "confidence_histogram": MetadataValue.json(report.confidence_histogram),
                  "teachers": MetadataValue.md(teachers), "dpo_pairs": report.dpo_pairs, "budget_spent": MetadataValue.json(report.budget),
                  "parquet": MetadataValue.path(report.parquet_uri)},
        check_results=[
            AssetCheckResult(check_name="kept_samples_verified", passed=checked.holds(),
                             metadata={"kept": checked.kept, "verified": checked.verified,
                                       "unverified": MetadataValue.json(dict(list(checked.unverified.items())[:20]))}),
            AssetCheckResult(check_name="candidates_conserved", passed=candidates == report.candidates == sum(report.decisions.values()),
                             metadata={"samples": report.candidates, "rows": candidates}),
        ])
