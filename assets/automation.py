"""How the lakehouse moves by itself: which stages follow their upstream, and which wait to be asked.

Cheap, deterministic stages (curation, licenses, eval hashes, decontamination, splits, manifests,
tokenizer metrics, checkpoint evaluation) are ``on_upstream_change``: Dagster's ``eager`` (run when
a dependency has a new materialization; never while a dependency is missing or in progress) and,
on top, only once every upstream *blocking* check passed, so a stage never builds on data a check
rejected. Expensive stages have no condition and run on a request or a schedule:

* ``tokenizer`` — retraining changes every token id downstream; an ML engineer asks for it.
* ``training_run`` — hours of GPUs per launch.
* ``engine_build`` — a GPU node and a TensorRT-LLM container per build.
* ``distilled_sft`` — it calls teacher endpoints under budgets, and needs its task list as config.
* ``latency_sweep`` — it runs on ``latency_schedule`` against the configured endpoint.

Every run that writes lake tables carries ``LAKE_WRITER``; ``dagster_home/dagster.yaml`` limits
runs with that tag to one at a time, so a burst of drops queues instead of starting a JVM each.
"""

from __future__ import annotations

from dagster import AssetSelection, AutomationCondition, AutomationConditionSensorDefinition, DefaultSensorStatus

LAKE_WRITER_TAG = "irm/lake-writer"
LAKE_WRITER = {LAKE_WRITER_TAG: "spark"}


def on_upstream_change() -> AutomationCondition:
    """``eager()`` gated on ``all_deps_blocking_checks_passed()``: a stage never builds on a version its
    upstream checks rejected. For the drop-partitioned ``raw_documents`` Dagster reads the latest
    check evaluation; a drop that failed its check was restored out of the lake (write-audit-publish),
    so a later passing drop lets the flow continue without it."""
    return (AutomationCondition.eager() & AutomationCondition.all_deps_blocking_checks_passed()).with_label("on_upstream_change")


def once_when_missing() -> AutomationCondition:
    """For a stage with no upstream in the lake (``eval_hashes`` reads packaged benchmarks): built when
    missing, not retried in a loop after a failed run; rebuilt by request when the benchmarks change."""
    return (AutomationCondition.missing() & ~AutomationCondition.in_progress()
            & ~AutomationCondition.execution_failed()).with_label("once_when_missing")


automation_sensor = AutomationConditionSensorDefinition(
    "default_automation_condition_sensor",
    target=AssetSelection.all(),
    run_tags=LAKE_WRITER,
    default_status=DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=15,
    description="Evaluates every asset's automation condition (see assets/automation.py); stop it to freeze the flow.",
)
