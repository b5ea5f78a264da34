import random

import pytest
from pyspark.sql import functions as F

from ledgers.decontamination import (DecontaminationError, decontamination_audit, decontamination_conservation, decontamination_id_problems,
                                     run_decontamination)
from ledgers.evals import load_items, run_eval_hashes
from schemas.decontamination import DecontaminationConfig
from schemas.evals import EvalHashConfig
from spark_jobs.eval_ngrams import word_ngram_hashes
from tests.corpus import doc_id, write_curated

WORDS = ("river stone lantern orbit quartz meadow signal harbor velvet cobalt summit thread ember canyon "
         "willow beacon prism falcon ledger marble").split()


def filler(seed: int, words: int) -> str:
    rng = random.Random(seed)
    return " ".join(rng.choice(WORDS) for _ in range(words)) + "\n"


def lightly_edited(text: str, seed: int) -> str:
    """The item as someone would paste it: 2-space indents, other quotes, some case changes and
    one word in every 40 replaced (from the 40th on: an 18-word item with a word changed has no
    13-gram left, which is the limit of n-gram matching, not something a test can ask for)."""
    rng = random.Random(seed)
    text = text.replace("    ", "  ").replace('"""', "'''")
    words = text.split(" ")
    for i in range(40 + rng.randrange(40), len(words), 40):
        words[i] = "edited"
    return " ".join(w.upper() if rng.random() < 0.05 else w for w in words)


@pytest.fixture
def humaneval(lake):
    run_eval_hashes(lake, EvalHashConfig())
    return load_items(EvalHashConfig().sources[0])


def planted_corpus(items: list[dict], planted: int = 25) -> tuple[list[dict], set[str]]:
    docs, dirty = [], set()
    for k, item in enumerate(items[:planted]):
        text = filler(k, 300) + lightly_edited(item["text"], k) + filler(1000 + k, 200)
        docs.append({"text": text, "repo": f"repo-{k}"})
        dirty.add(doc_id(text))
    docs += [{"text": filler(5000 + k, 400), "repo": f"clean-{k}"} for k in range(40)]
    return docs, dirty


def test_every_planted_benchmark_item_is_caught_and_reported(lake, humaneval):
    docs, dirty = planted_corpus(humaneval)
    write_curated(lake, docs)
    report = run_decontamination(lake, DecontaminationConfig())
    kept = {r["doc_id"] for r in lake.read("decontaminated_documents").collect()}
    assert kept == {doc_id(d["text"]) for d in docs} - dirty
    rows = lake.read("contamination").collect()
    assert {r["doc_id"] for r in rows} == dirty
    assert {(r["benchmark"], r["item_id"]) for r in rows} >= {("humaneval", i["item_id"]) for i in humaneval[:25]}
    assert all(r["action"] == "removed" and r["overlapping_ngrams"] >= 1 and r["ngram_hashes"] for r in rows)
    assert report.removed_by_reason == {"contaminated": 25} and report.conserved
    assert decontamination_conservation(lake) == (65, 40, 25)


def test_redaction_cuts_the_leaked_spans_and_leaves_nothing_to_find(lake, humaneval):
    docs, dirty = planted_corpus(humaneval, planted=10)
    write_curated(lake, docs)
    report = run_decontamination(lake, DecontaminationConfig(mode="redact"))
    assert report.kept == len(docs) and report.extra["redacted_documents"] == 10
    redacted = {r["doc_id"]: r for r in lake.read("decontaminated_documents").where("redacted_ngrams > 0").collect()}
    assert set(redacted) == dirty
    original = {doc_id(d["text"]): d["text"] for d in docs}
    assert all("[eval-redacted]" in r["text"] and r["text"][:50] == original[i][:50] and len(r["text"]) < len(original[i])
               for i, r in redacted.items())
    # the redacted texts, decontaminated again, share nothing with the benchmark
    write_curated(lake, [{"text": r["text"], "repo": "again"} for r in redacted.values()])
    assert run_decontamination(lake, DecontaminationConfig()).removed_by_reason == {}


