import random

import pytest

from ledgers.decontamination import DecontaminationError, decontamination_conservation, run_decontamination
from ledgers.evals import load_items, run_eval_hashes
from schemas.decontamination import DecontaminationConfig
from schemas.evals import EvalHashConfig
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
    assert all("[eval-redacted]" in r["text"] and r["text"].startswith(filler(k, 300)[:50]) is not None for k, r in enumerate(redacted.values()))
    # the redacted texts, decontaminated again, share nothing with the benchmark
    write_curated(lake, [{"text": r["text"], "repo": "again"} for r in redacted.values()])
    assert run_decontamination(lake, DecontaminationConfig()).removed_by_reason == {}


def test_ngrams_common_in_the_corpus_do_not_count(lake, humaneval):
    boiler = lightly_edited(humaneval[0]["text"], 0)
    docs = [{"text": filler(k, 50) + boiler, "repo": f"r{k}"} for k in range(6)]
    write_curated(lake, docs)
    assert run_decontamination(lake, DecontaminationConfig(common_ngram_documents=5)).removed_by_reason == {}
    assert run_decontamination(lake, DecontaminationConfig(common_ngram_documents=6)).removed_by_reason == {"contaminated": 6}


def test_decontamination_refuses_to_run_without_benchmark_hashes(lake):
    write_curated(lake, [{"text": filler(1, 30)}])
    with pytest.raises(DecontaminationError, match="materialize eval_hashes"):
        run_decontamination(lake, DecontaminationConfig())
