"""What is known about a benchmark's overlap with training data, stated on every result.

Two sources: ``eval_hashes`` says which items decontamination checked the corpus against; the
``contamination`` report says which of them shared n-grams with training documents and what
was done (removed or redacted). An item absent from ``eval_hashes`` was never checked, and
the note says so rather than calling it clean.

Both are read at the Delta versions the checkpoint's own training data was packed from (its
run's manifest records them; an SFT/DPO checkpoint is traced to its base checkpoint), so a
later decontamination run, stricter or looser, never rewrites what an old checkpoint saw.
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


@dataclass(frozen=True)
class TrainingData:
    """The manifest a checkpoint's pretraining read, with the table versions it was packed from."""

    manifest_id: str
    versions: dict[str, int]
    via: tuple[str, ...] = ()


def training_data(settings: LakeSettings, checkpoint_id: str, depth: int = 8) -> TrainingData | None:
    """checkpoint → its run → the run's manifest; a post-training run's dataset → its base
    checkpoint, and so on. None when any link is not in the lake (an outside checkpoint)."""
    ckpt = next(iter(read_rows(settings, "checkpoints", "checkpoint_id = ?", (checkpoint_id,))), None)
    run = ckpt and next(iter(read_rows(settings, "training_runs", "run_id = ?", (ckpt["run_id"],))), None)
    if not run or depth == 0:
        return None
    shards = read_rows(settings, "manifests", "manifest_id = ?", (run["manifest_id"],))
    if shards:
        return TrainingData(run["manifest_id"], dict(shards[0]["input_versions"]))
    data = next(iter(read_rows(settings, "post_training_datasets", "dataset_id = ?", (run["manifest_id"],))), None)
    base = data and training_data(settings, data["base_checkpoint_id"], depth - 1)
    return TrainingData(base.manifest_id, base.versions, (run["manifest_id"], *base.via)) if base else None


@dataclass
class ContaminationIndex:
    hashed: dict[str, set[str]] = field(default_factory=dict)
    report: dict[str, dict[str, str]] = field(default_factory=dict)
    basis: str = ""
    decontaminated: bool = True

    @classmethod
    def load(cls, settings: LakeSettings, versions: dict[str, int] | None = None, basis: str = "") -> "ContaminationIndex":
        """The latest eval_hashes and report, or those at ``versions``."""
        index = cls(basis=basis)
        if versions is not None and not {"eval_hashes", "contamination"} <= set(versions):
            index.decontaminated = False
            return index
        for r in read_rows(settings, "eval_hashes", version=(versions or {}).get("eval_hashes")):
            index.hashed.setdefault(r["benchmark"], set()).add(r["item_id"])
        for r in read_rows(settings, "contamination", version=(versions or {}).get("contamination")):
            index.report.setdefault(r["benchmark"], {})[r["item_id"]] = r["action"]
        return index

    @classmethod
    def for_checkpoint(cls, settings: LakeSettings, checkpoint_id: str) -> "ContaminationIndex":
        """The index as of the checkpoint's own training data; the latest one, said so, for a
        checkpoint whose data the lake cannot trace."""
        data = training_data(settings, checkpoint_id)
        if data is None:
            return cls.load(settings, basis=f"the latest report: the lake does not trace {checkpoint_id}'s training data")
        v = data.versions
        via = f" (via {' → '.join(data.via)})" if data.via else ""
        where = f"eval_hashes@v{v['eval_hashes']} and contamination@v{v['contamination']}" if "contamination" in v and "eval_hashes" in v \
            else "no decontamination tables"
        try:
            return cls.load(settings, v, f"manifest {data.manifest_id}{via}: {where}")
        except Exception as err:  # noqa: BLE001 - delta-rs raises several types for a version past the time-travel window
            return cls.load(settings, basis=f"the latest report: manifest {data.manifest_id}'s {where} can no longer be read "
                                            f"({type(err).__name__}; vacuumed past the time-travel window?)")

    def check(self, benchmark: str, item_ids: list[str]) -> ContaminationNote:
        ids = set(item_ids)
        basis = f" [{self.basis}]" if self.basis else ""
        if not self.decontaminated:
            return ContaminationNote(f"NOT CHECKED: the training data was packed before any decontamination run{basis}", {})
        checked = ids & self.hashed.get(benchmark, set())
        report = self.report.get(benchmark, {})
        found = {i: report[i] for i in sorted(ids) if i in report}
        if not checked:
            return ContaminationNote(f"NOT CHECKED: no eval_hashes for {benchmark!r} items (add the benchmark to EvalHashConfig.sources "
                                     f"and rerun decontamination){basis}", found)
        parts = [f"checked {len(checked)}/{len(ids)} items against eval_hashes and the contamination report"]
        if found:
            listed = ", ".join(f"{i} ({a})" for i, a in list(found.items())[:5]) + (" ..." if len(found) > 5 else "")
            parts.append(f"{len(found)} overlapped training documents: {listed}")
        else:
            parts.append("no overlap")
        if len(checked) < len(ids):
            parts.append(f"{len(ids) - len(checked)} items unchecked")
        return ContaminationNote("; ".join(parts) + basis, found)
