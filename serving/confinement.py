"""Where a sandboxed run's bytes live and what bounds them: a private size- and inode-limited
tmpfs for ``/work`` and ``/tmp``, and a memory cgroup that also counts page cache and tmpfs pages.

Both need privileges the runner may not have, so each is detected and the weaker fallback is
stated in :func:`capabilities` (and in the README):

- workspace: as root, one tmpfs per run (``size=`` = ``disk_bytes``, ``nr_inodes=`` = ``max_files``)
  holds both ``/work`` and ``/tmp``, so together they cannot exceed the quota. Otherwise ``/work``
  is a host folder bounded per file by RLIMIT_FSIZE only, and ``/tmp`` a bwrap tmpfs of
  ``disk_bytes``.
- memory: a child cgroup (v2 ``memory.max``, or v1 ``memory.limit_in_bytes``) under the runner's
  own cgroup, plus ``pids.max``; otherwise RLIMIT_DATA alone (page cache and tmpfs uncounted).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
import signal
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

NOBODY = 65534
MNT_DETACH = 2
_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


def _mount_tmpfs(target: str, size: int, inodes: int) -> None:
    data = f"size={size},nr_inodes={inodes},mode=0755,uid={NOBODY},gid={NOBODY}".encode()
    if _libc.mount(b"irm-sandbox", target.encode(), b"tmpfs", 0, data) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount tmpfs on {target}: {os.strerror(err)}")


def _umount(target: str) -> None:
    _libc.umount2(target.encode(), MNT_DETACH)


@lru_cache(maxsize=1)
def can_mount() -> bool:
    if os.geteuid() != 0:
        return False
    probe = tempfile.mkdtemp(prefix="irm-sandbox-probe-")
    try:
        _mount_tmpfs(probe, 4096 * 4, 8)
        _umount(probe)
        return True
    except OSError:
        return False
    finally:
        os.rmdir(probe)


@dataclass
class Workspace:
    """``work`` is mounted as the sandbox's ``/work``; ``tmp`` (when set) as its ``/tmp``."""

    root: str
    work: str
    tmp: str | None
    mounted: bool

    def close(self) -> None:
        if self.mounted:
            _umount(self.root)
        shutil.rmtree(self.root, ignore_errors=True)


def open_workspace(disk_bytes: int, max_files: int) -> Workspace:
    root = tempfile.mkdtemp(prefix="irm-sandbox-")
    if can_mount():
        _mount_tmpfs(root, disk_bytes, max_files)
        work, tmp = os.path.join(root, "work"), os.path.join(root, "tmp")
        for path in (work, tmp):
            os.mkdir(path)
            os.chmod(path, 0o1777 if path == tmp else 0o755)
        return Workspace(root, work, tmp, True)
    return Workspace(root, root, None, False)


def chown_tree(path: str) -> None:
    """Hand the run's files to the sandbox user (only as root, where the run drops to nobody)."""
    os.chown(path, NOBODY, NOBODY)
    for p in Path(path).rglob("*"):
        os.chown(p, NOBODY, NOBODY, follow_symlinks=False)


def _own_cgroup(controller: str | None) -> str | None:
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        hier, controllers, path = line.split(":", 2)
        if (controller is None and hier == "0") or (controller is not None and controller in controllers.split(",")):
            return path
    return None


def _mounts() -> list[tuple[str, str, str]]:
    """(mount point, fs type, super options) from mountinfo."""
    out = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        left, right = line.split(" - ", 1)
        fstype, _, options = right.split(" ", 2)
        out.append((left.split()[4], fstype, options))
    return out


