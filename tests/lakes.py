"""Lakes built up to a stage, shared by the training and serving tests: curated documents, sealed
splits and a tokenizer (``packed_lake``), then a manifest and a finished local training run (``trained``)."""

import pytest
from pyspark.sql import functions as F

from ledgers.lake import Lake
from ledgers.splits import run_splits
from schemas.launch import TrainingPlan
from schemas.packing import PackConfig
from schemas.settings import IrmSettings, LakeSettings, LandingSettings
from schemas.splits import SplitConfig
from schemas.tokenizer import TokenizerConfig
from tests.conftest import TEST_SPARK
from tests.corpus import write_curated
from training.runs import run_training
from training.shards import run_pack
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
    return lake, build_packed_lake(lake)




LOCAL = {"steps": 6, "save_every": 3, "batch_size": 4, "lr": 1e-2}


def build_packed_lake(lake):
    write_curated(lake, corpus())
    lake.write(lake.read("curated_documents").join(lake.read("documents_clean").select("doc_id", "text"), "doc_id")
               .withColumn("redacted_ngrams", F.lit(0)), "decontaminated_documents", mode="overwrite")
    run_splits(lake, SplitConfig(ratios={"train": 0.7, "val": 0.15, "test": 0.15}))
    return train_tokenizer(lake, TokenizerConfig(vocab_size=400, sample_bytes=100_000)).artifact


@pytest.fixture(scope="module")
def trained(spark, tmp_path_factory):
    """One finished local training run per test module (building it costs about a minute)."""
    root = tmp_path_factory.mktemp("trained")
    settings = IrmSettings(spark=TEST_SPARK, lake=LakeSettings(root=str(root / "lake")),
                           landing=LandingSettings(root=str(root / "landing"), settle_seconds=0))
    lake = Lake(settings.lake, spark)
    build_packed_lake(lake)
    run_pack(lake, PackConfig(seq_len=32, max_shard_tokens=4_096))
    return lake, settings, run_training(lake, settings, TrainingPlan(), LOCAL)


