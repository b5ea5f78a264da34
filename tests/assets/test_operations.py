"""Incidents from failed runs, Delta maintenance within the time-travel window, and the whole-lake audit."""

import pytest
from dagster import DagsterEventType, DagsterInstance, build_run_status_sensor_context, materialize
from pyspark.sql import functions as F

from assets.definitions import build_definitions
from assets.operations import incident_sensor, lake_audit, lake_maintenance
from assets.resources import resources_from
from assets.tokenizer import tokenizer
from ledgers.splits import run_splits
from schemas.splits import SplitConfig
from schemas.tables import DocumentClean
from tests.corpus import write_curated


def test_a_failed_run_becomes_one_incident_row_with_step_and_error_class(settings, lake):
    instance, resources = DagsterInstance.ephemeral(), resources_from(settings)
    failed = materialize([tokenizer], instance=instance, resources=resources, raise_on_error=False,
                         run_config={"ops": {"tokenizer": {"config": {"vocab_size": 400, "sample_bytes": 100_000}}}})
    assert not failed.success
    run = instance.get_run_by_id(failed.run_id)
    event = next(e for e in failed.all_events if e.event_type == DagsterEventType.RUN_FAILURE)
    for _ in range(2):  # the sensor seeing the same failure twice still records one row
        context = build_run_status_sensor_context(sensor_name="incident_sensor", dagster_event=event, dagster_instance=instance,
                                                  dagster_run=run, resources=resources).for_run_failure()
        incident_sensor(context)
    (row,) = lake.read("incidents").collect()
    assert row["run_id"] == failed.run_id and row["step"] == "tokenizer" and row["job"] == run.job_name
    assert row["error_class"] not in ("", "RunFailure") and not row["error_class"].startswith("Dagster")
    assert "training sample is empty" in row["message"]
    assert build_definitions(settings).resolve_sensor_def("incident_sensor").default_status.value == "RUNNING"


def _small_lake(lake, n: int = 30) -> None:
    write_curated(lake, [{"text": f"Note {k}: {k} plus {k} is {2 * k}.", "domain": "text", "repo": f"r{k % 5}"} for k in range(n)])
    lake.write(lake.read("curated_documents").join(lake.read("documents_clean").select("doc_id", "text"), "doc_id")
               .withColumn("redacted_ngrams", F.lit(0)), "decontaminated_documents", mode="overwrite")
    lake.write(lake.read("curated_documents").join(lake.read("documents_clean").select("doc_id", "source", "uri"), "doc_id").select(
        "doc_id", F.lit("-").alias("text_sha256"), F.lit("-").alias("fingerprint"), F.lit("kept").alias("action"), "source", "uri"),
        "decontamination_inputs", mode="overwrite")
    run_splits(lake, SplitConfig(ratios={"train": 0.6, "val": 0.2, "test": 0.2}))


def test_maintenance_compacts_small_files_and_keeps_time_travel(settings, lake):
    _small_lake(lake)
    for k in range(4):  # four small appends → four small files
        lake.write(lake.frame("documents_clean", [DocumentClean(doc_id=f"extra-{k}", source="t", uri="t", text="x", bytes=1, lang="en",
                                                                lang_score=1.0, pii_redactions={}, quality={}, domain="text",
                                                                bucket="text/en")]), "documents_clean")
    old_version = lake.version("documents_clean") - 2
    old_rows = lake.read("documents_clean", version=old_version).count()
    result = materialize([lake_maintenance], instance=DagsterInstance.ephemeral(), resources=resources_from(settings))
    assert result.success
    row = lake.read("maintenance_runs").where(F.col("table") == "documents_clean").collect()[0]
    assert row["files_compacted"] >= 5 and row["files_after"] < row["files_before"] and row["retention_hours"] == 168
    assert row["version_after"] > row["version_before"]
    assert lake.read("documents_clean", version=old_version).count() == old_rows  # inside the window: still readable
    assert lake.read("lineage").where((F.col("table") == "documents_clean") & (F.col("operation") == "OPTIMIZE")).count() == 1
    meta = result.asset_materializations_for_node("lake_maintenance")[0].metadata
    assert meta["retention_hours"].value == 168 and "documents_clean" in meta["per_table"].value


def test_the_audit_passes_on_a_sound_lake_and_fails_on_a_tampered_one(settings, lake):
    _small_lake(lake)
    instance, resources = DagsterInstance.ephemeral(), resources_from(settings)
    sound = materialize([lake_audit], instance=instance, resources=resources)
    failed = [(r["invariant"], r["expected"], r["actual"], r["detail"]) for r in lake.read("lake_audits").where(~F.col("passed")).collect()]
    assert failed == [] and all(c.passed for c in sound.get_asset_check_evaluations())

    # a careless writer: one document moved to another split (its repository now straddles two), one cleaned row with no raw row
    victim = lake.read("splits").orderBy("doc_id").first()
    other = "val" if victim["split"] != "val" else "test"
    lake.write(lake.read("splits").withColumn("split", F.when(F.col("doc_id") == victim["doc_id"], F.lit(other)).otherwise(F.col("split"))),
               "splits", mode="overwrite")
    lake.write(lake.frame("documents_clean", [DocumentClean(doc_id="orphan", source="t", uri="t", text="x", bytes=1, lang="en",
                                                            lang_score=1.0, pii_redactions={}, quality={}, domain="text", bucket="text/en")]),
               "documents_clean")
    tampered = materialize([lake_audit], instance=instance, resources=resources)
    (check,) = tampered.get_asset_check_evaluations()
    assert not check.passed
    audit_id = tampered.asset_materializations_for_node("lake_audit")[0].metadata["audit_id"].value
    failed = {r["invariant"] for r in lake.read("lake_audits").where((F.col("audit_id") == audit_id) & ~F.col("passed")).collect()}
    assert {"conservation:clean", "conservation:clean:ids", "leaks:repo"} <= failed
