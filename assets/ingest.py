"""Landing zone → raw_documents: the sensor, the partitioned ingest asset and its check."""


import json

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    DagsterInstance,
    DagsterRunStatus,
    DefaultSensorStatus,
    DynamicPartitionsDefinition,
    MaterializeResult,
    MetadataValue,
    RunRequest,
    RunsFilter,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    asset,
    define_asset_job,
    sensor,
)

from assets.automation import LAKE_WRITER
from assets.publish import audited
from assets.resources import LakeResource, SparkResource
from ledgers.ingest import drop_conservation, ingest_drop, record_failed_drop
from ledgers.landing import LandingError, describe, find_drop, list_candidates, settled

drops_partitions = DynamicPartitionsDefinition(name="drops")


def _markdown_counts(counts: dict[str, int], key: str) -> str:
    if not counts:
        return "none"
    rows = "\n".join(f"| {k} | {v} |" for k, v in counts.items())
    return f"| {key} | rows |\n|---|---|\n{rows}"


@asset(
    partitions_def=drops_partitions,
    group_name="ingest",
    kinds={"spark", "delta"},
    check_specs=[AssetCheckSpec("records_conserved", asset="raw_documents", blocking=True,
                                description="raw_documents + rejects = records seen, every file of the drop accounted, "
                                            "ledger row present and ingested, for this drop")],
    description="Documents of each landing drop (one partition per drop); bad records go to `rejects` with a reason.",
)
def raw_documents(context: AssetExecutionContext, spark: SparkResource, lake: LakeResource) -> MaterializeResult:
    the_lake = lake.lake(spark)
    try:
        drop = find_drop(lake.landing_path, context.partition_key)
    except LandingError as err:
        record_failed_drop(the_lake, context.partition_key, str(err), run_id=context.run_id)
        raise
    report = ingest_drop(the_lake, drop, lake.landing_settings(), run_id=context.run_id)
    held = drop_conservation(the_lake, drop.drop_id)
    context.log.info(f"{drop.drop_id}: {report.records_seen} records seen, {report.documents} documents, {report.rejects} rejects")
    versions = {w.table: w.version for w in report.writes}
    return audited(context, the_lake, report.writes, MaterializeResult(
        metadata={
            "drop": drop.name,
            "kind": drop.kind,
            "files": len(drop.files),
            "bytes": drop.total_bytes,
            "records_seen": report.records_seen,
            "dagster/row_count": report.documents,
            "rejects": report.rejects,
            "rejects_by_reason": MetadataValue.md(_markdown_counts(report.rejects_by_reason, "reason")),
            "table_versions": MetadataValue.json(versions),
            "dagster/uri": the_lake.path("raw_documents"),
        },
        check_results=[AssetCheckResult(
            check_name="records_conserved",
            passed=held.holds,
            severity=AssetCheckSeverity.ERROR,
            metadata={"records_seen": held.records_seen, "documents": held.documents, "rejects": held.rejects,
                      "files": held.files, "files_accounted": held.files_accounted, "ledger_status": str(held.status)},
            description=f"{held.documents} documents + {held.rejects} rejects vs {held.records_seen} records seen; "
                        f"{held.files_accounted} of {held.files} files accounted",
        )],
    ))


ingest_job = define_asset_job("ingest_job", selection=[raw_documents], partitions_def=drops_partitions, tags=LAKE_WRITER,
                              description="Ingest one landing drop (partition = drop id).")


def tick_landing(landing_root, settle_seconds: float, cursor: "str | None") -> tuple[list[str], dict, list[str]]:
    """New drop ids since ``cursor``, the next cursor, and notes about entries not taken (yet)."""
    state: dict[str, dict[str, str]] = json.loads(cursor) if cursor else {}
    candidates, notes = list_candidates(landing_root)
    new_ids = []
    for candidate in candidates:
        seen = state.get(candidate.name)
        if seen and seen["signature"] == candidate.signature:
            continue
        if not settled(candidate, settle_seconds):
            notes.append(f"{candidate.name}: still changing; waiting {settle_seconds}s after its last write")
            continue
        drop = describe(candidate)
        state[candidate.name] = {"signature": candidate.signature, "drop_id": drop.drop_id}
        if seen and seen["drop_id"] == drop.drop_id:
            if "retries" in seen:
                state[candidate.name]["retries"] = seen["retries"]
            continue
        new_ids.append(drop.drop_id)
    return new_ids, state, notes


def failed_drops(instance: DagsterInstance, state: dict[str, dict], max_retries: int) -> list[tuple[str, int]]:
    """``(drop_id, retry number)`` for each drop in the cursor whose latest ingest run failed and
    that has been retried fewer than ``max_retries`` times; one run query finds the candidates."""
    failed = instance.get_runs(filters=RunsFilter(job_name=ingest_job.name, statuses=[DagsterRunStatus.FAILURE]), limit=500)
    failed_ids = {run.tags.get("irm/drop") for run in failed}
    retries = []
    for entry in state.values():
        drop_id, done = entry["drop_id"], entry.get("retries", 0)
        if drop_id not in failed_ids or done >= max_retries:
            continue
        latest = instance.get_runs(filters=RunsFilter(job_name=ingest_job.name, tags={"irm/drop": drop_id}), limit=1)
        if latest and latest[0].status == DagsterRunStatus.FAILURE:
            retries.append((drop_id, done + 1))
    return retries


@sensor(job=ingest_job, minimum_interval_seconds=30, default_status=DefaultSensorStatus.RUNNING,
        description="One ingest run per new or changed landing drop, exactly once (cursor + run key = drop id); "
                    "a drop whose last run failed is requested again, up to landing.max_retries times.")
def landing_sensor(context: SensorEvaluationContext, lake: LakeResource):
    new_ids, state, notes = tick_landing(lake.landing_path, lake.settle_seconds, context.cursor)
    for note in notes:
        context.log.info(note)
    requests = [RunRequest(run_key=drop_id, partition_key=drop_id, tags={"irm/drop": drop_id}) for drop_id in new_ids]
    by_id = {entry["drop_id"]: entry for entry in state.values()}
    for drop_id, attempt in failed_drops(context.instance, state, lake.max_retries):
        by_id[drop_id]["retries"] = attempt
        context.log.warning(f"{drop_id}: last ingest run failed; retry {attempt} of {lake.max_retries}")
        requests.append(RunRequest(run_key=f"{drop_id}#retry{attempt}", partition_key=drop_id,
                                   tags={"irm/drop": drop_id, "irm/retry": str(attempt)}))
    next_cursor = json.dumps(state, sort_keys=True)
    if not requests:
        return SensorResult(skip_reason=SkipReason("no new drops in the landing zone, no failed drop to retry"), cursor=next_cursor)
    return SensorResult(
        run_requests=requests,
        dynamic_partitions_requests=[drops_partitions.build_add_request(new_ids)] if new_ids else [],
        cursor=next_cursor,
    )
