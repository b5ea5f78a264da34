"""curated_documents + eval_hashes → decontaminated_documents → splits, with the blocking zero-leak check."""

from typing import Literal

from dagster import AssetCheckResult, AssetCheckSpec, AssetExecutionContext, Config, MaterializeResult, MetadataValue, asset

from assets.curation import _stage_result
from assets.evals import eval_hashes
from assets.licenses import curated_documents
from assets.automation import on_upstream_change
from assets.publish import audited
from assets.resources import LakeResource, SparkResource
from ledgers.decontamination import decontamination_audit, run_decontamination
from ledgers.splits import run_splits, split_leaks, splits_conservation
from schemas.decontamination import DecontaminationConfig
from schemas.splits import SplitConfig


class DecontaminationRunConfig(Config):
    mode: Literal["remove", "redact"] = "remove"
    common_ngram_items: int = 20

    def to_config(self) -> DecontaminationConfig:
        return DecontaminationConfig(mode=self.mode, common_ngram_items=self.common_ngram_items)


@asset(
    deps=[curated_documents, eval_hashes], group_name="training_data", kinds={"spark", "delta"}, automation_condition=on_upstream_change(),
    check_specs=[AssetCheckSpec("records_conserved", asset="decontaminated_documents", blocking=True,
                                description="curated_documents = decontaminated_documents + rejects(stage=decontamination)")],
    description="Curated documents with benchmark n-gram leaks removed (or redacted); the `contamination` table is the report.",
)
def decontaminated_documents(context: AssetExecutionContext, config: DecontaminationRunConfig, spark: SparkResource,
                             lake: LakeResource) -> MaterializeResult:
    the_lake = lake.lake(spark)
    report = run_decontamination(the_lake, config.to_config(), run_id=context.run_id)
    per = report.extra["per_benchmark"]
    table = "| benchmark | items leaked | documents |\n|---|---|---|\n" + "\n".join(
        f"| {b} | {v['items']} | {v['documents']} |" for b, v in per.items()) if per else "no benchmark item found in the corpus"
    return audited(context, the_lake, report.writes, _stage_result(report, *decontamination_audit(the_lake), mode=report.extra["mode"], n=report.extra["n"],
                         redacted_documents=report.extra["redacted_documents"], contamination=MetadataValue.md(table),
                         incremental=report.extra["incremental"], judged_documents=report.extra["judged_documents"],
                         withdrawn_documents=report.extra["withdrawn_documents"]))


class SplitRunConfig(Config):
    train: float = 0.96
    val: float = 0.02
    test: float = 0.02
    seed: str = "irm-splits-v1"
    family_jaccard: float = 0.5

    def to_config(self) -> SplitConfig:
        return SplitConfig(ratios={"train": self.train, "val": self.val, "test": self.test}, seed=self.seed,
                           family_jaccard=self.family_jaccard)


@asset(
    deps=[decontaminated_documents], group_name="training_data", kinds={"spark", "delta"}, automation_condition=on_upstream_change(),
    check_specs=[
        AssetCheckSpec("zero_leaks", asset="splits", blocking=True,
                       description="no repository, near-duplicate cluster or family has documents in two splits, and no "
                                   "pair of documents at Jaccard ≥ family_jaccard sits in two splits"),
        AssetCheckSpec("records_conserved", asset="splits", blocking=True,
                       description="every decontaminated document has exactly one split"),
    ],
    description="train/val/test per document, by a seeded hash of its family (repository, dedup cluster and "
                "near-duplicates at family_jaccard, joined).",
)
def splits(context: AssetExecutionContext, config: SplitRunConfig, spark: SparkResource, lake: LakeResource) -> MaterializeResult:
    the_lake = lake.lake(spark)
    cfg = config.to_config()
    report = run_splits(the_lake, cfg, run_id=context.run_id)
    leaks = split_leaks(the_lake, cfg)
    documents, assigned, missing, stray = splits_conservation(the_lake)
    table = "| bucket | split | documents | bytes |\n|---|---|---|---|\n" + "\n".join(
        f"| {b} | {s} | {d} | {n} |" for (b, s), (d, n) in report.extra["per_bucket_split"].items())
    return audited(context, the_lake, report.writes, MaterializeResult(
        metadata={"dagster/row_count": report.kept, "families": report.extra["families"],
                  "near_duplicate_pairs": report.extra["near_duplicate_pairs"],
                  "per_bucket_split": MetadataValue.md(table), "ratios": MetadataValue.json(report.extra["ratios"]),
                  "table_versions": MetadataValue.json({w.table: w.version for w in report.writes})},
        check_results=[
            AssetCheckResult(check_name="zero_leaks", passed=not any(leaks.values()), metadata={f"straddling_{k}": v for k, v in leaks.items()}),
            AssetCheckResult(check_name="records_conserved", passed=documents == assigned and not missing and not stray,
                             metadata={"decontaminated_documents": documents, "with_a_split": assigned,
                                       "without_a_split": missing, "stray_or_duplicate_rows": stray}),
        ]))
