from ledgers.curation import clean_conservation, dedup_conservation, run_clean, run_dedup
from ledgers.ingest import ingest_drop
from ledgers.landing import describe, list_candidates
from schemas.curation import CleanConfig
from schemas.dedup import MinHashConfig

PROSE = ("The committee met on Tuesday to review the budget for the coming year. Members agreed that the library "
         "needs new shelves and longer opening hours, and asked the treasurer to prepare a detailed plan for spring.")


def _write(path, records):
    import json
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


def test_clean_and_dedup_conserve_records_and_keep_one_per_duplicate_group(lake, settings):
    records = [
        {"text": PROSE, "path": "a"},
        {"text": PROSE.replace("  ", " ") + " ", "path": "b"},                       # exact after whitespace
        {"text": PROSE + " Thanks to all.", "path": "c"},                           # near duplicate (J ~ 0.9)
        {"text": "Der Ausschuss traf sich am Dienstag, um den Haushalt für das Jahr zu prüfen. " * 3, "path": "d"},
        {"text": "def f(x):\n    return x + 1\n", "path": "f.py", "domain": "code"},
        {"text": "Contact ops@example.org about " + PROSE, "path": "e"},
    ]
    _write(settings.landing.path / "docs.jsonl", records)
    for candidate in list_candidates(settings.landing.path)[0]:
        ingest_drop(lake, describe(candidate), settings.landing)

    clean = run_clean(lake, CleanConfig())
    assert clean.conserved and clean.removed_by_reason == {"language:de": 1}
    assert clean.extra["pii_redactions"] == {"email": 1}
    raw, kept, removed = clean_conservation(lake)
    assert raw == kept + removed == 6

    dedup = run_dedup(lake, MinHashConfig())
    assert dedup.conserved
    assert dedup.removed_by_reason == {"exact-duplicate": 1, "near-duplicate": 2}
    clean_rows, keepers, dropped = dedup_conservation(lake)
    assert clean_rows == keepers + dropped == 5
    rows = {r["doc_id"]: r for r in lake.read("dedup").collect()}
    for row in rows.values():
        if not row["is_keeper"]:
            assert rows[row["duplicate_of"]]["is_keeper"] and row["duplicate_of"] < row["doc_id"]
