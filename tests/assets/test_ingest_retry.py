"""A failed drop leaves a ledger row that says so, and is retried: by re-executing its partition
(what the UI's re-execute does) and by the landing sensor, a bounded number of times."""

from dagster import DagsterInstance

from assets.definitions import build_definitions, tick_landing_sensor
from ledgers.ingest import drop_conservation, drop_status
from schemas.settings import LandingSettings
from tests.conftest import write_jsonl


def _run(defs, instance, drop_id):
    return defs.resolve_job_def("ingest_job").execute_in_process(
        partition_key=drop_id, instance=instance, tags={"irm/drop": drop_id}, raise_on_error=False)


def test_a_failed_drop_is_recorded_retried_by_the_sensor_a_bounded_number_of_times_and_recovers(settings, lake):
    settings = settings.model_copy(update={"landing": LandingSettings(**{**settings.landing.model_dump(), "max_retries": 1})})
    path = write_jsonl(settings.landing.path / "a.jsonl")
    defs = build_definitions(settings)
    instance = DagsterInstance.ephemeral()
    first = tick_landing_sensor(defs, instance, None)
    (drop_id,) = [r.partition_key for r in first.run_requests]
    instance.add_dynamic_partitions("drops", [drop_id])

    away = path.with_name("a.jsonl.partial")
    path.rename(away)  # the drop is unreachable while its run executes
    assert not _run(defs, instance, drop_id).success
    status, error = drop_status(lake, drop_id)
    assert status == "failed" and "removed or changed" in error

    path.write_bytes(b"")  # the landing entry is back, but changed: no retry of the old id, a new drop
    changed = tick_landing_sensor(defs, instance, first.cursor)
    assert [r.run_key for r in changed.run_requests] == [changed.run_requests[0].partition_key] != [drop_id]
    path.unlink()

    retry = tick_landing_sensor(defs, instance, first.cursor)
    assert [(r.run_key, r.partition_key, r.tags["irm/retry"]) for r in retry.run_requests] == [(f"{drop_id}#retry1", drop_id, "1")]
    assert not _run(defs, instance, drop_id).success  # still unreachable: fails again
    bounded = tick_landing_sensor(defs, instance, retry.cursor)
    assert not bounded.run_requests  # landing.max_retries=1 reached

    away.rename(path)
    result = _run(defs, instance, drop_id)  # re-executing the partition, as the UI does
    assert result.success
    assert drop_status(lake, drop_id) == ("ingested", None)
    assert drop_conservation(lake, drop_id).holds
    assert not tick_landing_sensor(defs, instance, bounded.cursor).run_requests
