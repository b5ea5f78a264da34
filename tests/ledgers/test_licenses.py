from pathlib import Path

import pytest

from ledgers.curation import run_clean, run_dedup
from ledgers.ingest import ingest_drop
from ledgers.landing import describe, list_candidates
from ledgers.licenses import curated_audit, curated_conservation, curated_id_problems, excluded_in_curated, run_curated, run_license_ledger
from schemas.curation import CleanConfig
from schemas.dedup import MinHashConfig
from schemas.licenses import LicenseConfig
from spark_jobs.clean import STAGE as CLEAN_STAGE
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
    allowed = {p for p, r in ledger.items() if r["decision"] == "allow"}
    assert {"app/main.py", "app/dual.py", "index.js", "package.json"} <= allowed
    assert not allowed & {"app/gpl_part.py", "vendor/gpl_lib/lib.c", "vendor/gpl_lib/COPYING", "tool.py"}
    assert report.kept == len(allowed) and report.input_rows == len(ledger) == lake.read("documents_clean").count()
    assert report.extra["by_source_spdx_decision"]["app | MIT | allow"] == sum(
        r["source"] == "app" and r["spdx_expression"] == "MIT" for r in ledger.values())
    assert ledger["tool.py"]["source"] == "nolicense"

    curated = run_curated(lake)
    assert curated.conserved and excluded_in_curated(lake) == 0
    keepers, kept, removed = curated_conservation(lake)
    assert keepers == kept + removed and removed == len(ledger) - len(allowed)
    assert curated_id_problems(lake) == []  # every license reject names its document
    paths = {r["doc_id"] for r in lake.read("curated_documents").collect()}
    assert ledger["app/gpl_part.py"]["doc_id"] not in paths and ledger["app/main.py"]["doc_id"] in paths


COMMON = Path("/usr/share/common-licenses")
README = "# Project\n\nThis project parses configuration files and prints a short report for each one of them, " \
         "with the line numbers of every problem it finds and a suggestion of how to fix it.\n"
PROPRIETARY = ("Copyright 2024 Example Corp. All rights reserved.\n\nThis software and its documentation are confidential "
               "and proprietary to Example Corp and may not be copied, distributed or used without written permission.\n")
GUIDE = ("Getting started: install the package, write a small configuration file in your home folder, then run the checker "
         "from a terminal and read the summary that it prints at the end of the run.\n")
NOTES = ("Internal notes about the quarterly planning meeting, the budget for new laptops, the hiring plan for the data team "
         "and the schedule of the office move in the spring.\n")
RIVER = ("The river flows north through three valleys before it reaches the lake, and the old stone bridge near the mill is "
         "the only crossing for twenty kilometres in either direction.\n")
BREAD = ("Bread dough rises faster in a warm kitchen; a tablespoon of sugar feeds the yeast, and kneading for ten minutes "
         "builds the gluten that gives the loaf its chewy texture.\n")
POST = "How do I read a file line by line in Python without loading all of it into memory at once? Iterate over the file object.\n"


def _land_mixed(lake, settings) -> None:
    import json

    landing = settings.landing.path
    _files(landing / "proj", {"LICENSE": MIT, "README.md": README, "docs/guide.md": GUIDE,
                              "src/main.py": "def main():\n    return 'ok'\n",
                              "vendor/gpl/COPYING": (COMMON / "GPL-3").read_text(), "vendor/gpl/COPYING.LESSER": (COMMON / "LGPL-3").read_text(),
                              "vendor/gpl/lib.c": "int lib(void) { return 4; }\n"})
    _files(landing / "closed", {"LICENSE": PROPRIETARY, "notes.md": NOTES, "tool.py": "def tool():\n    return 5\n"})
    _files(landing / "dual", {"LICENSE-MIT": MIT, "LICENSE-APACHE": (COMMON / "Apache-2.0").read_text(),
                              "COPYRIGHT": "Licensed under either of the Apache License, Version 2.0 or the MIT license, at your option.\n",
                              "src/lib.rs": "pub fn add(a: i32, b: i32) -> i32 { a + b }\n"})
    (landing / "forum.jsonl").write_text(json.dumps({"text": POST, "source": "forum", "domain": "text"}) + "\n")
    (landing / "wiki.jsonl").write_text(json.dumps({"text": RIVER, "source": "wiki", "domain": "text", "license": "CC0-1.0"}) + "\n"
                                        + json.dumps({"text": BREAD, "source": "wiki", "domain": "text"}) + "\n")
    for candidate in list_candidates(landing)[0]:
        ingest_drop(lake, describe(candidate), settings.landing)
    run_clean(lake, CleanConfig())
    run_dedup(lake, MinHashConfig())


