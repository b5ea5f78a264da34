"""Row models of the lake tables: one pydantic model per Delta table.

Every writer selects and casts its DataFrame to ``spark_schema(Model)`` through the one write
helper in ``ledgers.lake``, so a table's columns are exactly these fields, in this order.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Optional

from pydantic import BaseModel, Field

from schemas.operations import AuditFinding, Incident, MaintenanceRecord
from schemas.memory import MemoryChunk, MemoryIndexRun
from schemas.evals import EvalItemResult, EvalResult, ScorecardRow


class RawDocument(BaseModel):
    """One landed document, as it arrived: bronze. Keyed by ``doc_id``."""

    doc_id: str = Field(description="sha256 hex of source, path and text: a content hash, never a position")
    source: str = Field(description="corpus name: the record's `source` field, else the drop's name")
    uri: str = Field(description="where the record came from: landing file (#L<line> for JSONL, #row<n> for Parquet)")
    domain_hint: Optional[str] = Field(default=None, description="code/math/text hint from metadata or file type")
    text: str
    bytes: int = Field(description="UTF-8 length of text")
    repo: Optional[str] = None
    path: Optional[str] = Field(default=None, description="path inside the repository or source tree")
    license_hint: Optional[str] = Field(default=None, description="nearest LICENSE/COPYING file (tree drops) or the record's license field")
    ingested_at: dt.datetime = Field(description="landing time of the drop (newest file mtime), so reruns give equal rows")
    drop_id: str


class Reject(BaseModel):
    """A record some stage could not keep, with the reason. Nothing is dropped silently."""

    source: str
    uri: str
    stage: str
    reason: str = Field(description="short machine-readable reason, e.g. malformed-json, invalid-utf8")
    detail: Optional[str] = None
    drop_id: Optional[str] = None


class LineageEntry(BaseModel):
    """One committed Delta version of a lake table and the run that wrote it."""

    table: str
    version: int
    operation: str
    rows: int = Field(description="rows written by this commit (inserted + updated for a merge)")
    run_id: Optional[str] = None
    partition: Optional[str] = None
    recorded_at: dt.datetime


class IngestedDrop(BaseModel):
    """The accounting of one ingested drop: what was seen, kept and rejected."""

    drop_id: str
    name: str
    kind: str
    sha256: str
    files: int
    bytes: int
    records_seen: int
    files_accounted: int = Field(0, description="files of the drop that produced at least one document or reject (must equal files)")
    documents: int
    rejects: int
    landed_at: dt.datetime
    status: str = Field("ingested", description="ingested, or failed: the run stopped before the drop's rows were written; retry it")
    error: Optional[str] = Field(default=None, description="what stopped a failed run")


class DocumentClean(BaseModel):
    """A document after normalization, language ID, PII redaction and quality scoring: silver."""

    doc_id: str
    source: str
    uri: str
    text: str
    bytes: int
    lang: str = Field(description="ISO 639-1 for prose and math, the programming language for code")
    lang_score: float
    pii_redactions: dict[str, int] = Field(description="placeholders inserted, per type (email, ip_address, phone, secret)")
    quality: dict[str, float] = Field(description="quality heuristics; thresholds live in CleanConfig")
    domain: str = Field(description="code / math / text / synthetic")
    bucket: str = Field(description="domain/lang, e.g. code/python, text/en")
    drop_id: Optional[str] = Field(default=None, description="the landing drop it came from: cleaning runs and reruns per drop")


class CleanedDrop(BaseModel):
    """One drop as the cleaning stage last processed it: a drop is cleaned again only when its
    content (``drop_sha256``) or the cleaning configuration (``config_hash``) changed."""

    drop_id: str
    drop_sha256: str
    config_hash: str
    rows_in: int
    kept: int
    removed: int


class DedupRow(BaseModel):
    """Every cleaned document with its exact hash, near-duplicate cluster and keeper decision."""

    doc_id: str
    domain: str
    exact_hash: str
    minhash_cluster: str = Field(description="smallest doc_id of the near-duplicate cluster")
    is_keeper: bool
    removed_reason: Optional[str] = Field(default=None, description="exact-duplicate or near-duplicate")
    duplicate_of: Optional[str] = Field(default=None, description="the keeper this document duplicates")


class FamilySketch(BaseModel):
    """MinHash signature and LSH band keys at the family threshold of one decontaminated text,
    computed once per text and configuration and kept, so a new drop's splits sketch only its texts."""

    text_hash: str = Field(description="sha256 of the decontaminated text (redaction can change a document's text)")
    config_hash: str = Field(description="hash of the family MinHash settings the sketch was made with")
    has_shingles: bool
    signature: list[int]
    band_keys: list[int]


