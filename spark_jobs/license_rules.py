"""License detection and decisions in plain Python: full texts, file headers, package metadata.

Full texts are read whole by ``license_texts`` (every section, strict permissive clauses,
variants and added restrictions). This module turns what was found into SPDX expressions: one
file's sections (scoped to the paths they name), the license files of one folder combined
(``AND``, or ``OR`` where a notice says the licenses are alternatives), package metadata, and
the allow/exclude decision against the allowlist. A name without a variant ("BSD License",
"Apache Software License") is never mapped to a guess.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import PurePosixPath

from license_expression import AND, OR, LicenseSymbol, LicenseWithExceptionSymbol, get_spdx_licensing

from schemas.licenses import COPYLEFT_PREFIXES, LicenseConfig
from spark_jobs.license_texts import Section, normalize, says_dual, sections


@dataclass(frozen=True)
class Detection:
    spdx: str
    rule: str
    score: float
    sections: tuple[Section, ...] = field(default=())

    @property
    def found(self) -> list[str]:
        """Every license the evidence names, scoped or not, in order of appearance."""
        return list(dict.fromkeys(s.spdx for s in self.sections)) or ([self.spdx] if self.spdx else [])


SPDX_ID = re.compile(r"spdx-license-identifier:\s*(?P<expr>[^\n]*)", re.IGNORECASE)

NAMES = {
    "mit": "MIT", "mit license": "MIT", "expat": "MIT", "the mit license": "MIT",
    "apache software license": "LicenseRef-Apache-unspecified", "apache license": "LicenseRef-Apache-unspecified",
    "apache license, version 2.0": "Apache-2.0", "apache 2.0": "Apache-2.0",
    "apache license 2.0": "Apache-2.0", "the apache software license, version 2.0": "Apache-2.0", "apache-2": "Apache-2.0",
    "apache 2": "Apache-2.0", "apache license version 2.0": "Apache-2.0", "asl 2.0": "Apache-2.0",
    "bsd license": "LicenseRef-BSD-unspecified", "bsd": "LicenseRef-BSD-unspecified", "bsd-style": "LicenseRef-BSD-unspecified",
    "bsd-like": "LicenseRef-BSD-unspecified", "new bsd license": "BSD-3-Clause", "bsd-3": "BSD-3-Clause",
    "bsd 3-clause license": "BSD-3-Clause", "3-clause bsd license": "BSD-3-Clause", "bsd 2-clause license": "BSD-2-Clause",
    "mit-style": "LicenseRef-MIT-unspecified", "mit-like": "LicenseRef-MIT-unspecified", "public domain": "LicenseRef-public-domain",
    "simplified bsd license": "BSD-2-Clause", "isc license (iscl)": "ISC", "isc license": "ISC",
    "python software foundation license": "PSF-2.0", "psf": "PSF-2.0", "psf license": "PSF-2.0",
    "the unlicense (unlicense)": "Unlicense", "zlib/libpng license": "Zlib", "boost software license 1.0 (bsl-1.0)": "BSL-1.0",
    "cc0 1.0 universal (cc0 1.0) public domain dedication": "CC0-1.0",
    "gnu general public license v2 (gplv2)": "GPL-2.0-only", "gnu general public license v3 (gplv3)": "GPL-3.0-only",
    "gnu general public license v2 or later (gplv2+)": "GPL-2.0-or-later", "gnu general public license v3 or later (gplv3+)": "GPL-3.0-or-later",
    "gnu lesser general public license v2 (lgplv2)": "LGPL-2.0-only", "gnu lesser general public license v3 (lgplv3)": "LGPL-3.0-only",
    "gnu lesser general public license v2 or later (lgplv2+)": "LGPL-2.0-or-later",
    "gnu lesser general public license v3 or later (lgplv3+)": "LGPL-3.0-or-later",
    "gnu affero general public license v3": "AGPL-3.0-only", "mozilla public license 2.0 (mpl 2.0)": "MPL-2.0",
    "gpl": "LicenseRef-GPL-unspecified", "gplv2": "GPL-2.0-only", "gplv3": "GPL-3.0-only", "lgpl": "LicenseRef-LGPL-unspecified",
    "gnu general public license (gpl)": "LicenseRef-GPL-unspecified", "gnu lesser general public license (lgpl)": "LicenseRef-LGPL-unspecified",
    "gnu library or lesser general public license (lgpl)": "LicenseRef-LGPL-unspecified",
    "eclipse public license 2.0": "EPL-2.0", "eclipse public license - v 2.0": "EPL-2.0",
}
EVIDENCE_NAMES = re.compile(r"^(licen[cs]e|copying|copyright|notice|unlicense)([._-].*)?$|^(pkg-info|metadata|package\.json|cargo\.toml|pom\.xml)$", re.IGNORECASE)
METADATA_NAMES = {"pkg-info", "metadata", "package.json", "cargo.toml", "pom.xml"}
# Names that hold a license text: one whose text we cannot read is an unknown license, not no license.
LICENSE_TEXT_NAMES = re.compile(r"^(licen[cs]e|copying|unlicense)([._-].*)?$", re.IGNORECASE)
UNRECOGNIZED = "LicenseRef-unrecognized-license-text"
DEBIAN = {"expat": "MIT", "mit": "MIT", "bsd-3-clause": "BSD-3-Clause", "bsd-2-clause": "BSD-2-Clause",
          "bsd-4-clause": "BSD-4-Clause", "apache-2.0": "Apache-2.0", "isc": "ISC", "zlib": "Zlib", "psf-2": "PSF-2.0",
          "cc0-1.0": "CC0-1.0", "cc0": "CC0-1.0", "unlicense": "Unlicense", "bsl-1.0": "BSL-1.0", "boost-1.0": "BSL-1.0",
          "gpl-1": "GPL-1.0-only", "gpl-1+": "GPL-1.0-or-later", "gpl-2": "GPL-2.0-only", "gpl-2+": "GPL-2.0-or-later",
          "gpl-3": "GPL-3.0-only", "gpl-3+": "GPL-3.0-or-later", "lgpl-2": "LGPL-2.0-only", "lgpl-2+": "LGPL-2.0-or-later",
          "lgpl-2.1": "LGPL-2.1-only", "lgpl-2.1+": "LGPL-2.1-or-later", "lgpl-3": "LGPL-3.0-only", "lgpl-3+": "LGPL-3.0-or-later",
          "mpl-1.1": "MPL-1.1", "mpl-2.0": "MPL-2.0", "agpl-3": "AGPL-3.0-only", "agpl-3+": "AGPL-3.0-or-later",
          "artistic": "Artistic-1.0", "artistic-2.0": "Artistic-2.0", "epl-1.0": "EPL-1.0", "epl-2.0": "EPL-2.0",
          "gfdl-1.2+": "GFDL-1.2-or-later", "gfdl-1.3+": "GFDL-1.3-or-later", "sspl-1.0": "SSPL-1.0"}


@lru_cache(maxsize=1)
def licensing():
    return get_spdx_licensing()


def spdx(expression: str) -> str | None:
    """A normalized SPDX expression, or None when it does not parse."""
    try:
        parsed = licensing().parse(expression, validate=False)
    except Exception:
        return None
    return str(parsed) if parsed is not None else None


def from_name(name: str) -> str | None:
    """A license name as found in metadata (classifier, pom, License field) → SPDX."""
    key = name.strip().strip("\"'").lower()
    if key in NAMES:
        return NAMES[key]
    if not re.fullmatch(r"[A-Za-z0-9.+\-() ]+", name.strip()) or not name.strip():
        return None
    valid = licensing().validate(name.strip())
    return str(licensing().parse(name.strip())) if not valid.errors else None


def expression(ids: list[str], dual: bool = False) -> str | None:
    """Licenses that all apply (``AND``) or that are alternatives (``OR``), as one expression."""
    parts = list(dict.fromkeys(i for i in ids if i))
    if not parts:
        return None
    joined = (" OR " if dual else " AND ").join(f"({p})" if " " in p else p for p in parts)
    return spdx(joined) or joined


def applies(scope: tuple[str, ...], path: str | None) -> bool:
    """A section without scope covers the folder; a scoped one only the paths it names."""
    if not scope:
        return True
    here = "/" + (path or "").lower()
    return any(f"/{s.lower()}/" in here + "/" for s in scope)


def detect_text(text: str, whole_file: bool = True) -> Detection | None:
    """Every license a license text (LICENSE, COPYING, a bundle of third-party notices) holds; the
    expression is all of its unscoped sections, since a file can rely on any of them."""
    found = tuple(sections(text, whole_file=whole_file))
    if not found:
        return None
    unscoped = [s.spdx for s in found if not s.scope]
    dual = says_dual(text) and len(set(unscoped)) > 1 and all(s.permissive for s in found)
    expr = expression(unscoped or [s.spdx for s in found], dual=dual)
    score = 1.0 if found[0].rule.startswith("text:") else 0.95
    return Detection(expr, found[0].rule if len(found) == 1 else "text:" + "+".join(dict.fromkeys(s.rule.split(":")[-1] for s in found)),
                     score, found)


def effective(path: str | None, detection: Detection) -> str:
    """The expression a file at ``path`` gets from one evidence file: unscoped sections plus the
    scoped ones that name its path."""
    if not detection.sections:
        return detection.spdx or None
    ids = [s.spdx for s in detection.sections if applies(s.scope, path)]
    dual = " OR " in detection.spdx and not any(s.scope for s in detection.sections)
    return expression(ids, dual) or detection.spdx


def detect_header(text: str, cfg: LicenseConfig) -> Detection | None:
    """A license stated in the file's own header: an SPDX identifier or a license notice."""
    head = "\n".join(text.split("\n", cfg.header_lines)[: cfg.header_lines])
    m = SPDX_ID.search(head)
    if m:
        expr = spdx(re.sub(r"(\*/|-->|\"\"\"|''').*$", "", m.group("expr")).strip())
        if expr:
            return Detection(expr, "header:spdx-identifier", 1.0)
    return detect_text(head, whole_file=False)


