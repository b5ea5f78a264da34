"""The automation conditions of the real definitions, evaluated against instance state (no Spark)."""

from dagster import AssetCheckEvaluation, AssetKey, AssetRecordsFilter, AssetMaterialization, DagsterInstance, evaluate_automation_conditions

from dagster._core.definitions.asset_checks.asset_check_evaluation import AssetCheckEvaluationTargetMaterializationData

from assets.automation import LAKE_WRITER_TAG
from assets.definitions import build_definitions

REQUESTED_ONLY = {"raw_documents", "checkpoint", "tokenizer", "training_run", "engine_build", "distilled_sft", "latency_sweep",
                  "lake_maintenance", "lake_audit", "sft_run", "dpo_run"}


def _materialize(instance: DagsterInstance, key: str, checks: dict[str, bool], partition: str | None = None) -> None:
    """What a run leaves in the instance: a materialization, then its checks' evaluations."""
    instance.report_runless_asset_event(AssetMaterialization(key, partition=partition))
    (record,) = instance.fetch_materializations(AssetRecordsFilter(AssetKey(key), asset_partitions=[partition] if partition else None),
                                                limit=1).records
    target = AssetCheckEvaluationTargetMaterializationData(storage_id=record.storage_id, run_id=record.run_id, timestamp=record.timestamp)
    for name, passed in checks.items():
        instance.report_runless_asset_event(AssetCheckEvaluation(asset_key=AssetKey(key), check_name=name, passed=passed,
                                                                 partition=partition, target_materialization_data=target))


def _land(instance: DagsterInstance, drop_id: str, conserved: bool) -> None:
    instance.add_dynamic_partitions("drops", [drop_id])
    _materialize(instance, "raw_documents", {"records_conserved": conserved}, partition=drop_id)


def _requested(result) -> set[str]:
    return {r.key.to_user_string() for r in result.results if r.true_subset.size}


def test_every_asset_past_ingest_is_eager_except_the_expensive_ones(settings):
    defs = build_definitions(settings)
    graph = defs.resolve_asset_graph()
    conditions = {k.to_user_string(): graph.get(k).automation_condition for k in graph.get_all_asset_keys()}
    assert {k for k, c in conditions.items() if c is None} == REQUESTED_ONLY
    assert {c.get_label() for k, c in conditions.items() if c is not None and k not in ("eval_hashes", "scorecard")} == {"on_upstream_change"}
    assert conditions["scorecard"].get_label() == "on_new_evaluations"  # also when no latency sweep exists yet
    assert conditions["eval_hashes"].get_label() == "once_when_missing"
    sensor = defs.resolve_sensor_def("default_automation_condition_sensor")
    assert sensor.default_status.value == "RUNNING" and sensor.run_tags[LAKE_WRITER_TAG]
    for job in ("ingest_job", "curation_job", "training_data_job", "training_job", "checkpoint_job", "serving_job"):
        assert LAKE_WRITER_TAG in defs.resolve_job_def(job).tags


def test_a_drop_flows_down_to_splits_and_waits_at_manifests_for_a_tokenizer(settings):
    defs = build_definitions(settings)
    instance = DagsterInstance.ephemeral()
    first = evaluate_automation_conditions(defs, instance)
    assert _requested(first) == {"eval_hashes"}  # the only root stage: built once when first seen missing

    instance.report_runless_asset_event(AssetMaterialization("eval_hashes"))
    _land(instance, "drop-a", conserved=True)
    second = evaluate_automation_conditions(defs, instance, cursor=first.cursor)
    assert _requested(second) == {"documents_clean", "dedup", "license_ledger", "curated_documents",
                                  "decontaminated_documents", "splits"}

    third = evaluate_automation_conditions(defs, instance, cursor=second.cursor)
    assert not _requested(third)  # handled: nothing new upstream, nothing requested again


def test_a_drop_whose_blocking_check_failed_moves_nothing_downstream(settings):
    defs = build_definitions(settings)
    instance = DagsterInstance.ephemeral()
    instance.report_runless_asset_event(AssetMaterialization("eval_hashes"))
    first = evaluate_automation_conditions(defs, instance)
    _land(instance, "drop-bad", conserved=False)
    blocked = evaluate_automation_conditions(defs, instance, cursor=first.cursor)
    assert "documents_clean" not in _requested(blocked)

    _land(instance, "drop-good", conserved=True)  # the failed drop was restored out of the lake; the next one flows
    unblocked = evaluate_automation_conditions(defs, instance, cursor=blocked.cursor)
    assert "documents_clean" in _requested(unblocked)


def test_manifests_follow_a_tokenizer_only_once_one_was_materialized(settings):
    defs = build_definitions(settings)
    instance = DagsterInstance.ephemeral()
    _land(instance, "drop-a", conserved=True)
    for key in ("eval_hashes", "documents_clean", "dedup", "license_ledger", "curated_documents", "decontaminated_documents"):
        instance.report_runless_asset_event(AssetMaterialization(key))
    first = evaluate_automation_conditions(defs, instance)
    _materialize(instance, "splits", {"zero_leaks": False, "records_conserved": True})
    leaky = evaluate_automation_conditions(defs, instance, cursor=first.cursor)
    assert "manifests" not in _requested(leaky)
    _materialize(instance, "splits", {"zero_leaks": True, "records_conserved": True})
    first = evaluate_automation_conditions(defs, instance, cursor=leaky.cursor)
    assert "manifests" not in _requested(first)
    instance.report_runless_asset_event(AssetMaterialization("tokenizer"))
    second = evaluate_automation_conditions(defs, instance, cursor=first.cursor)
    assert {"manifests", "tokenizer_metrics"} <= _requested(second)


def test_the_instance_queues_runs_and_admits_one_lake_writer_at_a_time(tmp_path, monkeypatch):
    import shutil

    from dagster._core.run_coordinator import QueuedRunCoordinator

    from assets.daemon import ROOT

    shutil.copy(ROOT / "dagster_home" / "dagster.yaml", tmp_path / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    instance = DagsterInstance.from_config(str(tmp_path))
    assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
    limits = instance.get_concurrency_config().run_queue_config.tag_concurrency_limits
    assert {"key": LAKE_WRITER_TAG, "limit": 1} in [dict(limit) for limit in limits]


def test_manifests_the_automation_builds_take_their_shape_from_the_settings():
    from assets.packing import PackRunConfig
    from assets.resources import TrainingResource
    from schemas.settings import TrainingSettings

    training = TrainingResource.from_settings(TrainingSettings(pack_seq_len=2048, pack_max_shard_tokens=262_144))
    assert (PackRunConfig().to_config(training).seq_len, PackRunConfig().to_config(training).max_shard_tokens) == (2048, 262_144)
    assert PackRunConfig(seq_len=64, max_shard_tokens=4096).to_config(training).seq_len == 64  # a run config still overrides
    assert PackRunConfig().to_config(TrainingResource.from_settings(TrainingSettings())).seq_len == 131_072  # production: stage A
