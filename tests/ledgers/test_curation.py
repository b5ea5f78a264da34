import pytest
from ledgers.curation import (clean_audit, clean_conservation, clean_id_problems, dedup_audit, dedup_conservation, dedup_id_problems,
                             run_clean, run_dedup)
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
    assert clean_id_problems(lake) == [] and dedup_id_problems(lake) == []

    # a lost document balanced by a duplicated one: the counts hold, the ids do not
    kept_rows = lake.read("documents_clean").orderBy("doc_id").collect()
    lake.delete("documents_clean", f"doc_id = '{kept_rows[0]['doc_id']}'")
    lake.write(lake.spark.createDataFrame([kept_rows[1]], lake.read("documents_clean").schema), "documents_clean")
    assert clean_conservation(lake) == (raw, kept, removed)
    problems = clean_id_problems(lake)
    assert any("more than once in documents_clean" in p for p in problems) and any("neither in documents_clean" in p for p in problems)
    assert clean_audit(lake) == ((raw, kept, removed), problems)  # the assets' one-job form says the same
    # a keeper that is also marked a duplicate elsewhere, and a stray dedup row
    dedup_rows = lake.read("dedup")
    keeper = dedup_rows.where("is_keeper").orderBy("doc_id").limit(1)
    lake.write(keeper.withColumn("is_keeper", keeper["is_keeper"] & False), "dedup")
    lake.write(keeper.withColumn("doc_id", keeper["doc_id"].substr(1, 8)), "dedup")
    problems = dedup_id_problems(lake)
    assert any("both in dedup keepers and in dedup duplicates" in p for p in problems)
    assert any("in dedup keepers are not in the input" in p for p in problems)
    assert dedup_audit(lake) == (dedup_conservation(lake), problems)


SENTENCES = [
    "The river flooded the lower town twice this spring, and the council voted to raise the embankment by a metre.",
    "Engineers expect the work to take two summers, because the old stone has to be removed by hand near the bridge.",
    "Residents asked for a temporary footpath so that children can still walk to the school on the other bank.",
    "The museum will open a new room for the maps of the valley, drawn by surveyors over three hundred years.",
    "Farmers along the valley reported that the late frost damaged most of the early apple blossom this year.",
    "A new bus line will connect the station with the hospital every twenty minutes from the first of next month.",
    "The library keeps its old newspapers on microfilm, and volunteers are now scanning them one reel at a time.",
    "Local bakers agreed to share one oven during the repairs, taking turns through the night and the early morning.",
]


def _doc(i: int, variant: str = "") -> str:
    body = " ".join(SENTENCES[(i + k) % len(SENTENCES)] for k in range(6))
    return f"Report {i}. {body}{variant}"


def _curate(lake, settings, files: dict[str, list[dict]], full: bool = False):
    seen = {r["drop_id"] for r in lake.read("drops").select("drop_id").collect()}
    for name, records in files.items():
        _write(settings.landing.path / name, records)
    for candidate in list_candidates(settings.landing.path)[0]:
        drop = describe(candidate)
        if drop.drop_id not in seen:
            ingest_drop(lake, drop, settings.landing)
    return run_clean(lake, CleanConfig()), run_dedup(lake, MinHashConfig(), full=full)


def _rows(lake, table, key="doc_id"):
    return sorted((r.asDict(recursive=True) for r in lake.read(table).collect()), key=lambda r: r[key])


def test_incremental_curation_equals_a_full_recompute_row_for_row(lake, settings, spark, tmp_path):
    from ledgers.lake import Lake
    from schemas.settings import IrmSettings, LakeSettings, LandingSettings

    first = {"a.jsonl": [{"text": _doc(i), "path": f"a/{i}"} for i in range(8)]}
    second = {"b.jsonl": [{"text": _doc(i, " Thanks to everyone who came."), "path": f"b/{i}"} for i in range(8)]
              + [{"text": _doc(3), "path": "b/exact-copy"}, {"text": "Eine ganz andere Nachricht auf Deutsch, die hier nicht bleibt. " * 3, "path": "b/de"}]}
    clean1, dedup1 = _curate(lake, settings, first)
    keepers_before = {r["doc_id"] for r in lake.read("dedup").where("is_keeper").collect()}
    clean2, dedup2 = _curate(lake, settings, second)
    assert clean2.input_rows == 10 and clean2.extra["drops"] == [d for d in clean2.extra["drops"] if d.startswith("b")]
    assert dedup2.extra["new_documents"] == 9 and dedup2.extra["new_sketches"] == 8, "an exact copy is not sketched again"
    keepers_after = {r["doc_id"] for r in lake.read("dedup").where("is_keeper").collect()}
    assert keepers_before - keepers_after, "some first-drop keeper must lose to a smaller second-drop doc_id"
    assert dedup2.removed_by_reason == {"exact-duplicate": 1, "near-duplicate": 8}

    other = IrmSettings(spark=settings.spark, lake=LakeSettings(root=str(tmp_path / "full" / "lake")),
                        landing=LandingSettings(root=str(tmp_path / "full" / "landing"), settle_seconds=0, batch_rows=3))
    full_lake = Lake(other.lake, spark)
    _curate(full_lake, other, {**first, **second}, full=True)
    for table in ("documents_clean", "dedup"):
        assert _rows(lake, table) == _rows(full_lake, table), table
    assert _rows(lake, "dedup_edges", "src") == _rows(full_lake, "dedup_edges", "src") or \
        {(r["src"], r["dst"]) for r in _rows(lake, "dedup_edges", "src")} == {(r["src"], r["dst"]) for r in _rows(full_lake, "dedup_edges", "src")}

    again_clean, again_dedup = run_clean(lake, CleanConfig()), run_dedup(lake, MinHashConfig())
    assert again_clean.input_rows == 0 and again_dedup.extra["new_documents"] == 0 and again_dedup.extra["rewritten_rows"] == 0
