"""raw_documents → documents_clean: one Arrow-batched pass applying ``text_rules`` per document."""

from __future__ import annotations

from typing import Iterator

import pyarrow as pa
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from schemas.curation import CleanConfig
from schemas.tables import DocumentClean
from schemas.types import arrow_schema, spark_schema
from spark_jobs.text_rules import clean_document

STAGE = "clean"
_OUT = pa.schema(list(arrow_schema(DocumentClean)) + [pa.field("reason", pa.string()), pa.field("reason_detail", pa.string())])


def clean_documents(raw: DataFrame, cfg: CleanConfig) -> DataFrame:
    """Every input row once: the cleaned document, with ``reason`` set when it is to be removed."""
    cfg_json = cfg.model_dump_json()
    columns = ["doc_id", "text", "domain_hint", "path", "source", "uri", "drop_id"]

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        local = CleanConfig.model_validate_json(cfg_json)
        for batch in batches:
            rows = []
            for doc in batch.to_pylist():
                out = clean_document(doc, local)
                out.update(source=doc["source"], uri=doc["uri"], drop_id=doc["drop_id"],
                           pii_redactions=list(out["pii_redactions"].items()), quality=list(out["quality"].items()))
                rows.append(out)
            yield pa.RecordBatch.from_pylist(rows, schema=_OUT)

    out_schema = spark_schema(DocumentClean).add("reason", "string").add("reason_detail", "string")
    return raw.select(*columns).mapInArrow(run, out_schema)


def split_clean(cleaned: DataFrame, drop_col: str = "reason") -> tuple[DataFrame, DataFrame]:
    """(kept documents, rejects rows): each reject's detail names the document and the score
    that broke the rule, e.g. ``doc_id 3f…: max_line_length=1532 > 1000``."""
    kept = cleaned.where(F.col(drop_col).isNull()).drop(drop_col, "reason_detail")
    drop_id = F.col("drop_id") if "drop_id" in cleaned.columns else F.lit(None).cast("string")
    removed = cleaned.where(F.col(drop_col).isNotNull()).select(
        "source", "uri", F.lit(STAGE).alias("stage"), F.col(drop_col).alias("reason"),
        F.concat_ws(": ", F.concat(F.lit("doc_id "), F.col("doc_id")), F.col("reason_detail")).alias("detail"), drop_id.alias("drop_id"))
    return kept, removed
