"""The programme report, rebuilt whenever the scorecard changes: HTML and an executed notebook."""


import pyarrow as pa
from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from assets.automation import on_upstream_change
from assets.resources import LakeResource, TrainingResource
from ledgers.report import markdown_table, write_report


@asset(group_name="reports", kinds={"duckdb", "html"}, deps=["scorecard"], owners=["team:ml-platform"],
       tags={"layer": "report"}, automation_condition=on_upstream_change(),
       description="One self-contained HTML report (and the same sections as an executed notebook) built from lake "
                   "tables only: config, tokenizer, data, pre-training curves, probes, distillation, memory, latency, "
                   "scorecard and the changes against the previous manifest.")
def report(context: AssetExecutionContext, lake: LakeResource, training: TrainingResource) -> MaterializeResult:
    result = write_report(training.settings(lake))
    status = [{"section": s.title, "status": "not materialized" if s.empty else "measured"} for s in result.sections]


    headline = next((s for s in result.sections if s.title.startswith("Scorecard") and s.tables), None)
    metadata = {
        "report_id": result.report_id,
        "html": MetadataValue.path(str(result.html_path)),
        "open": MetadataValue.url(result.html_path.resolve().as_uri()),
        "sections": MetadataValue.md(markdown_table(pa.Table.from_pylist(status))),
    }
    if result.notebook_path:
        metadata["notebook"] = MetadataValue.notebook(str(result.notebook_path))
    if headline:
        metadata["scorecard"] = MetadataValue.md(markdown_table(headline.tables[0][1]))
    context.log.info(f"report {result.report_id}: {result.html_path}")
    return MaterializeResult(metadata=metadata)
