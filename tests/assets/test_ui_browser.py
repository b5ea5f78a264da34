"""The Dagster UI as a person uses it: Debian's chromium, driven by Playwright, against a real
``dagster dev`` (webserver and daemon, as ``make ui`` runs them) on 127.0.0.1 with a temporary
instance. Screenshots land in ``tests/artifacts/ui/`` (ignored by git) so a failing run can be
looked at."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from schemas.tables import Reject
from tests.conftest import ROOT

pytestmark = pytest.mark.slow

SHOTS = ROOT / "tests" / "artifacts" / "ui"
ASSETS_IN_GRAPH = ["raw_documents", "documents_clean", "dedup", "license_ledger", "curated_documents", "manifests", "report"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _chromium() -> str:
    path = shutil.which("chromium")
    assert path, "Debian's chromium is not installed: `make setup` installs it (apt-get install chromium)"
    return path


@pytest.fixture
def webserver(settings, lake, tmp_path):
    """What ``make ui`` runs (``dagster dev``: the webserver and its daemon, which dequeues launched
    runs) over this repository's workspace, on a fresh instance with the project's dagster.yaml and
    a fresh lake; schedules off, so only what the test launches runs."""
    lake.write(lake.frame("rejects", [Reject(source="ui", uri="landing/a.jsonl#L3", stage="ingest", reason="malformed-json")]), "rejects")
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    port = _free_port()
    env = {**os.environ, "DAGSTER_HOME": str(home), "PYTHONPATH": str(ROOT), "IRM_LAKE__ROOT": settings.lake.root,
           "IRM_LANDING__ROOT": settings.landing.root, "IRM_OPERATIONS__SCHEDULES_RUNNING": "false",
           "IRM_SPARK__SHUFFLE_PARTITIONS": "2", "IRM_SPARK__DRIVER_MEMORY": "1g"}
    log = open(tmp_path / "webserver.log", "wb")
    proc = subprocess.Popen([str(Path(sys.executable).with_name("dagster")), "dev", "-h", "127.0.0.1", "-p", str(port),
                             "-w", str(ROOT / "workspace.yaml")], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    try:
        while True:
            try:
                urllib.request.urlopen(url + "/server_info", timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"dagster dev did not come up: {(tmp_path / 'webserver.log').read_text()[-3000:]}")
                time.sleep(1)
        yield url, settings
    finally:
        SHOTS.mkdir(parents=True, exist_ok=True)
        log.close()
        shutil.copy(tmp_path / "webserver.log", SHOTS / "webserver.log")
        _stop_group(proc)


def _stop_group(proc: subprocess.Popen) -> None:
    """``dagster dev`` and everything it started (webserver, daemon, code servers, runs)."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


@pytest.fixture
def page():
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=_chromium(), args=["--no-sandbox", "--disable-dev-shm-usage"])
        tab = browser.new_page(viewport={"width": 1400, "height": 900})
        tab.set_default_timeout(120_000)
        yield tab
        browser.close()


def test_the_ui_shows_the_asset_graph_and_a_clicked_materialization_succeeds_with_its_metadata(webserver, page):
    try:
        _walk_through_the_ui(*webserver, page)
    except Exception:
        page.screenshot(path=str(SHOTS / "failure.png"), full_page=True)
        raise


def _walk_through_the_ui(url, settings, page):

    page.goto(url + "/assets")
    page.get_by_text("curated_documents", exact=True).first.wait_for()
    page.screenshot(path=str(SHOTS / "catalog.png"))
    for name in ASSETS_IN_GRAPH:  # the catalog renders only the rows in view: open each asset's own page
        page.goto(f"{url}/assets/{name}")
        page.get_by_text(name, exact=True).first.wait_for()

    page.goto(url + "/locations/assets.definitions:defs/asset-groups/curation")
    page.get_by_text("documents_clean", exact=True).first.wait_for()
    page.get_by_text("dedup", exact=True).first.wait_for()
    page.screenshot(path=str(SHOTS / "curation-graph.png"))

    page.goto(url + "/assets/report")
    page.get_by_text("Never materialized").first.wait_for()
    page.locator("button", has_text="Materialize").first.click()
    page.get_by_text("Are you sure?").first.wait_for()  # report's upstream scorecard was never materialized
    page.get_by_role("button", name="Confirm").click()
    page.get_by_text("Launched run").first.wait_for()
    page.get_by_text("View", exact=True).last.click()
    page.wait_for_url("**/runs/**")
    page.get_by_text("Success", exact=True).first.wait_for(timeout=600_000)
    page.screenshot(path=str(SHOTS / "run.png"))

    page.goto(url + "/assets/report")
    page.get_by_text("report_id").first.wait_for()
    body = page.inner_text("body")
    assert "sections" in body and "html" in body
    page.screenshot(path=str(SHOTS / "report-asset.png"))

    reports = sorted((Path(settings.lake.uri) / "artifacts" / "reports").glob("*/report.html"))
    assert len(reports) == 1
    page.goto(reports[0].as_uri())
    page.get_by_text("irm-2B programme report").first.wait_for()
    page.get_by_text("rejects per stage and reason").first.wait_for()
    assert page.get_by_text("malformed-json").count() >= 1
    page.screenshot(path=str(SHOTS / "report.png"), full_page=True)
