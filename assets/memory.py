"""curated_documents + tokenizer → memory_chunks → memory_index (Milvus), both eager: a corpus or
tokenizer change re-chunks only the documents concerned, and the index then adds and deletes
only the chunks that changed."""

from dagster import AssetCheckResult, AssetCheckSpec, AssetExecutionContext, MaterializeResult, MetadataValue, asset

from assets.licenses import curated_documents
from assets.automation import on_upstream_change
from assets.resources import LakeResource, MemoryResource, SparkResource
from assets.tokenizer import tokenizer
from ledgers.memory import coverage_problems, run_memory_chunks
from serving.memory.service import index_problems, sync_index
from training.shards import read_bytes, tokenizer_row
from training.whitespace import encode


@asset(
    deps=[curated_documents, tokenizer], group_name="memory", kinds={"spark", "delta"}, owners=["team:memory"],
    tags={"tier": "memory"}, automation_condition=on_upstream_change(),
    check_specs=[AssetCheckSpec("chunks_cover_documents", asset="memory_chunks", blocking=True,
                                description="every curated document is covered by its chunks, without gaps, ids = sha256 of text")],
    description="6–12k-token chunks (project tokenizer) of the curated corpus with 10–15% overlap and full lineage.",
)
def memory_chunks(context: AssetExecutionContext, spark: SparkResource, lake: LakeResource, memory: MemoryResource) -> MaterializeResult:
    the_lake = lake.lake(spark)
    tok = tokenizer_row(the_lake, None)
    report = run_memory_chunks(the_lake, memory.settings(), read_bytes(tok["uri"]), tok["tokenizer_id"], encode, run_id=context.run_id)
    problems = coverage_problems(the_lake)
    return MaterializeResult(metadata={
        "documents": report.documents, "chunked": report.chunked, "kept": report.kept, "removed_documents": report.removed_documents,
        "rejected": report.rejected, "chunks_written": report.chunks_written, "tokenizer_id": tok["tokenizer_id"],
        "corpus_version": report.corpus_version, "writes": MetadataValue.json([w.metadata() for w in report.writes]),
    }, check_results=[AssetCheckResult(check_name="chunks_cover_documents", passed=not problems,
                                       metadata={"problems": MetadataValue.json(problems)})])


@asset(
    deps=[memory_chunks], group_name="memory", kinds={"milvus"}, owners=["team:memory"], tags={"tier": "memory"},
    automation_condition=on_upstream_change(),
    check_specs=[AssetCheckSpec("index_matches_chunks", asset="memory_index", blocking=True,
                                description="the collection holds exactly the chunks of memory_chunks")],
    description="The Milvus collection (dense HNSW + BM25) of memory_chunks' windows, kept in step incrementally.",
)
def memory_index(context: AssetExecutionContext, spark: SparkResource, lake: LakeResource, memory: MemoryResource) -> MaterializeResult:
    the_lake = lake.lake(spark)
    settings = memory.settings()
    result = sync_index(the_lake, settings, run_id=context.run_id)
    problems = index_problems(the_lake, settings)
    run = result.run
    return MaterializeResult(metadata={
        "collection": run.collection, "uri": run.uri, "chunks_version": run.chunks_version, "chunks_added": run.chunks_added,
        "chunks_removed": run.chunks_removed, "windows_upserted": run.windows_upserted, "windows_total": run.windows_total,
        "seconds": run.seconds, "embedding_model": run.embedding_model,
    }, check_results=[AssetCheckResult(check_name="index_matches_chunks", passed=not problems,
                                       metadata={"problems": MetadataValue.json(problems)})])
