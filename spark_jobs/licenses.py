"""License ledger on Spark: evidence files per folder, headers per file, a decision per document.

Every document gets a row. Its effective license is, in order: its own header (SPDX identifier
or license notice); for a license or metadata file, what that file itself says (a GPL text is a
GPL document); the license files of the nearest folder above it that has any, all of them
combined (``LICENSE`` + ``LICENSE-APACHE``, ``COPYING`` + ``COPYING.LESSER``), with sections
scoped to the paths they name; the repository's package metadata; the record's own license
field. A document with none of these is decided by source policy (``LicenseConfig``).
"""

from __future__ import annotations

import hashlib
import json
from typing import Iterator

import pyarrow as pa
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from schemas.licenses import DETECTOR_VERSION, LicenseConfig
from schemas.tables import LicenseRecord
from schemas.types import arrow_schema, spark_schema
from spark_jobs.license_rules import (
    EVIDENCE_NAMES, METADATA_NAMES, Detection, combine, decide, detect_evidence_file, detect_header, effective, from_name)
from spark_jobs.license_texts import Section, says_dual

LEDGER_ARROW = arrow_schema(LicenseRecord)
EVIDENCE_ARROW = pa.schema([("repo", pa.string()), ("path", pa.string()), ("detection", pa.string()),
                            ("is_metadata", pa.bool_()), ("dual", pa.bool_())])
EVIDENCE_SCHEMA = "repo string, path string, detection string, is_metadata boolean, dual boolean"
NO_EVIDENCE = "exclude:no-license"


def _dump(d: Detection) -> str:
    return json.dumps({"spdx": d.spdx, "rule": d.rule, "score": d.score,
                       "sections": [[s.spdx, s.rule, list(s.scope)] for s in d.sections]})


def _load(raw: str) -> Detection:
    d = json.loads(raw)
    return Detection(d["spdx"], d["rule"], d["score"],
                     tuple(Section(s, r, i, i, tuple(scope)) for i, (s, r, scope) in enumerate(d["sections"])))


def _is_evidence(path: str) -> bool:
    return bool(EVIDENCE_NAMES.match(path.rsplit("/", 1)[-1])) or path.endswith("debian/copyright")


def license_evidence(raw: DataFrame) -> DataFrame:
    """One row per license or package-metadata file of a repository that names a license."""
    names = raw.where(F.col("repo").isNotNull() & F.col("path").isNotNull()).select("repo", "path", "text")

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            rows = []
            for r in batch.to_pylist():
                if not _is_evidence(r["path"]):
                    continue
                found = detect_evidence_file(r["path"], r["text"])
                dual = says_dual(r["text"])
                if found is None and dual:
                    found = Detection("", "notice:dual", 0.0)
                if found:
                    rows.append({"repo": r["repo"], "path": r["path"], "detection": _dump(found),
                                 "is_metadata": r["path"].rsplit("/", 1)[-1].lower() in METADATA_NAMES,
                                 "dual": dual})
            yield pa.RecordBatch.from_pylist(rows, schema=EVIDENCE_ARROW)

    return names.mapInArrow(run, EVIDENCE_SCHEMA)


def _folder(path: F.Column) -> F.Column:
    """The folder an evidence file speaks for; debian/copyright speaks for the package above debian/."""
    return F.when(path.endswith("debian/copyright"), F.regexp_replace(path, r"/?debian/copyright$", "")) \
        .otherwise(F.regexp_replace(path, r"/?[^/]*$", ""))


def _nearest_folder_evidence(docs: DataFrame, evidence: DataFrame) -> DataFrame:
    """doc_id → the license files of the deepest folder above the document that has any."""
    folders = (evidence.where(~F.col("is_metadata")).withColumn("folder", _folder(F.col("path")))
               .groupBy("repo", "folder")
               .agg(F.sort_array(F.collect_list(F.struct("path", "detection", "dual"))).alias("folder_files")))
    ancestors = docs.where(F.col("repo").isNotNull() & F.col("path").isNotNull()).select(
        "doc_id", "repo", F.posexplode(F.expr("transform(sequence(size(split(path, '/')) - 1, 0, -1), "
                                              "i -> array_join(slice(split(path, '/'), 1, i), '/'))")).alias("depth", "folder"))
    nearest = Window.partitionBy("doc_id").orderBy("depth")
    return (ancestors.join(folders, ["repo", "folder"]).withColumn("_n", F.row_number().over(nearest))
            .where("_n = 1").select("doc_id", "folder_files"))


def config_hash(cfg: LicenseConfig) -> str:
    """What a ledger row's decision depends on besides the data: the settings and the rules."""
    return hashlib.sha256(f"{DETECTOR_VERSION}\n{cfg.model_dump_json()}".encode()).hexdigest()[:16]


