"""``make demo``: build the demo landing drops, tick the landing sensor as the daemon would, run
each requested ingest on the local Dagster instance, and print what the lake now holds.

The sensor cursor is kept in ``$DAGSTER_HOME`` so a second ``make demo`` finds nothing new.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from dagster import AssetKey, DagsterInstance, evaluate_automation_conditions
from rich.console import Console

from assets.definitions import build_definitions, tick_landing_sensor, tick_sensor
from ledgers.demo_corpus import build_demo_landing
from ledgers.cli import Format, _tree, emit
from ledgers.lineage import lineage
from serving.demo_tasks import demo_tasks, write_demo_inputs
from ledgers.query import run_sql, tables_arrow
from schemas.settings import IrmSettings
from training.evals.demo_files import write_demo_benchmarks

console = Console(width=140)


def _read(path: Path) -> str | None:
    return path.read_text() or None if path.exists() else None


def main() -> None:
    settings = IrmSettings()
    settings = settings.model_copy(update={"landing": settings.landing.model_copy(update={"settle_seconds": 0.0})})
    drops = build_demo_landing(settings.landing.path)
    console.print(f"[bold]landing zone[/] {settings.landing.path}: {', '.join(p.name for p in drops)}")

    demo_evals = settings.evals.model_copy(update={
        "benchmark_files": settings.evals.benchmark_files or write_demo_benchmarks(Path(settings.lake.uri) / "artifacts" / "evals" / "demo_files"),
        "max_items": 2, "samples": 2, "exec_guided_samples": 2, "self_consistency_k": 3, "max_tokens": 24,
        "probe_lengths": [48, 96, 512_000], "probe_depths": [0.0, 0.5, 1.0]})
    settings = settings.model_copy(update={"evals": demo_evals})
    defs = build_definitions(settings)
    instance = DagsterInstance.get()
    cursor_file = Path(os.environ.get("DAGSTER_HOME", "dagster_home")) / "landing_sensor.cursor"
    cursor = cursor_file.read_text() if cursor_file.exists() else None
    result = tick_landing_sensor(defs, instance, cursor)
    requests = result.run_requests or []
    for request in result.dynamic_partitions_requests or []:
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    console.print(f"[bold]sensor tick[/]: {len(requests)} new drop(s)")

    quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    job = defs.resolve_job_def("ingest_job")
    for request in requests:
        started = time.monotonic()
        run = job.execute_in_process(partition_key=request.partition_key, instance=instance, tags=request.tags,
                                     run_config=quiet)
        if not run.success:
            raise SystemExit(f"ingest of {request.partition_key} failed; see the run in `make ui`")
        console.print(f"  ingested {request.partition_key} in {time.monotonic() - started:.1f}s (run {run.run_id[:8]})")
    cursor_file.write_text(result.cursor or "")

    started = time.monotonic()
    run = defs.resolve_job_def("curation_job").execute_in_process(instance=instance, run_config=quiet)
    if not run.success:
        raise SystemExit("curation failed; see the run in `make ui`")
    console.print(f"  curated (documents_clean, dedup, license_ledger, curated_documents, eval_hashes) in {time.monotonic() - started:.1f}s (run {run.run_id[:8]})")

    started = time.monotonic()
    demo_tokenizer = {"ops": {"tokenizer": {"config": {"vocab_size": 2000, "sample_bytes": 1_000_000}}}, **quiet}
    run = defs.resolve_job_def("tokenizer_job").execute_in_process(instance=instance, run_config=demo_tokenizer)
    if not run.success:
        raise SystemExit("tokenizer training failed; see the run in `make ui`")
    console.print(f"  trained the demo tokenizer (2,000 pieces) in {time.monotonic() - started:.1f}s (run {run.run_id[:8]})")

    started = time.monotonic()
    demo_packing = {"ops": {"splits": {"config": {"train": 0.8, "val": 0.1, "test": 0.1}},
                            "manifests": {"config": {"seq_len": 2048, "max_shard_tokens": 262_144}}}, **quiet}
    run = defs.resolve_job_def("training_data_job").execute_in_process(instance=instance, run_config=demo_packing)
    if not run.success:
        raise SystemExit("decontamination, splits or packing failed; see the run in `make ui`")
    console.print(f"  decontaminated, split and packed (seq_len 2,048) in {time.monotonic() - started:.1f}s (run {run.run_id[:8]})")

    started = time.monotonic()
    run = defs.resolve_job_def("training_job").execute_in_process(instance=instance, run_config={
        "ops": {"training_run": {"config": {"steps": 40, "save_every": 20}}}, **quiet})
    if not run.success:
        raise SystemExit("the training run failed; see the run in `make ui`")
    console.print(f"  trained the small Llama-family model through NeMo-Run's LocalExecutor in {time.monotonic() - started:.1f}s (run {run.run_id[:8]})")

    before = evaluate_automation_conditions(defs=defs, instance=instance)  # what the automation daemon saw before the new checkpoints
    ticked = tick_sensor(defs, "checkpoint_sensor", instance, _read(cursor_file.with_name("checkpoint_sensor.cursor")))
    for request in ticked.dynamic_partitions_requests or []:
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    for request in ticked.run_requests or []:
        run = defs.resolve_job_def("checkpoint_job").execute_in_process(partition_key=request.partition_key, instance=instance,
                                                                        tags=request.tags, run_config=quiet)
        if not run.success:
            raise SystemExit(f"registering checkpoint {request.partition_key} failed; see the run in `make ui`")
        console.print(f"  checkpoint sensor: registered and evaluated {request.partition_key}")
    cursor_file.with_name("checkpoint_sensor.cursor").write_text(ticked.cursor or "")

    started = time.monotonic()
    tasks, teachers = write_demo_inputs(Path(settings.lake.uri) / "artifacts" / "distill" / "demo")
    run = defs.resolve_job_def("distill_job").execute_in_process(instance=instance, run_config={
        "ops": {"distilled_sft": {"config": {"tasks_uri": str(tasks), "file_teachers": {n: str(p) for n, p in teachers.items()}}}},
        **quiet})
    if not run.success:
        raise SystemExit("distillation failed; see the run in `make ui`")
    console.print(f"  distilled {len(demo_tasks())} demo tasks from two file teachers, every candidate verified in the sandbox, "
                  f"in {time.monotonic() - started:.1f}s (run {run.run_id[:8]})")

    started = time.monotonic()
    run = defs.resolve_job_def("serving_job").execute_in_process(instance=instance, run_config={
        "ops": {"latency_sweep": {"config": {"prompt_tokens": [16, 64, 100, 1_000, 200_000], "requests_per_length": 3, "max_tokens": 8}}},
        **quiet})
    if not run.success:
        raise SystemExit("serving failed; see the run in `make ui`")
    console.print(f"  exported the newest checkpoint, wrote its TensorRT-LLM build spec (no GPU executor here, so no engine) and swept "
                  f"latency on the local endpoint in {time.monotonic() - started:.1f}s (run {run.run_id[:8]})")

    started = time.monotonic()
    automation = evaluate_automation_conditions(defs=defs, instance=instance, cursor=before.cursor)
    due = sorted(automation.get_requested_partitions(AssetKey("checkpoint_evals_suite")) or [])
    for key in due:
        run = defs.resolve_job_def("evals_job").execute_in_process(partition_key=key, instance=instance, run_config=quiet)
        if not run.success:
            raise SystemExit(f"evaluating checkpoint {key} failed; see the run in `make ui`")
    run = defs.resolve_job_def("scorecard_job").execute_in_process(instance=instance, run_config=quiet)
    if not run.success:
        raise SystemExit("the scorecard failed; see the run in `make ui`")
    console.print(f"  automation asked for the evaluation of {len(due)} new checkpoint(s); evaluated them (benchmarks, probes) and "
                  f"scored the gates in {time.monotonic() - started:.1f}s")

    metrics = instance.get_latest_materialization_event(AssetKey("tokenizer_metrics"))
    if metrics is not None:
        console.print("[bold]tokenizer metrics (held-out curated text)[/]")
        console.print(metrics.asset_materialization.metadata["metrics"].value)

    emit(tables_arrow(settings.lake), Format.table, "lake tables")
    emit(run_sql(settings.lake, "SELECT stage, reason, count(*) AS rows FROM rejects GROUP BY 1, 2 ORDER BY 1, 3 DESC"),
         Format.table, "rejects per reason")
    emit(run_sql(settings.lake, "SELECT domain, count(*) AS documents, "
                                "count(*) FILTER (removed_reason = 'exact-duplicate') AS exact_duplicates, "
                                "count(*) FILTER (removed_reason = 'near-duplicate') AS near_duplicates "
                                "FROM dedup GROUP BY 1 ORDER BY 1"),
         Format.table, "dedup per domain")
    emit(run_sql(settings.lake, "SELECT source, coalesce(spdx_expression, '(none)') AS spdx, decision, count(*) AS files "
                                "FROM license_ledger GROUP BY ALL ORDER BY files DESC"),
         Format.table, "license ledger (code files)")
    emit(run_sql(settings.lake, "SELECT benchmark, item_id, action, count(*) AS documents, max(overlapping_ngrams) AS ngrams "
                                "FROM contamination GROUP BY ALL ORDER BY 1, 2"),
         Format.table, "contamination report")
    emit(run_sql(settings.lake, "SELECT bucket, split, count(*) AS shards, sum(tokens) AS tokens, sum(sequences) AS sequences, "
                                "sum(documents) AS documents FROM manifests "
                                "WHERE manifest_id = (SELECT max_by(manifest_id, created_at) FROM manifests) GROUP BY ALL ORDER BY 1, 2"),
         Format.table, "newest manifest: shards and tokens per bucket and split")
    emit(run_sql(settings.lake, "SELECT r.run_id, r.status, r.executor, c.checkpoint_id, c.step, c.tokens_seen, "
                                "round(c.loss, 3) AS train_loss, round(e.loss, 3) AS val_loss, round(e.perplexity, 1) AS val_ppl "
                                "FROM checkpoints c JOIN training_runs r USING (run_id) LEFT JOIN checkpoint_evals e USING (checkpoint_id) "
                                "ORDER BY c.checkpoint_id"),
         Format.table, "training runs and checkpoints")
    emit(run_sql(settings.lake, "SELECT task_id, kind, count(*) AS samples, count(*) FILTER (passed) AS passed, "
                                "count(*) FILTER (decision = 'kept') AS kept, string_agg(DISTINCT error_class, ', ') AS errors "
                                "FROM distill_candidates GROUP BY ALL ORDER BY 1"),
         Format.table, "distillation: samples, verification and decisions per task")
    emit(run_sql(settings.lake, "SELECT target_prompt_tokens AS target, prompt_tokens, status, ttft_p50_ms, tpot_p50_ms, tpot_p95_ms, "
                                "tpot_p99_ms, throughput_tokens_per_s FROM latency_runs "
                                "WHERE sweep_id = (SELECT max_by(sweep_id, measured_at) FROM latency_runs) ORDER BY 1"),
         Format.table, "latency sweep on the local endpoint (the gate needs a 200k-token prompt; see `largest_prompt_reached`)")
    emit(run_sql(settings.lake, "SELECT checkpoint_id, benchmark, metric, round(value, 1) AS value, n, samples, seed, "
                                "left(contamination, 60) AS contamination FROM evals ORDER BY 1, 2, 3"),
         Format.table, "evals: the demo's tiny model scores near zero (prompts beyond its 128 positions are refused and scored wrong)")
    emit(run_sql(settings.lake, "SELECT checkpoint_id, gate, round(value, 1) AS value, status, left(reason, 70) AS reason FROM scorecard "
                                "ORDER BY 1, 2"),
         Format.table, "scorecard: North Star gates per checkpoint")
    newest = run_sql(settings.lake, "SELECT max_by(checkpoint_id, registered_at) AS id FROM checkpoints").to_pylist()[0]["id"]
    if newest:
        console.print(f"lineage of {newest}: [bold].venv/bin/irm lineage {newest}[/]")
        console.print(_tree(lineage(settings.lake, newest)))
    console.print('try: [bold].venv/bin/irm sql "SELECT source, domain_hint, count(*) docs, sum(bytes) bytes '
                  'FROM raw_documents GROUP BY ALL ORDER BY docs DESC"[/]')


if __name__ == "__main__":
    main()
