"""License detection and decisions in plain Python: full texts, file headers, package metadata.

Rules match distinctive phrases of each license's own text (after lower-casing, dropping comment
markers and collapsing whitespace), never a bare name: a comment that mentions "GPL" or calls
something "GPL-compatible" is not a license grant. Results are SPDX expressions normalized by
the ``license-expression`` package.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import PurePosixPath

from license_expression import AND, OR, LicenseSymbol, LicenseWithExceptionSymbol, get_spdx_licensing

from schemas.licenses import COPYLEFT_PREFIXES, LicenseConfig


@dataclass(frozen=True)
class Detection:
    spdx: str
    rule: str
    score: float


_COMMENT = re.compile(r"(?m)^\s*(#+|//+|/?\*+/?|;+|--|\"\"\"|''')")
_SPACE = re.compile(r"[\s*]+")


def normalize(text: str) -> str:
    text = _COMMENT.sub(" ", text.replace("\u2019", "'").replace("\u201c", '"').replace("\u201d", '"'))
    return _SPACE.sub(" ", text.lower()).strip()


def _p(*phrases: str) -> list[re.Pattern]:
    return [re.compile(p) for p in phrases]


# Clauses beyond BSD-2/3-Clause (advertising, acknowledgment, a fourth condition): such a text
# is a BSD variant, kept out of the allowlist rather than guessed.
BSD_EXTRA = r"(all advertising materials|must retain the following acknowledg|origin of this software must not be misrepresented|(^| )(4\.|\(4\)|iv\.) (redistributions|the name|neither|altered|all|products|this))"

# (spdx, rule, all of these patterns, none of these), checked in order: first match wins.
TEXT_RULES: list[tuple[str, str, list[re.Pattern], list[re.Pattern]]] = [
    ("AGPL-3.0-only", "text:agpl-3", _p(r"gnu affero general public license version 3"), []),
    ("LGPL-3.0-only", "text:lgpl-3", _p(r"gnu lesser general public license version 3, 29 june 2007"), []),
    ("LGPL-2.1-only", "text:lgpl-2.1", _p(r"gnu lesser general public license version 2\.1, february 1999"), []),
    ("LGPL-2.0-only", "text:lgpl-2", _p(r"gnu library general public license version 2, june 1991"), []),
    ("GPL-3.0-only", "text:gpl-3", _p(r"gnu general public license version 3, 29 june 2007"), []),
    ("GPL-2.0-only", "text:gpl-2", _p(r"gnu general public license version 2, june 1991"), []),
    ("GPL-1.0-only", "text:gpl-1", _p(r"gnu general public license version 1, february 1989"), []),
    ("GFDL-1.3-only", "text:gfdl-1.3", _p(r"gnu free documentation license version 1\.3"), []),
    ("GFDL-1.2-only", "text:gfdl-1.2", _p(r"gnu free documentation license version 1\.2"), []),
    ("MPL-2.0", "text:mpl-2", _p(r"mozilla public license,? (version|v\.) 2\.0"), []),
    ("MPL-1.1", "text:mpl-1.1", _p(r"mozilla public license,? version 1\.1"), []),
    ("EPL-2.0", "text:epl-2", _p(r"eclipse public license - v(ersion)? 2\.0"), []),
    ("Artistic-2.0", "text:artistic-2", _p(r"the artistic license 2\.0"), []),
    ("Artistic-1.0", "text:artistic-1", _p(r"the \"?artistic license\"?"), []),
    ("Apache-2.0", "text:apache-2", _p(r"apache license,? version 2\.0", r"(terms and conditions for use, reproduction, and distribution|licensed under the apache license)"), []),
    ("Apache-2.0", "text:apache-2-body", _p(r"version 2\.0, january 2004", r"terms and conditions for use, reproduction, and distribution"), []),
    ("Apache-2.0", "header:apache-2", _p(r"licensed under the apache license,? (version )?2\.0"), []),
    ("PSF-2.0", "text:psf-2", _p(r"python software foundation license version 2"), []),
    ("BSL-1.0", "text:bsl-1", _p(r"boost software license - version 1\.0"), []),
    ("Unlicense", "text:unlicense", _p(r"this is free and unencumbered software released into the public domain"), []),
    ("CC0-1.0", "text:cc0", _p(r"(cc0 1\.0 universal|creative commons zero)"), []),
    ("CC0-1.0", "notice:cc0", _p(r"dedicated all copyright and related and neighboring rights to this software to the public domain worldwide"), []),
    ("BSL-1.0", "text:bsl-1-body", _p(r"permission is hereby granted, free of charge, to any person or organization obtaining a copy of the software and accompanying documentation covered by this license"), []),
    ("Zlib", "text:zlib", _p(r"provided 'as-is', without any express or implied warranty",
                             r"permission is granted to anyone to use this software for any purpose, including commercial applications"), []),
    ("ISC", "text:isc", _p(r"permission to use, copy, modify, (and/or|and) distribute this software for any purpose with or without fee is hereby granted"), []),
    ("MIT", "text:mit", _p(r"permission is hereby granted, free of charge, to any person obtaining a copy",
                           r"the above copyright notice and this permission notice (\(including the next paragraph\) )?shall be included"),
     _p(r"x consortium")),
    ("BSD-4-Clause", "text:bsd-4", _p(r"redistribution and use in source and binary forms", r"all advertising materials mentioning"), []),
    ("LicenseRef-BSD-variant", "text:bsd-variant", _p(r"redistribution and use in source and binary forms", BSD_EXTRA), []),
    ("BSD-3-Clause", "text:bsd-3", _p(r"redistribution and use in source and binary forms, with or without modification, are permitted",
                                      r"(neither the name|the names? of (its|the) (contributors|copyright holder|author)s? may not be used|name of the author may not be used)"), []),
    ("BSD-2-Clause", "text:bsd-2", _p(r"redistribution and use in source and binary forms, with or without modification, are permitted",
                                      r"redistributions in binary form must reproduce"), []),
]

GPL_HEADER = re.compile(
    r"gnu (?P<kind>lesser |library |affero )?general public license as published by the free software foundation[,;]? "
    r"(either )?version (?P<ver>[123](\.[01])?)(?: of the license)?(?P<later>,? (or|\() ?(\(at your option\) )?any later version)?"
)
SPDX_ID = re.compile(r"spdx-license-identifier:\s*(?P<expr>[^\n]*)", re.IGNORECASE)

NAMES = {
    "mit": "MIT", "mit license": "MIT", "expat": "MIT", "the mit license": "MIT",
    "apache software license": "Apache-2.0", "apache license, version 2.0": "Apache-2.0", "apache 2.0": "Apache-2.0",
    "apache license 2.0": "Apache-2.0", "the apache software license, version 2.0": "Apache-2.0", "apache-2": "Apache-2.0",
    "apache 2": "Apache-2.0", "apache license version 2.0": "Apache-2.0", "asl 2.0": "Apache-2.0",
    "bsd license": "BSD-3-Clause", "bsd": "BSD-3-Clause", "new bsd license": "BSD-3-Clause", "bsd-3": "BSD-3-Clause",
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
    "gpl": "GPL-2.0-or-later", "gplv2": "GPL-2.0-only", "gplv3": "GPL-3.0-only", "lgpl": "LGPL-2.1-or-later",
    "eclipse public license 2.0": "EPL-2.0", "eclipse public license - v 2.0": "EPL-2.0",
}
EVIDENCE_NAMES = re.compile(r"^(licen[cs]e|copying|copyright|notice|unlicense)([._-].*)?$|^(pkg-info|metadata|package\.json|cargo\.toml|pom\.xml)$", re.IGNORECASE)


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


def detect_text(text: str) -> Detection | None:
    """The license a full license text (LICENSE, COPYING, ...) grants."""
    norm = normalize(text[:200_000])
    for spdx_id, rule, required, forbidden in TEXT_RULES:
        if all(p.search(norm) for p in required) and not any(p.search(norm) for p in forbidden):
            return Detection(spdx_id, rule, 1.0)
    return _gpl_header(norm)


def _gpl_header(norm: str) -> Detection | None:
    m = GPL_HEADER.search(norm)
    if not m:
        return None
    base = {"lesser ": "LGPL", "library ": "LGPL", "affero ": "AGPL", None: "GPL"}[m.group("kind")]
    ver = m.group("ver") if "." in m.group("ver") else m.group("ver") + ".0"
    if base == "LGPL" and ver == "2.0" and m.group("kind") == "lesser ":
        ver = "2.1"
    return Detection(f"{base}-{ver}-{'or-later' if m.group('later') else 'only'}", f"header:{base.lower()}", 0.95)


def detect_header(text: str, cfg: LicenseConfig) -> Detection | None:
    """A license stated in the file's own header: an SPDX identifier or a license notice."""
    head = "\n".join(text.split("\n", cfg.header_lines)[: cfg.header_lines])
    m = SPDX_ID.search(head)
    if m:
        expr = spdx(re.sub(r"(\*/|-->|\"\"\"|''').*$", "", m.group("expr")).strip())
        if expr:
            return Detection(expr, "header:spdx-identifier", 1.0)
    return detect_text(head)


