import random

import numpy as np
import pyarrow as pa
import pytest
from pyspark.sql import functions as F

from ledgers.splits import run_splits, split_leaks, splits_conservation
from schemas.dedup import MinHashConfig
from schemas.splits import SplitConfig
from spark_jobs.minhash import shingle_hashes
from spark_jobs.splits import split_of
from tests.corpus import doc_id, write_curated


def seal(lake, docs, near_duplicates=None):
    """Curated → decontaminated (identity) → splits."""
    write_curated(lake, docs, near_duplicates)
    lake.write(lake.read("curated_documents").join(lake.read("documents_clean").select("doc_id", "text"), "doc_id")
               .withColumn("redacted_ngrams", F.lit(0)), "decontaminated_documents", mode="overwrite")


def corpus():
    docs = []
    for r in range(30):  # repositories spanning two buckets
        docs += [{"text": f"def f{r}_{k}(): return {k}\n", "repo": f"repo-{r}"} for k in range(4)]
        docs.append({"text": f"# Readme of repo {r}\n", "domain": "text", "repo": f"repo-{r}"})
    docs += [{"text": f"loose note number {k}\n", "domain": "text"} for k in range(200)]
    return docs


def test_no_repository_or_cluster_straddles_two_splits(lake):
    docs = corpus()
    seal(lake, docs, near_duplicates={doc_id(docs[-1]["text"]): 3})
    report = run_splits(lake, SplitConfig(ratios={"train": 0.6, "val": 0.2, "test": 0.2}))
    assert report.kept == len(docs) and splits_conservation(lake) == (len(docs), len(docs), 0, 0)
    assert split_leaks(lake) == {"repo": 0, "minhash_cluster": 0, "family": 0, "near_duplicate_pair": 0}
    rows = lake.read("splits").collect()
    assert all(r["family"].startswith(("repo:", "doc:", "cluster:")) for r in rows)
    assert {r["family"] for r in rows if r["doc_id"] == doc_id(docs[-1]["text"])} == {f"cluster:{doc_id(docs[-1]['text'])}"}
    splits = {r["split"] for r in rows}
    assert splits == {"train", "val", "test"}
    loose = [r for r in rows if r["family"].startswith("doc:")]
    assert 0.4 < sum(r["split"] == "train" for r in loose) / len(loose) < 0.8
    # the check sees a leak as soon as one document of a repository moves
    moved = doc_id(docs[0]["text"])
    other = next(s for s in ("train", "val", "test") if s != next(r["split"] for r in rows if r["doc_id"] == moved))
    lake.write(lake.read("splits").withColumn("split", F.when(F.col("doc_id") == moved, other).otherwise(F.col("split"))).localCheckpoint(),
               "splits", mode="overwrite")
    assert split_leaks(lake) == {"repo": 1, "minhash_cluster": 0, "family": 1, "near_duplicate_pair": 0}


def test_a_cluster_joins_the_repositories_its_members_came_from(lake):
    docs = [{"text": "a", "repo": "x"}, {"text": "b", "repo": "y"}]
    write_curated(lake, docs)
    # a near-duplicate pair across two repositories makes one family of both
    dedup = lake.read("dedup").withColumn("minhash_cluster", F.lit(doc_id("a")))
    lake.write(dedup.localCheckpoint(), "dedup", mode="overwrite")
    lake.write(lake.read("curated_documents").join(lake.read("documents_clean").select("doc_id", "text"), "doc_id")
               .withColumn("redacted_ngrams", F.lit(0)), "decontaminated_documents", mode="overwrite")
    run_splits(lake, SplitConfig())
    rows = lake.read("splits").collect()
    assert {r["family"] for r in rows} == {f"cluster:{doc_id('a')}"}
    # two members of one cluster reaching the splits (dedup kept both) and parted: the cluster leg fires
    other = next(s for s in ("train", "val", "test") if s != rows[0]["split"])
    lake.write(lake.read("splits").withColumn("split", F.when(F.col("doc_id") == doc_id("b"), other).otherwise(F.col("split")))
               .localCheckpoint(), "splits", mode="overwrite")
    assert split_leaks(lake) == {"repo": 0, "minhash_cluster": 1, "family": 1, "near_duplicate_pair": 0}


def test_splits_are_deterministic_and_the_seed_redraws_them(lake):
    seal(lake, corpus())
    first = {r["doc_id"]: r["split"] for r in (run_splits(lake, SplitConfig()), lake.read("splits").collect())[1]}
    again = {r["doc_id"]: r["split"] for r in (run_splits(lake, SplitConfig()), lake.read("splits").collect())[1]}
    redrawn = {r["doc_id"]: r["split"] for r in (run_splits(lake, SplitConfig(seed="other")), lake.read("splits").collect())[1]}
    assert first == again and first != redrawn


def test_ratios_must_name_the_three_splits_and_sum_to_one():
    with pytest.raises(ValueError, match="sum to 1"):
        SplitConfig(ratios={"train": 0.9, "val": 0.2, "test": 0.0})
    with pytest.raises(ValueError, match="must name exactly"):
        SplitConfig(ratios={"train": 1.0})


VOCAB = [f"w{k}" for k in range(5_000)]


