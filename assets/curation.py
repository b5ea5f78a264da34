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
from assets.automation import on_upstream_change
from assets.publish import audited
from assets.resources import LakeResource, SparkResource
from ledgers.curation import StageReport, clean_audit, dedup_audit, run_clean, run_dedup
from ledgers import figures
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
    min_candidate_probability: float = 0.95
    full_recompute: bool = Field(False, description="forget stored sketches, edges and rows, and recompute everything")

    def to_config(self) -> MinHashConfig:
        return MinHashConfig(ngram=self.ngram, num_perm=self.num_perm, threshold=self.threshold, seed=self.seed,
                             min_candidate_probability=self.min_candidate_probability)


def _stage_result(report: StageReport, in_lake: tuple[int, int, int], problems: list[str] | None = None, **metadata) -> MaterializeResult:
    """Shared metadata of a curation stage, and its conservation check on the counts the lake
    holds after the write (``in_lake`` = input, kept, removed), not on the job's own counters;
    ``problems`` are id-level findings (a duplicated or stray id can balance a count while a
    document is lost), each of which fails the check too."""
    input_rows, kept, removed = in_lake
    problems = problems or []
    return MaterializeResult(
        metadata={
            "rows_in": report.input_rows, "dagster/row_count": report.kept,
            "removed_by_reason": MetadataValue.md(_markdown_counts(report.removed_by_reason, "reason")),
            "table_versions": MetadataValue.json({w.table: w.version for w in report.writes}),
            **metadata,
        },
        check_results=[AssetCheckResult(
            check_name="records_conserved", passed=input_rows == kept + removed and not problems,
            metadata={"input": input_rows, "kept": kept, "removed": removed,
                      **({"problems": MetadataValue.json(problems)} if problems else {})},
            description=f"{kept} kept + {removed} removed vs {input_rows} in" + (f"; {'; '.join(problems)}" if problems else ""),
        )],
    )


@asset(
    deps=[raw_documents], group_name="curation", kinds={"spark", "delta"}, automation_condition=on_upstream_change(),
    check_specs=[AssetCheckSpec("records_conserved", asset="documents_clean", blocking=True,
                                description="raw_documents = documents_clean + rejects(stage=clean), id by id")],
    description="Normalized, language-identified, PII-redacted, quality-scored documents, cleaned per drop (only new or "
                "changed drops); removals go to `rejects` with a reason.",
)
def documents_clean(context: AssetExecutionContext, config: CleanRunConfig, spark: SparkResource, lake: LakeResource) -> MaterializeResult:
    the_lake = lake.lake(spark)
    report = run_clean(the_lake, config.to_config(), run_id=context.run_id)
    return audited(context, the_lake, report.writes, _stage_result(
        report, *clean_audit(the_lake),
        drops_cleaned=MetadataValue.json(report.extra["drops"]),
        pii_redactions=MetadataValue.json(report.extra["pii_redactions"]),
        documents_per_domain=MetadataValue.json(report.extra["domains"]),
        length_histogram_bytes=MetadataValue.md(_markdown_counts(report.extra["length_histogram"], "bytes ≥")),
        length_histogram_plot=MetadataValue.md(figures.log2_counts(report.extra["length_histogram"])),
    ))


@asset(
    deps=[documents_clean], group_name="curation", kinds={"spark", "delta"}, automation_condition=on_upstream_change(),
    check_specs=[AssetCheckSpec("records_conserved", asset="dedup", blocking=True,
                                description="documents_clean = keepers + exact duplicates + near duplicates, id by id")],
    description="Exact-hash and MinHash-LSH near-duplicate clusters (every candidate confirmed by exact Jaccard), one keeper each; "
                "incremental: only new documents are sketched and compared.",
)
def dedup(context: AssetExecutionContext, config: DedupRunConfig, spark: SparkResource, lake: LakeResource) -> MaterializeResult:
    the_lake = lake.lake(spark)
    report = run_dedup(the_lake, config.to_config(), run_id=context.run_id, full=config.full_recompute)
    incremental = {k: report.extra[k] for k in ("new_documents", "removed_documents", "new_sketches", "candidate_pairs",
                                                "new_edges_confirmed", "rewritten_rows")}
    return audited(context, the_lake, report.writes, _stage_result(
        report, *dedup_audit(the_lake),
        dedup_rate_by_domain=MetadataValue.json(report.extra["dedup_rate_by_domain"]),
        dedup_rate_plot=MetadataValue.md(figures.rate_by(report.extra["dedup_rate_by_domain"], "dedup rate per domain")),
        lsh_bands_x_rows=f"{report.extra['bands']} x {report.extra['rows_per_band']}",
        candidate_probability_at_threshold=report.extra["candidate_probability_at_threshold"],
        incremental=MetadataValue.json(incremental),
    ))