def _classifier_licenses(meta_text: str) -> list[str]:
    found = []
    for line in meta_text.splitlines():
        if line.startswith("Classifier: License ::"):
            name = line.split("::")[-1].strip()
            if name not in {"OSI Approved", "Other/Proprietary License"}:
                found.append(from_name(name) or f"LicenseRef-unknown-{re.sub(r'[^A-Za-z0-9.-]+', '-', name)}")
    return found


def detect_metadata(path: str, text: str) -> Detection | None:
    """Package metadata: PKG-INFO/METADATA, package.json, Cargo.toml, pom.xml."""
    name = PurePosixPath(path).name.lower()
    try:
        if name in {"pkg-info", "metadata"}:
            fields = dict(re.findall(r"(?m)^(License-Expression|License):[ \t]*(.+)$", text))
            if fields.get("License-Expression") and spdx(fields["License-Expression"]):
                return Detection(spdx(fields["License-Expression"]), "metadata:license-expression", 1.0)
            classifiers = _classifier_licenses(text)
            if classifiers:
                return Detection(spdx(" OR ".join(classifiers)) or classifiers[0], "metadata:classifier", 0.9)
            if fields.get("License") and from_name(fields["License"]):
                return Detection(from_name(fields["License"]), "metadata:license-field", 0.8)
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


def detect_evidence_file(path: str, text: str) -> Detection | None:
    return detect_metadata(path, text) or detect_text(text)


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
