"""Lineage from an engine (or a checkpoint, a run, a manifest) down to the landing drops, read with DuckDB.

engine → checkpoint → training run → manifest (or, for SFT/DPO, the post-training dataset → the
distilled tables, the teachers and the base checkpoint's own chain) → the Delta version of every table the shards were built
from (with the commit's operation and the run that wrote it) → the landing drops that
``drops`` held at its recorded version.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ledgers.query import QueryError, connect, open_table
from schemas.settings import LakeSettings


@dataclass
class Node:
    kind: str
    id: str
    detail: dict[str, object] = field(default_factory=dict)
    children: list["Node"] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"kind": self.kind, "id": self.id, "detail": self.detail, "children": [c.as_dict() for c in self.children]}


def _rows(con, query: str, *params) -> list[dict]:
    cursor = con.execute(query, list(params))
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def _one(con, table: str, key: str, value: str) -> dict | None:
    try:
        rows = _rows(con, f"SELECT * FROM {table} WHERE {key} = ?", value)
    except Exception:  # the table does not exist yet
        return None
    return rows[0] if rows else None


def _manifest(con, settings: LakeSettings, manifest_id: str) -> Node:
    shards = _rows(con, "SELECT * FROM manifests WHERE manifest_id = ? ORDER BY uri", manifest_id)
    if not shards:
        raise QueryError(f"manifest {manifest_id} is not in the manifests table")
    versions = dict(shards[0]["input_versions"])
    node = Node("manifest", manifest_id, {"shards": len(shards), "tokens": sum(s["tokens"] for s in shards),
                                          "tokenizer_id": shards[0]["tokenizer_id"], "seq_len": shards[0]["seq_len"]})
    for table, version in sorted(versions.items()):
        commit = _rows(con, "SELECT operation, rows, run_id FROM lineage WHERE \"table\" = ? AND version = ?", table, version)
        table_node = Node("table", f"{table}@v{version}", commit[0] if commit else {"note": "no lineage row (written outside the lake helper)"})
        if table == "drops":
            drops = open_table(settings, "drops", version).to_pyarrow_dataset().to_table(
                columns=["drop_id", "name", "documents", "rejects", "landed_at"]).to_pylist()
            table_node.children = [Node("drop", d["drop_id"], {k: d[k] for k in ("name", "documents", "rejects", "landed_at")})
                                   for d in sorted(drops, key=lambda d: d["drop_id"])]
        node.children.append(table_node)
    return node


def _table_version(con, table: str, version: int) -> Node:
    commit = _rows(con, "SELECT operation, rows, run_id FROM lineage WHERE \"table\" = ? AND version = ?", table, version)
    return Node("table", f"{table}@v{version}", commit[0] if commit else {"note": "no lineage row (written outside the lake helper)"})


def _post_training_data(con, settings: LakeSettings, data: dict) -> Node:
    """An SFT/DPO dataset → the distilled tables' versions, the teachers, and the base checkpoint (down to its drops)."""
    node = Node("post_training_data", data["dataset_id"], {"kind": data["kind"], "examples": data["examples"],
                                                            "held_out": data["held_out"], "tasks": len(data["task_ids"])})
    node.children += [_table_version(con, t, v) for t, v in sorted(dict(data["input_versions"]).items())]
    node.children += [Node("teacher", t) for t in data["teachers"]]
    node.children.append(lineage(settings, data["base_checkpoint_id"]))
    return node


def _run(con, settings: LakeSettings, run: dict) -> Node:
    detail = {k: run[k] for k in ("status", "executor", "config_hash", "code_version", "experiment_id", "run_dir")}
    data = _one(con, "post_training_datasets", "dataset_id", run["manifest_id"])
    source = _post_training_data(con, settings, data) if data is not None else _manifest(con, settings, run["manifest_id"])
    return Node("training_run", run["run_id"], detail, [source])


def lineage(settings: LakeSettings, item_id: str) -> Node:
    con = connect(settings)
    if (engine := _one(con, "engine_builds", "engine_id", item_id)) is not None:
        detail = {k: engine[k] for k in ("status", "executor", "container_image", "spec_uri", "spec_sha256", "export_id")}
        return Node("engine", item_id, detail, [lineage(settings, engine["checkpoint_id"])])
    if (ckpt := _one(con, "checkpoints", "checkpoint_id", item_id)) is not None:
        run = _one(con, "training_runs", "run_id", ckpt["run_id"])
        detail = {k: ckpt[k] for k in ("step", "tokens_seen", "loss", "sha256", "uri")}
        return Node("checkpoint", item_id, detail, [_run(con, settings, run)] if run else [])
    if (run := _one(con, "training_runs", "run_id", item_id)) is not None:
        return _run(con, settings, run)
    if _one(con, "manifests", "manifest_id", item_id) is not None:
        return _manifest(con, settings, item_id)
    raise QueryError(f"{item_id!r} is not an engine id, checkpoint id, training run id or manifest id in this lake")