class DedupSketch(BaseModel):
    """MinHash signature, LSH band keys and shingle set of one distinct text (exact hash), computed
    once per text and configuration and kept, so a new drop is compared without recomputing the lake."""

    exact_hash: str
    config_hash: str = Field(description="hash of the MinHash settings the sketch was made with")
    has_shingles: bool
    signature: list[int]
    band_keys: list[int]
    shingles: list[int] = Field(description="distinct 64-bit shingle hashes: the set exact Jaccard is computed on")
    n_shingles: int


class DedupEdge(BaseModel):
    """A confirmed near-duplicate pair of distinct texts (``src < dst``), exact Jaccard >= threshold."""

    src: str
    dst: str
    config_hash: str
    jaccard: float


class LicenseRecord(BaseModel):
    """The effective license of one document (any domain), where it came from, and the keep/exclude decision."""

    doc_id: str
    source: str
    domain: Optional[str] = None
    repo: Optional[str] = None
    path: Optional[str] = None
    sha256: str = Field(description="sha256 of the file's text")
    spdx_expression: Optional[str] = Field(default=None, description="normalized SPDX expression that applies to this document; null when none was found")
    licenses_found: list[str] = Field(default_factory=list, description="every license the evidence names, including sections scoped to other paths")
    evidence: Optional[str] = Field(default=None, description="file and rule that gave the expression, e.g. LICENSE:text:mit, or policy:<why>")
    score: float = Field(description="rule confidence, 0 when nothing was found")
    decision: str = Field(description="allow, or exclude:<no-license|source-policy|copyleft|unknown|not-allowlisted>[:license]")
    detector_version: str
    config_hash: str = Field("", description="hash of the license settings and detector version that decided the row; "
                                             "a row decided under others is decided again")


class CuratedDocument(BaseModel):
    """A document that passed every curation stage: dedup keeper with an allowed license decision."""

    doc_id: str
    domain: str
    bucket: str
    bytes: int
    spdx_expression: Optional[str] = None


class TokenizerArtifact(BaseModel):
    """A trained tokenizer: content-addressed file plus what it was trained from."""

    tokenizer_id: str = Field(description="first 16 hex of the model file's sha256")
    uri: str
    sha256: str
    vocab_size: int
    config_json: str
    sample_documents: int
    sample_bytes: dict[str, int] = Field(description="training bytes per domain")
    input_versions: dict[str, int] = Field(description="Delta version of every table the sample was read from")
    created_at: dt.datetime


class EvalHash(BaseModel):
    """One word n-gram of one benchmark item (prompt or reference answer), hashed."""

    benchmark: str
    item_id: str
    ngram_hash: int = Field(description="xxhash64 of the n lower-cased words joined by spaces")
    n: int


class ContaminationRecord(BaseModel):
    """A training document that shares counted n-grams with a benchmark item, and what was done."""

    benchmark: str
    item_id: str
    doc_id: str
    overlapping_ngrams: int = Field(description="distinct counted n-grams the two share")
    ngram_hashes: list[int] = Field(description="the smallest of those n-gram hashes (see eval_hashes), for inspection")
    action: str = Field(description="removed, or redacted (the spans were cut out and the document kept)")


class DecontaminatedDocument(BaseModel):
    """A curated document with its final training text: clean, or with benchmark spans redacted."""

    doc_id: str
    domain: str
    bucket: str
    text: str
    bytes: int
    redacted_ngrams: int = Field(description="benchmark n-grams cut out of the text; 0 for an untouched document")


