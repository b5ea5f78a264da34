"""``make demo``: land the demo drops and let the real Dagster daemon do the rest, then print what
the lake holds.

The demo starts ``dagster-daemon`` on the demo instance (``$DAGSTER_HOME``) in the background. The
landing sensor turns each new drop into an ingest run, the automation sensor moves the data through
curation, licenses, eval hashes, decontamination, splits and manifests, and the checkpoint sensor
registers what training writes. The demo itself only *requests* the stages that are not automated
(tokenizer, training, distillation, serving), each through the instance's run queue and only when
it is not already up to date, and waits (bounded) for the flow to settle. Sensor cursors live in
the instance, so a second ``make demo`` launches nothing new.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from dagster import AssetKey, DagsterInstance
from rich.console import Console

from assets.daemon import active_runs, caught_up, materialized_at, running_daemon, submit, wait_for
from assets.definitions import build_definitions
from ledgers.demo_corpus import build_demo_landing
from ledgers.cli import Format, _tree, emit
from ledgers.landing import describe, list_candidates
from ledgers.lineage import lineage
from serving.demo_tasks import demo_tasks, write_demo_inputs
from ledgers.query import run_sql, tables_arrow
from schemas.settings import IrmSettings
from training.checkpoints import discover
from training.evals.demo_files import write_demo_benchmarks
from training.runs import checkpoints_root

console = Console(width=140)
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
STAGE_TIMEOUT_S = float(os.environ.get("IRM_DEMO_STAGE_TIMEOUT_S", "1200"))
AUTOMATED_CHAIN = ["documents_clean", "dedup", "license_ledger", "curated_documents", "decontaminated_documents", "splits", "manifests"]


def parents(graph, key: str) -> list[str]:
    return [p.to_user_string() for p in graph.get(AssetKey(key)).parent_keys]


def fresh(instance: DagsterInstance, graph, key: str) -> bool:
    """``key`` and every automated stage above it were materialized after their own upstream."""
    above = parents(graph, key)
    return caught_up(instance, key, above) and all(fresh(instance, graph, p) for p in above if p in AUTOMATED_CHAIN)


def demo_eval_environment(settings: IrmSettings) -> None:
    """Small evaluation and packing settings for the daemon's runs (it reads ``IRM_*`` like every process), unless set."""
    files = settings.evals.benchmark_files or write_demo_benchmarks(Path(settings.lake.uri) / "artifacts" / "evals" / "demo_files")
    for name, value in {"BENCHMARK_FILES": json.dumps({k: str(v) for k, v in files.items()}), "MAX_ITEMS": "2", "SAMPLES": "2",
                        "EXEC_GUIDED_SAMPLES": "2", "SELF_CONSISTENCY_K": "3", "MAX_TOKENS": "24",
                        "PROBE_LENGTHS": "[48, 96, 512000]", "PROBE_DEPTHS": "[0.0, 0.5, 1.0]"}.items():
        os.environ.setdefault(f"IRM_EVALS__{name}", value)
    # the manifests automation packs: 2,048-token sequences, which the CPU trainer can take (production: 131,072)
    os.environ.setdefault("IRM_TRAINING__PACK_SEQ_LEN", "2048")
    os.environ.setdefault("IRM_TRAINING__PACK_MAX_SHARD_TOKENS", "262144")


