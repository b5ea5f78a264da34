from pathlib import Path

import pytest

from schemas.licenses import LicenseConfig
from spark_jobs.license_rules import Detection, combine, decide, detect_evidence_file, detect_header, detect_text, effective

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


BSD3 = """Copyright (c) 2020, The Authors
All rights reserved.

Redistribution and use in source and binary forms, with or without modification, are permitted provided
that the following conditions are met:

1. Redistributions of source code must retain the above copyright notice, this list of conditions and the
   following disclaimer.
2. Redistributions in binary form must reproduce the above copyright notice, this list of conditions and the
   following disclaimer in the documentation and/or other materials provided with the distribution.
3. Neither the name of the copyright holder nor the names of its contributors may be used to endorse or
   promote products derived from this software without specific prior written permission.

THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS" AND ANY EXPRESS OR IMPLIED
WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS FOR A
PARTICULAR PURPOSE ARE DISCLAIMED. IN NO EVENT SHALL THE COPYRIGHT HOLDER OR CONTRIBUTORS BE LIABLE FOR ANY
DIRECT, INDIRECT, INCIDENTAL, SPECIAL, EXEMPLARY, OR CONSEQUENTIAL DAMAGES (INCLUDING, BUT NOT LIMITED TO,
PROCUREMENT OF SUBSTITUTE GOODS OR SERVICES; LOSS OF USE, DATA, OR PROFITS; OR BUSINESS INTERRUPTION)
HOWEVER CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER IN CONTRACT, STRICT LIABILITY, OR TORT (INCLUDING
NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY OUT OF THE USE OF THIS SOFTWARE, EVEN IF ADVISED OF THE
POSSIBILITY OF SUCH DAMAGE.
"""
ISC_GRANT = "Permission to use, copy, modify, and/or distribute this software for any purpose with or without fee is hereby granted"
ISC_DISCLAIMER = ("THE SOFTWARE IS PROVIDED \"AS IS\" AND THE AUTHOR DISCLAIMS ALL WARRANTIES WITH REGARD TO THIS SOFTWARE "
                  "INCLUDING ALL IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS. IN NO EVENT SHALL THE AUTHOR BE LIABLE FOR "
                  "ANY SPECIAL, DIRECT, INDIRECT, OR CONSEQUENTIAL DAMAGES OR ANY DAMAGES WHATSOEVER RESULTING FROM LOSS OF USE, "
                  "DATA OR PROFITS, WHETHER IN AN ACTION OF CONTRACT, NEGLIGENCE OR OTHER TORTIOUS ACTION, ARISING OUT OF OR IN "
                  "CONNECTION WITH THE USE OR PERFORMANCE OF THIS SOFTWARE.")
COMMONS_CLAUSE = ("\"Commons Clause\" License Condition v1.0\n\nThe Software is provided to you by the Licensor under the License, "
                  "as defined below, subject to the following condition.\n\nWithout limiting other conditions in the License, "
                  "the grant of rights under the License will not include, and the License does not grant to you, the right "
                  "to Sell the Software.\n\nLicense: MIT\n\n")


def test_0bsd_is_not_isc_and_isc_is_not_0bsd():
    assert detect_text(f"Copyright 2020 A\n\n{ISC_GRANT}.\n\n{ISC_DISCLAIMER}\n").spdx == "0BSD"
    isc = f"Copyright 2020 A\n\n{ISC_GRANT}, provided that the above copyright notice and this permission notice appear in all copies.\n\n{ISC_DISCLAIMER}\n"
    assert detect_text(isc).spdx == "ISC"