class DecontaminationInput(BaseModel):
    """Every curated document decontamination has judged, with the text it judged and under which
    benchmark hashes and settings: a later run judges only documents not here (or changed)."""

    doc_id: str
    text_sha256: str = Field(description="sha256 of what was judged and written: the clean text, domain, bucket, source and uri")
    fingerprint: str = Field(description="hash of the decontamination settings, the n-gram length and the content of eval_hashes")
    action: str = Field(description="kept, redacted or removed")
    source: str
    uri: str


class SplitAssignment(BaseModel):
    """Which split a training document belongs to, decided by its family, never by itself alone."""

    doc_id: str
    domain: str
    bucket: str
    bytes: int
    family: str = Field(description="cluster:<id>, repo:<name> or doc:<id>: the smallest key joined to this document through shared near-duplicate clusters and repositories")
    split: str = Field(description="train, val or test")


class ShardManifestRow(BaseModel):
    """One Megatron indexed-dataset shard (``uri`` + .bin/.idx) of one manifest."""

    manifest_id: str = Field(description="sha256 (first 16 hex) of the manifest's shard rows")
    uri: str = Field(description="path prefix: append .bin and .idx")
    sha256: str = Field(description="sha256 of the .bin file")
    idx_sha256: str
    bytes: int = Field(description="size of the .bin file")
    tokens: int = Field(description="tokens stored, end-of-document tokens included")
    sequences: int
    documents: int = Field(description="documents with tokens in this shard")
    truncated_documents: int = Field(description="documents longer than seq_len, cut into seq_len pieces")
    bucket: str
    split: str
    tokenizer_id: str
    seq_len: int
    dtype: str = Field(description="uint16 below a 65,500 vocabulary, else int32")
    input_versions: dict[str, int] = Field(description="Delta version of every table the shards were built from")
    created_at: dt.datetime


class TrainingRun(BaseModel):
    """One launched training run and where it stands."""

    run_id: str = Field(description="run-<sha16 of manifest id, config hash and code version>")
    manifest_id: str
    config_hash: str = Field(description="sha256 (16 hex) of the trainer config and the training plan")
    code_version: str = Field(description="git commit of this repository (+dirty), else the package version")
    executor: str = Field(description="local or slurm (NeMo-Run executor)")
    experiment_id: Optional[str] = Field(default=None, description="NeMo-Run experiment id")
    status: str = Field(description="RUNNING, SUCCEEDED, FAILED, SUBMITTED")
    run_dir: str
    recipe_uris: list[str] = Field(description="the Megatron-Bridge stage YAMLs written for this run")
    metrics: dict[str, float]
    dagster_run_id: Optional[str] = None
    updated_at: dt.datetime


class CheckpointRecord(BaseModel):
    """A checkpoint a run wrote, registered once by the checkpoint sensor."""

    checkpoint_id: str = Field(description="<run_id>.step-NNNNNN")
    run_id: str
    step: int
    uri: str = Field(description="HF-format folder: model.safetensors, config.json, tokenizer.model")
    sha256: str = Field(description="sha256 of model.safetensors")
    tokens_seen: int
    loss: float = Field(description="training loss at this step")
    registered_at: dt.datetime


class PostTrainingDataset(BaseModel):
    """An SFT or DPO dataset built from the distilled tables for one base checkpoint's tokenizer."""

    dataset_id: str = Field(description="sft-/dpo-<sha16 of its records>: the manifest_id of the runs that train on it")
    kind: str = Field(description="sft or dpo")
    base_checkpoint_id: str = Field(description="the pretraining checkpoint it is tokenized for and training starts from")
    uris: list[str] = Field(description="files (train, validation, metadata)")
    sha256: list[str]
    examples: int
    held_out: int
    task_ids: list[str]
    teachers: list[str] = Field(description="teachers of the kept samples it was built from")
    input_versions: dict[str, int] = Field(description="Delta versions of distilled_sft / dpo_pairs / distill_candidates read")
    created_at: dt.datetime


