"""Run untrusted code: bubblewrap namespaces plus resource limits, one private workspace per run.

What a run sees: a read-only view of ``/usr`` (the toolchains), a fresh ``/proc`` of its own PID
namespace in which it is PID 1 (no runner or bwrap process is visible, so nothing can be read or
attached), ``/dev``, and its workspace as ``/work`` and ``/tmp``; no network (empty network
namespace). bwrap itself starts with a minimal environment, so no runner variable exists in any
process of the run. As root the run drops to ``nobody``; inside it has no capabilities,
``no_new_privs`` is set, user namespaces are disabled, and a seccomp filter
(:mod:`serving.seccomp`) makes ``ptrace``, ``process_vm_readv`` and friends fail.

Bounds (every byte a run can create): the workspace tmpfs quota (bytes and files, both folders
together), memory by cgroup including page cache and tmpfs pages, processes, CPU time, file
size, open files, wall clock and output size (read incrementally; the run is killed at the
cap). The run is PID 1 of its namespace, where the kernel ignores a default-action SIGXCPU, so the
CPU limit is enforced by the SIGKILL at the hard limit and recognised from the CPU time spent
(nine tenths of the limit or more: the reaped rusage is a little behind the kernel's own count). :func:`serving.confinement.capabilities` says which of them this machine enforces.

Every run ends with one outcome: ok, error (non-zero exit), timeout, memory, output-limit or
killed (a signal not explained by a limit), with the evidence kept in the result.
"""

from __future__ import annotations

import os
import resource
import selectors
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from schemas.sandbox import SandboxLimits
from serving.confinement import NOBODY, RunCgroup, Workspace, chown_tree, open_workspace
from serving.seccomp import filter_program

SYSTEM_DIRS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")
BWRAP_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
CPU_SPENT_SHARE = 0.9  # rusage can trail the scheduler's count that RLIMIT_CPU enforces by a tenth of a second under load
SHARED_NPROC = 4096  # with pids.max per run, the per-user rlimit only guards the host


class SandboxUnavailable(RuntimeError):
    pass


@dataclass
class SandboxResult:
    outcome: str
    exit_code: int | None
    signal: str | None
    stdout: str
    stderr: str
    wall_seconds: float
    cpu_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


def bwrap_path() -> str:
    path = shutil.which("bwrap")
    if path is None:
        raise SandboxUnavailable("bubblewrap is not installed: `make setup` installs it (apt-get install bubblewrap)")
    return path


def _root_layout() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for name in SYSTEM_DIRS:
        host = Path("/") / name
        if host.is_symlink():
            args += ["--symlink", os.readlink(host), f"/{name}"]
        elif host.is_dir():
            args += ["--ro-bind", str(host), f"/{name}"]
    for etc in ("alternatives", "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "java-17-openjdk"):
        if (Path("/etc") / etc).exists():
            args += ["--ro-bind", f"/etc/{etc}", f"/etc/{etc}"]
    return args


def bwrap_argv(workspace: Workspace, argv: list[str], limits: SandboxLimits, seccomp_fd: int, env: dict[str, str] | None = None,
               ro_binds: tuple[tuple[str, str], ...] = ()) -> list[str]:
    binds = [x for source, dest in ro_binds for x in ("--ro-bind", source, dest)]
    tmp = ["--bind", workspace.tmp, "/tmp"] if workspace.tmp else ["--size", str(limits.disk_bytes), "--tmpfs", "/tmp"]
    args = [bwrap_path(), "--unshare-all", "--unshare-user", "--disable-userns", "--as-pid-1", "--die-with-parent",
            "--new-session", "--cap-drop", "ALL", "--seccomp", str(seccomp_fd), *_root_layout(), *binds,
            "--proc", "/proc", "--dev", "/dev", *tmp, "--bind", workspace.work, "/work", "--chdir", "/work",
            "--remount-ro", "/", "--clearenv", "--setenv", "PATH", "/usr/bin:/bin", "--setenv", "HOME", "/work",
            "--setenv", "LANG", "C.UTF-8"]
    for key, value in (env or {}).items():
        args += ["--setenv", key, value]
    return args + ["--", *argv]


def _limits(limits: SandboxLimits, drop_to_nobody: bool, cgroup_procs: list[str], counted_by_cgroup: bool):
    def apply() -> None:
        for procs in cgroup_procs:
            with open(procs, "w") as f:
                f.write("0")
        if drop_to_nobody:
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
        mb = 1024 * 1024
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds))
        resource.setrlimit(resource.RLIMIT_DATA, (limits.memory_mb * mb, limits.memory_mb * mb))
        nproc = limits.processes if not counted_by_cgroup else SHARED_NPROC  # RLIMIT_NPROC counts every run of the user
        resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes))
        resource.setrlimit(resource.RLIMIT_NOFILE, (limits.open_files, limits.open_files))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    return apply


