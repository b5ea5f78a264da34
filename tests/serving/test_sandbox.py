"""Red team: every attack is contained, and the result says how it ended."""

import os
import time
from pathlib import Path

import pytest

from schemas.sandbox import SandboxLimits
from serving.sandbox import available_toolchains, compiler_run, python_exec

LIMITS = SandboxLimits(cpu_seconds=2, wall_seconds=5, memory_mb=256, processes=16, output_bytes=4096)


def nobody_processes() -> int:
    count = 0
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            if "\nUid:\t65534\t" in status.read_text():
                count += 1
        except OSError:
            pass
    return count


@pytest.fixture(autouse=True)
def host_secret(monkeypatch, tmp_path):
    monkeypatch.setenv("IRM_TEST_SECRET", "s3cr3t-token")
    secret = tmp_path / "host-secret.txt"
    secret.write_text("s3cr3t-file")
    return secret


def test_each_toolchain_present_runs_code_and_reads_its_input_files():
    assert set(available_toolchains()) == {"python", "cpp", "java", "javascript"}
    programs = {
        "python": "print(open('data.txt').read().strip(), input())",
        "cpp": '#include <fstream>\n#include <iostream>\n#include <string>\nint main(){std::ifstream f("data.txt");std::string a,b;f>>a;std::cin>>b;std::cout<<a<<" "<<b<<"\\n";}',
        "java": 'import java.nio.file.*; public class Main { public static void main(String[] x) throws Exception {'
                ' String a = Files.readString(Path.of("data.txt")).strip(); String b = new java.util.Scanner(System.in).next();'
                ' System.out.println(a + " " + b); } }',
        "javascript": 'const fs = require("fs"); const a = fs.readFileSync("data.txt", "utf8").trim();'
                      ' const b = fs.readFileSync(0, "utf8").trim(); console.log(a + " " + b);',
    }
    for language, code in programs.items():
        result = compiler_run(language, code, SandboxLimits(), files={"data.txt": "hello\n"}, stdin="world\n")
        assert result.outcome == "ok" and result.stdout.strip() == "hello world", (language, result)


def test_network_is_unreachable():
    result = python_exec("import socket\ntry:\n    socket.create_connection(('1.1.1.1', 53), timeout=2)\n    print('CONNECTED')\n"
                         "except OSError as e:\n    print('blocked', e.errno)", LIMITS)
    assert result.outcome == "ok" and result.stdout.startswith("blocked") and "CONNECTED" not in result.stdout


def test_host_names_do_not_resolve():
    result = python_exec("import socket\nsocket.gethostbyname('example.com')", LIMITS)
    assert result.outcome == "error" and "gaierror" in result.stderr


def test_host_files_and_environment_secrets_are_invisible(host_secret):
    code = (f"import os\nprint(sorted(os.environ))\n"
            f"for p in ['{host_secret}', '/root', '/etc/shadow', '/etc/passwd', '{Path.cwd()}']:\n"
            f"    print(p, os.path.exists(p))")
    result = python_exec(code, LIMITS)
    assert result.outcome == "ok"
    assert "IRM_TEST_SECRET" not in result.stdout and "s3cr3t" not in result.stdout
    assert all(line.endswith("False") for line in result.stdout.splitlines()[1:]), result.stdout


def test_writes_outside_the_private_folder_fail(tmp_path):
    escape = tmp_path / "escaped.txt"
    code = ("import os\nfor p in ['/evil', '/usr/evil', '/etc/evil', '../evil', '%s']:\n"
            "    try:\n        open(p, 'w').write('x')\n        print(p, 'WRITTEN')\n"
            "    except OSError as e:\n        print(p, 'blocked')\nopen('mine.txt', 'w').write('ok')\nprint('own folder ok')") % escape
    result = python_exec(code, LIMITS)
    assert result.outcome == "ok" and "WRITTEN" not in result.stdout.replace("own folder ok", "") and "own folder ok" in result.stdout
    assert not escape.exists()


def test_a_fork_bomb_is_capped_and_leaves_no_process_behind():
    before = nobody_processes()
    result = python_exec("import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass", LIMITS)
    assert result.outcome in ("timeout", "killed") and result.wall_seconds < LIMITS.wall_seconds + 3
    deadline = time.monotonic() + 5  # the kernel reaps the killed namespace asynchronously
    while nobody_processes() > before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert nobody_processes() <= before


def test_a_memory_bomb_is_stopped_as_memory():
    assert python_exec("x = bytearray(2 * 1024 ** 3)", LIMITS).outcome == "memory"
    cpp = compiler_run("cpp", "#include <cstddef>\n#include <vector>\nint main(){ std::vector<char> v(std::size_t(2) << 30, 1); return v[7]; }", LIMITS)
    assert cpp.outcome == "memory", cpp


def test_an_endless_loop_times_out():
    result = python_exec("while True:\n    pass", LIMITS)
    assert result.outcome == "timeout" and result.wall_seconds < LIMITS.wall_seconds + 1, result
    js = compiler_run("javascript", "for (;;) {}", LIMITS)
    assert js.outcome == "timeout", js


def test_the_cpu_limit_stops_a_busy_loop_before_the_wall_clock_does():
    limits = LIMITS.model_copy(update={"cpu_seconds": 1, "wall_seconds": 30.0})
    result = python_exec("while True:\n    pass", limits)
    assert result.outcome == "timeout" and result.signal == "SIGKILL", result
    assert 1 - 0.05 <= result.cpu_seconds and result.wall_seconds < limits.wall_seconds, result


def test_a_sleeping_run_is_stopped_by_the_wall_clock_having_spent_no_cpu():
    result = python_exec("import time\ntime.sleep(60)", LIMITS.model_copy(update={"wall_seconds": 2.0}))
    assert result.outcome == "timeout" and result.cpu_seconds < 1, result


def test_output_floods_are_cut_at_the_cap():
    result = python_exec("while True:\n    print('x' * 1000)", LIMITS)
    assert result.outcome == "output-limit" and len(result.stdout) <= LIMITS.output_bytes


def test_it_cannot_signal_its_parent_or_the_host():
    code = (f"import os, signal\nfor pid in [os.getppid(), {os.getpid()}, 1]:\n"
            f"    try:\n        os.kill(pid, signal.SIGKILL)\n        print(pid, 'signalled')\n"
            f"    except OSError as e:\n        print(pid, 'blocked', e.errno)")
    result = python_exec(code, LIMITS)
    assert result.outcome in ("ok", "killed")  # killing its own namespace's init ends the run, nothing else
    assert os.getpid() > 0  # this test process is alive
    assert f"{os.getpid()} signalled" not in result.stdout
