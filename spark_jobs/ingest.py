"""Parse a landing drop into documents and rejects on Spark.

Each file of a drop is one Spark task (``mapInArrow``), so a source tree spreads over the
cluster and a compressed JSONL file (which no reader can split) streams in one task in bounded
memory. Every record seen comes out exactly once, as a document or as a reject with a reason:
``documents + rejects = records seen`` is the invariant the ingest asset check proves.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Callable, Iterable, Iterator, Optional

import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from schemas.landing import Drop
from schemas.settings import LandingSettings
from schemas.types import arrow_schema, spark_schema
from spark_jobs.landing_streams import bounded_lines, open_stream

STAGE = "ingest"
BINARY_SNIFF_BYTES = 8000
CODE_EXTENSIONS = {
    ".py", ".pyi", ".pyx", ".c", ".h", ".cc", ".cpp", ".hpp", ".cxx", ".java", ".kt", ".scala", ".js",
    ".mjs", ".ts", ".tsx", ".jsx", ".go", ".rs", ".rb", ".php", ".cs", ".swift", ".m", ".sh", ".bash",
    ".sql", ".r", ".jl", ".lua", ".pl", ".hs", ".ml", ".toml", ".yaml", ".yml", ".json", ".xml",
    ".cmake", ".mk", ".bat", ".ps1", ".asm", ".s", ".f90", ".zig", ".nim", ".dart", ".proto",
}
MATH_EXTENSIONS = {".tex", ".bib", ".lean", ".v", ".thy"}
TEXT_EXTENSIONS = {".md", ".rst", ".txt", ".html", ".htm", ""}
CODE_NAMES = {"makefile", "dockerfile", "cmakelists.txt"}


class ParsedRecord(BaseModel):
    """A record as parsed: a document (reason is None) or a reject (reason set)."""

    file_no: int
    record_no: int
    uri: str
    source: str
    reason: Optional[str] = None
    detail: Optional[str] = None
    doc_id: Optional[str] = None
    text: Optional[str] = None
    bytes: Optional[int] = None
    domain_hint: Optional[str] = None
    repo: Optional[str] = None
    path: Optional[str] = None
    license_hint: Optional[str] = None


PARSED_ARROW = arrow_schema(ParsedRecord)
PARSED_SPARK = spark_schema(ParsedRecord)


def document_id(source: str, path: str | None, text: str) -> str:
    """sha256 of source, path and text: equal content at the same place always gets the same id."""
    digest = hashlib.sha256()
    for part in (source, path or "", text):
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\0")
    return digest.hexdigest()


def domain_from_path(path: str | None) -> str | None:
    if not path:
        return None
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix in CODE_EXTENSIONS or p.name.lower() in CODE_NAMES:
        return "code"
    if suffix in MATH_EXTENSIONS:
        return "math"
    if suffix in TEXT_EXTENSIONS:
        return "text"
    return None


NUL = "\x00"
BOM = "\ufeff"


def _document(base: dict, text: str, path: str | None, domain: str | None, repo: str | None, license_hint: str | None, max_bytes: int) -> dict:
    size = len(text.encode("utf-8", "surrogatepass"))
    if not text.strip():
        return {**base, "reason": "empty-document", "detail": "text is empty or whitespace only"}
    if size > max_bytes:
        return {**base, "reason": "too-large", "detail": f"{size} bytes > landing.max_document_bytes={max_bytes}"}
    if NUL in text:
        return {**base, "reason": "binary-content", "detail": f"NUL character at offset {text.index(NUL)}"}
    return {
        **base, "doc_id": document_id(base["source"], path, text), "text": text, "bytes": size,
        "domain_hint": domain or domain_from_path(path), "repo": repo, "path": path, "license_hint": license_hint,
    }


def _opt_str(record: dict, key: str) -> str | None:
    value = record.get(key)
    return None if value is None else str(value)


def _unencodable_field(record: dict) -> str | None:
    """The first string field that is not valid Unicode (a lone surrogate from an escaped
    ``\\ud800``): Arrow, Delta and every reader downstream need UTF-8."""
    for key, value in record.items():
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as err:
                return f"`{key}` holds a lone surrogate {value[err.start]!r} at offset {err.start}"
    return None


def sealed(record: dict) -> dict:
    """``record`` if every field can be stored, else a reject that says which field cannot."""
    problem = _unencodable_field(record)
    if problem is None:
        return record
    base = {k: record[k] for k in ("file_no", "record_no")}
    uri = record["uri"].encode("utf-8", "backslashreplace").decode("utf-8")
    source = record["source"].encode("utf-8", "backslashreplace").decode("utf-8")
    return {**base, "uri": uri, "source": source, "reason": "invalid-unicode", "detail": problem}


def _one(make: Callable[[], dict], base: dict) -> dict:
    """One record built so that an unexpected error rejects that record alone (``parser-error``)
    and the file's next record is still read."""
    try:
        return make()
    except Exception as err:  # noqa: BLE001 - one record's unknown failure becomes its reject
        return {**base, "reason": "parser-error", "detail": f"{type(err).__name__}: {str(err)[:500]}"}


