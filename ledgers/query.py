"""DuckDB over the lake: every Delta table is a view named after the table.

DuckDB's own delta extension downloads itself at run time, which this project does not allow,
so tables are read through the ``deltalake`` package (delta-rs) as Arrow datasets: DuckDB pushes
projections and filters into the scan and nothing is copied up front. Any table can be pinned to
an older version for time travel.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
from deltalake import DeltaTable

from schemas.settings import LakeSettings
from schemas.tables import TABLES


class QueryError(RuntimeError):
    pass


@dataclass(frozen=True)
class TableInfo:
    name: str
    uri: str
    version: int
    rows: int


def table_names(settings: LakeSettings) -> list[str]:
    """Known tables plus any other Delta table found under a local root. Lineage rows this process
    holds back (``ledgers.lake``, loaded only where Spark writes) are written first."""
    if (writer := sys.modules.get("ledgers.lake")) is not None:
        writer.flush_held_lineage(settings)
    names = set(TABLES)
    root = Path(settings.uri)
    if "://" not in settings.uri and root.is_dir():
        names |= {p.parent.name for p in root.glob("*/_delta_log")}
    return sorted(n for n in names if DeltaTable.is_deltatable(settings.table_uri(n), storage_options=settings.storage_options or None))


def open_table(settings: LakeSettings, name: str, version: int | None = None) -> DeltaTable:
    uri = settings.table_uri(name)
    if not DeltaTable.is_deltatable(uri, storage_options=settings.storage_options or None):
        raise QueryError(f"no Delta table {name!r} at {uri}; `irm tables` lists what the lake holds")
    try:
        return DeltaTable(uri, version=version, storage_options=settings.storage_options or None)
    except Exception as err:  # delta-rs raises several types for a missing version
        raise QueryError(f"{name} has no version {version}: {err}") from err


def list_tables(settings: LakeSettings) -> list[TableInfo]:
    infos = []
    for name in table_names(settings):
        table = open_table(settings, name)
        infos.append(TableInfo(name, settings.table_uri(name), table.version(), table.to_pyarrow_dataset().count_rows()))
    return infos


def tables_arrow(settings: LakeSettings) -> pa.Table:
    """``list_tables`` as an Arrow table, for printing next to query results."""
    return pa.Table.from_pylist([vars(i) for i in list_tables(settings)], schema=pa.schema(
        [("name", pa.string()), ("uri", pa.string()), ("version", pa.int64()), ("rows", pa.int64())]))


def connect(settings: LakeSettings, as_of: dict[str, int] | None = None) -> duckdb.DuckDBPyConnection:
    """An in-process DuckDB with one view per lake table (at ``as_of[table]`` where given)."""
    as_of = dict(as_of or {})
    names = table_names(settings)
    unknown = sorted(set(as_of) - set(names))
    if unknown:
        raise QueryError(f"--as-of names tables the lake does not hold: {unknown}; tables are {names}")
    con = duckdb.connect()
    for name in names:
        dataset = open_table(settings, name, as_of.get(name)).to_pyarrow_dataset()
        con.register(name, dataset)
    return con


def run_sql(settings: LakeSettings, sql: str, as_of: dict[str, int] | None = None) -> pa.Table:
    con = connect(settings, as_of)
    try:
        return con.sql(sql).to_arrow_table()
    except duckdb.Error as err:
        raise QueryError(f"DuckDB could not run the query: {err}") from err
    finally:
        con.close()