@lru_cache(maxsize=1)
def cgroup_layout() -> tuple[str, dict[str, str]]:
    """("v2" | "v1" | "none", controller → the runner's own cgroup folder to create children in)."""
    if os.geteuid() != 0:
        return "none", {}
    mounts = _mounts()
    v2 = [m for m, t, _ in mounts if t == "cgroup2"]
    own = _own_cgroup(None)
    for mount in v2:  # a v2 child needs the runner's cgroup to delegate memory (cgroup.subtree_control)
        base = Path(mount + (own or "/"))
        try:
            delegated = (base / "cgroup.subtree_control").read_text().split()
        except OSError:
            continue
        if "memory" in delegated and _writable_child(base, "memory.max"):
            return "v2", {"memory": str(base), **({"pids": str(base)} if "pids" in delegated else {})}
    found = {}
    for controller in ("memory", "pids"):
        path = _own_cgroup(controller)
        for mount, fstype, options in mounts:
            if fstype == "cgroup" and controller in options.split(",") and path is not None:
                base = Path(mount + path)
                if _writable_child(base, "memory.limit_in_bytes" if controller == "memory" else "pids.max"):
                    found[controller] = str(base)
    return ("v1", found) if "memory" in found else ("none", {})


def _writable_child(base: Path, control: str) -> bool:
    probe = base / f"irm-sandbox-probe-{os.getpid()}"
    try:
        probe.mkdir()
    except OSError:
        return False
    try:
        return (probe / control).exists() and os.access(probe / control, os.W_OK)
    finally:
        probe.rmdir()


@dataclass
class RunCgroup:
    """One run's cgroup folders (one per v1 hierarchy, or the single v2 folder)."""

    version: str
    dirs: dict[str, str] = field(default_factory=dict)

    @classmethod
    def create(cls, memory_bytes: int, processes: int) -> "RunCgroup":
        version, bases = cgroup_layout()
        group = cls(version)
        name = f"irm-sandbox-{uuid.uuid4().hex[:12]}"
        for controller, base in bases.items():
            path = os.path.join(base, name)
            if path not in group.dirs.values():
                os.mkdir(path)
            group.dirs[controller] = path
        if version == "v2":
            group._write("memory", "memory.max", memory_bytes)
            group._write("memory", "memory.swap.max", 0, optional=True)
            group._write("pids", "pids.max", processes)
        elif version == "v1":
            group._write("memory", "memory.limit_in_bytes", memory_bytes)
            group._write("memory", "memory.memsw.limit_in_bytes", memory_bytes, optional=True)
            if "pids" in group.dirs:
                group._write("pids", "pids.max", processes)
        return group

    def _write(self, controller: str, name: str, value: int, optional: bool = False) -> None:
        try:
            Path(self.dirs[controller], name).write_text(str(value))
        except OSError:
            if not optional:
                raise

    def procs_files(self) -> list[str]:
        """The ``cgroup.procs`` files a child writes its own pid to before it execs bwrap."""
        return sorted({os.path.join(d, "cgroup.procs") for d in self.dirs.values()})

    def oom_killed(self) -> bool:
        if "memory" not in self.dirs:
            return False
        name = "memory.events" if self.version == "v2" else "memory.oom_control"
        try:
            for line in Path(self.dirs["memory"], name).read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill" and int(value) > 0:
                    return True
        except OSError:
            pass
        return False

    def close(self) -> None:
        """Kill whatever is left in the group, then remove it (the kernel reaps asynchronously)."""
        for directory in sorted(set(self.dirs.values())):
            deadline = time.monotonic() + 5
            while True:
                try:
                    pids = [int(p) for p in Path(directory, "cgroup.procs").read_text().split()]
                except OSError:
                    pids = []
                for pid in pids:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                try:
                    os.rmdir(directory)
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.02)


def capabilities() -> dict[str, str]:
    """What this machine's sandbox enforces (shown in results and the README's terms)."""
    version, bases = cgroup_layout()
    return {"user": "nobody" if os.geteuid() == 0 else "runner's own uid",
            "workspace": "tmpfs quota (size + inodes) for /work and /tmp" if can_mount()
            else "host folder (per-file cap only), /tmp tmpfs size-capped",
            "memory": f"cgroup {version} (incl. page cache and tmpfs)" if version != "none" else "RLIMIT_DATA only",
            "pids": "cgroup pids.max" if "pids" in bases else "RLIMIT_NPROC only"}