def _guarded(parse, drop: Drop, file_no: int, settings: LandingSettings) -> Iterator[dict]:
    """Runs one file's parser so that nothing it raises can fail the drop. Records are guarded one
    by one (``_one``); what reaches here broke the reading of the file itself, so the file ends
    with one ``parser-error`` reject saying after which record the rest could not be read."""
    last = 0
    name = drop.name if drop.kind != "tree" else f"{drop.name}/{drop.files[file_no].relpath}"
    try:
        for record in parse(drop, file_no, settings):
            last = max(last, record["record_no"])
            yield sealed(record)
    except Exception as err:  # noqa: BLE001 - the one place a file's unknown failure becomes a reject
        yield {"file_no": file_no, "record_no": last + 1, "uri": f"{name}#after{last}", "source": drop.name,
               "reason": "parser-error", "detail": f"{type(err).__name__}: {str(err)[:500]}; the file could not be read after record {last}"}


def parse_jsonl(drop: Drop, file_no: int, settings: LandingSettings) -> Iterator[dict]:
    """One record per line; a decompression error ends the file with an ``unreadable-file`` reject;
    a file with no line at all is one ``empty-file`` reject."""
    line_no = 0
    try:
        with open_stream(drop.path, drop.compression) as stream:
            for line_no, raw in enumerate(bounded_lines(stream, settings.max_line_bytes), start=1):
                if isinstance(raw, int):
                    yield {"file_no": file_no, "record_no": line_no, "uri": f"{drop.name}#L{line_no}", "source": drop.name,
                           "reason": "too-large", "detail": f"line of {raw} bytes > landing.max_line_bytes={settings.max_line_bytes}"}
                    continue
                yield _one(lambda: _jsonl_record(drop, file_no, line_no, raw, settings),
                           {"file_no": file_no, "record_no": line_no, "uri": f"{drop.name}#L{line_no}", "source": drop.name})
    except (OSError, EOFError, ValueError) as err:
        yield {"file_no": file_no, "record_no": line_no + 1, "uri": f"{drop.name}#L{line_no + 1}", "source": drop.name,
               "reason": "unreadable-file", "detail": f"{type(err).__name__}: {err} after {line_no} lines"}
        return
    if line_no == 0:
        yield {"file_no": file_no, "record_no": 1, "uri": drop.name, "source": drop.name,
               "reason": "empty-file", "detail": "the file holds no line"}


def _jsonl_record(drop: Drop, file_no: int, line_no: int, raw: bytes, settings: LandingSettings) -> dict:
    base = {"file_no": file_no, "record_no": line_no, "uri": f"{drop.name}#L{line_no}", "source": drop.name}
    try:
        line = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        return {**base, "reason": "invalid-utf8", "detail": f"byte {err.start}: {err.reason}"}
    if line_no == 1 and line.startswith(BOM):
        line = line[1:]
    if not line.strip():
        return {**base, "reason": "blank-line", "detail": "line holds no JSON value"}
    try:
        record = json.loads(line)
    except json.JSONDecodeError as err:
        return {**base, "reason": "malformed-json", "detail": f"{err.msg} at column {err.colno}"}
    except RecursionError:
        return {**base, "reason": "too-deeply-nested", "detail": "JSON nesting exceeds the parser's recursion limit"}
    except ValueError as err:
        return {**base, "reason": "malformed-json", "detail": str(err)[:300]}
    if not isinstance(record, dict):
        return {**base, "reason": "malformed-json", "detail": f"a JSON {type(record).__name__}, expected an object"}
    text = record.get("text")
    if not isinstance(text, str):
        what = "no `text` field" if text is None else f"`text` is a {type(text).__name__}, expected a string"
        return {**base, "reason": "missing-text", "detail": what}
    base["source"] = _opt_str(record, "source") or drop.name
    path = _opt_str(record, "path") or _opt_str(record, "id")
    return _document(base, text, path, _opt_str(record, "domain"), _opt_str(record, "repo"),
                     _opt_str(record, "license"), settings.max_document_bytes)


PARQUET_COLUMNS = ("text", "source", "path", "id", "repo", "license", "domain")