MEMORY_MARKERS = ("MemoryError", "std::bad_alloc", "OutOfMemoryError", "JavaScript heap out of memory",
                  "Cannot allocate memory", "cannot allocate memory")


def _outcome(code: int | None, timed_out: bool, flooded: bool, oom: bool, stderr: str, cpu_spent: bool) -> tuple[str, str | None]:
    sig = signal.Signals(-code).name if code is not None and code < 0 else None
    if code is not None and code > 128 and code - 128 in signal.Signals._value2member_map_:
        sig = signal.Signals(code - 128).name
    if flooded:
        return "output-limit", sig
    if timed_out or sig == "SIGXCPU" or (sig == "SIGKILL" and cpu_spent):
        return "timeout", sig
    if oom or any(m in stderr for m in MEMORY_MARKERS):
        return "memory", sig
    if sig is not None:
        return "killed", sig
    return ("ok" if code == 0 else "error"), sig


def _seccomp_fd() -> int:
    fd = os.memfd_create("irm-sandbox-seccomp", 0)
    os.write(fd, filter_program())
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def run(argv: list[str], workspace: Workspace, limits: SandboxLimits, stdin: bytes = b"", env: dict[str, str] | None = None,
        ro_binds: tuple[tuple[str, str], ...] = (), pass_fds: tuple[int, ...] = (), stop: threading.Event | None = None) -> SandboxResult:
    """Run ``argv`` inside the sandbox with ``workspace`` as ``/work`` (``ro_binds``: host folders
    made visible read-only, as (host path, sandbox path), e.g. a library folder). ``pass_fds`` are
    handed to the run (same numbers) and closed here once it started; setting ``stop`` kills it."""
    drop = os.geteuid() == 0
    try:
        if drop:
            chown_tree(workspace.work)
        seccomp = _seccomp_fd()
    except BaseException:
        for fd in pass_fds:
            os.close(fd)
        raise
    try:
        cgroup = RunCgroup.create(limits.memory_mb * 1024 * 1024, limits.processes)
    except BaseException:
        for fd in (seccomp, *pass_fds):
            os.close(fd)
        raise
    started = time.monotonic()
    try:
        proc = subprocess.Popen(bwrap_argv(workspace, argv, limits, seccomp, env, ro_binds), stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=BWRAP_ENV, cwd="/",
                                preexec_fn=_limits(limits, drop, cgroup.procs_files(), "pids" in cgroup.dirs), start_new_session=True,
                                close_fds=True, pass_fds=(seccomp, *pass_fds))
    except BaseException:
        cgroup.close()
        raise
    finally:
        for fd in (seccomp, *pass_fds):
            os.close(fd)
    try:
        code, cpu, timed_out, flooded, out = _collect(proc, stdin, limits, started, stop)
        oom = cgroup.oom_killed()
    finally:
        cgroup.close()
    stdout = bytes(out[proc.stdout][:limits.output_bytes]).decode("utf-8", errors="replace")
    stderr = bytes(out[proc.stderr][:limits.output_bytes]).decode("utf-8", errors="replace")
    outcome, sig = _outcome(code, timed_out, flooded, oom, stderr, cpu >= limits.cpu_seconds * CPU_SPENT_SHARE)
    return SandboxResult(outcome, code, sig, stdout, stderr, round(time.monotonic() - started, 3), round(cpu, 3))


def _collect(proc: subprocess.Popen, stdin: bytes, limits: SandboxLimits, started: float, stop: threading.Event | None):
    try:
        proc.stdin.write(stdin)
        proc.stdin.close()
    except BrokenPipeError:
        pass
    out = {proc.stdout: bytearray(), proc.stderr: bytearray()}
    selector = selectors.DefaultSelector()
    for stream in out:
        selector.register(stream, selectors.EVENT_READ)
    timed_out = flooded = False
    deadline = started + limits.wall_seconds
    while selector.get_map():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            timed_out = True
            break
        if stop is not None and stop.is_set():
            break
        for key, _ in selector.select(timeout=min(remaining, 0.25)):
            chunk = os.read(key.fd, 65536)
            if not chunk:
                selector.unregister(key.fileobj)
                continue
            buffer = out[key.fileobj]
            buffer += chunk
            if len(buffer) > limits.output_bytes:
                flooded = True
                break
        if flooded:
            break
    if timed_out or flooded or (stop is not None and stop.is_set()):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    reaped = _reap(proc, max(1.0, deadline - time.monotonic() + 1.0))
    if reaped is None:
        os.killpg(proc.pid, signal.SIGKILL)
        reaped, timed_out = _reap(proc, None), True
    selector.close()
    for stream in out:
        stream.close()
    return *reaped, timed_out, flooded, out


