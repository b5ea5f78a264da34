"""splits + tokenizer → manifests: Megatron shards per (bucket, split), and the manifest that lists them."""

from typing import Optional

from dagster import AssetCheckResult, DataVersion, AssetCheckSpec, AssetExecutionContext, Config, MaterializeResult, MetadataValue, asset

from assets.automation import on_upstream_change
from assets.publish import audited
from assets.upstream import consumed_id
from assets.resources import LakeResource, SparkResource, TrainingResource
from assets.splits import splits
from assets.tokenizer import tokenizer
from schemas.packing import PackConfig
from training.packing_report import bucket_table, mix_table
from training.shards import mix_against_target, run_pack, verify_manifest


class PackRunConfig(Config):
    """Unset ``seq_len`` / ``max_shard_tokens`` take ``training.pack_seq_len`` / ``pack_max_shard_tokens``:
    runs the automation launches carry no run config, so the deployment's settings shape them."""

    seq_len: Optional[int] = None
    max_shard_tokens: Optional[int] = None
    tokenizer_id: Optional[str] = None
    long_share: float = 0.0
    long_min_tokens: Optional[int] = None

    def to_config(self, training: TrainingResource) -> PackConfig:
        return PackConfig(seq_len=self.seq_len or training.pack_seq_len, max_shard_tokens=self.max_shard_tokens or training.pack_max_shard_tokens,
                          tokenizer_id=self.tokenizer_id, long_share=self.long_share, long_min_tokens=self.long_min_tokens)


@asset(
    deps=[splits, tokenizer], group_name="training_data", kinds={"spark", "delta", "megatron"}, automation_condition=on_upstream_change(),
    check_specs=[
        AssetCheckSpec("shards_match_manifest", asset="manifests", blocking=True,
                       description="every shard's .bin/.idx hashes and token counts equal its manifest row"),
        AssetCheckSpec("records_conserved", asset="manifests", blocking=True,
                       description="every document of splits is packed exactly once (counted from splits, not after its join "
                                   "with the texts), and every token (plus one EOD each) is in a shard"),
    ],
    description="Tokenized, best-fit-decreasing packed Megatron shards (.bin/.idx) and their manifest (id = hash of its rows).",
)
def manifests(context: AssetExecutionContext, config: PackRunConfig, spark: SparkResource, lake: LakeResource,
              training: TrainingResource) -> MaterializeResult:
    the_lake = lake.lake(spark)
    cfg = config.to_config(training).model_copy(update={"tokenizer_id": consumed_id(context, "tokenizer", "tokenizer_id", config.tokenizer_id)})
    report = run_pack(the_lake, cfg, run_id=context.run_id)
    problems = verify_manifest(the_lake, report.manifest_id)
    return audited(context, the_lake, [report.write], MaterializeResult(
        metadata={
            "manifest_id": report.manifest_id, "tokenizer_id": report.tokenizer_id, "seq_len": cfg.seq_len,
            "shards": len(report.shards), "tokens": report.tokens_packed, "dagster/row_count": len(report.shards),
            "long_share_target": cfg.long_share, "long_share_realized": round(report.long_share, 4),
            "per_bucket_split": MetadataValue.md(bucket_table(report.shards)),
            "train_mix_vs_target": MetadataValue.md(mix_table(mix_against_target(report.shards, cfg.target_mix))),
            "input_versions": MetadataValue.json(report.input_versions),
            "newly_registered": report.write.operation != "NONE",
        },
        check_results=[
            AssetCheckResult(check_name="shards_match_manifest", passed=not problems, metadata={"problems": MetadataValue.json(problems[:20])}),
            AssetCheckResult(check_name="records_conserved", passed=report.conserved,
                             metadata={"documents_in": report.documents_in, "documents_packed": report.documents_packed,
                                       "documents_without_text": report.documents_without_text,
                                       "tokens_in_with_eod": report.tokens_in, "tokens_packed": report.tokens_packed}),
        ], data_version=DataVersion(report.manifest_id)))