def _text_kind(field_type: pa.DataType | None) -> str | None:
    if field_type is None:
        return None
    if pa.types.is_string(field_type) or pa.types.is_large_string(field_type):
        return "string"
    if pa.types.is_binary(field_type) or pa.types.is_large_binary(field_type):
        return "binary"
    return None


def _parquet_row(base: dict, record: dict, text_kind: str | None, text_type, settings: LandingSettings) -> dict:
    if text_kind is None:
        what = "no `text` column" if text_type is None else f"`text` column is {text_type}, expected a string"
        return {**base, "reason": "missing-text", "detail": what}
    text = record.get("text")
    if text is None:
        return {**base, "reason": "missing-text", "detail": "`text` is null"}
    if text_kind == "binary":
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as err:
            return {**base, "reason": "invalid-utf8", "detail": f"byte {err.start}: {err.reason}"}
    path = _opt_str(record, "path") or _opt_str(record, "id")
    return _document(base, text, path, _opt_str(record, "domain"), _opt_str(record, "repo"),
                     _opt_str(record, "license"), settings.max_document_bytes)


def _rows_of(batch: pa.RecordBatch) -> Iterator[dict | Exception]:
    """The batch's rows as dicts; a row Python cannot represent (a timestamp past year 9999, say)
    comes out as its exception, so only that row is rejected."""
    try:
        yield from batch.to_pylist()
        return
    except (ValueError, OverflowError, pa.ArrowException):
        pass
    for i in range(batch.num_rows):
        try:
            yield batch.slice(i, 1).to_pylist()[0]
        except (ValueError, OverflowError, pa.ArrowException) as err:
            yield err


def parse_parquet(drop: Drop, file_no: int, settings: LandingSettings) -> Iterator[dict]:
    """One record per row, read row group by row group: a row group that cannot be decoded is one
    ``unreadable-row-group`` reject per row it holds (the footer says how many), and the next
    group is still read. Rows of a file without a usable ``text`` column are rejected one by one."""
    unreadable = {"file_no": file_no, "record_no": 1, "uri": drop.name, "source": drop.name, "reason": "unreadable-file"}
    try:
        parquet = pq.ParquetFile(drop.path)
    except (OSError, pa.ArrowException) as err:
        yield {**unreadable, "detail": f"not a readable Parquet file: {err}"}
        return
    schema = parquet.schema_arrow
    names = schema.names
    text_type = schema.field("text").type if "text" in names else None
    text_kind = _text_kind(text_type)
    columns = [c for c in PARQUET_COLUMNS if c in names and (c != "text" or text_kind)]
    row = 0
    for group in range(parquet.metadata.num_row_groups):
        group_rows = parquet.metadata.row_group(group).num_rows
        try:
            batches = parquet.read_row_group(group, columns=columns).to_batches(max_chunksize=settings.batch_rows) if columns else None
        except (OSError, pa.ArrowException) as err:
            detail = f"row group {group} cannot be decoded: {type(err).__name__}: {str(err)[:300]}"
            for _ in range(group_rows):
                row += 1
                yield {"file_no": file_no, "record_no": row, "uri": f"{drop.name}#row{row}", "source": drop.name,
                       "reason": "unreadable-row-group", "detail": detail}
            continue
        records = (r for b in batches for r in _rows_of(b)) if batches is not None else ({} for _ in range(group_rows))
        for record in records:
            row += 1
            base = {"file_no": file_no, "record_no": row, "uri": f"{drop.name}#row{row}", "source": drop.name}
            if isinstance(record, Exception):
                yield {**base, "reason": "unreadable-row", "detail": f"{type(record).__name__}: {str(record)[:300]}"}
                continue
            yield _one(lambda: _parquet_row({**base, "source": _opt_str(record, "source") or drop.name}, record, text_kind, text_type,
                                            settings), base)
    if row == 0:
        yield {**unreadable, "reason": "empty-file", "detail": f"the Parquet file holds no row; columns are {names}"}