def license_records(docs: DataFrame, evidence: DataFrame, cfg: LicenseConfig) -> DataFrame:
    """``docs``: doc_id, source, domain, text, repo, path, license_hint. One ledger row per document,
    before ``source_policy``: its license from its own evidence and that of its repository
    (``evidence`` must hold every evidence file of the documents' repositories)."""
    own = evidence.groupBy("repo", "path").agg(F.min("detection").alias("own"))
    shallowest = Window.partitionBy("repo").orderBy(F.size(F.split("path", "/")), "path", "detection")
    by_repo = (evidence.where("is_metadata").withColumn("_n", F.row_number().over(shallowest)).where("_n = 1")
               .select("repo", F.col("path").alias("meta_path"), F.col("detection").alias("meta")))
    joined = (docs.join(own, ["repo", "path"], "left").join(_nearest_folder_evidence(docs, evidence), "doc_id", "left")
              .join(by_repo, "repo", "left"))
    cfg_json, decided_by = cfg.model_dump_json(), config_hash(cfg)

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        local = LicenseConfig.model_validate_json(cfg_json)
        for batch in batches:
            rows = []
            for r in batch.to_pylist():
                expr, evidence_of, score, found = _effective(r, local)
                rows.append(LicenseRecord(
                    doc_id=r["doc_id"], source=r["source"], domain=r["domain"], repo=r["repo"], path=r["path"],
                    sha256=hashlib.sha256(r["text"].encode("utf-8", "surrogatepass")).hexdigest(),
                    spdx_expression=expr, licenses_found=found, evidence=evidence_of, score=score,
                    decision=decide(expr, local) if expr else NO_EVIDENCE, detector_version=DETECTOR_VERSION,
                    config_hash=decided_by).model_dump())
            yield pa.RecordBatch.from_pylist(rows, schema=LEDGER_ARROW)

    return joined.select("doc_id", "source", "domain", "text", "repo", "path", "license_hint", "own", "folder_files",
                         "meta_path", "meta").mapInArrow(run, spark_schema(LicenseRecord))


def _effective(r: dict, cfg: LicenseConfig) -> tuple[str | None, str | None, float, list[str]]:
    path = r["path"]
    own = _load(r["own"]) if r["own"] else None
    own = own if own and own.spdx else None
    header = None if own else detect_header(r["text"], cfg)
    if header:
        return header.spdx, f"{path}:{header.rule}", header.score, header.found
    if own:
        return own.spdx, f"{path}:{own.rule}", own.score, own.found
    if r["folder_files"]:
        files = [(_load(f["detection"]), f["dual"]) for f in r["folder_files"]]
        expr, found = combine(files, path)
        rules = "+".join(f"{f['path']}:{d.rule}" for f, (d, _) in zip(r["folder_files"], files))
        return expr, rules, min([d.score for d, _ in files if d.spdx] or [0.0]), found
    if r["meta"]:
        det = _load(r["meta"])
        return effective(path, det), f"{r['meta_path']}:{det.rule}", det.score, det.found
    hint = r["license_hint"]
    if hint and "/" not in hint and not EVIDENCE_NAMES.match(hint) and (named := from_name(hint)):
        return named, "record:license-field", 0.7, [named]
    return None, None, 0.0, []


def sources_with_evidence(ledger: DataFrame) -> DataFrame:
    """``(source, has_evidence)``: whether any document of the source carries a license."""
    return ledger.groupBy("source").agg((F.max(F.col("spdx_expression").isNotNull().cast("int")) > 0).alias("has_evidence"))


def source_policy(ledger: DataFrame, cfg: LicenseConfig) -> DataFrame:
    """Documents without any evidence: a source named in ``source_policy`` gets that decision;
    otherwise text from a source where no document carries license evidence follows
    ``unlicensed_text`` (forum posts, web text), and everything else is ``exclude:no-license``.
    Applying it again to its own output changes nothing while no source gains or loses evidence."""
    has_evidence = F.max(F.col("spdx_expression").isNotNull().cast("int")).over(Window.partitionBy("source")) > 0
    policy = F.create_map(*[F.lit(x) for kv in sorted(cfg.source_policy.items()) for x in kv]) if cfg.source_policy else None
    named = policy[F.col("source")] if policy is not None else F.lit(None).cast("string")
    default = F.when((F.col("domain") != "code") & ~has_evidence & F.lit(cfg.unlicensed_text == "allow"), F.lit("allow"))
    chosen = F.coalesce(named, F.when(default.isNotNull(), F.lit("allow")))
    no_evidence = F.col("spdx_expression").isNull()
    return ledger.select(
        *[c for c in ledger.columns if c not in {"decision", "evidence"}],
        F.when(no_evidence & named.isNotNull(), F.concat(F.lit("policy:source:"), F.col("source")))
         .when(no_evidence & chosen.isNotNull(), F.lit("policy:no-evidence-in-source")).otherwise(F.col("evidence")).alias("evidence"),
        F.when(no_evidence & (chosen == "allow"), F.lit("allow"))
         .when(no_evidence & (chosen == "exclude"), F.lit("exclude:source-policy"))
         .otherwise(F.col("decision")).alias("decision"),
    ).select(*ledger.columns)