class CheckpointEval(BaseModel):
    """An evaluation of one checkpoint: held-out loss on a split of its manifest (or, for a DPO
    checkpoint, on held-out preference pairs, with the win-rate over its reference in metrics)."""

    checkpoint_id: str
    split: str
    tokens: int
    loss: float
    perplexity: float
    evaluated_at: dt.datetime
    metrics: Optional[dict[str, float]] = Field(default=None, description="extra measures, e.g. win_rate_vs_reference")


class DistilledSft(BaseModel):
    """A kept SFT sample: verified by running it (or by the CAS) and backed by the majority. The seed's schema, exactly."""

    task_id: str
    prompt: str
    input_files: list[str] = Field(description='JSON objects {"path", "content"}')
    expected_tests: list[str] = Field(description="assert statements, or JSON {stdin, stdout} io tests, or the reference answer")
    candidate: list[str] = Field(description="the final answer: the code, or the math answer")
    passed: bool
    rationale: str = Field(description="the <scratchpad> text, kept apart from the answer")
    tool_calls: list[str]
    confidence: float = Field(description="share of the task's samples that agree with this one (0 when not verified)")


class DistillCandidate(BaseModel):
    """Every teacher sample and what verification made of it: nothing is dropped silently."""

    task_id: str
    teacher: str
    sample_no: int
    kind: str
    final: str = Field(description="the answer text without scratchpad and tool calls")
    passed: bool
    error_class: Optional[str] = Field(default=None, description="syntax, runtime, wrong-answer, timeout or memory")
    detail: str
    agreement: float
    decision: str = Field(description="kept, or failed / minority / duplicate")


class DpoPair(BaseModel):
    """chosen = a kept (verified) sample, rejected = a failing one, same task."""

    task_id: str
    prompt: str
    chosen: str
    rejected: str
    chosen_teacher: str
    rejected_teacher: str
    rejected_error_class: str


class LatencyRun(BaseModel):
    """One prompt length of one latency sweep against an OpenAI-compatible endpoint."""

    sweep_id: str
    endpoint: str
    model: str
    target_prompt_tokens: int
    prompt_tokens: int = Field(description="what the server counted (usage.prompt_tokens); 0 when the length was refused")
    requests: int
    completion_tokens: int
    ttft_p50_ms: float
    ttft_p95_ms: float
    ttft_p99_ms: float
    tpot_p50_ms: float = Field(description="per-output-token latency: gaps between streamed tokens")
    tpot_p95_ms: float
    tpot_p99_ms: float
    throughput_tokens_per_s: float
    status: str = Field(description="ok, or refused: <the server's reason>")
    measured_at: dt.datetime


class ExportRecord(BaseModel):
    """A checkpoint exported as an HF-format folder for TensorRT-LLM."""

    export_id: str = Field(description="first 16 hex of sha256")
    checkpoint_id: str
    uri: str
    sha256: str = Field(description="sha256 over the sorted (file, sha256) list of the folder")
    files: dict[str, str] = Field(description="file name → sha256")
    created_at: dt.datetime


class EngineBuild(BaseModel):
    """A TensorRT-LLM build of an export: the engine's parent is the checkpoint, through the export."""

    engine_id: str = Field(description="engine-<sha16 of export sha256 and build spec sha256>")
    checkpoint_id: str
    export_id: str
    spec_uri: str = Field(description="the LLM-API options YAML the build uses")
    spec_sha256: str
    executor: str
    container_image: str
    status: str = Field(description="SUBMITTED, DRYRUN, SUCCEEDED, FAILED")
    engine_uri: str
    experiment_id: Optional[str] = None
    updated_at: dt.datetime


@dataclass(frozen=True)
class TableSpec:
    name: str
    model: type[BaseModel]
    description: str