def _classifier_licenses(meta_text: str) -> list[str]:
    found = []
    for line in meta_text.splitlines():
        if line.startswith("Classifier: License ::"):
            name = line.split("::")[-1].strip()
            if name == "Other/Proprietary License":
                found.append("LicenseRef-proprietary")
            elif name != "OSI Approved":
                found.append(from_name(name) or f"LicenseRef-unknown-{re.sub(r'[^A-Za-z0-9.-]+', '-', name)}")
    return found


def detect_metadata(path: str, text: str) -> Detection | None:
    """Package metadata: PKG-INFO/METADATA, package.json, Cargo.toml, pom.xml. Several license
    classifiers combine with ``AND``: a classifier list does not say whether its licenses are
    alternatives, and reading "MIT" next to "Other/Proprietary" as a choice would be a wrong allow."""
    name = PurePosixPath(path).name.lower()
    try:
        if name in {"pkg-info", "metadata"}:
            fields = dict(re.findall(r"(?m)^(License-Expression|License):[ \t]*(.+)$", text))
            if fields.get("License-Expression") and spdx(fields["License-Expression"]):
                return Detection(spdx(fields["License-Expression"]), "metadata:license-expression", 1.0)
            named = from_name(fields["License"]) if fields.get("License") else None
            if named and not named.startswith("LicenseRef-"):
                return Detection(named, "metadata:license-field", 0.8)
            classifiers = _classifier_licenses(text)
            if classifiers:
                return Detection(expression(classifiers), "metadata:classifier", 0.9)
            if named:
                return Detection(named, "metadata:license-field", 0.8)
        elif name == "package.json":
            value = json.loads(text).get("license")
            if isinstance(value, str) and spdx(value):
                return Detection(spdx(value), "metadata:package.json", 1.0)
        elif name == "cargo.toml":
            value = tomllib.loads(text).get("package", {}).get("license")
            if isinstance(value, str) and spdx(value.replace("/", " OR ")):
                return Detection(spdx(value.replace("/", " OR ")), "metadata:cargo.toml", 1.0)
        elif name == "pom.xml":
            names = re.findall(r"<license>\s*<name>([^<]+)</name>", text)
            mapped = [from_name(n) for n in names]
            if mapped and all(mapped):
                return Detection(spdx(" OR ".join(mapped)), "metadata:pom.xml", 0.9)
    except (ValueError, tomllib.TOMLDecodeError, AttributeError):
        return None
    return None


