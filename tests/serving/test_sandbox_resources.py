"""Every byte a run can create is bounded: /tmp and /work share one quota of bytes and files,
and tmpfs pages count against the memory limit; ordinary output fits the default cap."""

import pytest

from schemas.sandbox import SandboxLimits
from serving.confinement import can_mount, capabilities
from serving.sandbox import python_exec

MB = 1024 * 1024
QUOTA = SandboxLimits(disk_bytes=8 * MB, max_files=200, file_bytes=64 * MB, wall_seconds=10)
needs_quota = pytest.mark.skipif(not can_mount(), reason="the workspace quota needs a runner allowed to mount tmpfs (root)")

FILL = '''
import os
written = 0
try:
    with open("{path}", "wb") as f:
        for _ in range({mb}):
            f.write(b"x" * (1 << 20))
            f.flush()
            written += 1
except OSError as e:
    print("stopped", e.errno)
print("written", written)
'''


def _written(stdout: str) -> int:
    return int(stdout.split("written ")[1].split()[0])


@needs_quota
def test_filling_tmp_stops_at_the_quota():
    result = python_exec(FILL.format(path="/tmp/fill", mb=100), QUOTA)
    assert result.outcome == "ok" and "stopped 28" in result.stdout and _written(result.stdout) < 8, result


@needs_quota
def test_tmp_and_work_share_one_quota():
    code = FILL.format(path="/tmp/a", mb=5) + FILL.format(path="/work/b", mb=5)
    result = python_exec(code, QUOTA)
    first, second = (int(part.split()[0]) for part in result.stdout.split("written ")[1:])
    assert first == 5 and second < 3 and "stopped 28" in result.stdout, result


@needs_quota
def test_many_small_files_in_work_exhaust_the_file_count():
    code = ("n = 0\ntry:\n    for i in range(100000):\n        open(f'/work/f{i}', 'w').write('x' * 10)\n        n += 1\n"
            "except OSError as e:\n    print('stopped', e.errno)\nprint('files', n)")
    result = python_exec(code, QUOTA)
    assert "stopped 28" in result.stdout and int(result.stdout.split("files ")[1]) < QUOTA.max_files, result


@needs_quota
def test_empty_files_and_folders_exhaust_inodes_too():
    code = ("import os\nn = 0\ntry:\n    for i in range(100000):\n        os.mkdir(f'/tmp/d{i}')\n        n += 1\n"
            "except OSError as e:\n    print('stopped', e.errno)\nprint('dirs', n)")
    result = python_exec(code, QUOTA)
    assert "stopped 28" in result.stdout and int(result.stdout.split("dirs ")[1]) < QUOTA.max_files, result


@pytest.mark.skipif(not capabilities()["memory"].startswith("cgroup"), reason="no writable memory cgroup: RLIMIT_DATA fallback")
def test_tmpfs_pages_count_against_the_memory_limit():
    limits = SandboxLimits(memory_mb=96, disk_bytes=512 * MB, max_files=100, file_bytes=512 * MB, wall_seconds=15, cpu_seconds=10)
    result = python_exec(FILL.format(path="/tmp/ram", mb=300), limits)
    assert result.outcome == "memory", result


def test_a_benign_200_kb_print_fits_the_default_output_cap():
    result = python_exec("for i in range(2000):\n    print(f'{i:06d} ' + 'y' * 92)", SandboxLimits())
    assert result.outcome == "ok" and len(result.stdout) == 200_000


def test_the_output_cap_is_configurable():
    result = python_exec("print('z' * 5000)", SandboxLimits(output_bytes=1000))
    assert result.outcome == "output-limit" and len(result.stdout) <= 1000
