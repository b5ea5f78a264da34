"""The programme report: one self-contained HTML file (and an executed notebook with the same
sections) built from lake tables only, so anyone can rebuild it from a lake and get the same bytes.

Every section says plainly when its tables do not exist yet instead of leaving a hole: a report
that hides a missing stage would read as a stage that passed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import json
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from ledgers import plots
from ledgers.query import connect, list_tables, table_names
from schemas.settings import IrmSettings, LakeSettings


@dataclass
class Section:
    title: str
    notes: list[str] = field(default_factory=list)
    tables: list[tuple[str, pa.Table]] = field(default_factory=list)
    figures: list[tuple[str, bytes]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.tables and not self.figures

    def html(self) -> str:
        parts = [f"<section><h2>{html.escape(self.title)}</h2>"]
        parts += [f"<p>{html.escape(note)}</p>" for note in self.notes]
        for caption, table in self.tables:
            parts.append(_html_table(caption, table))
        for alt, png in self.figures:
            parts.append(f'<figure><img alt="{html.escape(alt)}" src="{plots.data_uri(png)}"><figcaption>{html.escape(alt)}</figcaption></figure>')
        parts.append("</section>")
        return "\n".join(parts)


def _fmt(value) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, float):
        return f"{value:,.4g}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return str(value)


def _html_table(caption: str, table: pa.Table, max_rows: int = 50) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in table.column_names)
    rows = table.slice(0, max_rows).to_pylist()
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_fmt(r[c]))}</td>" for c in table.column_names) + "</tr>" for r in rows)
    more = f"<p class='more'>{table.num_rows - max_rows:,} more rows: query them with irm sql</p>" if table.num_rows > max_rows else ""
    return f"<table><caption>{html.escape(caption)}</caption><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}"


def markdown_table(table: pa.Table, max_rows: int = 30) -> str:
    """The same rows as Dagster markdown metadata."""
    lines = ["| " + " | ".join(table.column_names) + " |", "|" + "---|" * table.num_columns]
    for r in table.slice(0, max_rows).to_pylist():
        lines.append("| " + " | ".join(_fmt(r[c]).replace("|", "\\|") for c in table.column_names) + " |")
    return "\n".join(lines)


class _Lake:
    """DuckDB over the lake, answering 'not materialized' instead of raising for absent tables."""

    def __init__(self, settings: LakeSettings):
        self.con = connect(settings)
        self.names = set(table_names(settings))

    def has(self, *tables: str) -> bool:
        return all(t in self.names for t in tables)

    def sql(self, query: str) -> pa.Table:
        return self.con.sql(query).to_arrow_table()

    def columns(self, table: str) -> set[str]:
        return {r[0] for r in self.con.sql(f"DESCRIBE {table}").fetchall()}


def _series(rows: list[dict], name, x: str, y: str) -> dict[str, tuple[list, list]]:
    """Rows (ordered by series, then x) as named (xs, ys) lines; ``name`` labels a row's series."""
    series: dict[str, tuple[list, list]] = {}
    for r in rows:
        xs, ys = series.setdefault(name(r), ([], []))
        xs.append(r[x])
        ys.append(r[y])
    return series


def _missing(section: Section, *tables: str) -> Section:
    section.notes.append(f"Not materialized yet: {', '.join(tables)}. Nothing in this section is measured.")
    return section


def config_section(settings: IrmSettings, versions: pa.Table) -> Section:
    s = Section("Configuration")
    public = settings.model_dump(mode="json", exclude={"spark": {"conf"}, "lake": {"storage_options"}})
    flat = []

    def walk(prefix: str, value):
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else k, v)
        else:
            flat.append({"setting": prefix, "value": json.dumps(value)})

    walk("", public)
    s.notes.append("Credential-bearing settings (Spark conf, lake storage options, API keys) are never shown.")
    s.tables.append(("settings", pa.Table.from_pylist(flat)))
    s.tables.append(("lake tables this report was built from (name, Delta version, rows)", versions.select(["name", "version", "rows"])))
    return s


def tokenizer_section(lake: _Lake) -> Section:
    s = Section("Tokenizer")
    if not lake.has("tokenizers"):
        return _missing(s, "tokenizers")
    s.tables.append(("registered tokenizers", lake.sql(
        "SELECT tokenizer_id, vocab_size, sample_documents, created_at FROM tokenizers ORDER BY created_at DESC")))
    if lake.has("tokenizer_metrics"):
        ab = lake.sql("SELECT * FROM tokenizer_metrics ORDER BY ALL")
        s.tables.append(("bytes/token and tokens/line, ours vs Llama-3 128k, on held-out text", ab))
        cols = lake.columns("tokenizer_metrics")
        if {"tokenizer", "domain", "bytes_per_token"} <= cols:
            rows = lake.sql("SELECT tokenizer || ' ' || domain AS k, bytes_per_token FROM tokenizer_metrics ORDER BY 1").to_pylist()
            s.figures.append(("bytes per token by tokenizer and domain (higher compresses better)",
                              plots.bar_chart([r["k"] for r in rows], [r["bytes_per_token"] for r in rows], "bytes/token", "bytes")))
    else:
        s.notes.append("tokenizer_metrics is not a lake table yet: the A/B numbers live in the tokenizer_metrics materialization only.")
    return s


