"""What is known about a benchmark's overlap with training data, stated on every result.

Two sources: ``eval_hashes`` says which items decontamination checked the corpus against; the
``contamination`` report says which of them shared n-grams with training documents and what
was done (removed or redacted). An item absent from ``eval_hashes`` was never checked, and
the note says so rather than calling it clean.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ledgers.eval_results import read_rows
from schemas.settings import LakeSettings

SYNTHETIC = "synthetic: generated for this run from a seed, cannot occur in training data"


@dataclass(frozen=True)
class ContaminationNote:
    note: str
    contaminated: dict[str, str]


@dataclass
class ContaminationIndex:
    hashed: dict[str, set[str]] = field(default_factory=dict)
    report: dict[str, dict[str, str]] = field(default_factory=dict)

    @classmethod
    def load(cls, settings: LakeSettings) -> "ContaminationIndex":
        index = cls()
        for r in read_rows(settings, "eval_hashes"):
            index.hashed.setdefault(r["benchmark"], set()).add(r["item_id"])
        for r in read_rows(settings, "contamination"):
            index.report.setdefault(r["benchmark"], {})[r["item_id"]] = r["action"]
        return index

    def check(self, benchmark: str, item_ids: list[str]) -> ContaminationNote:
        ids = set(item_ids)
        checked = ids & self.hashed.get(benchmark, set())
        report = self.report.get(benchmark, {})
        found = {i: report[i] for i in sorted(ids) if i in report}
        if not checked:
            return ContaminationNote(f"NOT CHECKED: no eval_hashes for {benchmark!r} items (add the benchmark to EvalHashConfig.sources "
                                     "and rerun decontamination)", found)
        parts = [f"checked {len(checked)}/{len(ids)} items against eval_hashes and the contamination report"]
        if found:
            listed = ", ".join(f"{i} ({a})" for i, a in list(found.items())[:5]) + (" ..." if len(found) > 5 else "")
            parts.append(f"{len(found)} overlapped training documents: {listed}")
        else:
            parts.append("no overlap")
        if len(checked) < len(ids):
            parts.append(f"{len(ids) - len(checked)} items unchecked")
        return ContaminationNote("; ".join(parts), found)
