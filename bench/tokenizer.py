"""The production tokenizer at size: 150k pieces trained through the product's own flow, beside Llama-3.

    make bench-tokenizer      # = .venv/bin/python -m bench.tokenizer --vocab 150000 --code-mb 175 --sample-mb 190

What this machine has offline becomes drops in a fresh landing zone: installed Python packages
(``.py .md .rst .txt``), the Go standard library, PyTorch's C++ headers and npm's JavaScript, each
with its LICENSE files; LaTeX-bearing docstrings of the math libraries and the packages'
descriptions (METADATA) and the manuals this machine has (Node.js' Markdown API docs, the AWS CLI's
reStructuredText reference) as JSONL drops with their licenses. Whole packages are landed as
separate held-out drops (``rich`` for Python, ``net`` for Go, NumPy's C headers, a fifth of npm's
packages, mpmath's docstrings, a fifth of the prose files) and named in the tokenizer's
``held_out_sources``, so the sample never sees them and ``tokenizer_metrics`` measures on them.

The run is the product: landing sensor, one ingest run per drop, ``curation_job`` (cleaning,
content classification, dedup, licenses) and ``tokenizer_job`` (the ``tokenizer`` asset trains,
``tokenizer_metrics`` measures and gates). Training time is the ``tokenizer`` step's, peak memory
the largest resident set of this process and its children; then the same sample is trained again
at one and at two threads on a slice of ``--thread-mb`` to price the thread count.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import shutil
import sys
import sysconfig
import tempfile
import time
import warnings
import zlib
from pathlib import Path

OUT = Path("bench/out/tokenizer")
PY_TRAIN = ("sympy", "transformers", "pandas", "numpy", "torch", "dagster", "pyspark", "botocore", "networkx", "pygments", "jinja2",
            "click", "pydantic", "duckdb", "sqlalchemy", "mpmath")
PY_SUFFIXES = {".py", ".md", ".rst", ".txt"}
LATEX = ("\\frac", ".. math::", "\\sum", "\\int", "\\begin{", "$\\")
MATH_LICENSES = {"sympy": "BSD-3-Clause", "torch": "BSD-3-Clause", "networkx": "BSD-3-Clause", "numpy": "BSD-3-Clause",
                 "pandas": "BSD-3-Clause", "mpmath": "BSD-3-Clause", "pygments": "BSD-2-Clause", "tabulate": "MIT",
                 "pyspark": "Apache-2.0", "transformers": "Apache-2.0", "ray": "Apache-2.0"}
HELD_OUT_MATH = "mpmath"
HELD_OUT = ("py-rich", "go-net", "c-numpy", "js-held-out", "math-held-out", "text-held-out")


def _purelib() -> Path:
    return Path(sysconfig.get_paths()["purelib"])


def _held_out_name(name: str) -> bool:
    return zlib.crc32(name.encode()) % 5 == 0


def copy_tree(root: Path, drop: Path, suffixes: set[str], budget: int, skip=lambda p: False) -> int:
    total = 0
    for path in sorted(root.rglob("*")):
        if total >= budget:
            break
        if (path.suffix in suffixes and path.is_file() and "__pycache__" not in path.parts and "testdata" not in path.parts
                and path.stat().st_size <= 1_000_000 and not skip(path)):
            target = drop / path.relative_to(root)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
            total += path.stat().st_size
    return total


def copy_licenses(files: list[Path], target: Path) -> None:
    target.mkdir(parents=True, exist_ok=True)
    for lic in files:
        if lic.is_file():
            shutil.copyfile(lic, target / lic.name)


def dist_licenses(package: str) -> list[Path]:
    out = []
    for info in _purelib().glob(f"{package}-*.dist-info"):
        out += list(info.glob("LICENSE*")) + list(info.glob("licenses/**/LICENSE*")) + list(info.glob("COPYING*"))
    return out


def python_drop(landing: Path, name: str, packages: tuple[str, ...], budget: int) -> int:
    total = 0
    for package in packages:
        if total >= budget or not (_purelib() / package).is_dir():
            continue
        target = landing / name / package
        total += copy_tree(_purelib() / package, target, PY_SUFFIXES, budget - total)
        copy_licenses(dist_licenses(package), target)
    return total


def latex_docstrings(package: str) -> list[dict]:
    rows = []
    for path in sorted((_purelib() / package).rglob("*.py")):
        try:
            source = path.read_text(errors="replace")
            if not any(m in source for m in LATEX):
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tree = ast.parse(source)
        except (SyntaxError, ValueError, RecursionError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                doc = ast.get_docstring(node, clean=True)
                if doc and len(doc) >= 200 and any(m in doc for m in LATEX):
                    where = f"{path.relative_to(_purelib())}:{getattr(node, 'name', 'module')}"
                    rows.append({"text": doc, "path": where, "repo": package, "license": MATH_LICENSES[package]})
    return rows


def descriptions() -> list[dict]:
    """Each installed distribution's long description, where its METADATA names a license."""
    rows = []
    for meta in sorted(_purelib().glob("*.dist-info/METADATA")):
        head, _, body = meta.read_text(errors="replace").partition("\n\n")
        fields = dict(line.split(": ", 1) for line in head.splitlines() if ": " in line and not line.startswith(" "))
        license_name = fields.get("License-Expression") or fields.get("License", "")
        if len(body) >= 500 and 0 < len(license_name) <= 40:
            rows.append({"text": body, "path": str(meta.relative_to(_purelib())), "repo": fields.get("Name", meta.parent.name),
                         "license": license_name})
    return rows


