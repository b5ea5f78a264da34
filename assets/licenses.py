"""dedup → license_ledger → curated_documents, with the blocking "nothing excluded gets in" check."""

from dagster import AssetCheckResult, AssetCheckSpec, AssetExecutionContext, Config, MaterializeResult, MetadataValue, asset
from pydantic import Field

from assets.curation import _stage_result, dedup, documents_clean
from assets.ingest import _markdown_counts
from assets.automation import on_upstream_change
from assets.publish import audited
from assets.resources import LakeResource, SparkResource
from ledgers.licenses import curated_audit, excluded_in_curated, run_curated, run_license_ledger
from schemas.licenses import PERMISSIVE, LicenseConfig


class LicenseRunConfig(Config):
    allowlist: list[str] = Field(default_factory=lambda: list(PERMISSIVE))
    unlicensed_text: str = Field("allow", description="allow or exclude: text of sources without any license evidence")
    source_policy: dict[str, str] = Field(default_factory=dict, description="source → allow/exclude for its documents without evidence")
    full_recompute: bool = Field(False, description="decide every document again instead of only new, changed-repository and policy-affected ones")

    def to_config(self) -> LicenseConfig:
        return LicenseConfig(allowlist=self.allowlist, unlicensed_text=self.unlicensed_text, source_policy=self.source_policy)


@asset(
    deps=[documents_clean], group_name="licenses", kinds={"spark", "delta"}, automation_condition=on_upstream_change(),
    description="SPDX expression, every license found, evidence and allow/exclude decision for every document "
                "(code, LICENSE texts, READMEs, metadata); documents without evidence follow the source policy. "
                "Incremental: only new documents, repositories whose files changed and policy-affected rows are decided again.",
)
def license_ledger(context: AssetExecutionContext, config: LicenseRunConfig, spark: SparkResource, lake: LakeResource) -> MaterializeResult:
    report = run_license_ledger(lake.lake(spark), config.to_config(), run_id=context.run_id, full=config.full_recompute)
    return MaterializeResult(metadata={
        "dagster/row_count": report.input_rows, "allowed": report.kept, "decided_again": report.extra["decided_again"],
        "excluded_by_reason": MetadataValue.md(_markdown_counts(report.removed_by_reason, "decision")),
        "files_by_source_spdx_decision": MetadataValue.md(_markdown_counts(report.extra["by_source_spdx_decision"], "source | SPDX | decision")),
        "table_versions": MetadataValue.json({w.table: w.version for w in report.writes}),
    })


@asset(
    deps=[dedup, license_ledger], group_name="licenses", kinds={"spark", "delta"}, automation_condition=on_upstream_change(),
    check_specs=[
        AssetCheckSpec("records_conserved", asset="curated_documents", blocking=True,
                       description="dedup keepers = curated_documents + rejects(stage=license), id by id"),
        AssetCheckSpec("no_excluded_license", asset="curated_documents", blocking=True,
                       description="no document (any domain) without an `allow` ledger decision is in the curated set"),
    ],
    description="The curated corpus: dedup keepers whose license decision is allow.",
)
def curated_documents(context: AssetExecutionContext, spark: SparkResource, lake: LakeResource) -> MaterializeResult:
    the_lake = lake.lake(spark)
    report = run_curated(the_lake, run_id=context.run_id)
    result = _stage_result(report, *curated_audit(the_lake))
    leaked = excluded_in_curated(the_lake)
    return audited(context, the_lake, report.writes, MaterializeResult(metadata=result.metadata, check_results=[*result.check_results, AssetCheckResult(
        check_name="no_excluded_license", passed=leaked == 0, metadata={"excluded_documents_in_curated": leaked})]))