def data_section(lake: _Lake) -> Section:
    s = Section("Data")
    if lake.has("manifests"):
        per_bucket = lake.sql("""
            SELECT bucket, split, sum(tokens)::BIGINT AS tokens, sum(documents)::BIGINT AS documents, count(*) AS shards
            FROM manifests WHERE manifest_id = (SELECT max_by(manifest_id, created_at) FROM manifests)
            GROUP BY ALL ORDER BY ALL""")
        s.tables.append(("tokens per bucket and split (newest manifest)", per_bucket))
        totals = lake.sql("""SELECT split_part(bucket, '/', 1) AS domain, sum(tokens)::BIGINT AS tokens FROM manifests
            WHERE manifest_id = (SELECT max_by(manifest_id, created_at) FROM manifests) GROUP BY 1 ORDER BY 1""").to_pylist()
        s.figures.append(("tokens per domain (newest manifest)", plots.bar_chart(
            [r["domain"] for r in totals], [r["tokens"] for r in totals], "tokens per domain", "tokens")))
    else:
        _missing(s, "manifests")
    if lake.has("dedup"):
        rates = lake.sql("""SELECT domain, count(*) AS documents, sum(CASE WHEN is_keeper THEN 0 ELSE 1 END) AS removed,
            round(avg(CASE WHEN is_keeper THEN 0.0 ELSE 1.0 END), 4) AS dedup_rate FROM dedup GROUP BY 1 ORDER BY 1""")
        s.tables.append(("dedup rate per domain", rates))
        rows = rates.to_pylist()
        s.figures.append(("dedup rate per domain", plots.bar_chart([r["domain"] for r in rows], [r["dedup_rate"] for r in rows],
                                                                   "share of documents removed as duplicates", "rate")))
    if lake.has("rejects"):
        s.tables.append(("rejects per stage and reason", lake.sql(
            "SELECT stage, reason, count(*) AS records FROM rejects GROUP BY ALL ORDER BY records DESC, stage, reason")))
    if lake.has("license_ledger"):
        s.tables.append(("license decisions by SPDX expression", lake.sql(
            """SELECT coalesce(spdx_expression, '(none)') AS spdx, split_part(decision, ':', 1) AS decision, count(*) AS files
               FROM license_ledger GROUP BY ALL ORDER BY files DESC, spdx""")))
    if lake.has("documents_clean"):
        buckets = {r["b"]: r["n"] for r in lake.sql(
            "SELECT floor(log2(greatest(bytes, 1)))::INT AS b, count(*) AS n FROM documents_clean GROUP BY 1").to_pylist()}
        s.figures.append(("document length (bytes) after cleaning", plots.log2_histogram(buckets, "document length", "bytes")))
    return s


def pretrain_section(lake: _Lake) -> Section:
    s = Section("Pre-training")
    if not lake.has("checkpoints"):
        return _missing(s, "checkpoints")
    s.tables.append(("checkpoints", lake.sql(
        "SELECT checkpoint_id, run_id, step, tokens_seen, round(loss, 4) AS train_loss FROM checkpoints ORDER BY run_id, step")))
    series = _series(lake.sql("SELECT run_id, step, loss FROM checkpoints ORDER BY run_id, step").to_pylist(),
                     lambda r: f"{r['run_id'][:16]} train", "step", "loss")
    if lake.has("checkpoint_evals"):
        evals = lake.sql("""SELECT c.run_id, c.step, e.split, e.loss, e.perplexity FROM checkpoint_evals e
            JOIN checkpoints c USING (checkpoint_id) ORDER BY c.run_id, c.step""")
        s.tables.append(("held-out loss per checkpoint", evals))
        series |= _series(evals.to_pylist(), lambda r: f"{r['run_id'][:16]} {r['split']}", "step", "loss")
    s.figures.append(("loss by step", plots.line_chart(series, "loss curves", "step", "loss")))
    return s