def detect_debian_copyright(text: str) -> Detection | None:
    """A machine-readable debian/copyright: each ``Files:`` paragraph's license, scoped to its
    patterns (``*`` covers the package)."""
    if not re.match(r"format:\s*\S*copyright-format", text.lstrip().lower()):
        return None
    found = []
    for para in re.split(r"\n\s*\n", text):
        files = re.search(r"(?mi)^files:\s*((?:.+\n?)(?:[ \t]+.+\n?)*)", para)
        lic = re.search(r"(?mi)^license:[ \t]*([^\n]+)", para)
        if not (files and lic):
            continue
        names = [n.strip().lower() for n in re.split(r"\s+or\s+|\s*\|\s*", lic.group(1).strip().split(" with ")[0], flags=re.I)]
        ids = [DEBIAN.get(n) or f"LicenseRef-debian-{re.sub(r'[^A-Za-z0-9.-]+', '-', n)}" for n in names if n]
        patterns = files.group(1).split()
        scope = () if "*" in patterns else tuple(p.rstrip("*").rstrip("/") for p in patterns if p.rstrip("*").rstrip("/"))
        spdx_id = expression(ids, dual=True) or "LicenseRef-unknown"
        found.append(Section(spdx_id, "metadata:debian-copyright", len(found), len(found), scope))
    if not found:
        return None
    return Detection(expression([s.spdx for s in found if not s.scope] or [s.spdx for s in found]),
                     "metadata:debian-copyright", 0.9, tuple(found))


