"""A lake with curated documents, sealed splits and a trained tokenizer: what packing and training read."""

import pytest
from pyspark.sql import functions as F

from ledgers.splits import run_splits
from schemas.splits import SplitConfig
from schemas.tokenizer import TokenizerConfig
from tests.corpus import write_curated
from training.tokenizer import train_tokenizer


def code(k: int, lines: int) -> str:
    return "".join(f"def f{k}_{i}(x):\n    return x * {i} + {k}\n" for i in range(lines))


def corpus():
    docs = [{"text": code(k, 1 + k % 7), "repo": f"repo-{k % 40}"} for k in range(240)]
    docs += [{"text": f"Note {k}: the sum of {k} and {k + 1} is {2 * k + 1}.\n" * (1 + k % 3), "domain": "text"} for k in range(120)]
    docs.append({"text": code(999, 60), "repo": "repo-long"})
    return docs


@pytest.fixture
def packed_lake(lake):
    write_curated(lake, corpus())
    lake.write(lake.read("curated_documents").join(lake.read("documents_clean").select("doc_id", "text"), "doc_id")
               .withColumn("redacted_ngrams", F.lit(0)), "decontaminated_documents", mode="overwrite")
    run_splits(lake, SplitConfig(ratios={"train": 0.7, "val": 0.15, "test": 0.15}))
    tok = train_tokenizer(lake, TokenizerConfig(vocab_size=400, sample_bytes=100_000)).artifact
    return lake, tok


