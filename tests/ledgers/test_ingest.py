import pytest
from pyspark.sql import functions as F

from ledgers.ingest import IngestError, drop_conservation, drop_status, ingest_drop, rejects_by_reason
from ledgers.landing import describe, list_candidates
from tests.conftest import JSONL_LINES, JSONL_REASONS, write_jsonl, write_tree


def _only_drop(settings, name):
    return describe(next(c for c in list_candidates(settings.landing.path)[0] if c.name == name))


def test_ingest_conserves_records_and_a_rerun_replaces_instead_of_adding(lake, settings):
    write_jsonl(settings.landing.path / "d.jsonl.gz")
    drop = _only_drop(settings, "d.jsonl.gz")
    report = ingest_drop(lake, drop, settings.landing, run_id="r1")
    assert (report.records_seen, report.documents, report.rejects_by_reason) == (len(JSONL_LINES), 2, JSONL_REASONS)
    assert drop_conservation(lake, drop.drop_id).holds
    ingest_drop(lake, drop, settings.landing, run_id="r2")
    held = drop_conservation(lake, drop.drop_id)
    assert (held.records_seen, held.documents, held.rejects) == (9, 2, 7)
    assert lake.read("raw_documents").count() == 2
    ledger = lake.read("drops").collect()
    assert len(ledger) == 1 and ledger[0]["records_seen"] == 9


def test_a_changed_drop_rejects_the_documents_an_earlier_drop_brought(lake, settings):
    path = write_tree(settings.landing.path / "repo")
    first = _only_drop(settings, "repo")
    ingest_drop(lake, first, settings.landing)
    (path / "src/pkg/new.py").write_text("print('new')\n")
    second = _only_drop(settings, "repo")
    assert second.drop_id != first.drop_id
    report = ingest_drop(lake, second, settings.landing)
    assert report.documents == 1
    assert rejects_by_reason(lake, second.drop_id)["already-ingested"] == 5
    assert drop_conservation(lake, second.drop_id).holds
    assert lake.read("raw_documents").count() == 6


def test_the_same_drop_gives_the_same_rows(lake, settings, spark):
    write_tree(settings.landing.path / "repo")
    drop = _only_drop(settings, "repo")
    ingest_drop(lake, drop, settings.landing)
    first = sorted(tuple(r) for r in lake.read("raw_documents").collect())
    ingest_drop(lake, drop, settings.landing)
    assert sorted(tuple(r) for r in lake.read("raw_documents").collect()) == first


def test_conservation_fails_when_rows_go_missing_a_file_is_silent_or_the_ledger_row_is_absent(lake, settings):
    write_tree(settings.landing.path / "repo")
    drop = _only_drop(settings, "repo")
    ingest_drop(lake, drop, settings.landing)
    held = drop_conservation(lake, drop.drop_id)
    assert held.holds and held.files == held.files_accounted == 8
    assert not drop_conservation(lake, "never-ingested-0123456789ab").holds  # no ledger row is not 0 == 0 + 0

    ledger = lake.read("drops").localCheckpoint()
    lake.write(ledger.withColumn("files_accounted", F.col("files_accounted") - 1), "drops", mode="overwrite")
    assert not drop_conservation(lake, drop.drop_id).holds
    lake.write(ledger, "drops", mode="overwrite")

    lake.write(lake.read("rejects").where("reason != 'binary-file'").localCheckpoint(), "rejects", mode="overwrite")
    held = drop_conservation(lake, drop.drop_id)
    assert not held.holds and held.records_seen == held.documents + held.rejects + 1


def test_a_vanished_file_is_a_reject_and_a_run_that_stops_leaves_a_failed_ledger_row(lake, settings):
    write_jsonl(settings.landing.path / "d.jsonl")
    drop = _only_drop(settings, "d.jsonl")
    ingest_drop(lake, drop, settings.landing)
    gone = drop.model_copy(update={"path": str(settings.landing.path / "moved-away.jsonl")})
    report = ingest_drop(lake, gone, settings.landing)  # an unreadable file is a reject, not a failure
    assert report.rejects_by_reason == {"unreadable-file": 1}
    with pytest.raises(IngestError, match="the drops ledger says failed"):  # the write's predicate cannot parse
        ingest_drop(lake, drop.model_copy(update={"drop_id": "d.jsonl-'quote"}), settings.landing)
    status, error = drop_status(lake, "d.jsonl-'quote")
    assert status == "failed" and error
    assert not drop_conservation(lake, "d.jsonl-'quote").holds
