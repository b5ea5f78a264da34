"""Write–audit–publish by restore: a stage writes its tables, its blocking checks read them back,
and if any blocking check fails every table the stage wrote is restored (Delta RESTORE) to the
version it had before the run. Readers of the current version therefore only ever keep versions
whose checks passed; the rejected version stays in the Delta history (time travel, `lineage`) for
whoever investigates. Dagster then fails the step, so nothing downstream runs in this run, and the
automation conditions (``all_deps_blocking_checks_passed``) hold the next stages back.

Restore rather than staged tables: a stage's checks are queries over the real tables (conservation
against upstream tables, leaks across splits), so they must see the new version where readers will;
with one lake writer at a time (``dagster.yaml``) no other commit lands between write and restore.
"""

from __future__ import annotations

from dagster import AssetExecutionContext, MaterializeResult, MetadataValue

from ledgers.lake import Lake, WriteResult


def audited(context: AssetExecutionContext, lake: Lake, writes: list[WriteResult | None], result: MaterializeResult) -> MaterializeResult:
    try:
        return _published(context, lake, writes, result)
    finally:
        lake.flush_lineage()


def _published(context: AssetExecutionContext, lake: Lake, writes: list[WriteResult | None], result: MaterializeResult) -> MaterializeResult:
    blocking = {spec.name for spec in context.assets_def.check_specs if spec.blocking}
    failed = sorted(c.check_name for c in result.check_results or [] if c.check_name in blocking and not c.passed)
    if not failed:
        return MaterializeResult(metadata={**(result.metadata or {}), "published": True},
                                 check_results=result.check_results, data_version=result.data_version)
    first: dict[str, int] = {}
    for w in writes:
        if w is not None and w.operation != "NONE":
            first[w.table] = min(first.get(w.table, w.version), w.version)
    restored = {}
    for table, version in sorted(first.items()):
        back = lake.restore(table, version - 1, run_id=context.run_id, partition=context.partition_key if context.has_partition_key else None)
        restored[table] = {"rejected_version": version, "restored_to": version - 1, "restore_commit": back.version}
        context.log.error(f"{table}: blocking check(s) {failed} failed; v{version} is not published, readers see v{version - 1} again")
    return MaterializeResult(metadata={**(result.metadata or {}), "published": False, "failed_blocking_checks": MetadataValue.json(failed),
                                       "restored": MetadataValue.json(restored)},
                             check_results=result.check_results, data_version=result.data_version)
