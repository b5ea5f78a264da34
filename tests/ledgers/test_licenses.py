from pathlib import Path

from ledgers.curation import run_clean, run_dedup
from ledgers.ingest import ingest_drop
from ledgers.landing import describe, list_candidates
from ledgers.licenses import curated_conservation, excluded_in_curated, run_curated, run_license_ledger
from schemas.curation import CleanConfig
from schemas.dedup import MinHashConfig
from schemas.licenses import LicenseConfig
from tests.spark_jobs.test_license_rules import MIT

GPL_NOTICE = ("# This program is free software; you can redistribute it and/or modify it under the terms of the\n"
              "# GNU General Public License as published by the Free Software Foundation; either version 3 of\n"
              "# the License, or (at your option) any later version.\n")
GPL3_TEXT = "GNU GENERAL PUBLIC LICENSE\nVersion 3, 29 June 2007\n\nCopyright (C) 2007 Free Software Foundation\n"


def _files(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


def test_ledger_decides_per_file_and_nothing_excluded_reaches_the_curated_set(lake, settings):
    landing = settings.landing.path
    _files(landing / "app", {
        "LICENSE": MIT,
        "app/main.py": "def main():\n    return 'ok'\n",
        "app/gpl_part.py": GPL_NOTICE + "def part():\n    return 2\n",
        "app/dual.py": "# SPDX-License-Identifier: GPL-2.0-only OR MIT\ndef dual():\n    return 3\n",
        "vendor/gpl_lib/COPYING": GPL3_TEXT,
        "vendor/gpl_lib/lib.c": "int lib(void) { return 4; }\n",
    })
    _files(landing / "nolicense", {"tool.py": "def tool():\n    return 5\n"})
    _files(landing / "npm-pkg", {"package.json": '{"name": "p", "license": "Apache-2.0"}', "index.js": "module.exports = 6;\n"})
    for candidate in list_candidates(landing)[0]:
        ingest_drop(lake, describe(candidate), settings.landing)
    run_clean(lake, CleanConfig())
    run_dedup(lake, MinHashConfig())

    report = run_license_ledger(lake, LicenseConfig())
    ledger = {r["path"]: r for r in lake.read("license_ledger").collect()}
    assert ledger["app/main.py"]["decision"] == "allow" and ledger["app/main.py"]["evidence"] == "LICENSE:text:mit"
    assert ledger["app/gpl_part.py"]["decision"] == "exclude:copyleft:GPL-3.0-or-later"
    assert ledger["app/dual.py"]["spdx_expression"] == "GPL-2.0-only OR MIT" and ledger["app/dual.py"]["decision"] == "allow"
    assert ledger["vendor/gpl_lib/lib.c"]["decision"] == "exclude:copyleft:GPL-3.0-only"
    assert ledger["tool.py"]["decision"] == "exclude:no-license"
    assert ledger["index.js"]["spdx_expression"] == "Apache-2.0" and ledger["index.js"]["evidence"] == "package.json:metadata:package.json"
    assert report.kept == 4  # main.py, dual.py, index.js and package.json itself (json is code)
    assert report.extra["by_source_spdx_decision"]["app | MIT | allow"] == 1
    assert ledger["tool.py"]["source"] == "nolicense"

    curated = run_curated(lake)
    assert curated.conserved and excluded_in_curated(lake) == 0
    keepers, kept, removed = curated_conservation(lake)
    assert keepers == kept + removed and removed == 3
    paths = {r["doc_id"] for r in lake.read("curated_documents").collect()}
    assert ledger["app/gpl_part.py"]["doc_id"] not in paths and ledger["app/main.py"]["doc_id"] in paths