LOOK_ALIKES = {
    "JSON license (Good, not Evil)": MIT.replace("substantial portions of the Software.",
                                                 "substantial portions of the Software.\n\nThe Software shall be used for Good, not Evil."),
    "MIT with the Commons Clause": COMMONS_CLAUSE + MIT,
    "MIT with a non-commercial paragraph": MIT + "\nThis software may not be used for commercial purposes.\n",
    "MIT with an added obligation": MIT + "\nYou must notify the authors before any redistribution.\n",
    "MIT with a changed grant": MIT.replace("merge, publish, distribute", "merge, publish"),
    "MIT-CMU style notice": MIT.replace("Permission is hereby granted, free of charge, to any person obtaining a copy",
                                        "Permission is hereby granted, to any person obtaining a copy"),
    "BSD-3 with a no-military clause": BSD3 + "\n4. This software may not be used in military applications.\n",
    "BSD-4 advertising clause": BSD3.replace("3. Neither", "3. All advertising materials mentioning features or use of this "
                                             "software must display the following acknowledgement: This product includes "
                                             "software developed by the Authors.\n4. Neither"),
    "BSD-2-Clause-Patent": BSD3.replace("3. Neither the name", "Subject to the terms and conditions of this license, each "
                                        "copyright holder hereby grants a perpetual, worldwide, royalty-free patent license.\n\n"
                                        "3. Neither the name"),
    "BSD-like without the disclaimer, with a fee": BSD3.split("THIS SOFTWARE")[0] + "A fee is payable for commercial use.\n",
    "Apache-1.1": "The Apache Software License, Version 1.1\n\nCopyright (c) 2000 The Apache Software Foundation.\n" + BSD3,
    "SSPL": "Server Side Public License\nVERSION 1, OCTOBER 16, 2018\n\nCopyright (c) 2018 MongoDB, Inc.\n",
    "AGPL-3.0": "GNU AFFERO GENERAL PUBLIC LICENSE\nVersion 3, 19 November 2007\n",
    "BUSL-1.1": "Business Source License 1.1\n\nParameters\nLicensor: Someone\nChange Date: 2030-01-01\n",
    "Elastic-2.0": "Elastic License 2.0\n\nURL: https://www.elastic.co/licensing/elastic-license\n",
    "CC-BY-NC-4.0": "Creative Commons Attribution-NonCommercial 4.0 International Public License\n",
    "Hippocratic-2.1": "Hippocratic License Version 2.1\n\n" + MIT,
    "WTFPL": "DO WHAT THE FUCK YOU WANT TO PUBLIC LICENSE\nVersion 2, December 2004\n",
    "Unlicense for non-commercial use only": (
        "This is free and unencumbered software released into the public domain.\n\nAnyone is free to copy, modify, publish, "
        "use, compile, sell, or distribute this software, either in source code form or as a compiled binary, for "
        "non-commercial purposes only.\n"),
    "proprietary": "Copyright 2024 Example Corp. All rights reserved.\nThis software is confidential and may not be copied or distributed.\n",
    "an unreadable custom license": "You can use this thing if you ask me first and send me a postcard.\n",
}


@pytest.mark.parametrize("name", sorted(LOOK_ALIKES))
def test_look_alikes_of_allowed_licenses_are_never_allowed(name):
    found = detect_evidence_file("LICENSE", LOOK_ALIKES[name])
    assert found is not None, "a LICENSE file always gets a finding"
    assert decide(found.spdx, CFG) != "allow", (name, found.spdx)


def test_exact_ids_of_the_look_alikes_that_have_one():
    assert detect_text(LOOK_ALIKES["JSON license (Good, not Evil)"]).spdx == "JSON"
    assert detect_text(LOOK_ALIKES["SSPL"]).spdx == "SSPL-1.0"
    assert detect_text(LOOK_ALIKES["AGPL-3.0"]).spdx == "AGPL-3.0-only"
    assert detect_text(LOOK_ALIKES["CC-BY-NC-4.0"]).spdx == "CC-BY-NC-4.0"
    assert "LicenseRef-Commons-Clause" in detect_text(LOOK_ALIKES["MIT with the Commons Clause"]).found
    assert detect_text(LOOK_ALIKES["BSD-2-Clause-Patent"]).spdx == "BSD-2-Clause-Patent"
    assert detect_text(LOOK_ALIKES["Apache-1.1"]).spdx.startswith("Apache-1.1")


def test_mit_0_and_x11_are_told_apart_from_mit():
    mit0 = MIT.replace(", subject to the\nfollowing conditions:", ".").split("The above copyright notice")[0] + MIT.split("substantial portions of the Software.\n")[1]
    assert detect_text(mit0).spdx == "MIT-0"
    x11 = (MIT.replace("THE AUTHORS OR COPYRIGHT HOLDERS", "THE X CONSORTIUM") + "\nExcept as contained in this notice, the name "
           "of the X Consortium shall not be used in advertising or otherwise to promote the sale, use or other dealings in "
           "this Software without prior written authorization from the X Consortium.\n")
    assert detect_text(x11).spdx == "X11" and decide("X11", CFG) == "allow"


def test_trove_classifiers_without_a_variant_are_not_allows():
    for classifier in ("BSD License", "Apache Software License"):
        found = detect_evidence_file("PKG-INFO", f"Name: p\nClassifier: License :: OSI Approved :: {classifier}\n")
        assert decide(found.spdx, CFG).startswith("exclude:unknown"), classifier
    specific = detect_evidence_file("PKG-INFO", "Name: p\nLicense: BSD-3-Clause\nClassifier: License :: OSI Approved :: BSD License\n")
    assert specific.spdx == "BSD-3-Clause"


