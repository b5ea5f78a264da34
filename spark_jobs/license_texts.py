"""Full license texts read whole: every license a file holds, in order, with the paths it names.

A text is normalized (lower case, comment markers dropped, blank lines kept as ``¶``) and
scanned for *anchors*: the opening words of a license family (the MIT grant, the BSD
redistribution sentence, the ISC permission, a license title). At each anchor the family's
rules are tried in order; a rule is an ordered list of clauses, each of which must follow the
previous one within ``max_gap`` characters. For permissive licenses the rules are strict (the
gaps may hold only list markers), so a text that reads like MIT but adds or changes a clause is
not MIT: it becomes ``LicenseRef-<family>-variant`` and is never allowed. Restrictive wording
anywhere in a file that grants a permissive license (non-commercial, "Good, not Evil", the
Commons Clause, field-of-use bans) adds ``LicenseRef-added-restriction``.

A file that bundles several licenses gives one section per license. A section whose preamble
says which files it covers ("The files under the directory sympy/parsing/latex ... are licensed
as:") is scoped to those paths; every other section applies to the whole folder.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_COMMENT = re.compile(r"(?m)^[ \t]*(#+|//+|/?\*+/?|;+|--|\"\"\"|''')")
_BLANK = re.compile(r"\n[ \t]*\n\s*")
_SPACE = re.compile(r"[ \t\r\n\f\v*]+")
_COPYRIGHT_LINE = re.compile(r"(?m)^[^\n]*(copyright|\(c\)|©|all rights reserved)[^\n]*$")


def normalize(text: str) -> str:
    """Lower case, no comment markers, one space between words, blank lines as ``¶``."""
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"').replace("\u201d", '"')
    text = _COMMENT.sub(" ", text.replace("\r\n", "\n"))
    text = _BLANK.sub(" ¶ ", text)
    return _SPACE.sub(" ", text.lower()).strip()


def W(phrase: str) -> str:
    """A phrase whose words may be separated by any punctuation (regex syntax allowed inside)."""
    return phrase.replace(" ", r"\W*")


NAME = r"[^¶]{1,160}?"


@dataclass(frozen=True)
class Rule:
    spdx: str
    rule: str
    clauses: tuple[tuple[str, bool], ...]  # (regex, required); the first is matched at the anchor
    max_gap: int = 24
    strict: bool = True  # gaps hold list markers only; otherwise gaps are free text (``weak`` scans them)
    weak: bool = True
    forbid: tuple[str, ...] = ()
    permissive: bool = False
    # long texts: (min words, max words, most times each obligation word may occur) of the canonical text
    profile: tuple[tuple[tuple[int, int], ...], tuple[tuple[str, int], ...]] | None = None


@dataclass(frozen=True)
class Family:
    name: str
    anchor: str
    rules: tuple[Rule, ...]
    fallback: str | None
    permissive: bool = False


@dataclass(frozen=True)
class Section:
    spdx: str
    rule: str
    start: int
    end: int
    scope: tuple[str, ...] = field(default=())
    permissive: bool = False


def R(spdx: str, rule: str, *clauses: str | tuple[str, bool], **kw) -> Rule:
    return Rule(spdx, rule, tuple(c if isinstance(c, tuple) else (c, True) for c in clauses), **kw)


def opt(clause: str) -> tuple[str, bool]:
    return (clause, False)


MIT_GRANT = W("permission is hereby granted free of charge to any person obtaining a copy of this software and associated "
              "documentation files the software to deal in the software without restriction including without limitation "
              "the rights to use copy modify merge publish distribute sublicense and or sell copies of the software and to "
              "permit persons to whom the software is furnished to do so")
MIT_CONDITIONS = W("subject to the following conditions")
MIT_NOTICE = W("the above copyright notice and this permission notice (including the next paragraph )?shall be included in "
               "all copies or substantial portions of the software")
MIT_WARRANTY = W("the software is provided as is without warranty of any kind express or implied including but not limited "
                 "to the warranties of merchantability fitness for a particular purpose and non ?infringement")
MIT_LIABILITY = W(f"in no event shall {NAME} be liable for any claim damages or other liability whether in an action of "
                  "contract tort or otherwise arising from out of or in connection with the software or the use or other "
                  "dealings in the software")
X11_NAME = W("except as contained in this notice the name of the x consortium shall not be used in advertising or otherwise "
             "to promote the sale use or other dealings in this software without prior written authorization from the x consortium")

BSD_OPEN = W("redistribution and use in source and binary forms with or without modification are permitted provided that "
             "the following conditions are met")
BSD_SOURCE = W("redistributions of source code must retain the above copyright notice this list of conditions and the "
               "following disclaimer")
BSD_BINARY = W("redistributions in binary form must reproduce the above copyright notice this list of conditions and the "
               "following disclaimer in the documentation and or other materials provided with the distribution")
BSD_NAMES = W(f"(neither the name of {NAME} nor the names of (its |his |her |their |the |any )?(contributors|authors) may|"
              f"the names? of {NAME} (may|shall) not) be used to endorse or promote products derived from this software "
              "without specific prior written permission")
BSD_DISCLAIMER = W(f"this software is provided by {NAME} as is and any express or implied warranties including but not "
                   "limited to the implied warranties of merchantability and fitness for a particular purpose are disclaimed "
                   f"in no event shall {NAME} be liable for any direct indirect incidental special exemplary or consequential "
                   "damages including but not limited to procurement of substitute goods or services loss of use data or "
                   "profits or business interruption however caused and on any theory of liability whether in contract "
                   "strict liability or tort including negligence or otherwise arising in any way out of the use of this "
                   "software even if advised of the possibility of such damage")

ISC_GRANT = W("permission to use copy modify and( or)? distribute this software for any purpose with or without fee is hereby granted")
ISC_NOTICE = W("provided that the above copyright notice and this permission notice appear in all copies")
ISC_DISCLAIMER = W(f"the software is provided as is and {NAME} disclaims? all warranties with regard to this software including "
                   f"all implied warranties of merchantability and fitness in no event shall {NAME} be liable for any "
                   "special direct indirect or consequential damages or any damages whatsoever resulting from loss of use "
                   "data or profits whether in an action of contract negligence or other tortious action arising out of or "
                   "in connection with the use or performance of this software")

APACHE_SECTIONS = [W(s) for s in (
    "terms and conditions for use reproduction and distribution", "1 definitions", "2 grant of copyright license",
    "3 grant of patent license", "4 redistribution", "5 submission of contributions", "6 trademarks",
    "7 disclaimer of warranty", "8 limitation of liability", "9 accepting warranty or additional liability",
    )] + [W("by reason of your accepting any such warranty or additional liability"), opt(W("end of terms and conditions"))]
APACHE_NOTICE = (W("licensed under the apache license version 2 0"),
                 W("the license you may not use this file except in compliance with the license"
                   "( you may obtain a copy of the license at)?"),
                 opt(W("unless required by applicable law or agreed to in writing software distributed under the license "
                       "is distributed on an as is basis without warranties or conditions of any kind either express or implied")),
                 opt(W("see the license for the specific language governing permissions and limitations under the license")))


def _title(spdx: str, anchor: str) -> Family:
    return Family(spdx, anchor, (R(spdx, "text:" + spdx.lower(), anchor, max_gap=0, strict=False),), None)


FAMILIES: tuple[Family, ...] = (
    Family("MIT", W("permission is hereby granted free of charge to any person obtaining a copy"), (
        R("JSON", "text:json", MIT_GRANT, W("the software shall be used for good not evil"), max_gap=400, strict=False, weak=False),
        R("X11", "text:x11", MIT_GRANT, MIT_CONDITIONS, MIT_NOTICE, MIT_WARRANTY,
          W("in no event shall the x consortium be liable for any claim damages or other liability whether in an action of "
            "contract tort or otherwise arising from out of or in connection with the software or the use or other "
            "dealings in the software"), X11_NAME, permissive=True),
        R("MIT", "text:mit", MIT_GRANT, MIT_CONDITIONS, MIT_NOTICE, MIT_WARRANTY, MIT_LIABILITY, permissive=True),
        R("MIT-0", "text:mit-0", MIT_GRANT, MIT_WARRANTY, MIT_LIABILITY, permissive=True),
    ), "LicenseRef-MIT-variant", permissive=True),
    Family("BSD", BSD_OPEN, (
        R("BSD-4-Clause", "text:bsd-4", BSD_OPEN, W("all advertising materials mentioning"), max_gap=1200, strict=False, weak=False),
        R("BSD-2-Clause-Patent", "text:bsd-2-patent", BSD_OPEN, W("patent license"), max_gap=2000, strict=False, weak=False),
        R("BSD-2-Clause-Views", "text:bsd-2-views", BSD_OPEN, BSD_SOURCE, BSD_BINARY, BSD_DISCLAIMER,
          W("the views and conclusions contained in the software and documentation are those of the authors"), max_gap=40),
        R("BSD-3-Clause", "text:bsd-3", BSD_OPEN, BSD_SOURCE, BSD_BINARY, BSD_NAMES, BSD_DISCLAIMER, permissive=True),
        R("BSD-2-Clause", "text:bsd-2", BSD_OPEN, BSD_SOURCE, BSD_BINARY, BSD_DISCLAIMER, permissive=True),
        R("BSD-1-Clause", "text:bsd-1", BSD_OPEN, BSD_SOURCE, BSD_DISCLAIMER),
    ), "LicenseRef-BSD-variant", permissive=True),
    Family("ISC", W("permission to use copy modify (and( or)? )?distribute this software"), (
        R("ISC", "text:isc", ISC_GRANT, ISC_NOTICE, ISC_DISCLAIMER, permissive=True),
        R("0BSD", "text:0bsd", ISC_GRANT, ISC_DISCLAIMER, permissive=True),
    ), "LicenseRef-permission-notice-variant", permissive=True),
    Family("Zlib", W("this software is provided as is without any express or implied warranty"), (
        R("Zlib", "text:zlib", W("this software is provided as is without any express or implied warranty"),
          W(f"in no event will {NAME} be held liable for any damages arising from the use of this software"),
          W("permission is granted to anyone to use this software for any purpose including commercial applications and "
            "to alter it and redistribute it freely subject to the following restrictions"),
          W("the origin of this software must not be misrepresented you must not claim that you wrote the original software"),
          W("if you use this software in a product an acknowledge?ment in the product documentation would be appreciated "
            "but is not required"),
          W("altered source versions must be plainly marked as such and must not be misrepresented as being the original software"),
          W("this notice may not be removed or altered from any source distribution"), permissive=True),
    ), "LicenseRef-Zlib-variant", permissive=True),
    Family("BSL", W("permission is hereby granted free of charge to any person or organization obtaining a copy of the software "
                    "and accompanying documentation covered by this license"), (
        R("BSL-1.0", "text:bsl-1",
          W("permission is hereby granted free of charge to any person or organization obtaining a copy of the software and "
            "accompanying documentation covered by this license the software to use reproduce display distribute execute "
            "and transmit the software and to prepare derivative works of the software and to permit third parties to whom "
            "the software is furnished to do so all subject to the following"),
          W("the copyright notices in the software and this entire statement including the above license grant this "
            "restriction and the following disclaimer must be included in all copies of the software in whole or in part "
            "and all derivative works of the software unless such copies or derivative works are solely in the form of "
            "machine executable object code generated by a source language processor"),
          W("the software is provided as is without warranty of any kind express or implied including but not limited to "
            "the warranties of merchantability fitness for a particular purpose title and non infringement"),
          W("in no event shall the copyright holders or anyone distributing the software be liable for any damages or "
            "other liability whether in contract tort or otherwise arising from out of or in connection with the software "
            "or the use or other dealings in the software"), permissive=True),
    ), "LicenseRef-BSL-variant", permissive=True),
    Family("Unlicense", W("this is free and unencumbered software released into the public domain"), (
        R("Unlicense", "text:unlicense", W("this is free and unencumbered software released into the public domain"),
          W("anyone is free to copy modify publish use compile sell or distribute this software either in source code "
            "form or as a compiled binary for any purpose commercial or non commercial and by any means"),
          W("in jurisdictions that recognize copyright laws the author or authors of this software dedicate any and all "
            "copyright interest in the software to the public domain"),
          W("we intend this dedication to be an overt act of relinquishment in perpetuity of all present and future "
            "rights to this software under copyright law"),
          W("the software is provided as is without warranty of any kind express or implied including but not limited to "
            "the warranties of merchantability fitness for a particular purpose and noninfringement"),
          W("in no event shall the authors be liable for any claim damages or other liability whether in an action of "
            "contract tort or otherwise arising from out of or in connection with the software or the use or other "
            "dealings in the software"), max_gap=400, strict=False, permissive=True),
    ), "LicenseRef-Unlicense-variant", permissive=True),
    Family("CC0", W("(creative commons legal code )?cc0 1 0 universal"), (
        R("CC0-1.0", "text:cc0", W("(creative commons legal code )?cc0 1 0 universal"), W("statement of purpose"), W("1 copyright and related rights"),
          W("2 waiver"), W("3 public license fallback"), W("4 limitations and disclaimers"),
          W("affirmer understands and acknowledges that creative commons is not a party to this document"), max_gap=3500, strict=False, weak=False,
          permissive=True, profile=(((1066, 1080),), (("laws of", 1), ("shall not", 2), ("termination", 1), ("royalty", 1)))),
    ), "LicenseRef-CC0-variant", permissive=True),
    Family("CC0-notice", W("dedicated all copyright and related and neighboring rights to this software to the public domain worldwide"), (
        R("CC0-1.0", "notice:cc0", W("dedicated all copyright and related and neighboring rights to this software to the "
                                     "public domain worldwide"), strict=False, permissive=True),
    ), None, permissive=True),
    Family("Apache-2.0", W("apache license version 2 0 january 2004"), (
        R("Apache-2.0", "text:apache-2", W("apache license version 2 0 january 2004"), *APACHE_SECTIONS,
          max_gap=4000, strict=False, weak=False, permissive=True,
          profile=(((1415, 1445),), (("shall not", 1), ("royalty", 2), ("terminate", 1), ("you must", 3), ("you agree", 1)))),
    ), "LicenseRef-Apache-variant", permissive=True),
    Family("Apache-notice", APACHE_NOTICE[0], (
        R("Apache-2.0", "notice:apache-2", *APACHE_NOTICE, max_gap=80, strict=False, permissive=True),
    ), None, permissive=True),
    Family("Apache-1.1", W("the apache software license version 1 1"), (R("Apache-1.1", "text:apache-1.1", W("the apache software license version 1 1"), max_gap=0, strict=False),), None),
    Family("PSF", W("python software foundation license version 2"), (
        R("Python-2.0", "text:python-2", W("python software foundation license version 2"),
          W("beopen com license agreement for python 2 0"), W("cnri (open source )?license agreement"),
          W("cwi license agreement for python 0 9 0 through 1 2"),
          W("arising out of or in connection with the use or performance of this software"),
          max_gap=6000, strict=False, weak=False, permissive=True,
          profile=(((1474, 1484), (1555, 1565), (1600, 1630)), (("royalty", 3), ("shall not", 3), ("terminate", 3), ("governed", 2)))),
        R("PSF-2.0", "text:psf-2", W("python software foundation license version 2"),
          W("this license agreement is between the python software foundation"),
          W("psf hereby grants licensee a nonexclusive royalty free world wide license"),
          W("by copying installing or otherwise using python licensee agrees to be bound by the terms and conditions of "
            "this license agreement"), max_gap=2500, strict=False, weak=False, permissive=True,
          profile=(((376, 396),), (("royalty", 1), ("shall not", 1), ("terminate", 1)))),
    ), "LicenseRef-PSF-variant", permissive=True),
    Family("Commons-Clause", W("commons clause license condition"), (R("LicenseRef-Commons-Clause", "text:commons-clause", W("commons clause license condition"), max_gap=0, strict=False),), None),
    Family("GPL-header", W("gnu (lesser |library |affero )?general public license as published by the free software foundation"), (), None),
    _title("AGPL-3.0-only", W("gnu affero general public license version 3 19 november 2007")),
    _title("LGPL-3.0-only", W("gnu lesser general public license version 3 29 june 2007")),
    _title("LGPL-2.1-only", W("gnu lesser general public license version 2 1 february 1999")),
    _title("LGPL-2.0-only", W("gnu library general public license version 2 june 1991")),
    _title("GPL-3.0-only", W("gnu general public license version 3 29 june 2007")),
    _title("GPL-2.0-only", W("gnu general public license version 2 june 1991")),
    _title("GPL-1.0-only", W("gnu general public license version 1 february 1989")),
    _title("GFDL-1.3-only", W("gnu free documentation license version 1 3")),
    _title("GFDL-1.2-only", W("gnu free documentation license version 1 2")),
    _title("GFDL-1.1-only", W("gnu free documentation license version 1 1")),
    _title("SSPL-1.0", W("server side public license version 1")),
    _title("BUSL-1.1", W("business source license( bsl)? (version )?1 1")),
    _title("Elastic-2.0", W("elastic license 2 0")),
    _title("Hippocratic-2.1", W("hippocratic license( version)? 2 1")),
    _title("WTFPL", W("do what the fuck you want to public license")),
    _title("MPL-2.0", W("mozilla public license (version |v )?2 0")),
    _title("MPL-1.1", W("mozilla public license version 1 1")),
    _title("MPL-1.0", W("mozilla public license version 1 0")),
    _title("EPL-2.0", W("eclipse public license (- )?v(ersion)? 2 0")),
    _title("EPL-1.0", W("eclipse public license (- )?v(ersion)? 1 0")),
    _title("EUPL-1.2", W("european union public licen[cs]e v( |ersion )?1 2")),
    _title("EUPL-1.1", W("european union public licen[cs]e v( |ersion )?1 1")),
    _title("CDDL-1.0", W("common development and distribution license( cddl)? version 1 0")),
    _title("CDDL-1.1", W("common development and distribution license( cddl)? version 1 1")),
    _title("OSL-3.0", W("open software license( osl)? v( |ersion )?3 0")),
    _title("AFL-3.0", W("academic free license( afl)? v( |ersion )?3 0")),
    _title("Artistic-2.0", W("the artistic license 2 0")),
    _title("Artistic-1.0", W("the artistic license")),
    _title("MS-PL", W("microsoft public license( ms pl)?")),
    _title("MS-RL", W("microsoft reciprocal license( ms rl)?")),
    _title("OFL-1.1", W("sil open font license version 1 1")),
    _title("CPL-1.0", W("common public license version 1 0")),
    _title("LPPL-1.3c", W("the latex project public license")),
    _title("Sleepycat", W("the sleepycat license")),
    _title("CC-BY-4.0", W("attribution 4 0 international")),
)

CC = re.compile(r"creative commons\W*(legal code\W*)?attribution[- ]?(?P<nc>non-?commercial)?[- ]?(?P<kind>share-?alike|no-?derivatives|no-?derivs)?\W*(?P<ver>[1-4]\.[05])")

GPL_HEADER = re.compile(
    r"gnu (?P<kind>lesser |library |affero )?general public license as published by the free software foundation\W*"
    r"(either )?version (?P<ver>[123](\.[01])?)(?: of the license)?(?P<later>\W*(or|\() ?(\(at your option\) )?any later version)?")

# Wording no permissive grant carries: a file with it is never an allow.
RESTRICTION = re.compile(
    r"(?<!commercial or )\bnon-?\W?commercial|(?<!without limitation )commercial (use|purpose|product|advantage|exploitation|setting|distribution)|"
    r"\bmilitar|\bnuclear|\bweapon|\bnot evil|\bharm(ful|s)?\b|commons clause|right to sell|hosted or managed|managed service|"
    r"(?<!unfair )\bcompet(e|ing|itor|ition)\b|personal use|\bresearch (use|purposes?)|\bacademic|\beducational|not for (resale|sale|profit)|"
    r"law enforcement|surveillance|human rights|\bethic|\bpolic(e|ing)\b|\bimmigration|production use|\bterrorism|fossil fuel|"
    r"must not be used|may not be used (for|in|by)|shall not be used (for|in|by)|shall be used for|only be used|"
    r"\bnot (be )?(sell|sold|resold)|\bevaluation (use|purposes?)|\bno (resale|redistribution)")
# Words a strict permissive text has only inside its own clauses: in a gap they mean an added term.
WEAK = re.compile(r"\b(may not|shall not|must not|prohibit\w*|only|except|provided that|conditions?|restrict\w*|patent\w*|"
                  r"sell|fee|terminat\w*|revok\w*|consent|agree\w*|require\w*|forbid\w*|notify|register\w*|royalt\w*|"
                  r"you (must|shall|may not))\b")
# Added terms after the last clause of a strict permissive text.
TAIL = re.compile(r"\b(may not|shall not|must not|prohibit\w*|restrict\w*|terminat\w*|revok\w*|consent|notify|royalt\w*|"
                  r"you (must|shall|may not|agree)|is not permitted|are not permitted|governed|laws of|jurisdiction|venue|arbitrat\w*)\b")
PROPRIETARY = re.compile(r"proprietary|confidential|trade secret|unpublished work|"
                         r"(may|shall|must) not be (copied|reproduced|distributed|redistributed|used|modified|disclosed)|"
                         r"without (the )?(express |prior )*written (permission|consent|authori[sz]ation)|unauthori[sz]ed (copying|use)")
SCOPE = re.compile(r"(?:files?|code|sources?|modules?|contents?)\s+(?:under|in|within|of)\s+(?:the\s+)?"
                   r"(?:directory|directories|folder|folders|subdirectory|subfolder|path)\s+([\w.\-]+(?:/[\w.\-*]+)+/?|[\w.\-]+/)")
SCOPE_PATH = re.compile(r"(?<![\w./:-])((?:[\w\-]+/)+[\w\-*]*)(?=\s|$|[,;:)])")

STRICT_RULES = {r.rule for f in FAMILIES for r in f.rules if r.strict}
def _literals(anchor: str) -> tuple[str, ...]:
    """Plain words an anchor cannot match without: a cheap test before the regex scan."""
    words = []
    for token in anchor.split(r"\W*"):
        if not re.fullmatch(r"[a-z0-9]+", token):
            break
        words.append(token)
    return tuple(words[:3])


_FAMILY_ANCHORS = [(f, re.compile(f.anchor)) for f in FAMILIES]
_LITERALS = [_literals(f.anchor) for f in FAMILIES]
_COMPILED: dict[str, re.Pattern] = {}


def _re(pattern: str) -> re.Pattern:
    if pattern not in _COMPILED:
        _COMPILED[pattern] = re.compile(pattern)
    return _COMPILED[pattern]


def _gap_ok(gap: str, strict: bool, weak: bool) -> bool:
    """A strict gap holds only list markers and punctuation; any gap is free of added terms."""
    if not strict:
        return not (weak and WEAK.search(gap))
    if WEAK.search(gap):
        return False
    words = re.sub(r"\b([0-9]{1,2}|[a-h]|i{1,3}|iv|vi{0,3}|ix|x)\b", " ", re.sub(r"[^a-z0-9 ]", " ", gap)).split()
    return not words


def _fits(rule: Rule, span: str) -> bool:
    """A long text's span has the canonical length and no obligation word more often than the canonical text."""
    if rule.profile is None:
        return True
    ranges, allowed = rule.profile
    counts: dict[str, int] = {}
    for m in TAIL.finditer(span):
        counts[m.group(0)] = counts.get(m.group(0), 0) + 1
    limits = dict(allowed)
    words = len(re.findall(r"[a-z0-9]+", span))
    return any(low <= words <= high for low, high in ranges) and all(n <= limits.get(t, 0) for t, n in counts.items())