PROSE = ((Path("/usr/share/doc/nodejs"), "*.md", "MIT"),
         (Path(sys.base_prefix) / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages" / "awscli",
          "*.rst", "Apache-2.0"))


def prose_files() -> list[dict]:
    """Markdown and reStructuredText manuals this machine has (Node.js' API docs, the AWS CLI reference)."""
    rows = []
    for root, pattern, license_name in PROSE:
        for path in sorted(root.rglob(pattern)) if root.is_dir() else []:
            text = path.read_text(errors="replace")
            if len(text) >= 500:
                rows.append({"text": text, "path": str(path.relative_to(root)), "repo": root.name, "license": license_name})
    return rows


def write_jsonl(landing: Path, source: str, rows: list[dict]) -> int:
    """A JSONL drop is one file at the landing root; each record names its source (the drop's name)."""
    with open(landing / f"{source}.jsonl", "w") as fh:
        for r in rows:
            fh.write(json.dumps({**r, "source": source}) + "\n")
    return sum(len(r["text"].encode()) for r in rows)


def land(landing: Path, code_mb: float) -> dict[str, int]:
    """Every drop of the run, by name, with its bytes."""
    budget = int(code_mb * 1e6)
    go, npm = Path("/usr/local/go"), Path("/usr/lib/node_modules/npm")
    torch_include = _purelib() / "torch" / "include"
    sizes = {"py-train": python_drop(landing, "py-train", PY_TRAIN, int(budget * 0.55)),
             "py-rich": python_drop(landing, "py-rich", ("rich",), budget)}
    if go.is_dir():
        sizes["go-train"] = copy_tree(go / "src", landing / "go-train", {".go"}, int(budget * 0.25),
                                      skip=lambda p: p.is_relative_to(go / "src" / "net") or p.is_relative_to(go / "src" / "vendor"))
        sizes["go-net"] = copy_tree(go / "src" / "net", landing / "go-net", {".go"}, budget)
        for drop in ("go-train", "go-net"):
            copy_licenses([go / "LICENSE"], landing / drop)
    if torch_include.is_dir():
        sizes["cpp-torch"] = copy_tree(torch_include, landing / "cpp-torch", {".h", ".hpp", ".cuh", ".cpp"}, int(budget * 0.15))
        copy_licenses(dist_licenses("torch"), landing / "cpp-torch")
    sizes["c-numpy"] = copy_tree(_purelib() / "numpy", landing / "c-numpy", {".h", ".c"}, budget)
    copy_licenses(dist_licenses("numpy"), landing / "c-numpy")
    if npm.is_dir():
        modules = sorted((npm / "node_modules").iterdir())
        for drop, held in (("js-train", False), ("js-held-out", True)):
            sizes[drop] = 0
            for module in modules:
                if _held_out_name(module.name) == held:
                    sizes[drop] += copy_tree(module, landing / drop / module.name, {".js", ".mjs", ".cjs", ".md"}, budget)
                    copy_licenses(list(module.glob("LICENSE*")) + list(module.glob("LICENCE*")), landing / drop / module.name)
    math = {p: latex_docstrings(p) for p in MATH_LICENSES if (_purelib() / p).is_dir()}
    sizes["math-train"] = write_jsonl(landing, "math-train", [r for p, rows in math.items() if p != HELD_OUT_MATH for r in rows])
    sizes["math-held-out"] = write_jsonl(landing, "math-held-out", math.get(HELD_OUT_MATH, []))
    text = descriptions() + prose_files()
    sizes["text-train"] = write_jsonl(landing, "text-train", [r for r in text if not _held_out_name(r["repo"] + r["path"])])
    sizes["text-held-out"] = write_jsonl(landing, "text-held-out", [r for r in text if _held_out_name(r["repo"] + r["path"])])
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--vocab", type=int, default=150_000)
    parser.add_argument("--code-mb", type=float, default=175.0, help="code landed for training (before curation)")
    parser.add_argument("--sample-mb", type=float, default=190.0, help="the tokenizer's sample_bytes (split 60/20/20)")
    parser.add_argument("--thread-mb", type=float, default=20.0, help="slice trained at 1 and 2 threads (0: skip)")
    parser.add_argument("--report-only", metavar="DAGSTER_HOME", help="report on a finished run's lake and instance")
    parser.add_argument("--retrain", metavar="DAGSTER_HOME", help="train again on a finished run's curated lake (other settings)")
    args = parser.parse_args()
    landing, lake = (OUT / "landing").resolve(), (OUT / "lake").resolve()
    if args.report_only or args.retrain:
        home = args.report_only or args.retrain
    else:
        shutil.rmtree(OUT, ignore_errors=True)
        landing.mkdir(parents=True)
        home = tempfile.mkdtemp(prefix="irm-bench-tokenizer-")
        Path(home, "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    os.environ.update({"IRM_LAKE__ROOT": str(lake), "IRM_LANDING__ROOT": str(landing), "IRM_LANDING__SETTLE_SECONDS": "0",
                       "DAGSTER_HOME": home})
    print(f"DAGSTER_HOME={home}", file=sys.stderr)

    from dagster import DagsterInstance

    from assets.definitions import build_definitions
    from bench.scale import PeakMemory, ingest_new, run_job
    from schemas.settings import IrmSettings

    instance = DagsterInstance.get()
    memory = PeakMemory()
    if args.report_only or args.retrain:
        sizes = {d.name: d.stat().st_size if d.is_file() else sum(f.stat().st_size for f in d.rglob("*") if f.is_file())
                 for d in sorted(landing.iterdir())}
        ingest_s = sum(s for r in instance.get_run_records() if r.dagster_run.job_name == "ingest_job"
                       for s in [(r.end_time or 0) - (r.start_time or 0)])
        curation_s = next((r.end_time or 0) - (r.start_time or 0) for r in instance.get_run_records() if r.dagster_run.job_name == "curation_job")
        curation_peak = 0
        if args.retrain:
            memory.start()
            job_s, steps = run_job(build_definitions(IrmSettings()), instance, "tokenizer_job", _tokenizer_config(args))
            memory.running = False
            print(f"tokenizer_job {job_s:.0f} s (peak RSS {memory.peak / 2**30:.2f} GiB): {steps}", file=sys.stderr)
        else:
            run = next(r for r in instance.get_run_records() if r.dagster_run.job_name == "tokenizer_job")
            steps = {st.step_key: (st.end_time or 0) - (st.start_time or 0) for st in instance.get_run_step_stats(run.dagster_run.run_id)}
    else:
        sizes = land(landing, args.code_mb)
        print("landed: " + ", ".join(f"{k} {v / 1e6:.1f} MB" for k, v in sizes.items()) + f"; total {sum(sizes.values()) / 1e6:.1f} MB",
              file=sys.stderr)
        defs = build_definitions(IrmSettings())
        quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
        memory.start()
        ingest_s, _, _ = ingest_new(defs, instance, None, quiet)
        curation_s, _ = run_job(defs, instance, "curation_job", quiet)
        print(f"ingest {ingest_s:.0f} s, curation {curation_s:.0f} s", file=sys.stderr)
        curation_peak = memory.peak
        memory.peak = 0
        job_s, steps = run_job(defs, instance, "tokenizer_job", _tokenizer_config(args))
        memory.running = False
        print(f"tokenizer_job {job_s:.0f} s (peak RSS {memory.peak / 2**30:.2f} GiB): {steps}", file=sys.stderr)

    from pyspark.sql import functions as F

    from ledgers.lake import Lake
    from spark_jobs.session import get_spark

    settings = IrmSettings()
    lk = Lake(settings.lake, get_spark(settings.spark))
    artifact = lk.read("tokenizers").orderBy(F.desc("created_at")).first()
    event = instance.get_latest_materialization_event(_key("tokenizer_metrics"))
    metrics = event.asset_materialization.metadata
    checks = {e.check_name: e.passed for e in _check_events(instance, event.run_id)}
    report = [f"# Tokenizer bench ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores)", "",
              "landed: " + ", ".join(f"{k} {v / 1e6:.2f} MB" for k, v in sizes.items()), "",
              f"ingest {ingest_s:.1f} s, curation_job {curation_s:.1f} s" + (f" (peak RSS {curation_peak / 2**30:.2f} GiB)" if curation_peak else ""), "",
              f"tokenizer {artifact['tokenizer_id']}: {artifact['vocab_size']:,} pieces from {artifact['sample_documents']:,} documents, "
              f"sample bytes {dict(artifact['sample_bytes'])}; tokenizer step {steps.get('tokenizer', 0):.1f} s at 2 threads, "
              f"tokenizer_metrics step {steps.get('tokenizer_metrics', 0):.1f} s"
              + (f", peak RSS {memory.peak / 2**30:.2f} GiB (Python + JVM + trainer)" if memory.peak else ""), "",
              "checks: " + ", ".join(f"{k} {'passed' if v else 'FAILED'}" for k, v in sorted(checks.items())), "",
              metrics["metrics"].value, "", metrics["vocabulary"].value]
    if args.thread_mb:
        report += ["", thread_cost(lk, artifact, args.thread_mb)]
    text = "\n".join(report)
    (OUT / "report.md").write_text(text + "\n")
    print(text)