def test_a_permissive_classifier_next_to_a_proprietary_or_copyleft_one_is_not_an_allow():
    for other in ("Other/Proprietary License", "GNU General Public License v3 (GPLv3)", "Free for non-commercial use"):
        meta = f"Name: p\nClassifier: License :: OSI Approved :: MIT License\nClassifier: License :: {other}\n"
        found = detect_evidence_file("PKG-INFO", meta)
        assert " AND " in found.spdx and decide(found.spdx, CFG).startswith("exclude:"), (other, found.spdx)
    both = detect_evidence_file("PKG-INFO", "Name: p\nClassifier: License :: OSI Approved :: MIT License\n"
                                "Classifier: License :: OSI Approved :: ISC License (ISCL)\n")
    assert both.spdx == "MIT AND ISC" and decide(both.spdx, CFG) == "allow"


def test_a_bundle_is_read_whole_and_scoped_sections_apply_to_their_paths():
    bundle = (BSD3 + "\n" + "-" * 40 + "\nThe files under the directory pkg/vendored/thing are copied from another project and "
              "are licensed as:\n\n" + MIT + "\n" + "-" * 40 + "\nThe files under the directory pkg/gpl_part are licensed as:\n\n"
              "GNU GENERAL PUBLIC LICENSE\nVersion 3, 29 June 2007\n")
    found = detect_evidence_file("LICENSE", bundle)
    assert found.spdx == "BSD-3-Clause" and found.found == ["BSD-3-Clause", "MIT", "GPL-3.0-only"]
    assert effective("pkg/core.py", found) == "BSD-3-Clause"
    assert effective("pkg/vendored/thing/x.py", found) == "BSD-3-Clause AND MIT"
    assert decide(effective("pkg/gpl_part/y.py", found), CFG) == "exclude:copyleft:GPL-3.0-only"


def test_license_files_of_a_folder_combine_with_and_unless_a_notice_says_or():
    apache = detect_text((COMMON / "Apache-2.0").read_text()) if COMMON.is_dir() else None
    mit = detect_text(MIT)
    if apache is None:
        pytest.skip("Debian's common-licenses are not on this machine")
    assert combine([(mit, False), (apache, False)], "src/a.rs")[0] == "MIT AND Apache-2.0"
    notice = detect_text("Licensed under either of Apache License, Version 2.0 or MIT license at your option.")
    notice = notice or Detection("", "notice:dual", 0.0)
    dual = combine([(mit, False), (apache, False), (notice, True)], "src/a.rs")
    assert dual[0] == "MIT OR Apache-2.0"
    gpl, lgpl = detect_text((COMMON / "GPL-3").read_text()), detect_text((COMMON / "LGPL-3").read_text())
    assert combine([(gpl, False), (lgpl, False)], "lib.c")[0] == "GPL-3.0-only AND LGPL-3.0-only"


SITE = Path(__file__).resolve().parents[2] / ".venv" / "lib" / "python3.11" / "site-packages"


@pytest.mark.skipif(not list(SITE.glob("pandas-*.dist-info")), reason="pandas is not installed")
def test_pandas_license_is_bsd_3_first_with_every_bundled_license_reported():
    text = next(SITE.glob("pandas-*.dist-info")).joinpath("LICENSE").read_text()
    found = detect_evidence_file("LICENSE", text)
    assert found.spdx.startswith("BSD-3-Clause") and {"Apache-2.0", "MIT"} <= set(found.found)
    assert decide(found.spdx, CFG) == "allow"


@pytest.mark.skipif(not list(SITE.glob("sympy-*.dist-info")), reason="sympy is not installed")
def test_sympy_mit_section_covers_only_the_folder_it_names():
    text = next(SITE.glob("sympy-*.dist-info")).joinpath("licenses", "LICENSE").read_text()
    found = detect_evidence_file("LICENSE", text)
    assert found.spdx == "BSD-3-Clause" and "MIT" in found.found
    assert effective("sympy/core/basic.py", found) == "BSD-3-Clause"
    assert effective("sympy/parsing/latex/_parse_latex_antlr.py", found) == "BSD-3-Clause AND MIT"


def test_debian_copyright_paragraphs_are_scoped_to_their_files():
    text = ("Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\nUpstream-Name: tool\n\n"
            "Files: *\nCopyright: 2020 A\nLicense: Expat\n\nFiles: src/gpl/*\nCopyright: 2019 B\nLicense: GPL-2+\n\n"
            "License: Expat\n Permission is hereby granted...\n")
    found = detect_evidence_file("debian/copyright", text)
    assert found.spdx == "MIT" and found.found == ["MIT", "GPL-2.0-or-later"]
    assert effective("src/main.c", found) == "MIT"
    assert decide(effective("src/gpl/x.c", found), CFG) == "exclude:copyleft:GPL-2.0-or-later"
