"""Dagster resources: the settings object, exposed field by field so the UI shows what runs where.

Per-environment differences (a cluster master URL, an s3:// lake) live here, never in asset code.
"""

from __future__ import annotations

from pathlib import Path

from dagster import ConfigurableResource
from pydantic import Field

from ledgers.lake import Lake
from schemas.settings import EvalSettings, IrmSettings, LakeSettings, LandingSettings, ServingSettings, SlurmSettings, SparkSettings, TrainingSettings
from spark_jobs.session import get_spark


class SparkResource(ConfigurableResource):
    """The process's Spark session (Delta configured). Assets run in process, so one JVM per run."""

    master: str = "local[*]"
    driver_memory: str = "4g"
    shuffle_partitions: int = 8
    jars_dir: str = "jars/lib"
    extra_jars: list[str] = Field(default_factory=list)
    conf: dict[str, str] = Field(default_factory=dict)

    @classmethod
    def from_settings(cls, s: SparkSettings) -> "SparkResource":
        return cls(master=s.master, driver_memory=s.driver_memory, shuffle_partitions=s.shuffle_partitions,
                   jars_dir=s.jars_dir, extra_jars=s.extra_jars, conf=s.conf)

    def settings(self) -> SparkSettings:
        return SparkSettings(master=self.master, driver_memory=self.driver_memory, shuffle_partitions=self.shuffle_partitions,
                             jars_dir=self.jars_dir, extra_jars=self.extra_jars, conf=self.conf)

    def session(self):
        return get_spark(self.settings())


class LakeResource(ConfigurableResource):
    """Where the lake and the landing zone are."""

    root: str = "lake"
    storage_options: dict[str, str] = Field(default_factory=dict)
    landing_root: str = "landing"
    settle_seconds: float = 5.0
    max_document_bytes: int = 8 * 1024 * 1024

    @classmethod
    def from_settings(cls, lake: LakeSettings, landing: LandingSettings) -> "LakeResource":
        return cls(root=lake.root, storage_options=lake.storage_options, landing_root=landing.root,
                   settle_seconds=landing.settle_seconds, max_document_bytes=landing.max_document_bytes)

    def lake_settings(self) -> LakeSettings:
        return LakeSettings(root=self.root, storage_options=self.storage_options)

    def landing_settings(self) -> LandingSettings:
        return LandingSettings(root=self.landing_root, settle_seconds=self.settle_seconds, max_document_bytes=self.max_document_bytes)

    @property
    def landing_path(self) -> Path:
        return self.landing_settings().path

    def lake(self, spark: SparkResource) -> Lake:
        return Lake(self.lake_settings(), spark.session())


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

    @classmethod
    def from_settings(cls, t: TrainingSettings, serving: ServingSettings | None = None) -> "TrainingResource":
        s = t.slurm
        serving = serving or ServingSettings()
        return cls(serving_gpu_executor=serving.gpu_executor, trtllm_container_image=serving.trtllm_container_image, executor=t.executor, checkpoints_root=t.checkpoints_root, nemo_run_home=t.nemo_run_home,
                   slurm_account=s.account, slurm_partition=s.partition, slurm_host=s.host, slurm_user=s.user,
                   slurm_job_dir=s.job_dir, slurm_nodes=s.nodes, slurm_gpus_per_node=s.gpus_per_node, slurm_time=s.time,
                   slurm_container_image=s.container_image, slurm_container_mounts=s.container_mounts)

    def settings(self, lake: LakeResource) -> IrmSettings:
        slurm = SlurmSettings(account=self.slurm_account, partition=self.slurm_partition, host=self.slurm_host, user=self.slurm_user,
                              job_dir=self.slurm_job_dir, nodes=self.slurm_nodes, gpus_per_node=self.slurm_gpus_per_node,
                              time=self.slurm_time, container_image=self.slurm_container_image,
                              container_mounts=self.slurm_container_mounts)
        training = TrainingSettings(executor=self.executor, checkpoints_root=self.checkpoints_root,
                                    nemo_run_home=self.nemo_run_home, slurm=slurm)
        serving = ServingSettings(gpu_executor=self.serving_gpu_executor, trtllm_container_image=self.trtllm_container_image)
        return IrmSettings(lake=lake.lake_settings(), landing=lake.landing_settings(), training=training, serving=serving)


class EvalsResource(ConfigurableResource):
    """Which endpoint and benchmark files checkpoints are evaluated with (``EvalSettings``)."""

    base_url: str = ""
    model: str = ""
    api_key_env: str = ""
    benchmark_files: dict[str, str] = Field(default_factory=dict)
    max_items: int = 20
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
        "evals": EvalsResource.from_settings(settings.evals),
    }
