"""The memory benchmark's corpus: installed sources and docs with planted synthetic facts.

Facts are sentences with made-up names, so nothing in the real text answers them:
single-hop ("the Vormak relay listens on port 4417"), two-hop (a bridge "the Quilen gauge is
operated by the service zarth_mell_4821" in one document and "zarth_mell_4821 rotates its
signing keys every 37 hours" in another), and distractors (near-identical names with other
values) for each. All choices come from one seeded generator.
"""

from __future__ import annotations

import hashlib
import random
import sysconfig
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

SUFFIXES = {".py", ".md", ".rst", ".txt"}
SYLL = ["vor", "mak", "qui", "len", "zar", "th", "mel", "dra", "kos", "ven", "tal", "rix", "bel", "oru", "fen", "gal", "sto", "nir", "pax", "ulm"]
NOUNS = ["relay", "gauge", "ledger", "beacon", "turbine", "archive", "router", "furnace", "scanner", "valve"]
SINGLE = [
    ("the {e} listens on port {v}", "Which port does the {e} listen on?", "port"),
    ("the {e} was calibrated by technician {v}", "Who calibrated the {e}?", "name"),
    ("the {e} stores its backups in the bucket {v}", "In which bucket does the {e} keep its backups?", "bucket"),
    ("the {e} has a retention limit of {v} days", "How many days of retention does the {e} allow?", "number"),
]
BRIDGE = "the {e} is operated by the service {i}"
TARGET = "{i} rotates its signing keys every {v} hours"
TWO_HOP_Q = "How often does the service that operates the {e} rotate its signing keys?"


@dataclass
class Fact:
    fact_id: str
    kind: str  # single, bridge, target, distractor
    statement: str
    path: str
    byte_start: int = -1
    byte_end: int = -1
    doc_id: str = ""


@dataclass
class Question:
    qid: str
    kind: str  # single or two-hop
    text: str
    answer: str  # fact_id of the fact that answers it
    bridge: str = ""


def source_files(roots: list[Path] | None = None) -> list[Path]:
    roots = roots or [Path(sysconfig.get_paths()["stdlib"]), Path(sysconfig.get_paths()["purelib"])]
    out = []
    for root in roots:
        for p in sorted(root.rglob("*")):
            if p.suffix in SUFFIXES and "__pycache__" not in p.parts and p.is_file() and 200 <= p.stat().st_size <= 1_000_000:
                out.append(p)
    return out


def read_documents(files: list[Path], seed: int) -> Iterator[tuple[str, str]]:
    """(path, text) in a seeded order, exact duplicates and non-UTF-8 files left out; read lazily."""
    seen = set()
    for p in sorted(files, key=lambda p: hashlib.sha256(f"{seed}:{p}".encode()).hexdigest()):
        try:
            text = p.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        h = hashlib.sha256(text.encode()).hexdigest()
        if h in seen or not text.strip():
            continue
        seen.add(h)
        yield str(p), text


class Names:
    def __init__(self, rng: random.Random):
        self.rng, self.used = rng, set()

    def word(self) -> str:
        while True:
            w = "".join(self.rng.choice(SYLL) for _ in range(2)).capitalize() + self.rng.choice(SYLL)
            if w not in self.used:
                self.used.add(w)
                return w

    def ident(self) -> str:
        while True:
            i = f"{self.rng.choice(SYLL)}{self.rng.choice(SYLL)}_{self.rng.choice(SYLL)}{self.rng.choice(SYLL)}_{self.rng.randint(100, 9999)}"
            if i not in self.used:
                self.used.add(i)
                return i

    def value(self, kind: str) -> str:
        r = self.rng
        if kind == "port":
            return str(r.randint(1024, 65000))
        if kind == "name":
            return self.word() + " " + self.word()
        if kind == "bucket":
            return f"{self.word().lower()}-{self.word().lower()}-{r.randint(10, 99)}"
        return str(r.randint(3, 999))


def plant(docs: list[tuple[str, str]], singles: int, two_hops: int, distractors: int, seed: int) -> tuple[list[tuple[str, str]], list[Fact], list[Question]]:
    """Insert the facts at seeded line boundaries of seeded documents; every fact of a question
    and each of its distractors goes into a different document where there are enough."""
    rng = random.Random(seed)
    names = Names(rng)
    facts: list[Fact] = []
    questions: list[Question] = []
    for n in range(singles):
        stmt, q, vk = SINGLE[n % len(SINGLE)]
        noun = rng.choice(NOUNS)
        e = f"{names.word()} {noun}"
        facts.append(Fact(f"s{n}", "single", stmt.format(e=e, v=names.value(vk)), ""))
        questions.append(Question(f"s{n}", "single", q.format(e=e), f"s{n}"))
        for d in range(distractors):
            facts.append(Fact(f"s{n}d{d}", "distractor", stmt.format(e=f"{names.word()} {noun}", v=names.value(vk)), ""))
    for n in range(two_hops):
        noun = rng.choice(NOUNS)
        e, i = f"{names.word()} {noun}", names.ident()
        facts.append(Fact(f"t{n}b", "bridge", BRIDGE.format(e=e, i=i), ""))
        facts.append(Fact(f"t{n}", "target", TARGET.format(i=i, v=rng.randint(2, 400)), ""))
        questions.append(Question(f"t{n}", "two-hop", TWO_HOP_Q.format(e=e), f"t{n}", bridge=f"t{n}b"))
        for d in range(distractors):
            i2 = names.ident()
            facts.append(Fact(f"t{n}d{d}b", "distractor", BRIDGE.format(e=f"{names.word()} {noun}", i=i2), ""))
            facts.append(Fact(f"t{n}d{d}", "distractor", TARGET.format(i=i2, v=rng.randint(2, 400)), ""))
    hosts = rng.sample(range(len(docs)), min(len(docs), len(facts)))
    by_host: dict[int, list[Fact]] = {}
    for k, f in enumerate(facts):
        by_host.setdefault(hosts[k % len(hosts)], []).append(f)
    out = list(docs)
    for h, fs in by_host.items():
        path, text = docs[h]
        lines = text.split("\n")
        for f in fs:
            f.path = path
            line = f.statement + "."
            line = ("# Note: " + line) if path.endswith(".py") else ("Note: " + line)
            at = rng.randint(0, len(lines))
            lines.insert(at, line)
        out[h] = (path, "\n".join(lines))
    for h, fs in by_host.items():
        text = out[h][1]
        raw = text.encode("utf-8")
        for f in fs:
            line = f.statement + "."
            pos = raw.find(line.encode("utf-8"))
            f.byte_start, f.byte_end = pos, pos + len(line.encode("utf-8"))
    return out, facts, questions