@pytest.mark.skipif(not COMMON.is_dir(), reason="Debian's common-licenses are not on this machine")
def test_every_document_gets_a_decision_and_license_texts_are_decided_on_their_own_text(lake, settings):
    _land_mixed(lake, settings)
    run_license_ledger(lake, LicenseConfig())
    rows = lake.read("license_ledger").collect()
    assert len(rows) == lake.read("documents_clean").count()
    by = {(r["source"], r["path"] or r["doc_id"]): r for r in rows}
    assert by[("proj", "README.md")]["decision"] == "allow" and by[("proj", "README.md")]["evidence"] == "LICENSE:text:mit"
    assert by[("proj", "docs/guide.md")]["decision"] == "allow" and by[("proj", "LICENSE")]["spdx_expression"] == "MIT"
    assert by[("proj", "vendor/gpl/COPYING")]["decision"].startswith("exclude:copyleft:GPL-3.0")
    lib = by[("proj", "vendor/gpl/lib.c")]
    assert lib["spdx_expression"] == "GPL-3.0-only AND LGPL-3.0-only" and lib["decision"].startswith("exclude:copyleft")
    assert by[("closed", "LICENSE")]["decision"] == "exclude:unknown:LicenseRef-proprietary"
    assert by[("closed", "notes.md")]["decision"] == "exclude:unknown:LicenseRef-proprietary"
    rs = by[("dual", "src/lib.rs")]
    assert set(rs["spdx_expression"].split(" OR ")) == {"MIT", "Apache-2.0"} and rs["decision"] == "allow"
    assert set(rs["licenses_found"]) == {"MIT", "Apache-2.0"}
    forum = next(r for r in rows if r["source"] == "forum")
    assert forum["decision"] == "allow" and forum["evidence"] == "policy:no-evidence-in-source"
    wiki = sorted((r["spdx_expression"] or "", r["decision"]) for r in rows if r["source"] == "wiki")
    assert wiki == [("", "exclude:no-license"), ("CC0-1.0", "allow")]

    curated = run_curated(lake)
    assert curated.conserved and excluded_in_curated(lake) == 0
    kept = {r["doc_id"] for r in lake.read("curated_documents").collect()}
    rejected = {r["uri"] for r in lake.read("rejects").where(f"stage = '{CLEAN_STAGE}'").collect()}
    for key in [("proj", "vendor/gpl/COPYING"), ("proj", "vendor/gpl/COPYING.LESSER"), ("closed", "LICENSE"), ("closed", "notes.md")]:
        assert (key in by) != (f"{key[0]}/{key[1]}" in rejected), key  # decided, or rejected by cleaning with a reason
        if key in by:
            assert by[key]["doc_id"] not in kept, key
    assert by[("proj", "README.md")]["doc_id"] in kept and forum["doc_id"] in kept

    run_license_ledger(lake, LicenseConfig(source_policy={"forum": "exclude"}, unlicensed_text="exclude"))
    forum = next(r for r in lake.read("license_ledger").collect() if r["source"] == "forum")
    assert forum["decision"] == "exclude:source-policy" and forum["evidence"] == "policy:source:forum"


def test_package_metadata_and_debian_copyright_decide_the_files_of_their_tree(lake, settings):
    landing = settings.landing.path
    _files(landing / "pkg", {"PKG-INFO": "Metadata-Version: 2.1\nName: pkg\n"
                                         "Classifier: License :: OSI Approved :: GNU General Public License v3 (GPLv3)\n",
                             "pkg/mod.py": "def mod():\n    return 3\n"})
    _files(landing / "deb", {"debian/copyright": "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"
                                                 "Upstream-Name: deb\n\nFiles: *\nCopyright: 2020 A\nLicense: Expat\n\n"
                                                 "Files: src/gpl/*\nCopyright: 2019 B\nLicense: GPL-2+\n\n"
                                                 "License: Expat\n Permission is hereby granted...\n",
                             "src/main.c": "int main(void) { return 0; }\n", "src/gpl/x.c": "int x(void) { return 1; }\n"})
    for candidate in list_candidates(landing)[0]:
        ingest_drop(lake, describe(candidate), settings.landing)
    run_clean(lake, CleanConfig())
    run_dedup(lake, MinHashConfig())
    run_license_ledger(lake, LicenseConfig())
    by = {(r["source"], r["path"]): r for r in lake.read("license_ledger").collect()}
    assert by[("pkg", "pkg/mod.py")]["decision"] == "exclude:copyleft:GPL-3.0-only"
    assert by[("deb", "src/main.c")]["decision"] == "allow" and by[("deb", "src/main.c")]["spdx_expression"] == "MIT"
    assert by[("deb", "src/gpl/x.c")]["decision"] == "exclude:copyleft:GPL-2.0-or-later"
    # the metadata files themselves are documents too: decided, or (too short for language ID) rejected with a reason
    rejected = {r["uri"] for r in lake.read("rejects").where(f"stage = '{CLEAN_STAGE}'").collect()}
    for key, uri in ((("pkg", "PKG-INFO"), "pkg/PKG-INFO"), (("deb", "debian/copyright"), "deb/debian/copyright")):
        assert (key in by) != (uri in rejected), key
    assert ("pkg", "PKG-INFO") not in by or by[("pkg", "PKG-INFO")]["decision"] == "exclude:copyleft:GPL-3.0-only"
    run_curated(lake)
    kept = {r["doc_id"] for r in lake.read("curated_documents").collect()}
    assert by[("deb", "src/main.c")]["doc_id"] in kept
    assert not kept & {by[k]["doc_id"] for k in (("pkg", "pkg/mod.py"), ("deb", "src/gpl/x.c"))}