TABLES: dict[str, TableSpec] = {
    spec.name: spec
    for spec in (
        TableSpec("raw_documents", RawDocument, "landed documents, one row per distinct doc_id"),
        TableSpec("drops", IngestedDrop, "one row per ingested landing drop with its record accounting"),
        TableSpec("rejects", Reject, "records a stage rejected, with reason and detail"),
        TableSpec("documents_clean", DocumentClean, "normalized, language-identified, PII-redacted, quality-scored documents"),
        TableSpec("dedup", DedupRow, "exact and MinHash-LSH near-duplicate clusters with one keeper each"),
        TableSpec("clean_drops", CleanedDrop, "drops the cleaning stage processed, with the content and configuration hashes"),
        TableSpec("dedup_sketches", DedupSketch, "MinHash signature, band keys and shingle set per distinct text, stored once"),
        TableSpec("dedup_edges", DedupEdge, "confirmed near-duplicate pairs of distinct texts with their exact Jaccard"),
        TableSpec("license_ledger", LicenseRecord, "SPDX license, evidence and decision for every document"),
        TableSpec("curated_documents", CuratedDocument, "dedup keepers whose license decision is allow: input of splits and packing"),
        TableSpec("tokenizers", TokenizerArtifact, "trained tokenizers, content-addressed, with their training inputs"),
        TableSpec("eval_hashes", EvalHash, "word n-gram hashes of evaluation benchmarks, for decontamination"),
        TableSpec("contamination", ContaminationRecord, "documents sharing counted n-grams with benchmark items, per item"),
        TableSpec("decontaminated_documents", DecontaminatedDocument, "curated documents with their final training text, benchmark leaks removed or redacted"),
        TableSpec("decontamination_inputs", DecontaminationInput, "every curated document decontamination judged: text hash, settings fingerprint, action"),
        TableSpec("family_sketches", FamilySketch, "family MinHash signature and band keys per distinct decontaminated text, stored once"),
        TableSpec("splits", SplitAssignment, "train/val/test per document, sealed by near-duplicate cluster and repository"),
        TableSpec("manifests", ShardManifestRow, "Megatron shards per manifest: hashes, token counts and input table versions"),
        TableSpec("training_runs", TrainingRun, "training runs: manifest, config hash, code version, executor, status, metrics"),
        TableSpec("checkpoints", CheckpointRecord, "checkpoints written by training runs, registered once each"),
        TableSpec("post_training_datasets", PostTrainingDataset, "SFT and DPO datasets built from distilled_sft / dpo_pairs"),
        TableSpec("checkpoint_evals", CheckpointEval, "held-out loss and perplexity of each checkpoint"),
        TableSpec("distilled_sft", DistilledSft, "verified, majority-backed SFT samples (the seed's schema)"),
        TableSpec("distill_candidates", DistillCandidate, "every teacher sample with its verification outcome and decision"),
        TableSpec("dpo_pairs", DpoPair, "preference pairs: a verified sample over a failing one of the same task"),
        TableSpec("latency_runs", LatencyRun, "latency sweeps: TTFT and per-token latency percentiles per prompt length"),
        TableSpec("exports", ExportRecord, "HF-format exports of checkpoints, with file hashes"),
        TableSpec("engine_builds", EngineBuild, "TensorRT-LLM engine builds: engine ← export ← checkpoint, with status"),
        TableSpec("incidents", Incident, "every failed Dagster run: job, step, error class, partition"),
        TableSpec("maintenance_runs", MaintenanceRecord, "Delta OPTIMIZE + VACUUM passes per table, within the time-travel window"),
        TableSpec("lake_audits", AuditFinding, "whole-lake audits: conservation per stage and drop, zero split leaks"),
        TableSpec("memory_chunks", MemoryChunk, "6–12k-token chunks of curated documents with lineage, for Tier-1 memory"),
        TableSpec("memory_index_runs", MemoryIndexRun, "each (re)indexing of memory_chunks into Milvus: what was added and removed"),
        TableSpec("evals", EvalResult, "benchmark and long-context probe metrics per checkpoint, with seed and contamination note"),
        TableSpec("eval_items", EvalItemResult, "every sample of every evaluated item: raw output, extraction, score"),
        TableSpec("scorecard", ScorecardRow, "North Star gates per checkpoint: pass, fail or not-measured with the reason"),
        TableSpec("lineage", LineageEntry, "every Delta version written through the lake, with its run"),
    )
}
