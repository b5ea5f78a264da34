"""``irm``: the lake from a terminal. ``irm tables`` and ``irm sql "SELECT ..."`` over DuckDB."""

from __future__ import annotations

import csv
import datetime as dt
import json
import sys
from enum import Enum
from typing import Optional

import pyarrow as pa
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ledgers.lineage import Node, lineage as lineage_of
from ledgers.query import QueryError, run_sql, tables_arrow
from schemas.settings import IrmSettings

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Query the irm lakehouse (Delta tables) with DuckDB.")


class Format(str, Enum):
    table = "table"
    csv = "csv"
    json = "json"


def _settings(lake: Optional[str]) -> IrmSettings:
    settings = IrmSettings()
    if lake:
        settings = settings.model_copy(update={"lake": settings.lake.model_copy(update={"root": lake.rstrip("/")})})
    return settings


def _jsonable(value):
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return value


def emit(table: pa.Table, fmt: Format, title: str | None = None) -> None:
    rows = table.to_pylist()
    if fmt is Format.json:
        json.dump([{k: _jsonable(v) for k, v in r.items()} for r in rows], sys.stdout, indent=1, default=str)
        sys.stdout.write("\n")
    elif fmt is Format.csv:
        writer = csv.writer(sys.stdout)
        writer.writerow(table.column_names)
        writer.writerows([[_jsonable(r[c]) for c in table.column_names] for r in rows])
    else:
        view = Table(title=title, show_lines=False)
        for name in table.column_names:
            view.add_column(name, overflow="fold")
        for r in rows:
            view.add_row(*[Text("NULL" if r[c] is None else str(_jsonable(r[c]))) for c in table.column_names])  # values are not markup
        Console(width=200).print(view)


def _parse_as_of(values: list[str]) -> dict[str, int]:
    as_of = {}
    for item in values:
        name, sep, version = item.partition("=")
        if not sep or not version.isdigit():
            raise typer.BadParameter(f"--as-of {item!r}: expected TABLE=VERSION, e.g. raw_documents=3")
        as_of[name] = int(version)
    return as_of


@app.command()
def tables(
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="table, csv or json"),
    lake: Optional[str] = typer.Option(None, help="lake root (default: IRM_LAKE__ROOT or lake/)"),
) -> None:
    """Every lake table with its location, current version and row count."""
    emit(tables_arrow(_settings(lake).lake), fmt, "lake tables")


@app.command()
def sql(
    query: str = typer.Argument(..., help='SQL over the lake tables, e.g. "SELECT reason, count(*) FROM rejects GROUP BY 1"'),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="table, csv or json"),
    as_of: list[str] = typer.Option([], "--as-of", help="time travel: TABLE=VERSION (repeatable)"),
    lake: Optional[str] = typer.Option(None, help="lake root (default: IRM_LAKE__ROOT or lake/)"),
) -> None:
    """Run DuckDB SQL with every lake table registered as a view of the same name."""
    try:
        result = run_sql(_settings(lake).lake, query, _parse_as_of(as_of))
    except QueryError as err:
        typer.echo(f"irm sql: {err}", err=True)
        raise typer.Exit(2) from None
    emit(result, fmt)


def _tree(node: Node):
    from rich.tree import Tree

    def label(n: Node) -> str:
        details = ", ".join(f"{k}={_jsonable(v)}" for k, v in n.detail.items() if v is not None)
        return f"[bold]{n.kind}[/] {n.id}" + (f"  [dim]{details}[/]" if details else "")

    def add(tree, n: Node):
        for child in n.children:
            add(tree.add(label(child)), child)

    root = Tree(label(node))
    add(root, node)
    return root


@app.command()
def lineage(
    item_id: str = typer.Argument(..., help="a checkpoint id, training run id or manifest id"),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="table (a tree) or json"),
    lake: Optional[str] = typer.Option(None, help="lake root (default: IRM_LAKE__ROOT or lake/)"),
) -> None:
    """The chain from a checkpoint down to the manifest, the Delta table versions and the landing drops."""
    try:
        node = lineage_of(_settings(lake).lake, item_id)
    except QueryError as err:
        typer.echo(f"irm lineage: {err}", err=True)
        raise typer.Exit(2) from None
    if fmt == Format.json:
        typer.echo(json.dumps(node.as_dict(), default=_jsonable, indent=1))
    else:
        Console(width=160).print(_tree(node))


@app.command()
def retrieve(
    query: str = typer.Argument(..., help="what to look for"),
    k: int = typer.Option(8, "-k", help="passages to return"),
    mode: str = typer.Option("hybrid", help="hybrid (dense + BM25, RRF), dense or bm25"),
    multi_hop: bool = typer.Option(True, "--multi-hop/--single-hop"),
    min_trust: float = typer.Option(0.0, help="leave out sources trusted less"),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="table or json"),
    lake: Optional[str] = typer.Option(None, help="lake root (default: IRM_LAKE__ROOT or lake/)"),
) -> None:
    """Search the Tier-1 memory (Milvus) as the model's retrieval tool does: passages with provenance and scores."""
    from serving.memory.cli import run_retrieve

    raise typer.Exit(run_retrieve(_settings(lake), query, k, mode, multi_hop, min_trust, fmt == Format.json))


@app.command()
def report(
    out: Optional[str] = typer.Option(None, help="folder for the report (default: <lake>/artifacts/reports)"),
    notebook: bool = typer.Option(True, help="also write the executed notebook"),
    lake: Optional[str] = typer.Option(None, help="lake root (default: IRM_LAKE__ROOT or lake/)"),
) -> None:
    """Write the programme report (one HTML file, and the same sections as an executed notebook)."""
    from pathlib import Path

    from ledgers.report import write_report

    result = write_report(_settings(lake), Path(out) if out else None, notebook=notebook)
    typer.echo(f"report {result.report_id}: {result.html_path}" + (f" and {result.notebook_path}" if result.notebook_path else ""))


if __name__ == "__main__":
    app()