def _reap(proc: subprocess.Popen, timeout: float | None) -> tuple[int, float] | None:
    """Wait for bwrap with ``wait4``: its rusage includes the run it reaped, so the CPU time the
    run spent is known (None when ``timeout`` passes first)."""
    end = None if timeout is None else time.monotonic() + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, 0 if end is None else os.WNOHANG)
        if pid == proc.pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return proc.returncode, usage.ru_utime + usage.ru_stime
        if time.monotonic() >= end:
            return None
        time.sleep(0.02)


@dataclass(frozen=True)
class Toolchain:
    """How to compile (optional) and run one language inside the sandbox."""

    name: str
    source: str
    compile: tuple[str, ...] | None
    run: tuple[str, ...]
    env: tuple[tuple[str, str], ...] = ()


TOOLCHAINS = {
    "python": Toolchain("python", "main.py", None, ("/usr/bin/python3", "-I", "-B", "main.py")),
    "cpp": Toolchain("cpp", "main.cpp", ("/usr/bin/g++", "-O1", "-std=c++17", "-o", "main", "main.cpp"), ("./main",)),
    "java": Toolchain("java", "Main.java", ("/usr/bin/javac", "-J-Xmx256m", "-J-XX:TieredStopAtLevel=1", "-J-XX:-UsePerfData", "Main.java"),
                      ("/usr/bin/java", "-Xmx256m", "-Xss8m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-XX:-UsePerfData", "Main")),
    "javascript": Toolchain("javascript", "main.js", None, ("/usr/bin/node", "--max-old-space-size=256", "main.js")),
}


def available_toolchains() -> list[str]:
    """Languages whose compiler and runtime exist on this machine."""
    return [name for name, t in TOOLCHAINS.items()
            if all(Path(x).exists() for x in ((t.compile or ("",))[0] or t.run[0], t.run[0]) if x.startswith("/"))]


def execute(language: str, code: str, limits: SandboxLimits | None = None, files: dict[str, str] | None = None,
            stdin: str = "", compile_limits: SandboxLimits | None = None) -> SandboxResult:
    """``python_exec`` / ``compiler_run``: write the source (and input files) into a fresh private
    folder, compile if the language needs it, run, and delete the folder."""
    if language not in TOOLCHAINS:
        raise ValueError(f"unknown language {language!r}; sandbox toolchains: {sorted(TOOLCHAINS)}")
    chain = TOOLCHAINS[language]
    limits = limits or SandboxLimits()
    compile_limits = compile_limits or limits.model_copy(update={"cpu_seconds": 30, "wall_seconds": 60.0, "memory_mb": 1024})
    workspace = open_workspace(max(limits.disk_bytes, compile_limits.disk_bytes), max(limits.max_files, compile_limits.max_files))
    try:
        write_files(workspace, {**(files or {}), chain.source: code})
        env = dict(chain.env)
        if chain.compile:
            compiled = run(list(chain.compile), workspace, compile_limits, env=env)
            if not compiled.ok:
                compiled.outcome = "compile-error" if compiled.outcome == "error" else compiled.outcome
                return compiled
        return run(list(chain.run), workspace, limits, stdin.encode(), env=env)
    finally:
        workspace.close()


def write_files(workspace: Workspace, files: dict[str, str]) -> None:
    """Input files into the workspace; a name that would land outside it is refused. A quota
    crossed by the inputs themselves is a ValueError naming the file."""
    root = Path(workspace.work).resolve()
    for name, content in files.items():
        target = Path(workspace.work) / name
        if root not in target.resolve().parents:
            raise ValueError(f"input file {name!r} is outside the sandbox folder")
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            target.write_text(content)
        except OSError as err:
            raise ValueError(f"input file {name!r} does not fit the sandbox workspace ({err.strerror}); raise disk_bytes/max_files") from err


def python_exec(code: str, limits: SandboxLimits | None = None, files: dict[str, str] | None = None, stdin: str = "") -> SandboxResult:
    return execute("python", code, limits, files, stdin)


def compiler_run(language: str, code: str, limits: SandboxLimits | None = None, files: dict[str, str] | None = None,
                 stdin: str = "") -> SandboxResult:
    return execute(language, code, limits, files, stdin)
