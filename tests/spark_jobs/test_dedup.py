import sysconfig
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from bench.planted import jaccard, pair_scores, planted_corpus, real_bases, recall_between, shingle_set
from schemas.dedup import MinHashConfig, candidate_probability, optimal_bands_rows
from spark_jobs.dedup import (bucket_members, candidate_pairs, components_in_one_task, connected_components, document_sketches,
                              jaccard_edges, near_duplicate_clusters)
from spark_jobs.minhash import shingle_hashes, signatures, sketch

CFG = MinHashConfig()


def test_bands_and_rows_are_chosen_for_recall_at_the_threshold():
    assert CFG.bands_rows == (18, 7)
    assert CFG.candidate_probability_at_threshold >= 0.95
    assert candidate_probability(0.8, 16, 8) < 0.95, "one more row per band would miss the recall target"
    assert MinHashConfig(threshold=0.5).bands_rows[1] < 7
    assert optimal_bands_rows(0.5, 128)[1] < 13
    with pytest.raises(ValueError, match="exceeds num_perm"):
        MinHashConfig(bands_override=20, rows_override=10)
    with pytest.raises(ValueError, match="min_candidate_probability"):
        MinHashConfig(num_perm=8, threshold=0.3, min_candidate_probability=0.999999)


def test_shingles_match_the_reference_tokenizer_and_short_documents_get_one():
    texts = ["Alpha beta, gamma delta epsilon zeta!", "two words", "", "..."]
    hashes, parents = shingle_hashes(pa.array(texts), 5)
    counts = np.bincount(parents, minlength=4)
    assert counts.tolist() == [len(shingle_set(t, 5)) for t in texts] == [2, 1, 0, 0]


def test_one_sketch_gives_the_signatures_and_each_documents_distinct_sorted_shingles():
    texts = pa.array(["a b c d e f a b c d e f a b c d e", "", "one two", "z y x w v u t s r q p o n m"])
    sig, has, sets = sketch(texts, CFG)
    alone, alone_has = signatures(texts, CFG)
    assert (sig == alone).all() and (has == alone_has).all()
    hashes, parents = shingle_hashes(texts, 5)
    for d in range(len(texts)):
        expected = np.unique(hashes[parents == d])  # unique sorts as unsigned
        assert sets[d].values.to_numpy(zero_copy_only=False).view(np.uint64).tolist() == expected.tolist()
    assert [len(sets[d]) for d in range(4)] == [6, 0, 1, 10]


def test_signature_agreement_estimates_jaccard():
    base = " ".join(f"w{i}" for i in range(400))
    edited = base.replace("w100 ", "x ").replace("w200 ", "y ")
    sig, has = signatures(pa.array([base, edited, "unrelated words entirely here and there", ""]), CFG)
    exact = len(shingle_set(base, 5) & shingle_set(edited, 5)) / len(shingle_set(base, 5) | shingle_set(edited, 5))
    assert abs((sig[0] == sig[1]).mean() - exact) < 0.1
    assert (sig[0] == sig[2]).mean() < 0.1
    assert has.tolist() == [True, True, True, False]


def test_connected_components_find_the_smallest_member_of_each_component(spark):
    chain = [(f"n{i:02d}", f"n{i + 1:02d}") for i in range(20)]
    edges = spark.createDataFrame(chain + [("b2", "b1"), ("b3", "b2"), ("c1", "c2")], "src string, dst string")
    labels = {r["node"]: r["component"] for r in connected_components(edges).collect()}
    assert {labels[f"n{i:02d}"] for i in range(21)} == {"n00"}
    assert labels["b3"] == labels["b2"] == "b1" and labels["c2"] == "c1"


def test_one_task_union_find_agrees_with_the_distributed_iteration(spark):
    rng = np.random.default_rng(3)
    pairs = [(f"d{a:04d}", f"d{b:04d}") for a, b in rng.integers(0, 600, size=(500, 2)) if a != b]
    edges = spark.createDataFrame(pairs, "src string, dst string")
    one_task = {r["node"]: r["component"] for r in components_in_one_task(edges).collect()}
    distributed = {r["node"]: r["component"] for r in connected_components(edges).collect()}
    assert one_task == distributed and len(set(one_task.values())) > 1


def test_every_candidate_pair_is_confirmed_by_its_exact_jaccard(spark):
    base = " ".join(f"w{i}" for i in range(300))
    texts = {"a": base, "b": base.replace("w150 ", "x "), "c": base.replace("w10 ", "y ").replace("w200 ", "z "),
             "d": " ".join(base.split()[:280]), "e": "other words entirely " * 30}
    df = spark.createDataFrame(sorted(texts.items()), "doc_id string, text string")
    sketches = document_sketches(df, CFG)
    members = bucket_members(sketches)
    edges = {(r["src"], r["dst"]): r["jaccard"] for r in jaccard_edges(candidate_pairs(members, members), sketches, 0.5).collect()}
    sets = {k: shingle_set(v, 5) for k, v in texts.items()}
    for (a, b), j in edges.items():
        assert j == pytest.approx(jaccard(sets[a], sets[b]), abs=1e-12), (a, b)
    assert {("a", "b"), ("a", "c"), ("b", "c"), ("a", "d")} <= set(edges)
    assert not any("e" in pair for pair in edges)


def test_planted_near_duplicates_reach_f1_and_recall_against_exact_jaccard(spark):
    code, prose = real_bases(code=20, prose=20)
    corpus = planted_corpus(code + prose, variants=1)
    assert len(corpus.truth) > 10 and corpus.true_pairs_between(0.6, 0.8), "pairs on both sides of the threshold"
    df = spark.createDataFrame(sorted(corpus.docs.items()), "doc_id string, text string")
    clusters = {r["doc_id"]: r["minhash_cluster"] for r in near_duplicate_clusters(df, CFG).collect()}
    assert set(clusters) == set(corpus.docs)
    precision, recall, f1 = pair_scores(clusters, corpus.truth)
    assert f1 >= 0.95, (precision, recall, f1)
    assert recall_between(clusters, corpus, 0.85)[0] >= 0.95
    for cluster in set(clusters.values()):
        assert cluster == min(d for d, c in clusters.items() if c == cluster)
    lookalikes = [d for d in corpus.docs if d.endswith("lookalike")]
    assert all(clusters[d] == d for d in lookalikes)
