from pathlib import Path

import pytest

from schemas.licenses import LicenseConfig
from spark_jobs.license_rules import decide, detect_evidence_file, detect_header, detect_text

CFG = LicenseConfig()
COMMON = Path("/usr/share/common-licenses")
MIT = """Copyright (c) 2024 Someone

Permission is hereby granted, free of charge, to any person obtaining a copy of this software and
associated documentation files (the "Software"), to deal in the Software without restriction, including
without limitation the rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is furnished to do so, subject to the
following conditions:

The above copyright notice and this permission notice shall be included in all copies or
substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT
LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO
EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER
IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE
USE OR OTHER DEALINGS IN THE SOFTWARE.
"""


@pytest.mark.skipif(not COMMON.is_dir(), reason="Debian's common-licenses are not on this machine")
@pytest.mark.parametrize("name, spdx", [("Apache-2.0", "Apache-2.0"), ("GPL-2", "GPL-2.0-only"), ("GPL-3", "GPL-3.0-only"),
                                        ("LGPL-2.1", "LGPL-2.1-only"), ("LGPL-3", "LGPL-3.0-only"), ("MPL-2.0", "MPL-2.0"),
                                        ("BSD", "BSD-3-Clause"), ("CC0-1.0", "CC0-1.0"), ("GFDL-1.3", "GFDL-1.3-only")])
def test_full_license_texts_are_recognized(name, spdx):
    assert detect_text((COMMON / name).read_text()).spdx == spdx


def test_a_gpl_mention_in_a_comment_of_an_mit_file_is_not_a_grant():
    source = "# " + MIT.replace("\n", "\n# ") + "\n# Unlike the GPL version of foo, this port is GPL-compatible.\nx = 1\n"
    found = detect_header(source, CFG)
    assert found.spdx == "MIT" and decide(found.spdx, CFG) == "allow"
    assert detect_header("# This code is GPL-compatible and mentions the GNU GPL.\nx = 1\n", CFG) is None


def test_gpl_notice_headers_carry_version_and_or_later():
    notice = ("/* This program is free software; you can redistribute it and/or modify it under the terms of the\n"
              " * GNU General Public License as published by the Free Software Foundation; either version 2 of\n"
              " * the License, or (at your option) any later version. */\nint main(void) { return 0; }\n")
    assert detect_header(notice, CFG).spdx == "GPL-2.0-or-later"
    assert decide("GPL-2.0-or-later", CFG) == "exclude:copyleft:GPL-2.0-or-later"


def test_a_license_notice_below_the_header_does_not_count():
    body = "x = 1\n" * 60 + "# licensed under the Apache License, Version 2.0\n"
    assert detect_header(body, CFG) is None


def test_spdx_identifiers_and_dual_licenses_evaluate_and_or():
    assert detect_header("// SPDX-License-Identifier: MIT OR GPL-2.0-only\n", CFG).spdx == "MIT OR GPL-2.0-only"
    assert decide("MIT OR GPL-2.0-only", CFG) == "allow"
    assert decide("MIT AND GPL-2.0-only", CFG) == "exclude:copyleft:GPL-2.0-only"
    assert decide("Apache-2.0 AND (MIT OR BSD-3-Clause)", CFG) == "allow"
    assert decide("LicenseRef-proprietary", CFG).startswith("exclude:unknown")
    assert decide("BSD-4-Clause", CFG) == "exclude:not-allowlisted:BSD-4-Clause"
    assert decide(None, CFG) == "exclude:no-license"


def test_package_metadata_of_each_ecosystem():
    assert detect_evidence_file("pkg/PKG-INFO", "Name: p\nLicense-Expression: Apache-2.0 OR MIT\n").spdx == "Apache-2.0 OR MIT"
    assert detect_evidence_file("pkg/PKG-INFO", "Classifier: License :: OSI Approved :: BSD License\n").spdx == "LicenseRef-BSD-unspecified"
    assert detect_evidence_file("package.json", '{"name": "x", "license": "ISC"}').spdx == "ISC"
    assert detect_evidence_file("Cargo.toml", '[package]\nname = "x"\nlicense = "MIT/Apache-2.0"\n').spdx == "MIT OR Apache-2.0"
    assert detect_evidence_file("pom.xml", "<licenses><license><name>Eclipse Public License 2.0</name></license></licenses>").spdx == "EPL-2.0"


def test_an_allowlist_with_a_non_spdx_id_is_refused():
    with pytest.raises(ValueError, match="not SPDX"):
        LicenseConfig(allowlist=["MIT", "Permissive-ish"])


def test_bsd_texts_with_extra_clauses_are_variants_not_bsd_3_clause():
    text = ("Redistribution and use in source and binary forms, with or without modification, are permitted provided that "
            "the following conditions are met:\n1. Redistributions of source code must retain the above copyright notice.\n"
            "2. Redistributions in binary form must reproduce the above copyright notice.\n"
            "3. The name of the author may not be used to endorse or promote products.\n"
            "4. Redistributions of any form whatsoever must retain the following acknowledgment: \"This product includes...\"\n")
    found = detect_text(text)
    assert found.spdx in {"LicenseRef-BSD-variant", "BSD-4-Clause"}
    assert decide(found.spdx, CFG).startswith("exclude:")
