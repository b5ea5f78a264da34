"""License ledger on Spark: evidence files per repository, headers per code file, decisions.

A file's effective license is, in order: its own header (SPDX identifier or license notice),
the nearest LICENSE/COPYING-like file of its repository (the ingest's license hint), the
repository's package metadata, or the record's own license field; none of them → no-license.
"""

from __future__ import annotations

import hashlib
from typing import Iterator

import pyarrow as pa
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from schemas.licenses import DETECTOR_VERSION, LicenseConfig
from schemas.tables import LicenseRecord
from schemas.types import arrow_schema, spark_schema
from spark_jobs.license_rules import EVIDENCE_NAMES, decide, detect_evidence_file, detect_header, from_name

LEDGER_ARROW = arrow_schema(LicenseRecord)
EVIDENCE_ARROW = pa.schema([("repo", pa.string()), ("path", pa.string()), ("spdx_expression", pa.string()),
                            ("rule", pa.string()), ("score", pa.float64()), ("is_metadata", pa.bool_())])
EVIDENCE_SCHEMA = "repo string, path string, spdx_expression string, rule string, score double, is_metadata boolean"


def license_evidence(raw: DataFrame) -> DataFrame:
    """One row per license or package-metadata file of a repository that names a license."""
    names = raw.where(F.col("repo").isNotNull() & F.col("path").isNotNull()).select("repo", "path", "text")

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            rows = []
            for r in batch.to_pylist():
                if not EVIDENCE_NAMES.match(r["path"].rsplit("/", 1)[-1]):
                    continue
                found = detect_evidence_file(r["path"], r["text"])
                if found:
                    rows.append({"repo": r["repo"], "path": r["path"], "spdx_expression": found.spdx, "rule": found.rule,
                                 "score": found.score, "is_metadata": found.rule.startswith("metadata:")})
            yield pa.RecordBatch.from_pylist(rows, schema=EVIDENCE_ARROW)

    return names.mapInArrow(run, EVIDENCE_SCHEMA)


def license_ledger(code: DataFrame, evidence: DataFrame, cfg: LicenseConfig) -> DataFrame:
    """``code``: doc_id, source, text, repo, path, license_hint. One ledger row per code file."""
    by_file = evidence.where(~F.col("is_metadata")).select(
        "repo", F.col("path").alias("license_hint"), F.col("spdx_expression").alias("file_expr"),
        F.concat_ws(":", "path", "rule").alias("file_evidence"), F.col("score").alias("file_score"))
    shallowest = Window.partitionBy("repo").orderBy(F.size(F.split("path", "/")), "path")
    by_repo = (evidence.where("is_metadata").withColumn("_n", F.row_number().over(shallowest)).where("_n = 1")
               .select("repo", F.col("spdx_expression").alias("meta_expr"),
                       F.concat_ws(":", "path", "rule").alias("meta_evidence"), F.col("score").alias("meta_score")))
    joined = code.join(by_file, ["repo", "license_hint"], "left").join(by_repo, "repo", "left")
    cfg_json = cfg.model_dump_json()

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        local = LicenseConfig.model_validate_json(cfg_json)
        for batch in batches:
            rows = []
            for r in batch.to_pylist():
                header = detect_header(r["text"], local)
                if header:
                    expr, evidence, score = header.spdx, f"{r['path']}:{header.rule}", header.score
                elif r["file_expr"]:
                    expr, evidence, score = r["file_expr"], r["file_evidence"], r["file_score"]
                elif r["meta_expr"]:
                    expr, evidence, score = r["meta_expr"], r["meta_evidence"], r["meta_score"]
                elif r["license_hint"] and (named := from_name(r["license_hint"])):
                    expr, evidence, score = named, "record:license-field", 0.7
                else:
                    expr, evidence, score = None, None, 0.0
                rows.append(LicenseRecord(
                    doc_id=r["doc_id"], source=r["source"], repo=r["repo"], path=r["path"],
                    sha256=hashlib.sha256(r["text"].encode("utf-8", "surrogatepass")).hexdigest(),
                    spdx_expression=expr, evidence=evidence, score=score, decision=decide(expr, local),
                    detector_version=DETECTOR_VERSION).model_dump())
            yield pa.RecordBatch.from_pylist(rows, schema=LEDGER_ARROW)

    return joined.select("doc_id", "source", "text", "repo", "path", "license_hint", "file_expr", "file_evidence", "file_score",
                         "meta_expr", "meta_evidence", "meta_score").mapInArrow(run, spark_schema(LicenseRecord))

