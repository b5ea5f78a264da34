"""The code location: every asset, check, sensor, job and resource of the lakehouse."""

from __future__ import annotations

import warnings

from dagster import PreviewWarning, DagsterInstance, Definitions, SensorResult, build_sensor_context, define_asset_job, in_process_executor

from assets.automation import LAKE_WRITER, automation_sensor
from assets.catalog import catalogued
from assets.curation import dedup, documents_clean
from assets.distill import distilled_sft
from assets.checkpoint_evals import checkpoint_evals_suite, evals_job, scorecard, scorecard_job
from assets.evals import eval_hashes
from assets.licenses import curated_documents, license_ledger
from assets.memory import memory_chunks, memory_index
from assets.packing import manifests
from assets.post_training import dpo_run, post_training_job, sft_run
from assets.report import report
from assets.serving import engine_build, latency_sweep, serving_job
from assets.splits import decontaminated_documents, splits
from assets.tokenizer import tokenizer, tokenizer_metrics
from assets.training import checkpoint, checkpoint_eval, checkpoint_job, checkpoint_sensor, training_job, training_run

from assets.ingest import ingest_job, landing_sensor, raw_documents
from assets.operations import audit_job, incident_sensor, lake_audit, lake_maintenance, latency_job, maintenance_job, schedules_from
from assets.resources import resources_from
from schemas.settings import IrmSettings


curation_job = define_asset_job("curation_job", selection=[documents_clean, dedup, license_ledger, curated_documents, eval_hashes], tags=LAKE_WRITER,
                                description="Clean, deduplicate and license-filter everything ingested so far.")

tokenizer_job = define_asset_job("tokenizer_job", selection=[tokenizer, tokenizer_metrics], tags=LAKE_WRITER,
                                 description="Train and register the tokenizer, then measure it beside Llama-3.")


training_data_job = define_asset_job("training_data_job", selection=[decontaminated_documents, splits, manifests], tags=LAKE_WRITER,
                                     description="Decontaminate against the benchmarks, seal the splits, tokenize and pack Megatron shards.")


memory_job = define_asset_job("memory_job", selection=[memory_chunks, memory_index], tags=LAKE_WRITER,
                              description="Chunk the curated corpus and bring the Milvus memory up to date.")


distill_job = define_asset_job("distill_job", selection=[distilled_sft], tags=LAKE_WRITER,
                               description="Sample the teachers, verify every candidate in the sandbox, keep the majority-backed verified ones.")


def build_definitions(settings: IrmSettings | None = None) -> Definitions:
    """Spark assets run in process: a multiprocess executor would start one JVM per step."""
    settings = settings or IrmSettings()
    definitions = Definitions(
        assets=[raw_documents, documents_clean, dedup, license_ledger, curated_documents, tokenizer, tokenizer_metrics, eval_hashes,
                decontaminated_documents, splits, manifests, training_run, checkpoint, checkpoint_eval, sft_run, dpo_run,
                distilled_sft, engine_build, latency_sweep, lake_maintenance, lake_audit, memory_chunks, memory_index,
                checkpoint_evals_suite, scorecard, report],
        jobs=[ingest_job, curation_job, tokenizer_job, training_data_job, training_job, checkpoint_job, post_training_job, distill_job,
              serving_job, maintenance_job, audit_job, latency_job, memory_job, evals_job, scorecard_job],
        sensors=[landing_sensor, checkpoint_sensor, automation_sensor, incident_sensor],
        schedules=schedules_from(settings.operations),
        resources=resources_from(settings),
        executor=in_process_executor,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PreviewWarning)
        return definitions.map_asset_specs(func=catalogued)


defs = build_definitions()


def tick_sensor(defs: Definitions, name: str, instance: DagsterInstance, cursor: str | None) -> SensorResult:
    """One evaluation of a sensor with its resources, as the daemon would run it."""
    sensor = defs.resolve_sensor_def(name)
    resources = {k: defs.resources[k] for k in ("lake", "training", "spark")}
    with build_sensor_context(instance=instance, cursor=cursor, resources=resources, definitions=defs) as context:
        return sensor(context)


def tick_landing_sensor(defs: Definitions, instance: DagsterInstance, cursor: str | None) -> SensorResult:
    return tick_sensor(defs, "landing_sensor", instance, cursor)