def detect_evidence_file(path: str, text: str) -> Detection | None:
    """What a LICENSE/COPYING/NOTICE/metadata file says; a license-text file nobody can read is
    ``LicenseRef-unrecognized-license-text`` (an unknown license, so never allowed)."""
    name = PurePosixPath(path).name
    if name.lower() == "copyright" and PurePosixPath(path).parent.name == "debian":
        found = detect_debian_copyright(text)
        if found:
            return found
    found = detect_metadata(path, text) if name.lower() in METADATA_NAMES else None
    if found or name.lower() in METADATA_NAMES:
        return found
    found = detect_text(text)
    if found is None and LICENSE_TEXT_NAMES.match(name) and text.strip():
        return Detection(UNRECOGNIZED, "text:unrecognized", 0.0)
    return found


def combine(files: list[tuple[Detection, bool]], path: str | None) -> tuple[str | None, list[str]]:
    """One folder's license files for a file at ``path``: (expression, every license found).
    Files combine with ``AND`` unless one of them is a notice saying they are alternatives and
    names nothing the others do not."""
    exprs, found = [], []
    notices = [d for d, dual in files if dual]
    for det, _ in files:
        exprs.append(effective(path, det))
        found.extend(det.found)
    others = {i for d, _ in files for i in d.found if d not in notices}
    dual = bool(notices) and len(files) > 1 and all(set(n.found) <= others | {UNRECOGNIZED} for n in notices) \
        and not any(e and e.startswith("LicenseRef-") for e in exprs)
    if dual:
        exprs = [effective(path, d) for d, _ in files if d not in notices or not set(d.found) <= others]
    return expression([e for e in exprs if e], dual), list(dict.fromkeys(found))


def _keys(node) -> list[str]:
    if isinstance(node, LicenseWithExceptionSymbol):
        return [node.license_symbol.key]
    if isinstance(node, LicenseSymbol):
        return [node.key]
    return [k for arg in node.args for k in _keys(arg)]


def _satisfiable(node, allow: set[str]) -> bool:
    if isinstance(node, OR):
        return any(_satisfiable(arg, allow) for arg in node.args)
    if isinstance(node, AND):
        return all(_satisfiable(arg, allow) for arg in node.args)
    return isinstance(node, LicenseSymbol) and not isinstance(node, LicenseWithExceptionSymbol) and node.key in allow


def decide(expression: str | None, cfg: LicenseConfig) -> str:
    """``allow`` when the expression can be satisfied with allowlisted licenses alone (an OR needs
    one allowed branch, an AND all of them); otherwise ``exclude:<why>:<license>``."""
    if not expression:
        return "exclude:no-license"
    try:
        node = licensing().parse(expression, validate=False)
    except Exception:
        return f"exclude:unknown:{expression}"
    if _satisfiable(node, set(cfg.allowlist)):
        return "allow"
    keys = [k for k in _keys(node) if k not in cfg.allowlist]
    known = {s.key for s in licensing().known_symbols.values()}
    copyleft = [k for k in keys if k.startswith(COPYLEFT_PREFIXES)]
    if copyleft:
        return f"exclude:copyleft:{copyleft[0]}"
    unknown = [k for k in keys if k not in known]
    if unknown:
        return f"exclude:unknown:{unknown[0]}"
    return f"exclude:not-allowlisted:{keys[0] if keys else expression}"
