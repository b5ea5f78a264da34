"""The code location: every asset, check, sensor, job and resource of the lakehouse."""

from __future__ import annotations

from dagster import DagsterInstance, Definitions, SensorResult, build_sensor_context, define_asset_job, in_process_executor

from assets.curation import dedup, documents_clean
from assets.distill import distilled_sft
from assets.checkpoint_evals import checkpoint_evals_suite, evals_automation_sensor, evals_job, scorecard, scorecard_job
from assets.evals import eval_hashes
from assets.licenses import curated_documents, license_ledger
from assets.packing import manifests
from assets.serving import engine_build, latency_sweep, serving_job
from assets.splits import decontaminated_documents, splits
from assets.tokenizer import tokenizer, tokenizer_metrics
from assets.training import checkpoint, checkpoint_eval, checkpoint_job, checkpoint_sensor, training_job, training_run

from assets.ingest import ingest_job, landing_sensor, raw_documents
from assets.resources import resources_from
from schemas.settings import IrmSettings


curation_job = define_asset_job("curation_job", selection=[documents_clean, dedup, license_ledger, curated_documents, eval_hashes],
                                description="Clean, deduplicate and license-filter everything ingested so far.")

tokenizer_job = define_asset_job("tokenizer_job", selection=[tokenizer, tokenizer_metrics],
                                 description="Train and register the tokenizer, then measure it beside Llama-3.")


training_data_job = define_asset_job("training_data_job", selection=[decontaminated_documents, splits, manifests],
                                     description="Decontaminate against the benchmarks, seal the splits, tokenize and pack Megatron shards.")


distill_job = define_asset_job("distill_job", selection=[distilled_sft],
                               description="Sample the teachers, verify every candidate in the sandbox, keep the majority-backed verified ones.")


def build_definitions(settings: IrmSettings | None = None) -> Definitions:
    """Spark assets run in process: a multiprocess executor would start one JVM per step."""
    settings = settings or IrmSettings()
    return Definitions(
        assets=[raw_documents, documents_clean, dedup, license_ledger, curated_documents, tokenizer, tokenizer_metrics, eval_hashes,
                decontaminated_documents, splits, manifests, training_run, checkpoint, checkpoint_eval,
                distilled_sft, engine_build, latency_sweep, checkpoint_evals_suite, scorecard],
        jobs=[ingest_job, curation_job, tokenizer_job, training_data_job, training_job, checkpoint_job, distill_job, serving_job, evals_job, scorecard_job],
        sensors=[landing_sensor, checkpoint_sensor, evals_automation_sensor],
        resources=resources_from(settings),
        executor=in_process_executor,
    )


defs = build_definitions()


def tick_sensor(defs: Definitions, name: str, instance: DagsterInstance, cursor: str | None) -> SensorResult:
    """One evaluation of a sensor with its resources, as the daemon would run it."""
    sensor = defs.resolve_sensor_def(name)
    resources = {k: defs.resources[k] for k in ("lake", "training")}
    with build_sensor_context(instance=instance, cursor=cursor, resources=resources, definitions=defs) as context:
        return sensor(context)


def tick_landing_sensor(defs: Definitions, instance: DagsterInstance, cursor: str | None) -> SensorResult:
    return tick_sensor(defs, "landing_sensor", instance, cursor)
