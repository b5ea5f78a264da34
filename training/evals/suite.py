"""Evaluate one checkpoint: every configured benchmark, then the long-context probes; results,
raw per-item outputs and contamination notes into ``evals`` / ``eval_items``, plots on disk."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from ledgers.eval_results import write_evals
from ledgers.lake import Lake, WriteResult
from schemas.evals import PACKAGED_HUMANEVAL, EvalBenchmark, EvalItemResult, EvalResult, preset
from schemas.settings import EvalSettings
from training.evals import contamination, plots, probes
from training.evals.benchmarks import load_benchmark
from training.evals.client import CompletionClient
from training.evals.runner import BenchmarkRun, CodeRunner, run_choice, run_code, run_math

PROBE_TITLES = {"needle": "needle-in-a-haystack recall", "multi_needle": "multi-needle recall (sparse section markers)",
                "cross_segment": "cross-segment (two far-apart spans) recall"}


@dataclass
class SuiteReport:
    checkpoint_id: str
    config_hash: str
    results: list[EvalResult]
    items: int
    plots: dict[str, Path] = field(default_factory=dict)
    writes: tuple[WriteResult, ...] = ()


def benchmarks(cfg: EvalSettings) -> list[EvalBenchmark]:
    """HumanEval from the package, then each configured file, by its schema name."""
    return [preset("humaneval", PACKAGED_HUMANEVAL)] + [preset(schema, path) for schema, path in sorted(cfg.benchmark_files.items())]


def config_hash(cfg: EvalSettings) -> str:
    """What decides the numbers (not where the endpoint happens to listen)."""
    return hashlib.sha256(cfg.model_dump_json(exclude={"base_url", "api_key_env", "timeout_s"}).encode()).hexdigest()[:16]


def _sha16(*parts: object) -> str:
    return hashlib.sha256("\0".join(str(p) for p in parts).encode()).hexdigest()[:16]


def _rows(run: BenchmarkRun, checkpoint_id: str, cfg_hash: str, seed: int, endpoint: str, note: str,
          contaminated: dict[str, str], now: dt.datetime) -> tuple[list[EvalResult], list[EvalItemResult]]:
    eval_run = _sha16(checkpoint_id, run.benchmark, seed, cfg_hash)
    results = [EvalResult(eval_id=_sha16(eval_run, m.metric), checkpoint_id=checkpoint_id, benchmark=run.benchmark, metric=m.metric,
                          value=round(m.value, 6), n=m.n, samples=m.samples, seed=seed, context_tokens=m.context_tokens,
                          contaminated_items=len(contaminated), contamination=note, config_hash=cfg_hash, endpoint=endpoint,
                          evaluated_at=now) for m in run.metrics]
    items = [EvalItemResult(eval_run=eval_run, checkpoint_id=checkpoint_id, benchmark=run.benchmark, item_id=o.item_id, sample_no=o.sample_no,
                            seed=o.seed, output=o.output, extracted=o.extracted, correct=o.correct, detail=o.detail[:2000],
                            contaminated=o.item_id in contaminated) for o in run.items]
    return results, items


def run_suite(checkpoint_id: str, cfg: EvalSettings, client: CompletionClient, execute: CodeRunner, artifacts: Path,
              index: contamination.ContaminationIndex) -> tuple[SuiteReport, list[EvalItemResult]]:
    """Every benchmark and probe, scored; nothing written to the lake yet."""
    cfg_hash, now, seed = config_hash(cfg), dt.datetime.now(dt.timezone.utc), cfg.seed
    results: list[EvalResult] = []
    items: list[EvalItemResult] = []
    for bench in benchmarks(cfg):
        loaded = load_benchmark(bench, cfg.max_items)
        note = index.check(bench.name, [i.item_id for i in loaded])
        if bench.kind == "code":
            run = run_code(loaded, bench.preset, client, execute, cfg, seed)
        elif bench.kind == "math":
            run = run_math(loaded, client, cfg, seed)
        else:
            run = run_choice(loaded, bench.preset, client, seed)
        r, i = _rows(run, checkpoint_id, cfg_hash, seed, client.base_url, note.note, note.contaminated, now)
        results += r
        items += i
    plot_paths = {}
    for kind, run in probes.run_probes(client, cfg.probe_lengths, cfg.probe_depths, seed).items():
        r, i = _rows(run, checkpoint_id, cfg_hash, seed, client.base_url, contamination.SYNTHETIC, {}, now)
        results += r
        items += i
        depths = cfg.probe_depths if kind != "cross_segment" else [0.5]
        grid = probes.recall_grid(run, cfg.probe_lengths, depths)
        plot_paths[kind] = plots.recall_heatmap(grid, cfg.probe_lengths, depths, f"{PROBE_TITLES[kind]} — {checkpoint_id}",
                                                artifacts / checkpoint_id / f"{kind}_recall.png")
    return SuiteReport(checkpoint_id, cfg_hash, results, len(items), plot_paths), items


def evaluate_checkpoint(lake: Lake, checkpoint_id: str, cfg: EvalSettings, client: CompletionClient, execute: CodeRunner,
                        artifacts: Path, run_id: str | None = None) -> SuiteReport:
    """Check contamination, run the suite, write ``evals`` and ``eval_items``."""
    index = contamination.ContaminationIndex.for_checkpoint(lake.settings, checkpoint_id)
    report, items = run_suite(checkpoint_id, cfg, client, execute, artifacts, index)
    report.writes = write_evals(lake, report.results, items, run_id=run_id, partition=checkpoint_id)
    return report


def results_table(results: list[EvalResult]) -> str:
    rows = "\n".join(f"| {r.benchmark} | {r.metric} | {r.value:.1f} | {r.n} | {r.samples} | {r.seed} | {r.contamination[:90]} |"
                     for r in results)
    return "| benchmark | metric | value % | n | samples | seed | contamination |\n|---|---|---|---|---|---|---|\n" + rows


def settings_json(cfg: EvalSettings) -> str:
    return json.dumps(cfg.model_dump(exclude={"api_key_env"}), sort_keys=True)