def probes_section(lake: _Lake) -> Section:
    s = Section("Long-context probes")
    if not lake.has("evals"):
        return _missing(s, "evals")
    probes = lake.sql("""SELECT checkpoint_id, benchmark, metric, round(value, 2) AS value, n, context_tokens, seed FROM evals
        WHERE metric LIKE 'recall@%' ORDER BY checkpoint_id, benchmark, context_tokens NULLS LAST, metric""")
    if not probes.num_rows:
        s.notes.append("No long-context probe results in evals yet.")
        return s
    s.tables.append(("probe recall (exact match, percent) by length", probes))
    series = _series(lake.sql("""SELECT checkpoint_id, benchmark, coalesce(context_tokens, 0) AS tokens, value FROM evals
                                  WHERE metric LIKE 'recall@%' AND context_tokens > 0 ORDER BY 1, 2, 3""").to_pylist(),
                     lambda r: f"{r['checkpoint_id'][-11:]} {r['benchmark']}", "tokens", "value")
    if series:
        s.figures.append(("probe recall by prompt length", plots.line_chart(series, "recall (%)", "prompt tokens", "recall %", log_x=True)))
    return s


def distill_section(lake: _Lake) -> Section:
    s = Section("Distillation")
    if not lake.has("distill_candidates"):
        return _missing(s, "distill_candidates")
    s.tables.append(("candidate decisions", lake.sql(
        "SELECT decision, coalesce(error_class, '') AS error_class, count(*) AS candidates FROM distill_candidates GROUP BY ALL ORDER BY ALL")))
    if lake.has("distilled_sft"):
        confidence = [r["confidence"] for r in lake.sql("SELECT confidence FROM distilled_sft").to_pylist()]
        s.figures.append(("confidence of kept samples (majority agreement)", plots.histogram(confidence, "confidence", "agreement", bins=10)))
    return s


def memory_section(lake: _Lake) -> Section:
    s = Section("Tier-1 memory")
    if not lake.has("memory_chunks"):
        return _missing(s, "memory_chunks")
    s.tables.append(("chunks", lake.sql("SELECT count(*) AS chunks, count(DISTINCT doc_id) AS documents FROM memory_chunks")))
    if lake.has("memory_index_runs"):
        s.tables.append(("index runs", lake.sql(
            """SELECT run_at, collection, chunks_version, chunks_added, chunks_removed, windows_upserted, windows_total,
                      round(seconds, 1) AS seconds, embedding_model FROM memory_index_runs ORDER BY run_at""")))
    s.notes.append("Retrieval hit rates are measured by `bench/memory.py` on a planted 10M-token index (BENCHMARKS.md); "
                   "the lake holds the index runs, not those measurements.")
    return s


def latency_section(lake: _Lake) -> Section:
    s = Section("Serving latency")
    if not lake.has("latency_runs"):
        return _missing(s, "latency_runs")
    cols = lake.columns("latency_runs")
    wanted = [c for c in ("sweep_id", "model", "target_prompt_tokens", "prompt_tokens", "ttft_p50_ms", "ttft_p95_ms",
                          "tpot_p50_ms", "tpot_p95_ms", "tpot_p99_ms", "throughput_tokens_per_s", "status") if c in cols]
    runs = lake.sql(f"SELECT {', '.join(wanted)} FROM latency_runs ORDER BY measured_at, target_prompt_tokens")
    s.tables.append(("latency sweeps", runs))
    if "tpot_p95_ms" in cols:
        series = _series(lake.sql("SELECT sweep_id, prompt_tokens, tpot_p95_ms FROM latency_runs WHERE prompt_tokens > 0 ORDER BY 1, 2")
                         .to_pylist(), lambda r: r["sweep_id"][:12], "prompt_tokens", "tpot_p95_ms")
        if series:
            s.figures.append(("per-token latency p95 by prompt length", plots.line_chart(series, "p95 ms/token", "prompt tokens", "ms", log_x=True)))
    return s


def scorecard_section(lake: _Lake) -> Section:
    s = Section("Scorecard against the gates")
    if not lake.has("scorecard"):
        return _missing(s, "scorecard")
    s.tables.append(("gates per checkpoint", lake.sql(
        "SELECT checkpoint_id, gate, threshold, round(value, 2) AS value, status, reason FROM scorecard ORDER BY checkpoint_id, gate")))
    if lake.has("evals"):
        s.tables.append(("benchmark results (percent)", lake.sql(
            """SELECT checkpoint_id, benchmark, metric, round(value, 2) AS value, n, samples, seed, contaminated_items
               FROM evals WHERE metric NOT LIKE 'recall@%' ORDER BY checkpoint_id, benchmark, metric""")))
    return s