def test_a_benchmark_item_pasted_into_a_hundred_documents_removes_all_hundred(lake, humaneval):
    pasted = lightly_edited(humaneval[3]["text"], 3)
    docs = [{"text": filler(k, 40) + pasted + filler(900 + k, 40), "repo": f"fork-{k}"} for k in range(100)]
    docs += [{"text": filler(5000 + k, 200), "repo": f"clean-{k}"} for k in range(10)]
    write_curated(lake, docs)
    report = run_decontamination(lake, DecontaminationConfig())
    assert report.removed_by_reason == {"contaminated": 100}
    rows = lake.read("contamination").collect()
    assert {r["item_id"] for r in rows} == {humaneval[3]["item_id"]} and len({r["doc_id"] for r in rows}) == 100


def test_ngrams_shared_by_many_benchmark_items_are_a_template_and_do_not_count(lake):
    template = "Write a function that reads the input list and returns the answer as described below carefully"
    items = [{"benchmark": "toy", "item_id": str(k), "text": f"{template} task {k} " + filler(k, 30)} for k in range(5)]
    hashes = word_ngram_hashes(lake.spark.createDataFrame(items, "benchmark string, item_id string, text string"), 13)
    lake.write(hashes, "eval_hashes", mode="overwrite")
    write_curated(lake, [{"text": filler(100 + k, 40) + template + " " + filler(200 + k, 40), "repo": f"r{k}"} for k in range(3)])
    assert run_decontamination(lake, DecontaminationConfig(common_ngram_items=4)).removed_by_reason == {}
    assert run_decontamination(lake, DecontaminationConfig(common_ngram_items=5)).removed_by_reason == {"contaminated": 3}


def test_corpus_side_commonness_is_refused_as_a_setting():
    with pytest.raises(ValueError, match="widely copied benchmark item"):
        DecontaminationConfig(common_ngram_documents=50)


def test_decontamination_refuses_to_run_without_benchmark_hashes(lake):
    write_curated(lake, [{"text": filler(1, 30)}])
    with pytest.raises(DecontaminationError, match="materialize eval_hashes"):
        run_decontamination(lake, DecontaminationConfig())


def _outputs(lake) -> dict[str, list]:
    def rows(table, where="true"):
        return sorted(tuple(sorted(r.asDict().items())) for r in lake.read(table).where(where).collect())
    return {"kept": rows("decontaminated_documents"), "report": rows("contamination"),
            "rejects": rows("rejects", "stage = 'decontamination'"), "inputs": rows("decontamination_inputs")}


def test_a_new_drop_is_judged_alone_and_the_result_equals_a_full_recompute(lake, humaneval):
    docs, dirty = planted_corpus(humaneval, planted=10)
    write_curated(lake, docs)
    first = run_decontamination(lake, DecontaminationConfig())
    assert first.extra["incremental"] is False and first.removed_by_reason == {"contaminated": 10}

    dirty_doc = next(d for d in docs if doc_id(d["text"]) in dirty)
    withdrawn = [dirty_doc] + [d for d in docs if doc_id(d["text"]) not in dirty][:2]
    changed = next(d for d in docs if d not in withdrawn and doc_id(d["text"]) not in dirty)
    more, _ = planted_corpus(humaneval[10:], planted=5)
    later = ([d for d in docs if d not in withdrawn and d is not changed] + more[:5]
             + [{"text": filler(7000 + k, 400), "repo": f"new-{k}"} for k in range(5)])
    later.append({"doc_id": doc_id(changed["text"]), "text": changed["text"] + lightly_edited(humaneval[30]["text"], 30), "repo": "x"})
    write_curated(lake, later)
    again = run_decontamination(lake, DecontaminationConfig())
    assert again.extra["incremental"] is True
    assert (again.extra["judged_documents"], again.extra["withdrawn_documents"]) == (11, 4)
    assert again.removed_by_reason == {"contaminated": 10 - 1 + 5 + 1} and again.conserved
    assert decontamination_conservation(lake) == (len(later), len(later) - 15, 15)
    incremental = _outputs(lake)

    full = run_decontamination(lake, DecontaminationConfig(), full=True)
    assert full.extra["incremental"] is False and _outputs(lake) == incremental