def test_no_excluded_license_check_fires_on_a_tampered_curated_set(lake, settings):
    from pyspark.sql import functions as F

    _files(settings.landing.path / "app", {"LICENSE": MIT, "main.py": "def main():\n    return 1\n",
                                           "gpl.py": GPL_NOTICE + "def part():\n    return 2\n"})
    for candidate in list_candidates(settings.landing.path)[0]:
        ingest_drop(lake, describe(candidate), settings.landing)
    run_clean(lake, CleanConfig())
    run_dedup(lake, MinHashConfig())
    run_license_ledger(lake, LicenseConfig())
    run_curated(lake)
    assert excluded_in_curated(lake) == 0
    excluded = lake.read("license_ledger").where(F.col("decision") != "allow").select("doc_id")
    clean = lake.read("documents_clean").select("doc_id", "domain", "bucket", "bytes")
    smuggled = excluded.join(clean, "doc_id").withColumn("spdx_expression", F.lit("MIT"))
    lake.write(lake.read("curated_documents").unionByName(smuggled), "curated_documents", mode="overwrite")
    assert excluded_in_curated(lake) == 1
    orphan = lake.read("curated_documents").limit(1).withColumn("doc_id", F.lit("0" * 64))
    lake.write(lake.read("curated_documents").unionByName(orphan), "curated_documents", mode="overwrite")
    assert excluded_in_curated(lake) == 2
    (keepers, curated, removed), problems = curated_audit(lake)
    assert curated == keepers - removed + 2 and problems == curated_id_problems(lake)
    assert any("are both in curated_documents and in rejects(stage=license)" in p for p in problems)
    assert any("in curated_documents are not in the input" in p for p in problems)


def test_an_incremental_ledger_decides_only_what_changed_and_equals_a_full_recompute(lake, settings):
    import json

    landing = settings.landing.path
    _files(landing / "proj", {"LICENSE": MIT, "src/main.py": "def main():\n    return 'ok'\n", "README.md": README})
    _files(landing / "nolic", {"tool.py": "def tool():\n    return 5\n"})
    _files(landing / "other", {"LICENSE": MIT, "lib.py": "def lib():\n    return 7\n"})
    (landing / "forum.jsonl").write_text(json.dumps({"text": POST, "source": "forum", "domain": "text"}) + "\n")

    def land_and_decide(**kwargs):
        for candidate in list_candidates(landing)[0]:
            ingest_drop(lake, describe(candidate), settings.landing)
        run_clean(lake, CleanConfig())
        run_dedup(lake, MinHashConfig())
        return run_license_ledger(lake, LicenseConfig(), **kwargs)

    first = land_and_decide()
    assert first.extra["decided_again"] == first.input_rows
    assert run_license_ledger(lake, LicenseConfig()).extra["decided_again"] == 0  # nothing changed, nothing decided again
    before = {(r["source"], r["path"] or r["doc_id"]): r for r in lake.read("license_ledger").collect()}
    assert before[("nolic", "tool.py")]["decision"] == "exclude:no-license"
    forum_post = next(k for k in before if k[0] == "forum")
    assert before[forum_post]["evidence"] == "policy:no-evidence-in-source"

    _files(landing / "proj", {"vendor/gpl/COPYING": GPL3_TEXT, "vendor/gpl/lib.c": "int lib(void) { return 4; }\n"})
    _files(landing / "nolic", {"LICENSE": MIT})  # a license arriving later speaks for the files already decided
    (landing / "forum2.jsonl").write_text(json.dumps({"text": GUIDE, "source": "forum", "domain": "text", "license": "MIT"}) + "\n")
    report = land_and_decide()
    incremental = sorted(tuple(sorted(r.asDict().items())) for r in lake.read("license_ledger").collect())
    after = {(r["source"], r["path"] or r["doc_id"]): r for r in lake.read("license_ledger").collect()}
    assert after[("nolic", "tool.py")]["decision"] == "allow"
    assert after[("proj", "vendor/gpl/lib.c")]["decision"].startswith("exclude:copyleft:GPL-3.0")
    # the forum now carries evidence, so its evidence-less post no longer falls under the no-evidence policy
    assert after[forum_post]["decision"] == "exclude:no-license" and after[forum_post]["evidence"] is None
    assert after[("other", "lib.py")] == before[("other", "lib.py")]
    untouched = sum(1 for k in after if k[0] == "other")
    assert 0 < report.extra["decided_again"] <= report.input_rows - untouched

    full = run_license_ledger(lake, LicenseConfig(), full=True)
    assert full.extra["decided_again"] == full.input_rows
    assert sorted(tuple(sorted(r.asDict().items())) for r in lake.read("license_ledger").collect()) == incremental

    changed = run_license_ledger(lake, LicenseConfig(unlicensed_text="exclude"))
    assert changed.extra["decided_again"] == changed.input_rows  # other settings: every row is decided again
