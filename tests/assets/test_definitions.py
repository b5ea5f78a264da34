import json

from dagster import DagsterInstance, materialize

from assets.definitions import build_definitions, tick_landing_sensor
from assets.curation import dedup, documents_clean
from assets.licenses import curated_documents, license_ledger
from assets.tokenizer import tokenizer
from assets.ingest import raw_documents
from assets.resources import resources_from
from ledgers.ingest import drop_conservation
from tests.conftest import write_jsonl, write_tree


def test_definitions_load_with_the_in_process_executor(settings):
    defs = build_definitions(settings)
    job = defs.resolve_job_def("ingest_job")
    assert job.executor_def.name == "in_process"
    assert defs.resolve_sensor_def("landing_sensor").job_name == "ingest_job"


def test_the_sensor_turns_each_new_drop_into_exactly_one_run(settings):
    defs = build_definitions(settings)
    instance = DagsterInstance.ephemeral()
    write_jsonl(settings.landing.path / "a.jsonl")
    write_tree(settings.landing.path / "repo")
    first = tick_landing_sensor(defs, instance, None)
    keys = sorted(r.partition_key for r in first.run_requests)
    assert len(keys) == 2 and [r.run_key for r in first.run_requests] == [r.partition_key for r in first.run_requests]
    assert sorted(first.dynamic_partitions_requests[0].partition_keys) == keys

    second = tick_landing_sensor(defs, instance, first.cursor)
    assert not second.run_requests

    (settings.landing.path / "repo" / "NEW.md").write_text("# new file\n")
    third = tick_landing_sensor(defs, instance, second.cursor)
    assert len(third.run_requests) == 1 and third.run_requests[0].partition_key.startswith("repo-")
    assert third.run_requests[0].partition_key not in keys
    assert json.loads(third.cursor)["a.jsonl"] == json.loads(first.cursor)["a.jsonl"]


def test_materializing_a_drop_partition_writes_the_lake_and_passes_the_check(settings, lake):
    write_jsonl(settings.landing.path / "a.jsonl.zst")
    defs = build_definitions(settings)
    instance = DagsterInstance.ephemeral()
    tick = tick_landing_sensor(defs, instance, None)
    (drop_id,) = [r.partition_key for r in tick.run_requests]
    instance.add_dynamic_partitions("drops", [drop_id])
    result = materialize([raw_documents], partition_key=drop_id, instance=instance, resources=resources_from(settings))
    assert result.success
    (check,) = result.get_asset_check_evaluations()
    assert check.passed and check.metadata["records_seen"].value == 9
    meta = result.asset_materializations_for_node("raw_documents")[0].metadata
    assert meta["dagster/row_count"].value == 2 and meta["rejects"].value == 7
    assert "malformed-json" in meta["rejects_by_reason"].value
    assert drop_conservation(lake, drop_id).holds


def test_curation_and_license_assets_materialize_after_ingest_with_passing_checks(settings):
    write_tree(settings.landing.path / "repo")
    defs = build_definitions(settings)
    instance = DagsterInstance.ephemeral()
    (drop_id,) = [r.partition_key for r in tick_landing_sensor(defs, instance, None).run_requests]
    instance.add_dynamic_partitions("drops", [drop_id])
    resources = resources_from(settings)
    assert materialize([raw_documents], partition_key=drop_id, instance=instance, resources=resources).success
    stages = [documents_clean, dedup, license_ledger, curated_documents]
    result = materialize(stages, instance=instance, resources=resources, selection=stages)
    assert result.success
    checks = {(c.asset_key.to_user_string(), c.check_name): c for c in result.get_asset_check_evaluations()}
    assert len(checks) == 4 and all(c.passed for c in checks.values())
    assert checks[("documents_clean", "records_conserved")].metadata["input"].value == 5
    assert checks[("curated_documents", "no_excluded_license")].metadata["excluded_documents_in_curated"].value == 0
    meta = result.asset_materializations_for_node("dedup")[0].metadata
    assert meta["dedup_rate_plot"].value.startswith("![dedup rate per domain](data:image/png;base64,")
    clean_meta = result.asset_materializations_for_node("documents_clean")[0].metadata
    assert clean_meta["length_histogram_plot"].value.startswith("![document length](data:image/png;base64,")
    assert meta["lsh_bands_x_rows"].value == "18 x 7"

    # this tree's code has no recognizable license, so nothing is curated and training must say so
    trained = materialize([tokenizer], instance=instance, resources=resources, raise_on_error=False,
                          run_config={"ops": {"tokenizer": {"config": {"vocab_size": 400, "sample_bytes": 100_000}}}})
    assert not trained.success
    failure = next(e for e in trained.all_events if e.is_step_failure)
    assert "training sample is empty" in str(failure.step_failure_data.error.cause.message)
