"""checkpoints → engine_build (TensorRT-LLM, optional: only with a GPU executor) and latency_sweep."""

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetObservation,
    Config,
    MaterializeResult,
    MetadataValue,
    Output,
    asset,
    define_asset_job,
)
from pydantic import Field
from pyspark.sql import functions as F

from assets.automation import LAKE_WRITER
from assets.resources import LakeResource, SparkResource, TrainingResource
from assets.training import checkpoint
from ledgers import figures
from schemas.serving import BuildSpecConfig
from serving.endpoint import serve
from serving.engines import build_settings, no_gpu_reason, plan_engine, record
from serving.latency import LatencyConfig, gate, sweep
from training.launch import launch, module_script


def _newest_checkpoint(lake) -> str:
    row = lake.read("checkpoints").orderBy(F.desc("registered_at"), F.desc("checkpoint_id")).first()
    if row is None:
        raise ValueError("no checkpoint is registered yet: train, then let the checkpoint sensor register one")
    return row["checkpoint_id"]


class EngineBuildConfig(Config):
    checkpoint_id: str = Field("", description="empty = the newest registered checkpoint")
    max_batch_size: int = 64
    max_num_tokens: int = 8192
    kv_cache_dtype: str = "fp8"
    weights: str = "fp8"
    draft_model: str = Field("", description="an exported draft checkpoint folder; empty = no speculative decoding")
    dryrun: bool = False


@asset(deps=[checkpoint], group_name="serving", kinds={"tensorrt", "delta"}, output_required=False,
       description="Exports the checkpoint (HF folder + sha256), writes the TensorRT-LLM build spec next to it, and builds on a GPU node "
                   "through the executor layer. Without a GPU executor it does not materialize, and says why.")
def engine_build(context: AssetExecutionContext, config: EngineBuildConfig, spark: SparkResource, lake: LakeResource,
                 training: TrainingResource):
    the_lake, settings = lake.lake(spark), training.settings(lake)
    checkpoint_id = config.checkpoint_id or _newest_checkpoint(the_lake)
    spec = BuildSpecConfig(max_batch_size=config.max_batch_size, max_num_tokens=config.max_num_tokens, kv_cache_dtype=config.kv_cache_dtype,
                           weights=config.weights, draft_model=config.draft_model or None)
    plan = plan_engine(the_lake, checkpoint_id, spec, run_id=context.run_id)
    reason = no_gpu_reason(settings)
    observed = {"checkpoint_id": checkpoint_id, "export": MetadataValue.path(plan.export.uri), "export_sha256": plan.export.sha256,
                "llm_api_options": MetadataValue.path(str(plan.options_path)), "engine_id": plan.engine_id}
    if reason:
        context.log.warning(reason)
        context.log_event(AssetObservation(asset_key=context.asset_key, metadata={**observed, "not_built": reason}))
        return
    cluster = build_settings(settings)
    result = launch(cluster, f"irm-{plan.engine_id}", [("trtllm-build", module_script("serving.trtllm_build", [str(plan.options_path)]))],
                    dryrun=config.dryrun)
    row, _ = record(the_lake, plan, checkpoint_id, settings, "DRYRUN" if config.dryrun else "SUBMITTED", result.experiment_id,
                    run_id=context.run_id)
    yield Output(None, metadata={**observed, "status": row.status, "experiment_id": result.experiment_id,
                                 "sbatch": MetadataValue.json(result.sbatch_scripts)})


class LatencyRunConfig(Config):
    base_url: str = Field("", description="an OpenAI-compatible endpoint; empty = serve the newest checkpoint on 127.0.0.1")
    model: str = ""
    prompt_tokens: list[int] = Field(default_factory=lambda: [128, 1_024, 8_192, 32_768, 131_072, 200_000])
    requests_per_length: int = 5
    max_tokens: int = 32


@asset(deps=[checkpoint], group_name="serving", kinds={"delta"},
       check_specs=[AssetCheckSpec("p95_per_token_latency_gate", asset="latency_sweep",
                                   description="p95 per-output-token latency ≤ 200 ms with a 200k-token prompt")],
       description="Prompt-length sweep with streaming against an endpoint: TTFT, per-token latency p50/p95/p99, throughput.")
def latency_sweep(context: AssetExecutionContext, config: LatencyRunConfig, spark: SparkResource, lake: LakeResource) -> MaterializeResult:
    the_lake = lake.lake(spark)
    local = None
    base_url, model = config.base_url, config.model
    if not base_url:
        ckpt = the_lake.read("checkpoints").where(F.col("checkpoint_id") == _newest_checkpoint(the_lake)).first()
        local = serve(ckpt["uri"], name=ckpt["checkpoint_id"])
        base_url, model = local.base_url, ckpt["checkpoint_id"]
    try:
        cfg = LatencyConfig(base_url=base_url, model=model, prompt_tokens=config.prompt_tokens,
                            requests_per_length=config.requests_per_length, max_tokens=config.max_tokens)
        rows = sweep(cfg)
    finally:
        if local is not None:
            local.close()
    write = the_lake.write(the_lake.frame("latency_runs", rows), "latency_runs", mode="append", run_id=context.run_id)
    passed, sentence = gate(rows, cfg)
    table = "| target | prompt tokens | status | TTFT p50/p95/p99 ms | per-token p50/p95/p99 ms | tokens/s |\n|---|---|---|---|---|---|\n" + "\n".join(
        f"| {r.target_prompt_tokens} | {r.prompt_tokens} | {r.status[:60]} | {r.ttft_p50_ms}/{r.ttft_p95_ms}/{r.ttft_p99_ms} | "
        f"{r.tpot_p50_ms}/{r.tpot_p95_ms}/{r.tpot_p99_ms} | {r.throughput_tokens_per_s} |" for r in rows)
    reached = max((r.prompt_tokens for r in rows if r.status == "ok"), default=0)
    return MaterializeResult(
        metadata={"sweep_id": rows[0].sweep_id, "endpoint": base_url, "largest_prompt_reached": reached,
                  "sweep": MetadataValue.md(table), "gate": sentence, "table_version": write.version,
                  "latency_plot": MetadataValue.md(figures.curve([(r.prompt_tokens, r.tpot_p95_ms) for r in rows if r.status == "ok"],
                                                                 "p95 ms per output token by prompt length", "prompt tokens", "ms", log_x=True))},
        check_results=[AssetCheckResult(check_name="p95_per_token_latency_gate", passed=passed, severity=AssetCheckSeverity.WARN,
                                        description=sentence)])


serving_job = define_asset_job("serving_job", selection=[engine_build, latency_sweep], tags=LAKE_WRITER,
                               description="Export and spec the newest checkpoint (build it where a GPU executor exists), then sweep latency.")