def test_other_settings_or_other_benchmark_hashes_judge_everything_again(lake, humaneval):
    docs, _ = planted_corpus(humaneval, planted=3)
    write_curated(lake, docs)
    run_decontamination(lake, DecontaminationConfig())
    assert run_decontamination(lake, DecontaminationConfig()).extra["judged_documents"] == 0
    redact = run_decontamination(lake, DecontaminationConfig(mode="redact"))
    assert redact.extra["incremental"] is False and redact.extra["redacted_documents"] == 3
    run_eval_hashes(lake, EvalHashConfig())  # a new version of the same hashes: the judgments still stand
    assert run_decontamination(lake, DecontaminationConfig(mode="redact")).extra["judged_documents"] == 0
    fewer = lake.read("eval_hashes").where("item_id != 'HumanEval/0'").localCheckpoint()
    lake.write(fewer, "eval_hashes", mode="overwrite")
    assert run_decontamination(lake, DecontaminationConfig(mode="redact")).extra["incremental"] is False


def test_a_lost_document_hidden_behind_a_duplicate_fails_the_id_check(lake, humaneval):
    docs, _ = planted_corpus(humaneval, planted=2)
    write_curated(lake, docs)
    run_decontamination(lake, DecontaminationConfig())
    counts_before = decontamination_conservation(lake)
    assert decontamination_id_problems(lake) == []
    kept = lake.read("decontaminated_documents").orderBy("doc_id").collect()
    lost, twice = kept[0]["doc_id"], kept[1]
    lake.delete("decontaminated_documents", f"doc_id = '{lost}'")
    lake.write(lake.spark.createDataFrame([twice], lake.read("decontaminated_documents").schema), "decontaminated_documents")
    assert decontamination_conservation(lake) == counts_before  # the counts still balance
    problems = decontamination_id_problems(lake)
    assert any("more than once" in p for p in problems) and any("missing from decontaminated_documents" in p for p in problems)
    assert decontamination_audit(lake) == (counts_before, problems)


def test_the_id_check_names_a_contaminated_document_put_back_a_lost_reject_a_stranger_and_an_unjudged_one(lake, humaneval):
    docs, dirty = planted_corpus(humaneval, planted=2)
    write_curated(lake, docs)
    run_decontamination(lake, DecontaminationConfig(mode="remove"))
    assert decontamination_id_problems(lake) == []
    contaminated = lake.read("decontamination_inputs").where(F.col("action") == "removed").orderBy("doc_id").collect()
    assert len(contaminated) == 2
    back, unrejected = contaminated[0]["doc_id"], contaminated[1]["doc_id"]
    kept = lake.read("decontaminated_documents").orderBy("doc_id").collect()
    unjudged = kept[-1]["doc_id"]
    template = lake.spark.createDataFrame([kept[0]], lake.read("decontaminated_documents").schema)
    lake.write(template.withColumn("doc_id", F.lit(back)), "decontaminated_documents")
    lake.write(template.withColumn("doc_id", F.lit("stranger")), "decontaminated_documents")
    lake.delete("rejects", f"detail LIKE 'doc_id {unrejected}:%'")
    lake.delete("decontamination_inputs", f"doc_id = '{unjudged}'")
    problems = decontamination_id_problems(lake)
    assert problems == ["1 curated document(s) were never judged", "1 decontaminated document(s) are not curated",
                        "1 document(s) judged contaminated are still in decontaminated_documents",
                        "1 removed document(s) do not have exactly one decontamination reject"], problems


def test_a_run_that_stopped_between_its_commits_is_repaired_by_the_next(lake, humaneval):
    docs, dirty = planted_corpus(humaneval, planted=2)
    write_curated(lake, docs)
    run_decontamination(lake, DecontaminationConfig())
    full = _outputs(lake)
    # as if a run appended its judgments and stopped before recording them in decontamination_inputs
    victims = [doc_id(docs[0]["text"]), doc_id(docs[-1]["text"])]
    rows = lake.read("decontaminated_documents").where(F.col("doc_id").isin(victims))
    lake.write(rows, "decontaminated_documents")
    assert victims[0] in dirty and victims[1] not in dirty
    lake.write(lake.read("rejects").where(f"stage = 'decontamination' AND detail LIKE 'doc_id {victims[0]}:%'"), "rejects")
    lake.delete("decontamination_inputs", F.col("doc_id").isin(victims))
    again = run_decontamination(lake, DecontaminationConfig())
    assert again.extra["judged_documents"] == 2 and _outputs(lake) == full and decontamination_id_problems(lake) == []