def parse_tree_file(drop: Drop, file_no: int, settings: LandingSettings) -> Iterator[dict]:
    info = drop.files[file_no]
    base = {"file_no": file_no, "record_no": 1, "uri": f"{drop.name}/{info.relpath}", "source": drop.name}
    if info.unread:
        yield {**base, "reason": info.unread, "detail": UNREAD_DETAIL.get(info.unread, info.unread)}
        return
    if info.symlink:
        yield {**base, "reason": "symlink", "detail": UNREAD_DETAIL["symlink"]}
        return
    if info.size > settings.max_document_bytes:
        yield {**base, "reason": "too-large", "detail": f"{info.size} bytes > landing.max_document_bytes={settings.max_document_bytes}"}
        return
    try:
        data = (Path(drop.path) / info.relpath).read_bytes()
    except OSError as err:
        yield {**base, "reason": "unreadable-file", "detail": f"{type(err).__name__}: {err.strerror or err}"}
        return
    if b"\0" in data[:BINARY_SNIFF_BYTES]:
        yield {**base, "reason": "binary-file", "detail": "NUL byte in the first 8000 bytes"}
        return
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        yield {**base, "reason": "invalid-utf8", "detail": f"byte {err.start}: {err.reason}"}
        return
    if text.startswith(BOM):
        text = text[1:]
    yield _document(base, text, info.relpath, None, drop.name, info.license_hint, settings.max_document_bytes)


UNREAD_DETAIL = {
    "symlink": "links are not followed out of a source tree",
    "not-a-regular-file": "a FIFO, socket or device is not read",
    "undecodable-file-name": "the file name is not valid UTF-8; rename it to ingest it",
}


PARSERS = {"jsonl": parse_jsonl, "parquet": parse_parquet, "tree": parse_tree_file}


def _batches(records: Iterable[dict], batch_rows: int) -> Iterator[pa.RecordBatch]:
    chunk: list[dict] = []
    for record in records:
        chunk.append(record)
        if len(chunk) >= batch_rows:
            yield pa.RecordBatch.from_pylist(chunk, schema=PARSED_ARROW)
            chunk = []
    if chunk:
        yield pa.RecordBatch.from_pylist(chunk, schema=PARSED_ARROW)


def parse_drop(spark: SparkSession, drop: Drop, settings: LandingSettings) -> DataFrame:
    """Every record of the drop, one row each, documents and rejects together."""
    drop_json = drop.model_dump_json()
    parser_settings = settings.model_dump()

    def parse_files(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        local_drop = Drop.model_validate_json(drop_json)
        local_settings = LandingSettings(**parser_settings)
        parse = PARSERS[local_drop.kind]
        for batch in batches:
            for file_no in batch.column("file_no").to_pylist():
                yield from _batches(_guarded(parse, local_drop, file_no, local_settings), local_settings.batch_rows)

    slices = max(1, min(len(drop.files), spark.sparkContext.defaultParallelism * 4))
    files = spark.createDataFrame([(i,) for i in range(len(drop.files))], "file_no long").repartition(slices, "file_no")
    return files.mapInArrow(parse_files, PARSED_SPARK)


def split_parsed(parsed: DataFrame, drop: Drop, known_doc_ids: DataFrame) -> tuple[DataFrame, DataFrame]:
    """Documents and rejects of a parsed drop.

    A record whose doc_id repeats inside the drop keeps its first occurrence (by file, then
    record number); one whose doc_id is already in ``known_doc_ids`` (``doc_id, drop_id`` from
    earlier drops) is rejected as ``already-ingested``. Both are reject rows, so the count of
    rows across the two outputs always equals the records parsed.
    """
    landed_at = F.lit(drop.landed_at).cast("timestamp")
    docs = parsed.where(F.col("reason").isNull())
    first = Window.partitionBy("doc_id").orderBy("file_no", "record_no")
    docs = docs.withColumn("_rank", F.row_number().over(first)).withColumn("_first_uri", F.first("uri").over(first))
    known = known_doc_ids.select("doc_id", F.col("drop_id").alias("_known_in"))
    docs = docs.join(known, "doc_id", "left")

    dup_in_drop = docs.where(F.col("_rank") > 1).select(
        "source", "uri", F.lit("duplicate-in-drop").alias("reason"),
        F.concat(F.lit("same doc_id as "), F.col("_first_uri")).alias("detail"))
    already = docs.where((F.col("_rank") == 1) & F.col("_known_in").isNotNull()).select(
        "source", "uri", F.lit("already-ingested").alias("reason"),
        F.concat(F.lit("doc_id already in raw_documents from drop "), F.col("_known_in")).alias("detail"))
    bad = parsed.where(F.col("reason").isNotNull()).select("source", "uri", "reason", "detail")
    rejects = bad.unionByName(dup_in_drop).unionByName(already).select(
        "source", "uri", F.lit(STAGE).alias("stage"), "reason", "detail", F.lit(drop.drop_id).alias("drop_id"))

    documents = docs.where((F.col("_rank") == 1) & F.col("_known_in").isNull()).select(
        "doc_id", "source", "uri", "domain_hint", "text", "bytes", "repo", "path", "license_hint",
        landed_at.alias("ingested_at"), F.lit(drop.drop_id).alias("drop_id"))
    return documents, rejects
