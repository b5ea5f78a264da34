"""A seccomp filter for the sandbox: the calls that reach other processes or the kernel's
global state fail with EPERM; everything else is allowed.

Denied: ``ptrace``, ``process_vm_readv/writev``, ``kcmp``, ``pidfd_getfd``, ``process_madvise``
(reading or steering another process), ``perf_event_open``, ``bpf``, ``userfaultfd``,
``io_uring_*`` (large kernel attack surface), the keyring, mounts and namespaces, modules,
kexec, reboot, swap, quotas and accounting. A call from an architecture the filter was not
built for kills the process, and every x32 call fails with EPERM, so the list cannot be
bypassed by switching ABI. The filter is a classic BPF program in the byte layout ``bwrap --seccomp``
reads (``struct sock_filter``: u16 code, u8 jt, u8 jf, u32 k).
"""

from __future__ import annotations

import platform
import struct

DENIED = ("ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd", "process_madvise", "perf_event_open",
          "bpf", "userfaultfd", "io_uring_setup", "io_uring_enter", "io_uring_register", "add_key", "request_key", "keyctl",
          "mount", "umount2", "pivot_root", "open_tree", "move_mount", "fsopen", "fsconfig", "fsmount", "fspick",
          "mount_setattr", "unshare", "setns", "name_to_handle_at", "open_by_handle_at", "init_module", "finit_module",
          "delete_module", "kexec_load", "kexec_file_load", "reboot", "swapon", "swapoff", "quotactl", "acct")

# (audit arch, syscall numbers) from the kernel's unistd tables
ARCHES = {
    "x86_64": (0xC000003E, {
        "ptrace": 101, "pivot_root": 155, "acct": 163, "mount": 165, "umount2": 166, "swapon": 167, "swapoff": 168,
        "reboot": 169, "init_module": 175, "delete_module": 176, "quotactl": 179, "kexec_load": 246, "add_key": 248,
        "request_key": 249, "keyctl": 250, "unshare": 272, "perf_event_open": 298, "name_to_handle_at": 303,
        "open_by_handle_at": 304, "setns": 308, "process_vm_readv": 310, "process_vm_writev": 311, "kcmp": 312,
        "finit_module": 313, "kexec_file_load": 320, "bpf": 321, "userfaultfd": 323, "io_uring_setup": 425,
        "io_uring_enter": 426, "io_uring_register": 427, "open_tree": 428, "move_mount": 429, "fsopen": 430,
        "fsconfig": 431, "fsmount": 432, "fspick": 433, "pidfd_getfd": 438, "process_madvise": 440, "mount_setattr": 442}),
    "aarch64": (0xC00000B7, {
        "umount2": 39, "mount": 40, "pivot_root": 41, "quotactl": 60, "acct": 89, "unshare": 97, "kexec_load": 104,
        "init_module": 105, "delete_module": 106, "ptrace": 117, "reboot": 142, "add_key": 217, "request_key": 218,
        "keyctl": 219, "swapon": 224, "swapoff": 225, "perf_event_open": 241, "name_to_handle_at": 264,
        "open_by_handle_at": 265, "setns": 268, "process_vm_readv": 270, "process_vm_writev": 271, "kcmp": 272,
        "finit_module": 273, "bpf": 280, "userfaultfd": 282, "kexec_file_load": 294, "io_uring_setup": 425,
        "io_uring_enter": 426, "io_uring_register": 427, "open_tree": 428, "move_mount": 429, "fsopen": 430,
        "fsconfig": 431, "fsmount": 432, "fspick": 433, "pidfd_getfd": 438, "process_madvise": 440, "mount_setattr": 442}),
}

LD_W_ABS, JEQ_K, JGE_K, RET_K = 0x20, 0x15, 0x35, 0x06
RET_ALLOW, RET_KILL_PROCESS, RET_ERRNO_EPERM = 0x7FFF0000, 0x80000000, 0x00050000 | 1
X32_BIT = 0x40000000


def _insn(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k)


def filter_program(machine: str | None = None) -> bytes:
    """The compiled filter for ``machine`` (default: this one); ValueError for an architecture
    whose syscall table is not listed (the sandbox then refuses to run rather than run unfiltered)."""
    machine = machine or platform.machine()
    if machine not in ARCHES:
        raise ValueError(f"no seccomp syscall table for architecture {machine!r}; known: {sorted(ARCHES)}")
    arch, numbers = ARCHES[machine]
    denied = [numbers[name] for name in DENIED]
    body = [_insn(LD_W_ABS, 4), _insn(JEQ_K, arch, 1, 0), _insn(RET_K, RET_KILL_PROCESS), _insn(LD_W_ABS, 0)]
    checks = ([(JGE_K, X32_BIT)] if machine == "x86_64" else []) + [(JEQ_K, nr) for nr in denied]
    for i, (code, k) in enumerate(checks):
        to_deny = len(checks) - i  # skip the remaining checks and the allow
        body.append(_insn(code, k, to_deny, 0))
    body += [_insn(RET_K, RET_ALLOW), _insn(RET_K, RET_ERRNO_EPERM)]
    return b"".join(body)
