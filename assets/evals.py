"""Benchmark n-gram hashes: the reference that decontamination (issue 6) checks documents against."""

from dagster import AssetExecutionContext, Config, MaterializeResult, MetadataValue, asset

from assets.automation import once_when_missing
from assets.resources import EvalsResource, LakeResource, SparkResource
from ledgers.evals import run_eval_hashes
from schemas.evals import EvalHashConfig
from training.evals.benchmarks import hash_rows
from training.evals.suite import benchmarks


class EvalHashRunConfig(Config):
    n: int = 13

    def to_config(self) -> EvalHashConfig:
        return EvalHashConfig(n=self.n)


@asset(group_name="evals", kinds={"spark", "delta"}, automation_condition=once_when_missing(),
       description="Word n-gram hashes (n=13 by default) of the prompts and reference answers of every benchmark the checkpoints "
                   "are evaluated on (HumanEval and each file in evals.benchmark_files).")
def eval_hashes(context: AssetExecutionContext, config: EvalHashRunConfig, spark: SparkResource, lake: LakeResource,
                evals: EvalsResource) -> MaterializeResult:
    report = run_eval_hashes(lake.lake(spark), config.to_config(), run_id=context.run_id, items=hash_rows(benchmarks(evals.settings())))
    table = "| benchmark | items | n-gram hashes |\n|---|---|---|\n" + "\n".join(
        f"| {b} | {items} | {hashes} |" for b, (items, hashes) in sorted(report.extra["per_benchmark"].items()))
    return MaterializeResult(metadata={"items": report.input_rows, "dagster/row_count": report.kept, "per_benchmark": MetadataValue.md(table)})
