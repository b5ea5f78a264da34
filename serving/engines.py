"""Engine builds: export + build spec → a TensorRT-LLM build job on a GPU node, and its ledger row.

The job itself is launched by the executor layer (``training.launch``) with the settings this
module derives: the training cluster's Slurm account and tunnel, one GPU node, the TensorRT-LLM
container. With no GPU executor configured nothing is launched and no engine row is written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from ledgers.lake import Lake, WriteResult
from schemas.serving import BuildSpecConfig
from schemas.settings import IrmSettings
from schemas.tables import EngineBuild, ExportRecord
from serving.export import export_checkpoint
from serving.trtllm_spec import write_spec


@dataclass
class EnginePlan:
    export: ExportRecord
    options_path: Path
    spec_sha256: str
    engine_id: str
    engine_uri: str


def no_gpu_reason(settings: IrmSettings) -> str | None:
    if settings.serving.gpu_executor == "none":
        return ("no GPU executor is configured (serving.gpu_executor=none): TensorRT-LLM needs a GPU node and its container; "
                "set IRM_SERVING__GPU_EXECUTOR=slurm and IRM_SERVING__TRTLLM_CONTAINER_IMAGE to build")
    return None


def plan_engine(lake: Lake, checkpoint_id: str, spec: BuildSpecConfig, run_id: str | None = None) -> EnginePlan:
    export, _ = export_checkpoint(lake, checkpoint_id, run_id=run_id)
    positions = json.loads((Path(export.uri) / "config.json").read_text())["max_position_embeddings"]
    options_path, spec_sha = write_spec(export.uri, spec, positions)
    engine_id = "engine-" + hashlib.sha256(f"{export.sha256}:{spec_sha}".encode()).hexdigest()[:16]
    return EnginePlan(export, options_path, spec_sha, engine_id, f"{export.uri}/trtllm/fp8" if spec.weights == "fp8" else export.uri)


def build_settings(settings: IrmSettings) -> IrmSettings:
    """The training cluster's Slurm settings, on one GPU node in the TensorRT-LLM container."""
    slurm = settings.training.slurm.model_copy(update={"nodes": 1, "gpus_per_node": 1,
                                                       "container_image": settings.serving.trtllm_container_image})
    training = settings.training.model_copy(update={"executor": "slurm", "slurm": slurm})
    return settings.model_copy(update={"training": training})


def record(lake: Lake, plan: EnginePlan, checkpoint_id: str, settings: IrmSettings, status: str, experiment_id: str | None,
           run_id: str | None = None) -> tuple[EngineBuild, WriteResult]:
    row = EngineBuild(engine_id=plan.engine_id, checkpoint_id=checkpoint_id, export_id=plan.export.export_id,
                      spec_uri=str(plan.options_path), spec_sha256=plan.spec_sha256, executor=settings.serving.gpu_executor,
                      container_image=settings.serving.trtllm_container_image, status=status, engine_uri=plan.engine_uri,
                      experiment_id=experiment_id, updated_at=dt.datetime.now(dt.timezone.utc))
    return row, lake.merge(lake.frame("engine_builds", [row]), "engine_builds", keys=["engine_id"], run_id=run_id)