def main() -> None:
    settings = IrmSettings()
    demo_eval_environment(settings)
    settings = IrmSettings()
    drops = build_demo_landing(settings.landing.path)
    console.print(f"[bold]landing zone[/] {settings.landing.path}: {', '.join(p.name for p in drops)}")
    drop_ids = {describe(c).drop_id for c in list_candidates(settings.landing.path)[0]}

    defs = build_definitions(settings)
    graph = defs.resolve_asset_graph()
    instance = DagsterInstance.get()
    home = os.environ.get("DAGSTER_HOME", "dagster_home")
    tasks, teachers = write_demo_inputs(Path(settings.lake.uri) / "artifacts" / "distill" / "demo")
    requested: list[str] = []

    def request(job: str, run_config: dict, why: str) -> None:
        submit(job, {**run_config, **QUIET})
        requested.append(job)
        console.print(f"  requested {job}: {why}")

    since = time.time() - 1
    started = time.monotonic()
    with running_daemon(home, Path(home) / "daemon.log") as daemon:
        console.print(f"[bold]dagster-daemon[/] started on {home} (log: {home}/daemon.log); sensors and automation drive the flow")

        def wait(what: str, done) -> None:
            waited = wait_for(what, lambda: done() and active_runs(instance) == 0, STAGE_TIMEOUT_S, daemon, instance, since)
            console.print(f"  {what}: done after {waited:.0f}s")

        wait("landing sensor: every drop ingested",
             lambda: drop_ids <= set(instance.get_materialized_partitions(AssetKey("raw_documents"))))
        wait("automation: curation, licenses, eval hashes, decontamination, splits", lambda: fresh(instance, graph, "splits"))
        if not caught_up(instance, "tokenizer", ["curated_documents"]):
            request("tokenizer_job", {"ops": {"tokenizer": {"config": {"vocab_size": 2000, "sample_bytes": 1_000_000}}}},
                    "the demo tokenizer (2,000 pieces) on the curated corpus")
        wait("automation: tokenizer metrics and Megatron shards (manifests)",
             lambda: fresh(instance, graph, "manifests") and caught_up(instance, "tokenizer_metrics", ["tokenizer"]))
        if not caught_up(instance, "training_run", ["manifests"]):
            request("training_job", {"ops": {"training_run": {"config": {"steps": 40, "save_every": 20}}}},
                    "40 CPU steps through NeMo-Run's LocalExecutor on the manifest automation built")
        wait("training run", lambda: caught_up(instance, "training_run", ["manifests"]))
        folders = set(discover(checkpoints_root(settings)))
        wait("checkpoint sensor: every checkpoint registered and evaluated",
             lambda: folders <= set(instance.get_materialized_partitions(AssetKey("checkpoint_eval"))))
        if materialized_at(instance, "distilled_sft") is None:
            request("distill_job", {"ops": {"distilled_sft": {"config": {"tasks_uri": str(tasks),
                                                                        "file_teachers": {n: str(p) for n, p in teachers.items()}}}}},
                    f"{len(demo_tasks())} demo tasks from two file teachers, every candidate verified in the sandbox")
        if not caught_up(instance, "latency_sweep", ["checkpoint"]):
            request("serving_job", {"ops": {"latency_sweep": {"config": {"prompt_tokens": [16, 64, 100, 1_000, 200_000],
                                                                         "requests_per_length": 3, "max_tokens": 8}}}},
                    "export + TensorRT-LLM build spec of the newest checkpoint (no GPU executor here, so no engine), latency sweep")
        wait("distillation and serving", lambda: materialized_at(instance, "distilled_sft") is not None
             and caught_up(instance, "latency_sweep", ["checkpoint"]))
        wait("automation: every checkpoint evaluated (benchmarks, probes) and the scorecard and report rebuilt",
             lambda: folders <= set(instance.get_materialized_partitions(AssetKey("checkpoint_evals_suite")))
             and caught_up(instance, "scorecard", parents(graph, "scorecard")) and caught_up(instance, "report", ["scorecard"]))
    console.print(f"[bold]flow settled[/] in {time.monotonic() - started:.0f}s; requested by the demo: {', '.join(requested) or 'nothing (all up to date)'}")

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
    emit(run_sql(settings.lake, "SELECT source, domain, coalesce(spdx_expression, '(none)') AS spdx, decision, count(*) AS documents "
                                "FROM license_ledger GROUP BY ALL ORDER BY documents DESC"),
         Format.table, "license ledger (every document)")
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
         Format.table, "evals: the demo's tiny model scores near zero (prompts beyond its context, the manifest's seq_len, are refused and scored wrong)")
    emit(run_sql(settings.lake, "SELECT checkpoint_id, gate, round(value, 1) AS value, status, left(reason, 70) AS reason FROM scorecard "
                                "ORDER BY 1, 2"),
         Format.table, "scorecard: North Star gates per checkpoint")
    report = instance.get_latest_materialization_event(AssetKey("report"))
    if report is not None:
        console.print(f"[bold]report[/]: {report.asset_materialization.metadata['html'].value}")
    newest = run_sql(settings.lake, "SELECT max_by(checkpoint_id, registered_at) AS id FROM checkpoints").to_pylist()[0]["id"]
    if newest:
        console.print(f"lineage of {newest}: [bold].venv/bin/irm lineage {newest}[/]")
        console.print(_tree(lineage(settings.lake, newest)))
    console.print('try: [bold].venv/bin/irm sql "SELECT source, domain_hint, count(*) docs, sum(bytes) bytes '
                  'FROM raw_documents GROUP BY ALL ORDER BY docs DESC"[/]')


if __name__ == "__main__":
    main()