def changelog_section(lake: _Lake) -> Section:
    s = Section("Changes against the previous manifest")
    if not lake.has("manifests"):
        return _missing(s, "manifests")
    ids = [r["manifest_id"] for r in lake.sql(
        "SELECT manifest_id, max(created_at) AS made FROM manifests GROUP BY 1 ORDER BY made DESC, manifest_id LIMIT 2").to_pylist()]
    if len(ids) < 2:
        s.notes.append(f"Only one manifest ({ids[0]}): nothing to compare with.")
        return s
    new, old = ids
    s.notes.append(f"newest {new} against {old}")
    s.tables.append(("tokens per bucket and split", lake.sql(f"""
        SELECT coalesce(n.bucket, o.bucket) AS bucket, coalesce(n.split, o.split) AS split,
               coalesce(o.tokens, 0)::BIGINT AS tokens_before, coalesce(n.tokens, 0)::BIGINT AS tokens_now,
               (coalesce(n.tokens, 0) - coalesce(o.tokens, 0))::BIGINT AS change
        FROM (SELECT bucket, split, sum(tokens) tokens FROM manifests WHERE manifest_id = '{new}' GROUP BY ALL) n
        FULL JOIN (SELECT bucket, split, sum(tokens) tokens FROM manifests WHERE manifest_id = '{old}' GROUP BY ALL) o
        USING (bucket, split) ORDER BY ALL""")))
    versions = lake.sql(f"""SELECT manifest_id, any_value(input_versions) AS v, any_value(tokenizer_id) AS tokenizer_id,
        any_value(seq_len) AS seq_len FROM manifests WHERE manifest_id IN ('{new}', '{old}') GROUP BY 1""").to_pylist()
    by_id = {r["manifest_id"]: r for r in versions}
    changed = []
    for key in ("tokenizer_id", "seq_len"):
        if by_id[new][key] != by_id[old][key]:
            changed.append({"input": key, "before": str(by_id[old][key]), "now": str(by_id[new][key])})
    before, now = dict(by_id[old]["v"] or []), dict(by_id[new]["v"] or [])
    for table in sorted(set(before) | set(now)):
        if before.get(table) != now.get(table):
            changed.append({"input": f"{table} version", "before": str(before.get(table)), "now": str(now.get(table))})
    s.tables.append(("inputs that changed", pa.Table.from_pylist(changed or [{"input": "(none)", "before": "", "now": ""}])))
    return s


SECTION_ORDER = ("Configuration", "Tokenizer", "Data", "Pre-training", "Long-context probes", "Distillation",
                 "Tier-1 memory", "Serving latency", "Scorecard against the gates", "Changes against the previous manifest")


def build_sections(settings: IrmSettings) -> list[Section]:
    versions = pa.Table.from_pylist([vars(i) for i in list_tables(settings.lake)] or [{"name": "", "uri": "", "version": 0, "rows": 0}])
    lake = _Lake(settings.lake)
    try:
        return [config_section(settings, versions), tokenizer_section(lake), data_section(lake), pretrain_section(lake),
                probes_section(lake), distill_section(lake), memory_section(lake), latency_section(lake),
                scorecard_section(lake), changelog_section(lake)]
    except duckdb.Error as err:
        raise RuntimeError(f"report: a lake query failed ({err}); the tables' schemas may be older than this code") from err
    finally:
        lake.con.close()


_CSS = """body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:13px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}
caption{text-align:left;font-weight:600;padding:4px 0}figure{margin:1em 0}img{max-width:100%}.more{color:#666}"""


def render_html(sections: list[Section], title: str = "irm-2B programme report") -> str:
    toc = "".join(f"<li>{html.escape(s.title)}</li>" for s in sections)
    body = "\n".join(s.html() for s in sections)
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title><style>{_CSS}</style></head>"
            f"<body><h1>{html.escape(title)}</h1><ol>{toc}</ol>\n{body}\n</body></html>\n")


@dataclass(frozen=True)
class ReportResult:
    report_id: str
    html_path: Path
    notebook_path: Path | None
    sections: list[Section]


def reports_dir(settings: IrmSettings) -> Path:
    if "://" in settings.lake.root:
        raise ValueError(f"lake.root={settings.lake.root!r} is an object store; reports are written to a local folder: "
                         "run `irm report --out DIR`")
    return Path(settings.lake.uri) / "artifacts" / "reports"


def write_report(settings: IrmSettings, out_dir: Path | None = None, notebook: bool = True) -> ReportResult:
    """Build the HTML (content-addressed: the same lake gives the same file) and, unless told not to,
    the notebook, executed so that its outputs are the same sections."""
    sections = build_sections(settings)
    page = render_html(sections)
    report_id = hashlib.sha256(page.encode()).hexdigest()[:16]
    folder = (out_dir or reports_dir(settings)) / report_id
    folder.mkdir(parents=True, exist_ok=True)
    html_path = folder / "report.html"
    html_path.write_text(page)
    nb_path = None
    if notebook:
        from ledgers.report_notebook import write_notebook

        nb_path = write_notebook(settings, folder / "report.ipynb")
    return ReportResult(report_id, html_path, nb_path, sections)
