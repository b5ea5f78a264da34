"""License detection accuracy on real texts: precision and recall of ``allow``.

    .venv/bin/python -m bench.licenses [--scancode PYTHON]

Labelled set:
* Debian's full license texts in /usr/share/common-licenses (label: the file name);
* every license text of the SPDX license list, from the ``spdx-license-list`` npm package
  (label: its SPDX id; fetched once with ``npm pack`` into ``bench/out/``, never by the product);
* adversarial look-alikes built from those texts: an allowed license with a restrictive
  paragraph added, the Commons Clause in front, JSON's "Good, not Evil" line, a clause dropped
  or reworded (label: a ``LicenseRef`` that is never allowed);
* every ``License:`` paragraph with text in the machine-readable copyright files under
  /usr/share/doc (label: its Debian short name mapped to SPDX; paragraphs whose name has no
  SPDX equivalent are left out, not guessed);
* file headers: SPDX identifiers, the usual license notices, and tricky cases (GPL mentioned
  in a comment of an MIT file, "GPL-compatible" wording, dual licenses with OR and AND).
A wrong ``allow`` is the expensive error, so precision of ``allow`` is the headline number.
With ``--scancode PYTHON`` (an interpreter with scancode-toolkit installed), scancode's SPDX
result on the same samples goes through the same ``decide`` for a side-by-side row.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import tempfile
import time
from pathlib import Path

from schemas.licenses import PERMISSIVE, LicenseConfig
from spark_jobs.license_rules import DEBIAN, decide, detect_evidence_file, detect_header

SPDX_PACKAGE = "spdx-license-list@6.12.0"
CACHE = Path(__file__).resolve().parent / "out" / "spdx-license-list"
COMMON = {"Apache-2.0": "Apache-2.0", "Artistic": "Artistic-1.0", "BSD": "BSD-3-Clause", "CC0-1.0": "CC0-1.0",
          "GFDL-1.2": "GFDL-1.2-only", "GFDL-1.3": "GFDL-1.3-only", "GPL-1": "GPL-1.0-only", "GPL-2": "GPL-2.0-only",
          "GPL-3": "GPL-3.0-only", "LGPL-2": "LGPL-2.0-only", "LGPL-2.1": "LGPL-2.1-only", "LGPL-3": "LGPL-3.0-only",
          "MPL-1.1": "MPL-1.1", "MPL-2.0": "MPL-2.0"}
MIT = ("Permission is hereby granted, free of charge, to any person obtaining a copy of this software and associated "
       "documentation files (the \"Software\"), to deal in the Software without restriction, including without limitation "
       "the rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of the Software, and to "
       "permit persons to whom the Software is furnished to do so, subject to the following conditions:\n\nThe above copyright "
       "notice and this permission notice shall be included in all copies or substantial portions of the Software.\n\n"
       "THE SOFTWARE IS PROVIDED \"AS IS\", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO "
       "THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS "
       "OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR "
       "OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.")
RESTRICTIONS = [
    "This software may not be used for commercial purposes.",
    "The Software shall be used for Good, not Evil.",
    "You may not use this software in any military or nuclear application.",
    "Use of the Software by law enforcement agencies is prohibited.",
    "You must notify the authors in writing before you redistribute the Software.",
    "This license terminates if you bring a claim against the authors.",
    "For personal use only; redistribution requires a paid license.",
    "You may not provide the Software to third parties as a hosted or managed service.",
]
COMMONS = ("\"Commons Clause\" License Condition v1.0\n\nThe Software is provided to you by the Licensor under the License, "
           "as defined below, subject to the following condition.\n\nWithout limiting other conditions in the License, the "
           "grant of rights under the License will not include, and the License does not grant to you, the right to Sell the "
           "Software.\n\n")
NOTICES = {
    "Apache-2.0": "Licensed under the Apache License, Version 2.0 (the \"License\"); you may not use this file except in compliance with the License.",
    "GPL-2.0-or-later": "This program is free software; you can redistribute it and/or modify it under the terms of the GNU General Public License as published by the Free Software Foundation; either version 2 of the License, or (at your option) any later version.",
    "GPL-3.0-or-later": "This program is free software: you can redistribute it and/or modify it under the terms of the GNU General Public License as published by the Free Software Foundation, either version 3 of the License, or (at your option) any later version.",
    "LGPL-2.1-or-later": "This library is free software; you can redistribute it and/or modify it under the terms of the GNU Lesser General Public License as published by the Free Software Foundation; either version 2.1 of the License, or (at your option) any later version.",
    "MPL-2.0": "This Source Code Form is subject to the terms of the Mozilla Public License, v. 2.0. If a copy of the MPL was not distributed with this file, You can obtain one at https://mozilla.org/MPL/2.0/.",
    "MIT": MIT,
}
SPDX_IDS = ["MIT", "Apache-2.0", "BSD-3-Clause", "BSD-2-Clause", "ISC", "GPL-2.0-only", "GPL-3.0-or-later", "LGPL-2.1-or-later",
            "MPL-2.0", "AGPL-3.0-only", "MIT OR Apache-2.0", "GPL-2.0-only OR MIT", "MIT AND GPL-2.0-only", "Zlib", "Unlicense"]


def comment(text: str, style: str) -> str:
    lines = text.replace(". ", ".\n").split("\n")
    if style == "c":
        return "/*\n" + "\n".join(f" * {ln}" for ln in lines) + "\n */\n"
    prefix = {"py": "# ", "js": "// ", "sql": "-- "}[style]
    return "\n".join(prefix + ln for ln in lines) + "\n"


def spdx_texts() -> dict[str, str]:
    """SPDX id → license text, from the npm package (downloaded once into the bench cache)."""
    if not (CACHE / "package" / "licenses").is_dir():
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "pack", SPDX_PACKAGE, "--silent"], cwd=CACHE, check=True, capture_output=True)
        archive = next(CACHE.glob("spdx-license-list-*.tgz"))
        subprocess.run(["tar", "xzf", archive.name], cwd=CACHE, check=True)
    return {p.stem: json.loads(p.read_text())["licenseText"] for p in sorted((CACHE / "package" / "licenses").glob("*.json"))}


def look_alikes(texts: dict[str, str]) -> list[dict]:
    """Allowed licenses turned into licenses nobody may allow."""
    out = []
    for spdx in sorted(set(PERMISSIVE) & set(texts)):
        text = texts[spdx]
        for i, restriction in enumerate(RESTRICTIONS):
            out.append({"kind": "look-alike: restriction added", "name": f"{spdx}+r{i}", "label": "LicenseRef-added-restriction",
                        "text": text.rstrip() + "\n\n" + restriction + "\n", "header": False})
            paragraphs = text.split("\n\n")
            middle = "\n\n".join(paragraphs[: len(paragraphs) // 2] + [restriction] + paragraphs[len(paragraphs) // 2:])
            out.append({"kind": "look-alike: restriction inside", "name": f"{spdx}+m{i}", "label": "LicenseRef-added-restriction",
                        "text": middle, "header": False})
        out.append({"kind": "look-alike: Commons Clause", "name": f"{spdx}+cc", "label": "LicenseRef-Commons-Clause",
                    "text": COMMONS + f"License: {spdx}\n\n" + text, "header": False})
        sentences = [s for s in text.replace("\n", " ").split(". ") if len(s) > 60]
        if len(sentences) > 2:
            dropped = text.replace("\n", " ").replace(sentences[1] + ". ", "")
            out.append({"kind": "look-alike: clause dropped", "name": f"{spdx}-clause", "label": f"LicenseRef-{spdx}-modified",
                        "text": dropped, "header": False})
    return out


def samples() -> list[dict]:
    out = []
    texts = spdx_texts()
    for spdx, text in texts.items():
        out.append({"kind": "full text (SPDX list)", "name": spdx, "label": spdx, "text": text, "header": False})
    out.extend(look_alikes(texts))
    common = Path("/usr/share/common-licenses")
    for name, label in COMMON.items():
        if (common / name).is_file():
            out.append({"kind": "full text (common-licenses)", "name": name, "label": label, "text": (common / name).read_text(), "header": False})
    for path in sorted(Path("/usr/share/doc").glob("*/copyright")):
        text = path.read_text(errors="replace")
        if not text.startswith("Format:"):
            continue
        for m in re.finditer(r"(?m)^License: *([^\n]+)\n((?: [^\n]*\n?){3,})", text):
            key = m.group(1).strip().lower().split(" with ")[0]
            if key in DEBIAN and "with" not in m.group(1).lower():
                body = "\n".join("" if ln.strip() == "." else ln[1:] for ln in m.group(2).splitlines())
                out.append({"kind": "Debian copyright paragraph", "name": f"{path.parent.name}:{key}", "label": DEBIAN[key], "text": body, "header": False})
    code = "\ndef main():\n    return 0\n"
    for style in ("py", "c", "js"):
        for spdx in SPDX_IDS:
            out.append({"kind": "SPDX identifier header", "name": f"{style}:{spdx}", "label": spdx,
                        "text": comment(f"SPDX-License-Identifier: {spdx}", style) + code, "header": True})
        for spdx, notice in NOTICES.items():
            out.append({"kind": "license notice header", "name": f"{style}:{spdx}", "label": spdx,
                        "text": comment("Copyright 2024 The Authors\n" + notice, style) + code, "header": True})
        tricky = [
            ("MIT file mentioning the GPL", "MIT", MIT + "\nUnlike the GPL version of this library, this port is MIT licensed."),
            ("GPL-compatible wording only", None, "This module is GPL-compatible and may be combined with GPL code."),
            ("mentions GNU GPL in passing", None, "See the GNU General Public License FAQ for why we chose a different license."),
            ("dual OR in prose + SPDX", "MIT OR Apache-2.0", "SPDX-License-Identifier: MIT OR Apache-2.0\nDual-licensed, at your option."),
        ]
        for name, label, text in tricky:
            out.append({"kind": "tricky header", "name": f"{style}:{name}", "label": label, "text": comment(text, style) + code, "header": True})
    return out


def ours(sample: dict, cfg: LicenseConfig) -> str | None:
    found = detect_header(sample["text"], cfg) if sample["header"] else detect_evidence_file("LICENSE", sample["text"])
    return found.spdx if found else None


def scancode_results(python: str, items: list[dict]) -> list[str | None]:
    with tempfile.TemporaryDirectory() as tmp:
        for i, s in enumerate(items):
            Path(tmp, f"{i:05d}.txt").write_text(s["text"])
        script = ("import json,sys,glob\nfrom scancode.api import get_licenses\n"
                  "print(json.dumps([get_licenses(p).get('detected_license_expression_spdx') for p in sorted(glob.glob(sys.argv[1]+'/*.txt'))]))")
        done = subprocess.run([python, "-c", script, tmp], capture_output=True, text=True, check=True)
        return json.loads(done.stdout.strip().splitlines()[-1])


def scores(items: list[dict], predicted: list[str | None], cfg: LicenseConfig, wrong: list | None = None) -> dict[str, float]:
    tp = fp = fn = exact = 0
    for s, pred in zip(items, predicted):
        if wrong is not None and decide(pred, cfg) == "allow" and decide(s["label"], cfg) != "allow":
            wrong.append((s["kind"], s["name"], s["label"], pred))
        truth_allow = decide(s["label"], cfg) == "allow"
        pred_allow = decide(pred, cfg) == "allow"
        tp += truth_allow and pred_allow
        fp += pred_allow and not truth_allow
        fn += truth_allow and not pred_allow
        exact += (pred or None) == s["label"]
    return {"samples": len(items), "allow precision": tp / (tp + fp) if tp + fp else 1.0,
            "allow recall": tp / (tp + fn) if tp + fn else 1.0, "wrong allows": fp, "exact SPDX": exact / len(items)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scancode", help="python interpreter that has scancode-toolkit")
    args = parser.parse_args()
    cfg = LicenseConfig()
    items = samples()
    rows = []
    started = time.perf_counter()
    wrong_ours: list = []
    rows.append(("irm rules", scores(items, [ours(s, cfg) for s in items], cfg, wrong_ours), time.perf_counter() - started))
    wrong_scancode: list = []
    if args.scancode:
        started = time.perf_counter()
        rows.append(("scancode-toolkit", scores(items, scancode_results(args.scancode, items), cfg, wrong_scancode),
                     time.perf_counter() - started))
    kinds = {}
    for s in items:
        kinds[s["kind"]] = kinds.get(s["kind"], 0) + 1
    print("samples: " + ", ".join(f"{k} {v}" for k, v in kinds.items()))
    print("\n| detector | samples | allow precision | allow recall | wrong allows | exact SPDX | seconds |")
    print("|---|---|---|---|---|---|---|")
    for name, sc, seconds in rows:
        print(f"| {name} | {sc['samples']} | {sc['allow precision']:.4f} | {sc['allow recall']:.4f} | {sc['wrong allows']} | "
              f"{sc['exact SPDX']:.3f} | {seconds:.1f} |")
    for name, wrong in (("irm rules", wrong_ours), ("scancode-toolkit", wrong_scancode)):
        kinds_wrong: dict[str, int] = {}
        for kind, *_ in wrong:
            kinds_wrong[kind] = kinds_wrong.get(kind, 0) + 1
        print(f"\nwrong allows of {name}: {len(wrong)} " + json.dumps(kinds_wrong))
        for item in wrong[:15]:
            print("  ", item)


if __name__ == "__main__":
    main()
