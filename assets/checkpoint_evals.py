"""checkpoint → checkpoint_evals_suite (benchmarks and long-context probes, per checkpoint,
automatically for each new one) → scorecard (the North Star gates, with latency_sweep)."""

import json
from pathlib import Path

from dagster import (
    AssetExecutionContext,
    AutomationCondition,
    MaterializeResult,
    MetadataValue,
    asset,
    define_asset_job,
)

from assets.automation import LAKE_WRITER, on_upstream_change
from assets.resources import EvalsResource, LakeResource, SparkResource
from assets.serving import latency_sweep
from assets.training import checkpoint, checkpoints_partitions
from ledgers.eval_results import read_rows, write_scorecard
from serving.code_runner import sandbox_runner
from serving.endpoint import serve
from training.evals.client import CompletionClient
from training.evals.scorecard import markdown, scorecard as checkpoint_scorecard
from training.evals.suite import evaluate_checkpoint, results_table, settings_json

EVAL_TAGS = {"irm/stage": "evals"}


@asset(partitions_def=checkpoints_partitions, deps=[checkpoint], group_name="evals", kinds={"python", "delta"}, owners=["team:ml-evals"],
       tags=EVAL_TAGS, automation_condition=on_upstream_change(),
       description="Benchmarks (HumanEval and MBPP executed in the sandbox: pass@1 and the exec-guided policy; GSM8K self-consistency; "
                   "MMLU/ARC/HellaSwag by log-likelihood) and long-context probes for one checkpoint, against the configured endpoint "
                   "or the checkpoint served on 127.0.0.1; every result carries its contamination note. Runs for each new checkpoint.")
def checkpoint_evals_suite(context: AssetExecutionContext, spark: SparkResource, lake: LakeResource, evals: EvalsResource) -> MaterializeResult:
    the_lake, cfg, key = lake.lake(spark), evals.settings(), context.partition_key
    ckpt = next(iter(read_rows(the_lake.settings, "checkpoints", "checkpoint_id = ?", (key,))), None)
    if ckpt is None:
        raise ValueError(f"checkpoint {key} is not registered; materialize `checkpoint` for this partition first")
    local = None if cfg.base_url else serve(ckpt["uri"], name=key)
    try:
        client = CompletionClient(cfg.base_url or local.base_url, cfg.model or key, cfg.api_key_env, cfg.timeout_s)
        report = evaluate_checkpoint(the_lake, key, cfg, client, sandbox_runner(), Path(the_lake.settings.uri) / "artifacts" / "evals",
                                     run_id=context.run_id)
    finally:
        if local is not None:
            local.close()
    plots = {f"{kind}_plot": MetadataValue.path(str(p)) for kind, p in report.plots.items()}
    images = "\n\n".join(f"![{kind} recall by length × depth]({p})" for kind, p in report.plots.items())
    return MaterializeResult(metadata={
        "endpoint": client.base_url, "seed": cfg.seed, "config_hash": report.config_hash, "item_rows": report.items,
        "results": MetadataValue.md(results_table(report.results)), "recall_plots": MetadataValue.md(images), **plots,
        "settings": MetadataValue.json(json.loads(settings_json(cfg))),
        "tables": MetadataValue.json([w.metadata() for w in report.writes])})


# a checkpoint never swept for latency still gets its scorecard (that gate reads not-measured)
SCORECARD_AUTOMATION = (AutomationCondition.eager().without(~AutomationCondition.any_deps_missing())
                        & AutomationCondition.all_deps_blocking_checks_passed()).with_label("on_new_evaluations")


@asset(deps=[checkpoint_evals_suite, latency_sweep], group_name="evals", kinds={"delta"}, owners=["team:ml-evals"], tags=EVAL_TAGS,
       automation_condition=SCORECARD_AUTOMATION,
       description="North Star gates for every registered checkpoint (HumanEval ≥ 80, MBPP ≥ 85, GSM8K ≥ 70, MMLU ≥ 70, needle recall "
                   "≥ 99% at 512k, p95 ≤ 200 ms/token at 200k): pass, fail or not-measured with the reason and the contamination note.")
def scorecard(context: AssetExecutionContext, spark: SparkResource, lake: LakeResource) -> MaterializeResult:
    the_lake = lake.lake(spark)
    checkpoints = sorted(r["checkpoint_id"] for r in read_rows(the_lake.settings, "checkpoints"))
    rows = [row for key in checkpoints for row in checkpoint_scorecard(the_lake.settings, key)]
    write = write_scorecard(the_lake, rows, run_id=context.run_id)
    counts = {s: sum(r.status == s for r in rows) for s in ("pass", "fail", "not-measured")}
    return MaterializeResult(metadata={"checkpoints": len(checkpoints), **counts, "scorecard": MetadataValue.md(markdown(rows)),
                                       "table_version": write.version, "dagster/row_count": len(rows)})


evals_job = define_asset_job("evals_job", selection=[checkpoint_evals_suite], partitions_def=checkpoints_partitions, tags=LAKE_WRITER,
                             description="Evaluate one checkpoint: benchmarks and long-context probes.")
scorecard_job = define_asset_job("scorecard_job", selection=[scorecard], tags=LAKE_WRITER, description="Compare every checkpoint with the North Star gates.")

