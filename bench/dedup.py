"""Near-dedup throughput and quality: irm's Spark job against datatrove, datasketch and rensa.

    make bench-dedup            # or: .venv/bin/python -m bench.dedup --mb 50

Corpus: Python sources and docs (.py .md .rst .txt) of the standard library and of this
project's virtual environment, in path order, until ``--mb`` megabytes; or, with ``--planted N``,
the planted near-duplicate corpus of ``bench/planted.py`` (dense around the threshold). Every tool gets word
5-gram shingles, 128 permutations and Jaccard threshold 0.8; irm, datasketch and rensa use the
same tokenizer (``spark_jobs.minhash.words``), datatrove its own (spaCy). irm confirms every LSH
candidate pair by exact shingle-set Jaccard; rensa by its estimate; datasketch not at all. Ground truth: every pair
with exact shingle-set Jaccard >= 0.8, found exactly with prefix filtering (Bayardo et al., 2007).
Pair F1 scores "same cluster" pairs against it. Times are wall clock, the median of ``--repeat`` runs; MB/s = corpus MB / seconds.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import statistics
import sys
import sysconfig
import time
from collections import defaultdict
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from bench.planted import pair_scores, planted_corpus, real_bases, recall_between
from schemas.dedup import MinHashConfig
from spark_jobs.minhash import words

SUFFIXES = {".py", ".md", ".rst", ".txt"}
OUT = Path("bench/out/dedup")


def build_corpus(limit_mb: float) -> dict[str, str]:
    roots = [Path(sysconfig.get_paths()["stdlib"]), Path(sysconfig.get_paths()["purelib"])]
    docs, total = {}, 0
    for root in roots:
        for path in sorted(root.rglob("*")):
            if path.suffix not in SUFFIXES or not path.is_file() or "__pycache__" in path.parts:
                continue
            text = path.read_bytes().decode("utf-8", errors="replace")
            if not text.strip():
                continue
            docs[f"{root.name}/{path.relative_to(root)}"] = text
            total += len(text.encode())
            if total >= limit_mb * 1e6:
                return docs
    return docs


def build_planted(bases: int):
    """bench/planted.py's corpus, half code (standard-library modules) and half prose (package
    descriptions), one variant per base: dense around the threshold."""
    code, prose = real_bases(code=bases - bases // 2, prose=bases // 2)
    return planted_corpus(code + prose, all_pairs=False, variants=1)


def shingle_lists(texts: list[str], ngram: int) -> list[list[str]]:
    out = []
    for toks in words(pa.array(texts)).to_pylist():
        toks = [t for t in toks if t]
        if len(toks) < ngram:
            out.append([" ".join(toks)] if toks else [])
        else:
            out.append([" ".join(toks[i:i + ngram]) for i in range(len(toks) - ngram + 1)])
    return out


def ground_truth(ids: list[str], shingles: list[list[str]], threshold: float) -> set[tuple[str, str]]:
    """All pairs with exact Jaccard >= threshold, via prefix and size filtering (no false negatives)."""
    sets = [set(s) for s in shingles]
    freq: dict[str, int] = defaultdict(int)
    for s in sets:
        for token in s:
            freq[token] += 1
    index: dict[str, list[int]] = defaultdict(list)
    truth = set()
    order = sorted(range(len(sets)), key=lambda i: len(sets[i]))
    for i in order:
        s = sets[i]
        if not s:
            continue
        ranked = sorted(s, key=lambda t: (freq[t], t))
        prefix = ranked[: len(s) - math.ceil(threshold * len(s)) + 1]
        candidates = set()
        for token in prefix:
            for j in index[token]:
                if len(sets[j]) >= threshold * len(s):
                    candidates.add(j)
            index[token].append(i)
        for j in candidates:
            inter = len(s & sets[j])
            if inter / (len(s) + len(sets[j]) - inter) >= threshold:
                truth.add(tuple(sorted((ids[i], ids[j]))))
    return truth


class UnionFind:
    def __init__(self, items):
        self.parent = {i: i for i in items}

    def find(self, x):
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a, b):
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def clusters(self):
        return {i: self.find(i) for i in self.parent}


def run_irm(ids, texts, cfg):
    from spark_jobs.dedup import minhash_signatures, near_duplicate_clusters
    from spark_jobs.session import get_spark

    spark = get_spark()
    path = OUT / "corpus"
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    shards = spark.sparkContext.defaultParallelism * 4  # as datatrove gets 4 JSONL shards per worker
    for shard in range(shards):
        pq.write_table(pa.table({"doc_id": ids[shard::shards], "text": texts[shard::shards]}), path / f"{shard:03d}.parquet")
    df = spark.read.parquet(str(path.resolve()))
    near_duplicate_clusters(df.limit(200), cfg).collect()  # warm-up: numba compile, Python workers started
    started = time.perf_counter()
    minhash_signatures(df, cfg).write.format("noop").mode("overwrite").save()
    signature_s = time.perf_counter() - started
    started = time.perf_counter()
    clusters = {r["doc_id"]: r["minhash_cluster"] for r in near_duplicate_clusters(df, cfg).collect()}
    return signature_s, time.perf_counter() - started, clusters


def run_datasketch(ids, texts, cfg):
    from datasketch import MinHash, MinHashLSH

    started = time.perf_counter()
    sigs = []
    for shingles in shingle_lists(texts, cfg.ngram):
        m = MinHash(num_perm=cfg.num_perm, seed=cfg.seed)
        m.update_batch([s.encode() for s in shingles])
        sigs.append(m if shingles else None)
    signature_s = time.perf_counter() - started
    lsh = MinHashLSH(threshold=cfg.threshold, num_perm=cfg.num_perm)
    uf = UnionFind(ids)
    for doc_id, m in zip(ids, sigs):
        if m is None:
            continue
        for other in lsh.query(m):
            uf.union(doc_id, other)
        lsh.insert(doc_id, m)
    return signature_s, time.perf_counter() - started, uf.clusters()


def run_rensa(ids, texts, cfg):
    from rensa import RMinHash, RMinHashLSH

    started = time.perf_counter()
    sigs = []
    for shingles in shingle_lists(texts, cfg.ngram):
        m = RMinHash(num_perm=cfg.num_perm, seed=cfg.seed)
        m.update(shingles)
        sigs.append(m if shingles else None)
    signature_s = time.perf_counter() - started
    lsh = RMinHashLSH(threshold=cfg.threshold, num_perm=cfg.num_perm, num_bands=8)  # must divide 128
    uf = UnionFind(ids)
    for i, m in enumerate(sigs):
        if m is None:
            continue
        for j in lsh.query(m):
            if m.jaccard(sigs[j]) >= cfg.threshold:
                uf.union(ids[i], ids[j])
        lsh.insert(i, m)
    return signature_s, time.perf_counter() - started, uf.clusters()


def run_datatrove(ids, texts, cfg, workers=2):
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.dedup.minhash import (MinhashConfig, MinhashDedupBuckets, MinhashDedupCluster,
                                                  MinhashDedupFilter, MinhashDedupSignature)
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter

    bands, rows = cfg.bands_rows
    base = OUT / "datatrove"
    shutil.rmtree(base, ignore_errors=True)
    shards = base / "input"
    shards.mkdir(parents=True)
    for shard in range(workers * 4):
        with open(shards / f"{shard:03d}.jsonl", "w") as fh:
            for doc_id, text in list(zip(ids, texts))[shard::workers * 4]:
                fh.write(json.dumps({"id": doc_id, "text": text}) + "\n")
    mh = MinhashConfig(n_grams=cfg.ngram, num_buckets=bands, hashes_per_bucket=rows, seed=cfg.seed)
    reader = lambda: JsonlReader(str(shards))  # noqa: E731
    logs = str(base / "logs")
    started = time.perf_counter()
    LocalPipelineExecutor([reader(), MinhashDedupSignature(output_folder=str(base / "sigs"), config=mh)],
                          tasks=workers * 4, workers=workers, logging_dir=logs + "/1").run()
    signature_s = time.perf_counter() - started
    LocalPipelineExecutor([MinhashDedupBuckets(input_folder=str(base / "sigs"), output_folder=str(base / "buckets"), config=mh)],
                          tasks=bands, workers=workers, logging_dir=logs + "/2").run()
    LocalPipelineExecutor([MinhashDedupCluster(input_folder=str(base / "buckets"), output_folder=str(base / "remove"), config=mh,
                                               save_cluster_id=True)], tasks=1, logging_dir=logs + "/3").run()
    LocalPipelineExecutor([reader(), MinhashDedupFilter(input_folder=str(base / "remove"), load_cluster_ids=True,
                                                        exclusion_writer=JsonlWriter(str(base / "removed"), compression=None)),
                           JsonlWriter(str(base / "kept"), compression=None)], tasks=workers * 4, workers=workers, logging_dir=logs + "/4").run()
    total_s = time.perf_counter() - started
    clusters = {}
    for folder in ("kept", "removed"):
        for path in (base / folder).glob("*.jsonl"):
            for line in path.read_text().splitlines():
                doc = json.loads(line)
                cid = doc["metadata"].get("minhash_cluster_id", -1)
                clusters[doc["id"]] = doc["id"] if cid == -1 else f"c{cid}"
    return signature_s, total_s, clusters


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=float, default=50.0, help="size of the source-code corpus")
    parser.add_argument("--planted", type=int, default=0, metavar="BASES",
                        help="instead, the planted near-duplicate corpus built from this many stdlib modules")
    parser.add_argument("--tools", default="irm,rensa,datasketch,datatrove")
    parser.add_argument("--repeat", type=int, default=3, help="runs per tool; times are the median")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    cfg = MinHashConfig()
    planted = build_planted(args.planted) if args.planted else None
    corpus = planted.docs if planted else build_corpus(args.mb)
    ids, texts = list(corpus), list(corpus.values())
    mb = sum(len(t.encode()) for t in texts) / 1e6
    started = time.perf_counter()
    truth = ground_truth(ids, shingle_lists(texts, cfg.ngram), cfg.threshold)
    print(f"corpus: {len(ids)} documents, {mb:.1f} MB; ground truth: {len(truth)} pairs with J >= {cfg.threshold} "
          f"({time.perf_counter() - started:.0f}s)", file=sys.stderr)
    runners = {"irm": ("irm Spark local[*] (2 cores)", run_irm), "rensa": ("rensa 0.5 (1 process)", run_rensa),
               "datasketch": ("datasketch 2.0 (1 process)", run_datasketch), "datatrove": ("datatrove 0.10 (2 workers)", run_datatrove)}
    rows = []
    for key in args.tools.split(","):
        label, run = runners[key]
        runs = [run(ids, texts, cfg) for _ in range(args.repeat)]
        sig_s = statistics.median(r[0] for r in runs)
        total_s = statistics.median(r[1] for r in runs)
        clusters = runs[-1][2]
        precision, recall, f1 = pair_scores(clusters, truth)
        high = f"{recall_between(clusters, planted, 0.85)[0]:.3f}" if planted else "–"
        rows.append((label, sig_s, total_s, precision, recall, f1, high))
        print(f"{label}: done in {total_s:.1f}s", file=sys.stderr)
    print(f"\n{len(ids)} documents, {mb:.1f} MB, 5-gram shingles, 128 permutations, threshold 0.8, "
          f"{len(truth)} true pairs; median of {args.repeat} runs\n")
    print("| tool | signatures MB/s | end-to-end s | end-to-end MB/s | pair precision | pair recall | pair F1 | recall J >= 0.85 |")
    print("|---|---|---|---|---|---|---|---|")
    for label, sig_s, total_s, p, r, f1, high in rows:
        print(f"| {label} | {mb / sig_s:.1f} | {total_s:.1f} | {mb / total_s:.1f} | {p:.3f} | {r:.3f} | {f1:.3f} | {high} |")


if __name__ == "__main__":
    main()
