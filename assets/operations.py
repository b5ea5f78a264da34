"""The lakehouse's own chores: failed runs → `incidents`, Delta maintenance, whole-lake audits, and
the schedules that run them (cron and timezone from ``OperationsSettings``)."""


import datetime as dt

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    MaterializeResult,
    MetadataValue,
    RunFailureSensorContext,
    ScheduleDefinition,
    SkipReason,
    asset,
    define_asset_job,
    run_failure_sensor,
)

from assets.automation import LAKE_WRITER
from assets.resources import LakeResource, OperationsResource, SparkResource
from assets.serving import latency_sweep
from ledgers.audit import audit_lake
from ledgers.incidents import incident_id, record_incidents
from ledgers.maintenance import maintain_lake
from schemas.operations import Incident
from schemas.settings import OperationsSettings


def _error(event) -> tuple[str, str]:
    """The user's error class and first line, not Dagster's wrapper around it."""
    error = getattr(event.event_specific_data, "error", None) if event is not None else None
    while error is not None and error.cause is not None and error.cls_name.startswith("Dagster"):
        error = error.cause
    if error is None:
        return "RunFailure", (event.message or "run failed") if event is not None else "run failed"
    return error.cls_name or "Error", (error.message or "").strip().splitlines()[0][:500] if error.message else ""


def incidents_of(context: RunFailureSensorContext) -> list[Incident]:
    run = context.dagster_run
    failed_at = dt.datetime.now(dt.timezone.utc)
    steps = context.get_step_failure_events() or [None]
    incidents = []
    for event in steps:
        error_class, message = _error(event if event is not None else context.failure_event)
        step = event.step_key if event is not None else None
        incidents.append(Incident(incident_id=incident_id(run.run_id, step), run_id=run.run_id, job=run.job_name, step=step,
                                  error_class=error_class, message=message, partition=run.tags.get("dagster/partition"),
                                  failed_at=failed_at))
    return incidents


@run_failure_sensor(name="incident_sensor", default_status=DefaultSensorStatus.RUNNING, minimum_interval_seconds=30,
                    description="Every failed run of this code location → one `incidents` row per failed step (job, step, error class, partition).")
def incident_sensor(context: RunFailureSensorContext, spark: SparkResource, lake: LakeResource):
    incidents = incidents_of(context)
    record_incidents(lake.lake(spark), incidents)
    context.log.info(f"recorded {len(incidents)} incident(s) for run {context.dagster_run.run_id}")


@asset(group_name="operations", kinds={"spark", "delta"},
       description="OPTIMIZE + VACUUM of every lake table, keeping every version inside the time-travel window readable; "
                   "one `maintenance_runs` row per table.")
def lake_maintenance(context: AssetExecutionContext, spark: SparkResource, lake: LakeResource, operations: OperationsResource) -> MaterializeResult:
    rows = maintain_lake(lake.lake(spark), operations.time_travel_hours, run_id=context.run_id)
    table = "| table | version | files before → after | compacted | vacuumed | log files before → after |\n|---|---|---|---|---|---|\n" + "\n".join(
        f"| {r.table} | {r.version_before} → {r.version_after} | {r.files_before} → {r.files_after} | {r.files_compacted} | "
        f"{r.files_vacuumed} | {r.log_files_before} → {r.log_files_after} |" for r in rows)
    return MaterializeResult(metadata={"tables": len(rows), "retention_hours": operations.time_travel_hours,
                                       "files_compacted": sum(r.files_compacted for r in rows),
                                       "files_vacuumed": sum(r.files_vacuumed for r in rows), "per_table": MetadataValue.md(table)})


@asset(group_name="operations", kinds={"spark", "delta"},
       check_specs=[AssetCheckSpec("lake_invariants_hold", asset="lake_audit",
                                   description="every drop and stage conserves its records and no family straddles two splits, "
                                               "re-proved over the whole lake")],
       description="Re-proves conservation (per drop and per stage) and zero split leaks over the lake as it is now; "
                   "one `lake_audits` row per invariant.")
def lake_audit(context: AssetExecutionContext, spark: SparkResource, lake: LakeResource) -> MaterializeResult:
    findings, write = audit_lake(lake.lake(spark), run_id=context.run_id)
    failed = [f for f in findings if not f.passed]
    table = "| invariant | expected | actual | holds |\n|---|---|---|---|\n" + "\n".join(
        f"| {f.invariant} | {f.expected} | {f.actual} | {'yes' if f.passed else '**NO**'} |" for f in findings)
    return MaterializeResult(
        metadata={"audit_id": findings[0].audit_id, "invariants": len(findings), "failed": len(failed),
                  "findings": MetadataValue.md(table), "table_version": write.version},
        check_results=[AssetCheckResult(check_name="lake_invariants_hold", passed=not failed, severity=AssetCheckSeverity.ERROR,
                                        metadata={"failed": MetadataValue.json([f.invariant for f in failed])})])


maintenance_job = define_asset_job("maintenance_job", selection=[lake_maintenance], tags=LAKE_WRITER,
                                   description="Delta OPTIMIZE + VACUUM within the time-travel window, log cleanup.")
audit_job = define_asset_job("audit_job", selection=[lake_audit], tags=LAKE_WRITER,
                             description="Whole-lake audit: conservation and zero split leaks.")
latency_job = define_asset_job("latency_job", selection=[latency_sweep], tags=LAKE_WRITER,
                               description="Latency sweep against the configured endpoint (the newest checkpoint served locally by default).")


def schedules_from(ops: OperationsSettings) -> list[ScheduleDefinition]:
    status = DefaultScheduleStatus.RUNNING if ops.schedules_running else DefaultScheduleStatus.STOPPED
    return [
        ScheduleDefinition(name="maintenance_schedule", job=maintenance_job, cron_schedule=ops.maintenance_cron,
                           execution_timezone=ops.timezone, default_status=status,
                           description=f"OPTIMIZE + VACUUM every table, retaining {ops.time_travel_hours} h of time travel.",
                           metadata={"retention_hours": ops.time_travel_hours, "results": "maintenance_runs"}),
        ScheduleDefinition(name="audit_schedule", job=audit_job, cron_schedule=ops.audit_cron, execution_timezone=ops.timezone,
                           default_status=status, description="Re-prove conservation and zero split leaks over the whole lake.",
                           metadata={"results": "lake_audits"}),
        ScheduleDefinition(name="latency_schedule", job=latency_job, cron_schedule=ops.latency_cron, execution_timezone=ops.timezone,
                           default_status=status, description="Sweep prompt lengths against the configured endpoint.",
                           metadata={"results": "latency_runs"}),
    ]