def _shingles(text: str) -> set[int]:
    hashes, _ = shingle_hashes(pa.array([text]), MinHashConfig().ngram)
    return set(np.asarray(hashes).tolist())


def jaccard(a: str, b: str) -> float:
    sa, sb = _shingles(a), _shingles(b)
    return len(sa & sb) / len(sa | sb)


def rewrites(pairs: int) -> list[tuple[str, str]]:
    """Pairs at Jaccard ≈ 0.6 on word 5-gram shingles: below dedup's 0.8, so both survive dedup."""
    rng = random.Random(7)
    out = []
    for _ in range(pairs):
        words = [rng.choice(VOCAB) for _ in range(200)]
        edited = words[:151] + [rng.choice(VOCAB) for _ in range(49)]
        out.append((" ".join(words) + "\n", " ".join(edited) + "\n"))
    return out


def test_near_duplicates_looser_than_dedup_share_a_split_and_a_forced_leak_fails_the_check(lake):
    pairs = rewrites(12)
    assert all(0.55 < jaccard(a, b) < 0.65 for a, b in pairs)
    docs = [{"text": t, "domain": "text"} for pair in pairs for t in pair]
    docs += [{"text": " ".join(random.Random(k).choice(VOCAB) for _ in range(60)) + "\n", "domain": "text"} for k in range(40)]
    seal(lake, docs)
    cfg = SplitConfig(ratios={"train": 0.4, "val": 0.3, "test": 0.3})
    # without the family seal, these pairs would straddle splits: each document alone hashes to its own split
    alone = lake.spark.createDataFrame([(doc_id(a), doc_id(b)) for a, b in pairs], "a string, b string").select(
        split_of(F.concat(F.lit("doc:"), F.col("a")), cfg).alias("sa"), split_of(F.concat(F.lit("doc:"), F.col("b")), cfg).alias("sb"))
    assert alone.where("sa != sb").count() >= 4

    report = run_splits(lake, cfg)
    assert report.extra["near_duplicate_pairs"] >= len(pairs)
    split = {r["doc_id"]: r for r in lake.read("splits").collect()}
    assert all(split[doc_id(a)]["split"] == split[doc_id(b)]["split"] for a, b in pairs)
    assert all(split[doc_id(a)]["family"] == split[doc_id(b)]["family"] for a, b in pairs)
    assert split_leaks(lake, cfg)["near_duplicate_pair"] == 0

    # move one document of one pair to another split: the check recomputes pairs from the texts and fires
    moved = doc_id(pairs[0][1])
    other = next(s for s in ("train", "val", "test") if s != split[moved]["split"])
    lake.write(lake.read("splits").withColumn("split", F.when(F.col("doc_id") == moved, other).otherwise(F.col("split"))).localCheckpoint(),
               "splits", mode="overwrite")
    assert split_leaks(lake, cfg) == {"repo": 0, "minhash_cluster": 0, "family": 1, "near_duplicate_pair": 1}


def test_each_text_is_sketched_once_and_a_new_drop_meets_the_stored_sketches_as_a_recompute_would(lake):
    pairs = rewrites(6)
    first = [{"text": a, "domain": "text"} for a, _ in pairs]
    first += [{"text": " ".join(random.Random(k).choice(VOCAB) for _ in range(60)) + "\n", "domain": "text"} for k in range(20)]
    seal(lake, first)
    cfg = SplitConfig(ratios={"train": 0.4, "val": 0.3, "test": 0.3})
    run_splits(lake, cfg)
    assert lake.read("family_sketches").count() == len(first)
    run_splits(lake, cfg)
    assert lake.read("family_sketches").count() == len(first)  # nothing new: nothing sketched
    # the rewrites arrive: only they are sketched, and each joins its original's family
    seal(lake, first + [{"text": b, "domain": "text"} for _, b in pairs])
    run_splits(lake, cfg)
    assert lake.read("family_sketches").count() == len(first) + len(pairs)
    incremental = {r["doc_id"]: (r["family"], r["split"]) for r in lake.read("splits").collect()}
    assert all(incremental[doc_id(a)] == incremental[doc_id(b)] for a, b in pairs)
    lake.delete("family_sketches", "true")
    run_splits(lake, cfg)
    assert {r["doc_id"]: (r["family"], r["split"]) for r in lake.read("splits").collect()} == incremental
    assert split_leaks(lake, cfg)["near_duplicate_pair"] == 0


def test_the_family_threshold_must_be_looser_than_dedup():
    with pytest.raises(ValueError, match="family_jaccard=0.85 must be below minhash.threshold=0.8"):
        SplitConfig(family_jaccard=0.85).family_minhash(MinHashConfig())


def test_conservation_sees_a_lost_document_hidden_behind_a_duplicated_one(lake):
    seal(lake, corpus())
    run_splits(lake, SplitConfig())
    rows = lake.read("splits").orderBy("doc_id").localCheckpoint()
    first = rows.limit(1).localCheckpoint()
    lake.write(rows.subtract(rows.orderBy(F.desc("doc_id")).limit(1)).unionByName(first).localCheckpoint(), "splits", mode="overwrite")
    documents, assigned, missing, stray = splits_conservation(lake)
    assert documents == assigned and (missing, stray) == (1, 1)
