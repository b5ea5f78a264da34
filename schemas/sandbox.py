"""Typed limits of the execution sandbox."""

from __future__ import annotations

from pydantic import BaseModel, Field


class SandboxLimits(BaseModel):
    cpu_seconds: int = Field(5, ge=1, description="CPU time (RLIMIT_CPU), summed over the compile or run step")
    wall_seconds: float = Field(10.0, gt=0, description="wall clock per step; the whole process tree is killed after it")
    memory_mb: int = Field(512, ge=16, description="memory: a cgroup limit incl. page cache and tmpfs pages where the runner may create one, and RLIMIT_DATA")
    processes: int = Field(32, ge=1, description="processes and threads of the sandbox user (RLIMIT_NPROC)")
    output_bytes: int = Field(1024 * 1024, ge=1, description="stdout and stderr each; more kills the run (outcome output-limit)")
    file_bytes: int = Field(16 * 1024 * 1024, ge=1, description="largest file the code may write (RLIMIT_FSIZE)")
    open_files: int = Field(64, ge=8, description="RLIMIT_NOFILE")
    disk_bytes: int = Field(64 * 1024 * 1024, ge=64 * 1024, description="/work and /tmp together (one tmpfs quota per run)")
    max_files: int = Field(4096, ge=16, description="files and folders in /work and /tmp together (the tmpfs inode limit)")
