"""Nothing of the runner's environment is reachable from inside: a canary planted in the runner's
environment and files must not be found by any of the ways a process looks at another."""

import os
import threading
import time
from pathlib import Path

import pytest

from schemas.sandbox import SandboxLimits
from serving.sandbox import python_exec
from serving.seccomp import filter_program

CANARY = "irm-canary-7f3a9c"
LIMITS = SandboxLimits(cpu_seconds=5, wall_seconds=10)

PROBE = r'''
import ctypes, glob, os
libc = ctypes.CDLL(None, use_errno=True)
found, visible = [], sorted(int(p.rsplit("/", 1)[1]) for p in glob.glob("/proc/[0-9]*"))
print("pids", visible)
child = os.fork()
if child == 0:
    import time
    time.sleep(5)
    os._exit(0)
for pid in visible + [child]:
    for name in ("environ", "cmdline", "mem", "root/proc/1/environ", "cwd"):
        try:
            with open(f"/proc/{pid}/{name}", "rb") as f:
                data = f.read(1 << 20)
            if b"CANARY_MARK" in data:
                found.append(f"{pid}/{name}")
        except OSError:
            pass
    read = 0
    try:
        with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", buffering=0) as mem:
            for line in maps:
                span, perms = line.split()[:2]
                if not perms.startswith("r") or "[stack]" not in line:  # where a process's environment strings live
                    continue
                lo, hi = (int(x, 16) for x in span.split("-"))
                try:
                    mem.seek(lo)
                    data = mem.read(min(hi - lo, 1 << 24))
                except OSError:
                    continue
                read += len(data)
                if b"CANARY_MARK" in data:
                    found.append(f"{pid}/mem@{lo:x}")
                if b"PATH=/usr/bin" in data:
                    print("memread-env", pid)
    except OSError:
        pass
    print("memread", pid, read)
    for request in (16, 0x4206):  # PTRACE_ATTACH, PTRACE_SEIZE
        ok = libc.ptrace(request, pid, 0, 0)
        print("ptrace", request, pid, ok, ctypes.get_errno())
iov = (ctypes.c_char * 64)()
class IOVec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]
local, remote = IOVec(ctypes.addressof(iov), 64), IOVec(0x400000, 64)
print("x32-ptrace", libc.syscall(0x40000000 | 101, 16, child, 0, 0), ctypes.get_errno())  # the x32 ABI is no way around
print("process_vm_readv", libc.process_vm_readv(child, ctypes.byref(local), 1, ctypes.byref(remote), 1, 0), ctypes.get_errno())
for path in ("HOST_FILE", "HOST_CWD", "/proc/1/root/HOST_FILE", "/root", "/etc/passwd", "/etc/shadow"):
    print("exists", path, os.path.exists(path))
print("environ", sorted(os.environ))
print("found", found)
status = dict(line.split(":\t", 1) for line in open("/proc/self/status").read().splitlines() if ":\t" in line)
print("status", status["CapEff"].strip(), status["CapBnd"].strip(), status["NoNewPrivs"].strip(), status["Seccomp"].strip())
os.kill(child, 9)
'''


@pytest.fixture
def canary(monkeypatch, tmp_path):
    monkeypatch.setenv("IRM_CANARY_TOKEN", CANARY)
    secret = tmp_path / "runner-secret.txt"
    secret.write_text(CANARY)
    return secret


def _lines(stdout: str, key: str) -> list[str]:
    return [line.split(" ", 1)[1] for line in stdout.splitlines() if line.startswith(key + " ")]


def test_no_process_in_the_namespace_holds_or_exposes_the_runners_secrets(canary):
    code = PROBE.replace("CANARY_MARK", CANARY).replace("HOST_FILE", str(canary)).replace("HOST_CWD", str(Path.cwd()))
    result = python_exec(code, LIMITS)
    assert result.outcome == "ok", result
    assert CANARY not in result.stdout + result.stderr
    assert _lines(result.stdout, "pids") == ["[1]"]  # the candidate is alone: no runner or bwrap process to read
    assert _lines(result.stdout, "found") == ["[]"]
    assert "1" in _lines(result.stdout, "memread-env"), result.stdout  # the stack scan finds a live environment (its own)
    assert _lines(result.stdout, "environ") == ["['HOME', 'LANG', 'PATH', 'PWD']"]
    assert all(line.endswith(" 1") for line in _lines(result.stdout, "ptrace")), result.stdout  # EPERM for every pid
    assert _lines(result.stdout, "process_vm_readv") == ["-1 1"] and _lines(result.stdout, "x32-ptrace") == ["-1 1"]
    assert all(line.endswith("False") for line in _lines(result.stdout, "exists")), result.stdout
    assert _lines(result.stdout, "status") == ["0000000000000000 0000000000000000 1 2"]  # no caps, no_new_privs, seccomp filter


def test_bubblewrap_itself_starts_without_the_runners_environment(canary):
    """The bwrap process lives outside the sandbox's PID namespace, but it is the parent of the
    run: its environment must be minimal too, so nothing inherits the runner's variables."""
    seen: list[bytes] = []
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            for proc in Path("/proc").glob("[0-9]*"):
                try:
                    parent = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
                    if parent == os.getpid() and (proc / "cmdline").read_bytes().startswith(b"/usr/bin/bwrap"):
                        seen.append((proc / "environ").read_bytes())
                except OSError:
                    pass
            time.sleep(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        python_exec("import time\ntime.sleep(1.5)", LIMITS)
    finally:
        done.set()
        watcher.join()
    assert os.environ["IRM_CANARY_TOKEN"] == CANARY
    assert seen, "the bwrap process was never observed"
    assert all(CANARY.encode() not in env and set(env.split(b"\0")) <= {b"", b"PATH=/usr/bin:/bin", b"LANG=C.UTF-8"} for env in seen)


def test_an_architecture_without_a_syscall_table_gets_no_unfiltered_sandbox():
    with pytest.raises(ValueError, match="no seccomp syscall table"):
        filter_program("riscv64")
    assert len(filter_program("x86_64")) % 8 == 0 and len(filter_program("aarch64")) % 8 == 0