def _match(rule: Rule, norm: str, at: int) -> int | None:
    """End offset of the rule's clauses matched in order from ``at``, or None."""
    pos = at
    for i, (clause, required) in enumerate(rule.clauses):
        pattern = _re(clause)
        m = pattern.match(norm, at) if i == 0 else pattern.search(norm, pos, min(len(norm), pos + rule.max_gap + 4000))
        if m and i > 0 and (m.start() - pos > rule.max_gap or not _gap_ok(norm[pos:m.start()], rule.strict, rule.weak)):
            m = None
        if m is None:
            if required:
                return None
            continue
        pos = m.end()
    return pos if _fits(rule, norm[at:pos]) else None


def _scope(preamble: str) -> tuple[str, ...]:
    """Paths a section's preamble limits it to, when it names them."""
    found = [m.group(1) for m in SCOPE.finditer(preamble)]
    if not found and re.search(r"\b(licensed|distributed|covered|released) (as|under)\b|following licen", preamble):
        found = [m.group(1) for m in SCOPE_PATH.finditer(preamble) if not m.group(1).startswith(("http", "www"))]
    return tuple(sorted({p.rstrip("/*").rstrip("/") for p in found if "/" in p or p.endswith("/")} - {""}))


def _gpl(m: re.Match) -> str:
    base = {"lesser ": "LGPL", "library ": "LGPL", "affero ": "AGPL", None: "GPL"}[m.group("kind")]
    ver = m.group("ver") if "." in m.group("ver") else m.group("ver") + ".0"
    if base == "LGPL" and ver == "2.0" and m.group("kind") == "lesser ":
        ver = "2.1"
    return f"{base}-{ver}-{'or-later' if m.group('later') else 'only'}"


