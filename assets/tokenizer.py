"""curated_documents → tokenizer: the trained SentencePiece artifact, registered in `tokenizers`."""

from dagster import AssetExecutionContext, Config, MaterializeResult, MetadataValue, asset

from assets.licenses import curated_documents
from assets.resources import LakeResource, SparkResource
from schemas.tokenizer import TokenizerConfig
from training.tokenizer import train_tokenizer


class TokenizerRunConfig(Config):
    """Production trains 150k pieces on 200 MB; the demo asks for a few thousand on a few MB."""

    vocab_size: int = 150_000
    sample_bytes: int = 200_000_000
    seed: int = 17

    def to_config(self) -> TokenizerConfig:
        return TokenizerConfig(vocab_size=self.vocab_size, sample_bytes=self.sample_bytes, seed=self.seed)


@asset(deps=[curated_documents], group_name="tokenizer", kinds={"spark", "sentencepiece"},
       description="SentencePiece Unigram (byte fallback, code-biased mix) trained on a seeded sample of the curated corpus.")
def tokenizer(context: AssetExecutionContext, config: TokenizerRunConfig, spark: SparkResource, lake: LakeResource) -> MaterializeResult:
    trained = train_tokenizer(lake.lake(spark), config.to_config(), run_id=context.run_id)
    a = trained.artifact
    return MaterializeResult(metadata={
        "tokenizer_id": a.tokenizer_id, "uri": MetadataValue.path(a.uri), "sha256": a.sha256, "vocab_size": a.vocab_size,
        "sample_documents": a.sample_documents, "sample_bytes_by_domain": MetadataValue.json(a.sample_bytes),
        "input_versions": MetadataValue.json(a.input_versions),
        "newly_registered": trained.write.operation != "NONE",
    })
