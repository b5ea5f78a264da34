import pytest
from pyspark.sql import functions as F

from ledgers.splits import run_splits, split_leaks, splits_conservation
from schemas.splits import SplitConfig
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
    assert report.kept == len(docs) == splits_conservation(lake)[1]
    assert split_leaks(lake) == {"repo": 0, "minhash_cluster": 0, "family": 0}
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
    assert split_leaks(lake) == {"repo": 1, "minhash_cluster": 0, "family": 1}


def test_a_cluster_joins_the_repositories_its_members_came_from(lake):
    docs = [{"text": "a", "repo": "x"}, {"text": "b", "repo": "y"}]
    write_curated(lake, docs)
    # a near-duplicate pair across two repositories makes one family of both
    dedup = lake.read("dedup").withColumn("minhash_cluster", F.lit(doc_id("a")))
    lake.write(dedup.localCheckpoint(), "dedup", mode="overwrite")
    lake.write(lake.read("curated_documents").join(lake.read("documents_clean").select("doc_id", "text"), "doc_id")
               .withColumn("redacted_ngrams", F.lit(0)), "decontaminated_documents", mode="overwrite")
    run_splits(lake, SplitConfig())
    assert {r["family"] for r in lake.read("splits").collect()} == {f"cluster:{doc_id('a')}"}


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