def _tokenizer_config(args) -> dict:
    return {"ops": {"tokenizer": {"config": {"vocab_size": args.vocab, "sample_bytes": int(args.sample_mb * 1e6), "num_threads": 2,
                                             "held_out_sources": list(HELD_OUT)}}},
            "loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def _key(name: str):
    from dagster import AssetKey

    return AssetKey(name)


def _check_events(instance, run_id: str):
    from dagster import DagsterEventType

    return [e.dagster_event.event_specific_data for e in instance.all_logs(run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION)]


def thread_cost(lake, artifact, mb: float) -> str:
    """The tokenizer's own sample, cut to ``mb``, trained at one and at two threads: seconds and whether the pieces differ."""
    import sentencepiece as spm
    from pyspark.sql import functions as F

    from schemas.tokenizer import TokenizerConfig
    from training.tokenizer import train_sentencepiece, training_sample

    cfg = TokenizerConfig.model_validate_json(artifact["config_json"])
    rows = training_sample(lake, cfg).select("text", "bytes").orderBy(F.sha2("text", 256)).collect()
    texts, used = [], 0
    for r in rows:
        if used >= mb * 1e6:
            break
        texts.append(r["text"])
        used += r["bytes"]
    from bench.scale import PeakMemory

    lines = ["| trainer threads | slice MB | seconds | peak RSS GiB (process) | pieces | same model as 2 threads |", "|---|---|---|---|---|---|"]
    models = {}
    for threads in (2, 1):
        memory = PeakMemory()
        memory.start()
        started = time.perf_counter()
        models[threads] = train_sentencepiece(texts, cfg.model_copy(update={"num_threads": threads}))
        seconds = time.perf_counter() - started
        memory.running = False
        sp = spm.SentencePieceProcessor(model_proto=models[threads])
        lines.append(f"| {threads} | {used / 1e6:.1f} | {seconds:.1f} | {memory.peak / 2**30:.2f} | {sp.get_piece_size():,} | {models[threads] == models[2]} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
