"""Launch through NeMo-Run: an Experiment whose executor comes from settings.

``local`` runs the small CPU trainer (``training.local_trainer``) under ``LocalExecutor``;
``slurm`` runs Megatron-Bridge (``training.bridge_pretrain``) stage after stage under
``SlurmExecutor`` inside the configured container. ``dryrun`` prepares the experiment and leaves
the sbatch script it would submit on disk, without submitting anything.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from schemas.settings import IrmSettings


@dataclass
class LaunchResult:
    experiment_id: str
    experiment_dir: str
    executor: str
    status: dict[str, str] = field(default_factory=dict)
    sbatch_scripts: list[str] = field(default_factory=list)

    @property
    def succeeded(self) -> bool:
        return bool(self.status) and all(s == "SUCCEEDED" for s in self.status.values())


def nemo_run_home(settings: IrmSettings) -> str:
    return settings.training.nemo_run_home or f"{settings.lake.uri}/artifacts/nemo_run"


def executor_for(settings: IrmSettings, stage_gpus: int | None = None):
    import nemo_run as run

    t = settings.training
    if t.executor == "local":
        return run.LocalExecutor(ntasks_per_node=1, env_vars={"PYTHONUNBUFFERED": "1", "TOKENIZERS_PARALLELISM": "false"})
    s = t.slurm
    tunnel = (run.SSHTunnel(host=s.host, user=s.user, job_dir=s.job_dir) if s.host else run.LocalTunnel(job_dir=s.job_dir))
    return run.SlurmExecutor(
        account=s.account, partition=s.partition, nodes=s.nodes, ntasks_per_node=s.gpus_per_node, gpus_per_node=s.gpus_per_node,
        time=s.time, container_image=s.container_image, container_mounts=list(s.container_mounts), tunnel=tunnel,
        exclusive=True, mem="0", env_vars={"TORCH_NCCL_AVOID_RECORD_STREAMS": "1", "NVTE_FUSED_ATTN": "1"},
        launcher="torchrun")


def local_trainer_script(config_path: str):
    import nemo_run as run

    return run.Script(path="training.local_trainer", args=[config_path], entrypoint=sys.executable, m=True)


def bridge_stage_script(recipe_path: str):
    import nemo_run as run

    return run.Script(path="training.bridge_pretrain", args=[recipe_path], entrypoint="python", m=True)


def launch(settings: IrmSettings, name: str, tasks: list[tuple[str, object]], dryrun: bool = False) -> LaunchResult:
    """Run ``tasks`` (name, NeMo-Run script) in order in one Experiment and wait (local), or
    submit them as dependent jobs (slurm); ``dryrun`` only writes what would be submitted.

    NeMo-Run packages code and talks to Slurm through ``invoke``, which forwards this process's
    stdin to every command; a launch needs no input, and under a daemon or a test runner stdin
    is not readable, so it is /dev/null for the duration."""
    stdin = sys.stdin
    with open(os.devnull) as devnull:
        sys.stdin = devnull
        try:
            return _launch(settings, name, tasks, dryrun)
        finally:
            sys.stdin = stdin


def _launch(settings: IrmSettings, name: str, tasks: list[tuple[str, object]], dryrun: bool) -> LaunchResult:
    os.environ["NEMORUN_HOME"] = nemo_run_home(settings)
    import nemo_run as run

    executor = executor_for(settings)
    with run.Experiment(name, executor=executor, log_level="WARN", base_dir=nemo_run_home(settings)) as exp:
        for task_name, script in tasks:
            exp.add(script, executor=executor.clone(), name=task_name, tail_logs=False)
        if dryrun:
            exp.dryrun(log=False, delete_exp_dir=False)
            scripts = sorted(str(p) for p in Path(exp._exp_dir).rglob("*_sbatch.sh"))
            return LaunchResult(exp._id, exp._exp_dir, settings.training.executor, {}, scripts)
        exp.run(sequential=True, detach=settings.training.executor != "local")
    # leaving the context waits for local jobs; each job then holds the state it ended in
    # (NeMo-Run's status() cannot query a finished local process)
    return LaunchResult(exp._id, exp._exp_dir, settings.training.executor, {job.id: job.state.name for job in exp.jobs})


def module_script(module: str, args: list[str]):
    """``python -m MODULE ARGS`` inside the executor's container (any entrypoint of this repository)."""
    import nemo_run as run

    return run.Script(path=module, args=args, entrypoint="python", m=True)
