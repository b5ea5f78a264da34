import csv
import io
import json

import pytest
from typer.testing import CliRunner

from ledgers.cli import app
from ledgers.ingest import ingest_drop
from ledgers.landing import describe, list_candidates
from ledgers.query import QueryError, list_tables, run_sql
from tests.conftest import write_jsonl, write_tree


@pytest.fixture
def filled_lake(lake, settings):
    write_jsonl(settings.landing.path / "d.jsonl")
    write_tree(settings.landing.path / "repo")
    for candidate in list_candidates(settings.landing.path)[0]:
        ingest_drop(lake, describe(candidate), settings.landing)
    return settings


def test_tables_lists_every_table_with_version_and_rows(filled_lake):
    infos = {i.name: i for i in list_tables(filled_lake.lake)}
    assert set(infos) == {"drops", "lineage", "raw_documents", "rejects"}
    assert infos["raw_documents"].rows == 7 and infos["raw_documents"].version == 2
    assert infos["rejects"].rows == 7 + 3


def test_sql_joins_lake_tables_and_travels_in_time(filled_lake):
    result = run_sql(filled_lake.lake, "SELECT d.kind, count(*) AS n FROM raw_documents r JOIN drops d USING (drop_id) GROUP BY 1 ORDER BY 1")
    assert result.to_pylist() == [{"kind": "jsonl", "n": 2}, {"kind": "tree", "n": 5}]
    first = run_sql(filled_lake.lake, "SELECT count(*) AS n FROM raw_documents", as_of={"raw_documents": 1})
    assert first.to_pylist() == [{"n": 2}]
    with pytest.raises(QueryError, match="does not hold"):
        run_sql(filled_lake.lake, "SELECT 1", as_of={"nope": 1})


def test_irm_cli_prints_tables_csv_and_json(filled_lake, monkeypatch):
    monkeypatch.setenv("IRM_LAKE__ROOT", filled_lake.lake.root)
    runner = CliRunner()
    out = runner.invoke(app, ["tables", "--format", "json"])
    assert out.exit_code == 0, out.output
    assert {t["name"]: t["rows"] for t in json.loads(out.output)}["raw_documents"] == 7
    out = runner.invoke(app, ["sql", "SELECT reason, count(*) AS n FROM rejects GROUP BY 1 ORDER BY 1", "-f", "csv"])
    rows = list(csv.DictReader(io.StringIO(out.output)))
    assert {r["reason"]: int(r["n"]) for r in rows}["binary-file"] == 1
    out = runner.invoke(app, ["sql", "SELECT count(*) AS n FROM raw_documents", "--as-of", "raw_documents=1", "-f", "csv"])
    assert out.exit_code == 0 and list(csv.DictReader(io.StringIO(out.output))) == [{"n": "2"}]
    out = runner.invoke(app, ["sql", "SELECT 1", "--as-of", "raw_documents"])
    assert out.exit_code != 0 and "TABLE=VERSION" in out.output
