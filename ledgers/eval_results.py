"""The ``evals``, ``eval_items`` and ``scorecard`` tables: one writer each.

A rerun of the same (checkpoint, benchmark, seed, config) replaces its own rows and nothing
else, so the tables hold exactly one answer per question asked.
"""

from __future__ import annotations

import duckdb
from deltalake import DeltaTable

from ledgers.lake import Lake, WriteResult
from ledgers.query import open_table
from schemas.settings import LakeSettings
from schemas.evals import EvalItemResult, EvalResult, ScorecardRow


def _in(column: str, values: list[str]) -> str:
    return f"{column} IN (" + ", ".join("'" + v.replace("'", "''") + "'" for v in sorted(set(values))) + ")"


def write_evals(lake: Lake, results: list[EvalResult], items: list[EvalItemResult], run_id: str | None = None,
                partition: str | None = None) -> tuple[WriteResult, WriteResult]:
    evals = lake.merge(lake.frame("evals", results), "evals", keys=["eval_id"], run_id=run_id, partition=partition)
    runs = [i.eval_run for i in items]
    lake.ensure("eval_items")
    per_item = lake.write(lake.frame("eval_items", items), "eval_items", mode="overwrite", replace_where=_in("eval_run", runs) if runs else "false",
                          run_id=run_id, partition=partition)
    return evals, per_item


def write_scorecard(lake: Lake, rows: list[ScorecardRow], run_id: str | None = None) -> WriteResult:
    checkpoints = [r.checkpoint_id for r in rows]
    return lake.write(lake.frame("scorecard", rows), "scorecard", mode="overwrite",
                      replace_where=_in("checkpoint_id", checkpoints) if checkpoints else "false", run_id=run_id)


def read_rows(settings: LakeSettings, table: str, where: str = "", params: tuple = (), version: int | None = None) -> list[dict]:
    """Rows of a small table (at ``version``, else the latest) through delta-rs and DuckDB (no
    Spark job for a lookup); [] when the table does not exist yet."""
    uri = settings.table_uri(table)
    if not DeltaTable.is_deltatable(uri, storage_options=settings.storage_options or None):
        return []
    con = duckdb.connect()
    try:
        con.register("t", open_table(settings, table, version).to_pyarrow_dataset())
        return con.sql(f"SELECT * FROM t {'WHERE ' + where if where else ''}", params=list(params)).to_arrow_table().to_pylist()
    finally:
        con.close()