def _base(spdx: str) -> str:
    return re.sub(r"-(only|or-later)$", "", spdx)


def sections(text: str, limit: int = 400_000, whole_file: bool = True) -> list[Section]:
    """Every license section of a text, in order of appearance. ``whole_file`` is False for a
    file's header: there a restriction counts only next to a grant, and no grant is no finding."""
    norm = normalize(text[:limit])
    anchors = sorted((m.start(), i) for i, (_, rx) in enumerate(_FAMILY_ANCHORS)
                     if all(w in norm for w in _LITERALS[i]) for m in rx.finditer(norm))
    found: list[Section] = []
    merged: list[int] = []
    consumed = 0
    for start, index in anchors:
        if start < consumed:
            continue
        family = FAMILIES[index]
        section = None
        if family.name == "GPL-header":
            m = GPL_HEADER.match(norm, start)
            if m:
                section = Section(_gpl(m), f"notice:{_base(_gpl(m)).split('-')[0].lower()}", start, m.end())
        else:
            for rule in family.rules:
                end = _match(rule, norm, start)
                if end is not None:
                    section = Section(rule.spdx, rule.rule, start, end, permissive=rule.permissive)
                    break
            if section is None and family.fallback:
                end = _re(family.anchor).match(norm, start).end()
                section = Section(family.fallback, f"text:{family.name.lower()}-variant", start, end)
        if section is None:
            continue
        if "netbsd foundation" in norm[max(0, start - 300):start] and section.spdx == "BSD-2-Clause":
            section = Section("BSD-2-Clause-NetBSD", "text:bsd-2-netbsd", section.start, section.end)
        if found and _base(found[-1].spdx) == _base(section.spdx) and (not found[-1].permissive or section.rule.startswith("notice:")):
            consumed = max(consumed, section.end)
            merged.append(section.end)
            continue
        preamble = norm[found[-1].end if found else 0:start][-600:]
        found.append(Section(section.spdx, section.rule, section.start, section.end, _scope(preamble), section.permissive))
        consumed = section.end
    for m in CC.finditer(norm):
        kind = "SA" if (m.group("kind") or "").startswith("share") else ("ND" if m.group("kind") else "")
        spdx = "-".join(p for p in ("CC-BY", "NC" if m.group("nc") else "", kind, m.group("ver")) if p)
        found.append(Section(spdx, "text:creative-commons", m.start(), m.end()))
    found.sort(key=lambda s: s.start)
    if any(s.permissive for s in found) or (whole_file and not found):
        outside = norm
        for s in found:
            if s.permissive and s.rule in STRICT_RULES:
                outside = outside[:s.start] + " " * (s.end - s.start) + outside[s.end:]
        hit = RESTRICTION.search(_COPYRIGHT_LINE.sub(" ", outside.replace(" ¶ ", "\n")))
        if not hit and found:
            last = max([s.end for s in found] + merged)
            edges = norm[:found[0].start] + " ¶ " + norm[last:][:3000]
            hit = TAIL.search(_COPYRIGHT_LINE.sub(" ", edges.replace(" ¶ ", "\n")))
        if hit:
            found.append(Section("LicenseRef-added-restriction", f"text:restriction:{hit.group(0)}", hit.start(), hit.end()))
        elif not found and PROPRIETARY.search(norm):
            found.append(Section("LicenseRef-proprietary", "text:proprietary", 0, 0))
    return found


DUAL = re.compile(r"dual[- ]licen[cs]|(licensed|available|distributed) under (the terms of )?(either|one) of|"
                  r"licensed under either|(?<!\()\bat your (option|choice)\b(?! any later| later)")


def says_dual(text: str) -> bool:
    """Whether a notice offers its licenses as alternatives (``OR``) rather than all at once."""
    return bool(DUAL.search(normalize(text[:20_000])))
