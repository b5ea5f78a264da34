"""raw_documents → documents_clean → dedup, each with a blocking conservation check."""

from dagster import (
    AssetCheckResult,
    AssetCheckSpec,
    AssetExecutionContext,
    Config,
    MaterializeResult,
    MetadataValue,
    asset,
)
from pydantic import Field

from assets.ingest import _markdown_counts, raw_documents
from assets.resources import LakeResource, SparkResource
from ledgers.curation import clean_conservation, dedup_conservation, run_clean, run_dedup
from schemas.curation import CleanConfig
from schemas.dedup import MinHashConfig


class CleanRunConfig(Config):
    """Launchpad knobs; everything else keeps CleanConfig's defaults."""

    target_languages: list[str] = Field(default_factory=lambda: ["en"])
    min_language_score: float = 0.5

    def to_config(self) -> CleanConfig:
        return CleanConfig(target_languages=self.target_languages, min_language_score=self.min_language_score)


class DedupRunConfig(Config):
    ngram: int = 5
    num_perm: int = 128
    threshold: float = 0.8
    seed: int = 1

    def to_config(self) -> MinHashConfig:
        return MinHashConfig(ngram=self.ngram, num_perm=self.num_perm, threshold=self.threshold, seed=self.seed)


def _conservation_check(name: str, input_rows: int, kept: int, removed: int) -> AssetCheckResult:
    return AssetCheckResult(
        check_name=name, passed=input_rows == kept + removed,
        metadata={"input": input_rows, "kept": kept, "removed": removed},
        description=f"{kept} kept + {removed} removed vs {input_rows} in",
    )


@asset(
    deps=[raw_documents], group_name="curation", kinds={"spark", "delta"},
    check_specs=[AssetCheckSpec("records_conserved", asset="documents_clean", blocking=True,
                                description="raw_documents = documents_clean + rejects(stage=clean)")],
    description="Normalized, language-identified, PII-redacted, quality-scored documents; removals go to `rejects` with a reason.",
)
def documents_clean(context: AssetExecutionContext, config: CleanRunConfig, spark: SparkResource, lake: LakeResource) -> MaterializeResult:
    the_lake = lake.lake(spark)
    report = run_clean(the_lake, config.to_config(), run_id=context.run_id)
    raw, kept, removed = clean_conservation(the_lake)
    return MaterializeResult(
        metadata={
            "rows_in": report.input_rows, "dagster/row_count": report.kept,
            "removed_by_reason": MetadataValue.md(_markdown_counts(report.removed_by_reason, "reason")),
            "pii_redactions": MetadataValue.json(report.extra["pii_redactions"]),
            "documents_per_domain": MetadataValue.json(report.extra["domains"]),
            "length_histogram_bytes": MetadataValue.md(_markdown_counts(report.extra["length_histogram"], "bytes ≥")),
            "table_versions": MetadataValue.json({w.table: w.version for w in report.writes}),
        },
        check_results=[_conservation_check("records_conserved", raw, kept, removed)],
    )


@asset(
    deps=[documents_clean], group_name="curation", kinds={"spark", "delta"},
    check_specs=[AssetCheckSpec("records_conserved", asset="dedup", blocking=True,
                                description="documents_clean = keepers + exact duplicates + near duplicates")],
    description="Exact-hash and MinHash-LSH near-duplicate clusters (Jaccard threshold from config), one keeper each.",
)
def dedup(context: AssetExecutionContext, config: DedupRunConfig, spark: SparkResource, lake: LakeResource) -> MaterializeResult:
    the_lake = lake.lake(spark)
    report = run_dedup(the_lake, config.to_config(), run_id=context.run_id)
    clean, kept, removed = dedup_conservation(the_lake)
    return MaterializeResult(
        metadata={
            "rows_in": report.input_rows, "dagster/row_count": report.kept,
            "removed_by_reason": MetadataValue.md(_markdown_counts(report.removed_by_reason, "reason")),
            "dedup_rate_by_domain": MetadataValue.json(report.extra["dedup_rate_by_domain"]),
            "lsh_bands_x_rows": f"{report.extra['bands']} x {report.extra['rows_per_band']}",
            "table_versions": MetadataValue.json({w.table: w.version for w in report.writes}),
        },
        check_results=[_conservation_check("records_conserved", clean, kept, removed)],
    )
