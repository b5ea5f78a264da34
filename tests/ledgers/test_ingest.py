from ledgers.ingest import drop_conservation, ingest_drop, rejects_by_reason
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
