import json

import nbformat

from ledgers.report import write_report
from schemas.settings import IrmSettings, SparkSettings
from schemas.tables import DedupRow, Reject


def _seed(lake):
    lake.write(lake.frame("rejects", [Reject(source="s", uri="a.jsonl#L1", stage="ingest", reason="malformed-json"),
                                      Reject(source="s", uri="a.jsonl#L2", stage="ingest", reason="malformed-json")]), "rejects")
    lake.write(lake.frame("dedup", [DedupRow(doc_id="d1", domain="text", exact_hash="h", minhash_cluster="d1", is_keeper=True),
                                    DedupRow(doc_id="d2", domain="text", exact_hash="h", minhash_cluster="d1", is_keeper=False,
                                             removed_reason="exact-duplicate", duplicate_of="d1")]), "dedup")


def test_the_report_is_built_from_the_lake_says_what_is_missing_and_is_content_addressed(settings, lake, tmp_path):
    _seed(lake)
    first = write_report(settings, tmp_path / "a", notebook=False)
    second = write_report(settings, tmp_path / "b", notebook=False)
    assert first.report_id == second.report_id
    assert first.html_path.read_bytes() == second.html_path.read_bytes()
    page = first.html_path.read_text()
    assert "rejects per stage and reason" in page and "malformed-json" in page
    assert "dedup rate per domain" in page and "data:image/png;base64," in page
    by_title = {s.title: s for s in first.sections}
    assert by_title["Scorecard against the gates"].empty and "Not materialized yet: scorecard" in page
    assert not by_title["Data"].empty

    lake.write(lake.frame("rejects", [Reject(source="s", uri="b.jsonl#L9", stage="clean", reason="language:unknown")]), "rejects")
    assert write_report(settings, tmp_path / "c", notebook=False).report_id != first.report_id


def test_credentials_in_settings_never_reach_the_report_or_its_notebook_executed_in_a_deep_folder(settings, lake, tmp_path):
    _seed(lake)
    secret = "AKIA-canary-9f3b2c"
    leaky = IrmSettings(spark=SparkSettings(**{**settings.spark.model_dump(), "conf": {"spark.hadoop.fs.s3a.secret.key": secret}}),
                        lake=settings.lake.model_copy(update={"storage_options": {"AWS_SECRET_ACCESS_KEY": secret}}),
                        landing=settings.landing)
    deep = tmp_path / "a-report-folder-nested-deeper-than-a-unix-socket-path-may-be" / "reports" / "0123456789abcdef"
    result = write_report(leaky, deep, notebook=True)
    assert secret not in result.html_path.read_text()
    notebook_text = result.notebook_path.read_text()
    assert secret not in notebook_text
    notebook = nbformat.read(str(result.notebook_path), as_version=4)
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"], json.dumps(outputs)[:2000]
    html_out = "".join(o.get("data", {}).get("text/html", "") for o in outputs)
    assert "rejects per stage and reason" in html_out and "malformed-json" in html_out
