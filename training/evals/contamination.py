"""What is known about a benchmark's overlap with training data, stated on every result.

Two sources: ``eval_hashes`` says which items decontamination checked the corpus against; the
``contamination`` report says which of them shared n-grams with training documents and what
was done (removed or redacted). An item absent from ``eval_hashes`` was never checked, and
the note says so rather than calling it clean.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql import functions as F

from ledgers.lake import Lake

SYNTHETIC = "synthetic: generated for this run from a seed, cannot occur in training data"


@dataclass(frozen=True)
class ContaminationNote:
    note: str
    contaminated: dict[str, str]

    @property
    def count(self) -> int:
        return len(self.contaminated)


def check(lake: Lake, benchmark: str, item_ids: list[str]) -> ContaminationNote:
    hashed = {r["item_id"] for r in lake.read("eval_hashes").where(F.col("benchmark") == benchmark).select("item_id").distinct().collect()}
    report = {r["item_id"]: r["action"] for r in lake.read("contamination").where(F.col("benchmark") == benchmark)
              .select("item_id", "action").distinct().collect()}
    ids = set(item_ids)
    checked = ids & hashed
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
