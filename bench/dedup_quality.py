"""Near-dedup quality on a planted corpus: pair precision, recall and F1 against exact Jaccard.

    .venv/bin/python -m bench.dedup_quality [--bases 30]

Bases are standard-library modules (> 3 kB); see bench/planted.py for the planted variants.
"""

from __future__ import annotations

import argparse
import sysconfig
import time
from pathlib import Path

from bench.planted import pair_scores, planted_corpus
from schemas.dedup import MinHashConfig
from spark_jobs.dedup import near_duplicate_clusters
from spark_jobs.session import get_spark


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bases", type=int, default=30)
    args = parser.parse_args()
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(p for pkg in ("email", "json", "http", "logging", "asyncio") for p in (stdlib / pkg).glob("*.py") if p.stat().st_size > 3000)
    bases = [p.read_text() for p in files[: args.bases]]
    cfg = MinHashConfig()
    corpus = planted_corpus(bases, ngram=cfg.ngram, threshold=cfg.threshold)
    near = sum(1 for j in corpus.jaccard.values() if 0.6 <= j < 0.8)
    spark = get_spark()
    df = spark.createDataFrame(sorted(corpus.docs.items()), "doc_id string, text string")
    started = time.perf_counter()
    clusters = {r["doc_id"]: r["minhash_cluster"] for r in near_duplicate_clusters(df, cfg).collect()}
    seconds = time.perf_counter() - started
    precision, recall, f1 = pair_scores(clusters, corpus.truth)
    bands, rows = cfg.bands_rows
    print(f"| corpus | docs | true pairs (J ≥ {cfg.threshold}) | pairs 0.6 ≤ J < 0.8 | bands×rows | precision | recall | F1 | seconds |")
    print("|---|---|---|---|---|---|---|---|---|")
    print(f"| planted, {len(bases)} stdlib bases | {len(corpus.docs)} | {len(corpus.truth)} | {near} | {bands}×{rows} | "
          f"{precision:.3f} | {recall:.3f} | {f1:.3f} | {seconds:.1f} |")


if __name__ == "__main__":
    main()
