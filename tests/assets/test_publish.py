"""Write–audit–publish: a stage whose blocking check fails leaves readers on the previous version."""

import json

from dagster import DagsterInstance, materialize
from delta.tables import DeltaTable
from pyspark.sql import functions as F

import assets.curation
from assets.curation import dedup, documents_clean
from assets.definitions import build_definitions, tick_landing_sensor
from assets.ingest import raw_documents
from assets.resources import resources_from
from tests.assets.test_daemon_e2e import _prose
from tests.conftest import write_jsonl

OTHER = [json.dumps({"text": _prose(seed), "source": "stories", "domain": "text"}).encode() for seed in (1, 2)]  # long enough to be kept


def _ingest(settings, instance, defs, cursor):
    tick = tick_landing_sensor(defs, instance, cursor)
    keys = [r.partition_key for r in tick.run_requests]
    instance.add_dynamic_partitions("drops", keys)
    for key in keys:
        assert materialize([raw_documents], partition_key=key, instance=instance, resources=resources_from(settings)).success
    return tick.cursor


def test_a_failed_blocking_check_restores_the_previous_version_and_stops_downstream(settings, lake, monkeypatch):
    defs, instance, resources = build_definitions(settings), DagsterInstance.ephemeral(), resources_from(settings)
    write_jsonl(settings.landing.path / "a.jsonl")
    cursor = _ingest(settings, instance, defs, None)
    good = materialize([documents_clean], instance=instance, resources=resources)
    assert good.success and good.asset_materializations_for_node("documents_clean")[0].metadata["published"].value is True
    published = lake.version("documents_clean")
    published_ids = {r["doc_id"] for r in lake.read("documents_clean").collect()}

    write_jsonl(settings.landing.path / "b.jsonl", OTHER)
    _ingest(settings, instance, defs, cursor)
    real = assets.curation.clean_audit
    monkeypatch.setattr(assets.curation, "clean_audit", lambda the_lake: (lambda c, p: ((c[0] + 1, c[1], c[2]), p))(*real(the_lake)))
    bad = materialize([documents_clean, dedup], instance=instance, resources=resources, raise_on_error=False)

    assert not bad.success
    (check,) = [c for c in bad.get_asset_check_evaluations() if c.asset_key.to_user_string() == "documents_clean"]
    assert not check.passed
    assert not bad.asset_materializations_for_node("dedup")  # nothing downstream ran
    meta = bad.asset_materializations_for_node("documents_clean")[0].metadata
    assert meta["published"].value is False
    rejected = meta["restored"].value["documents_clean"]["rejected_version"]

    # from the lake: the current version is a RESTORE whose rows are exactly the last published version's
    history = DeltaTable.forPath(lake.spark, lake.path("documents_clean")).history(1).collect()[0]
    assert history["operation"] == "RESTORE" and history["version"] == rejected + 1 and rejected == published + 1
    assert {r["doc_id"] for r in lake.read("documents_clean").collect()} == published_ids
    rejected_ids = {r["doc_id"] for r in lake.read("documents_clean", version=rejected).collect()}
    assert rejected_ids > published_ids  # the rejected version (with drop b) is kept for time travel only
    assert not lake.exists("dedup")
    restores = lake.read("lineage").where((F.col("table") == "documents_clean") & (F.col("operation") == "RESTORE")).collect()
    assert [r["version"] for r in restores] == [rejected + 1]
