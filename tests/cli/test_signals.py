"""Ctrl-C (SIGINT) and a closed stdout, in real subprocesses (python -m backprop_cli).

Every SIGINT is sent only once the process shows it has reached the state under test — its
first lines or rows on stdout; for start-up, the import that follows the start-up handler
(-X importtime); for table mode, which prints nothing until the end, CPU spent in the run —
never after a fixed sleep: a loaded machine only makes the wait longer. Timeouts are hang
guards, never asserted.
"""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers.oracles import strict_json as strict

ROOT = Path(__file__).resolve().parents[2]


def subprocess_env(**extra) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("NO_COLOR", "FORCE_COLOR", "BACKPROP_DEBUG")
    }
    env.update({"PYTHONPATH": str(ROOT), "COLUMNS": "120"})
    env.update(extra)
    return env


# -- closed pipe and Ctrl-C (real subprocesses) ---------------------------------------------------
LONG_DESCEND = ["descend", "(x - 1)^2", "--x0", "0.2", "--eta", "1e-12", "--max-iter", "1000000"]
# table mode: newton computes the Hessian every step (~20 s for 10^6 steps; sgd takes ~1 s)
SLOW_DESCEND = [*LONG_DESCEND, "--optimizer", "newton"]

HANG_GUARD = 120  # seconds: only so that a hung process fails the test instead of the run
RUN_CPU = 0.2  # seconds of CPU the table-mode run has spent when it is interrupted


def _start(argv, python_flags=(), **env):
    return subprocess.Popen(
        [sys.executable, *python_flags, "-m", "backprop_cli", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env=subprocess_env(**env),
    )


def _read_until(proc, fd, ready, what):
    """Bytes read from fd until ``ready(data)`` holds: the process has shown it reached the
    state under test. Polls with select; HANG_GUARD only turns a hang into a failure."""
    data = b""
    deadline = time.monotonic() + HANG_GUARD
    while not ready(data):
        readable, _, _ = select.select([fd], [], [], max(deadline - time.monotonic(), 0))
        if not readable:
            proc.kill()
            proc.wait()
            pytest.fail(f"no {what} within {HANG_GUARD} s: {data[-300:]!r}")
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            chunk = b""
        if not chunk:
            proc.wait(timeout=HANG_GUARD)
            pytest.fail(f"exit {proc.returncode} before the {what}: {data[-300:]!r}")
        data += chunk
    return data


def test_closed_pipe_ends_quietly():
    proc = _start([*LONG_DESCEND, "--jsonl"])
    first = _read_until(proc, proc.stdout.fileno(), lambda out: b"\n" in out, "first line")
    first = first.split(b"\n")[0]
    assert strict(first.decode())["iteration"] == 0
    proc.stdout.close()  # like `| head -1`
    _, err = proc.communicate(timeout=HANG_GUARD)
    err = err.decode()
    assert proc.returncode == 0
    assert "Traceback" not in err and "BrokenPipe" not in err and "Exception ignored" not in err
    assert err == ""


def test_closed_pipe_small_output_quiet():
    # the table fits in the pipe buffer; the reader is gone before the final flush
    proc = subprocess.run(
        f"{sys.executable} -m backprop_cli grad x --at x=1 | head -c 0",
        shell=True, capture_output=True, text=True, env=subprocess_env(), timeout=60,
    )  # fmt: skip
    assert "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr


def _interrupt_after_output(argv, lines: int):
    proc = _start(argv)
    out = _read_until(proc, proc.stdout.fileno(), lambda o: o.count(b"\n") >= lines, "lines")
    proc.send_signal(signal.SIGINT)
    rest, err = proc.communicate(timeout=HANG_GUARD)
    return proc.returncode, (out + rest).decode(), err.decode()


def test_ctrl_c_jsonl_leaves_only_complete_lines():
    code, out, err = _interrupt_after_output([*LONG_DESCEND, "--jsonl"], lines=3)
    assert code == 130
    assert err.strip() == "interrupted"
    assert out.endswith("\n")
    records = [strict(line) for line in out.splitlines()]
    assert len(records) >= 3
    assert [r["iteration"] for r in records[:3]] == [0, 1, 2]


def test_ctrl_c_json_one_document_with_status_interrupted():
    proc = _start([*LONG_DESCEND, "--json"])
    # ready: the document's first row is out (writing 10^6 rows takes ~30 s, and once the pipe
    # is full the writer waits for this reader): the cut comes while rows are written
    head = _read_until(proc, proc.stdout.fileno(), lambda o: b'"iterations": [{' in o, "first row")
    proc.send_signal(signal.SIGINT)
    rest, err = proc.communicate(timeout=HANG_GUARD)
    assert proc.returncode == 130
    assert "Traceback" not in err.decode()
    out = head + rest  # interrupted inside the command: one document says so
    doc = strict(out.decode())
    assert doc["status"] == "interrupted" and doc["schema"] == "backprop.descend/1"


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far (/proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="reads /proc/PID/stat")
def test_ctrl_c_table_mode_no_traceback():
    # Table mode writes nothing until the run ends, so readiness is read from the process:
    # -X importtime logs the import of the code generator, which the run loads as it starts,
    # and from then on the process is polled until it has spent RUN_CPU seconds of CPU in
    # the run (the cut lands inside the Newton loop, not while its code is being built).
    # Both pipes are drained while waiting.
    proc = _start(SLOW_DESCEND, python_flags=("-X", "importtime"))
    codegen_in = re.compile(rb"\| +backprop_cli\.compiler\.codegen\n")
    early_err = _read_until(proc, proc.stderr.fileno(), codegen_in.search, "run's code generator")
    early_out, cpu_at_start = b"", _cpu_seconds(proc.pid)
    deadline = time.monotonic() + HANG_GUARD
    while _cpu_seconds(proc.pid) < cpu_at_start + RUN_CPU:
        fds = [proc.stdout.fileno(), proc.stderr.fileno()]
        readable, _, _ = select.select(fds, [], [], 0.01)  # the poll interval
        for fd in readable:
            chunk = os.read(fd, 65536)
            if fd == proc.stdout.fileno():
                early_out += chunk
            else:
                early_err += chunk
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            proc.wait()
            pytest.fail(f"the run ended or hung before it was interrupted: {early_err[-300:]!r}")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=HANG_GUARD)
    out, err = early_out + out, early_err + err
    assert proc.returncode == 130
    assert err.decode().strip().endswith("interrupted") and "Traceback" not in err.decode()


def test_ctrl_c_during_startup_no_traceback():
    # ready: -X importtime logs each import to stderr as it completes; once `typer` is in,
    # cli.py's start-up handler is installed and the imports it guards are still running
    proc = _start(["grad", "x", "--at", "x=1"], python_flags=("-X", "importtime"))
    typer_in = re.compile(rb"\| +typer\n")
    early = _read_until(proc, proc.stderr.fileno(), typer_in.search, "import of typer")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=HANG_GUARD)
    err = early + err
    assert proc.returncode in (0, 130, -signal.SIGINT)
    assert "Traceback" not in err.decode()


ENV = {"COLUMNS": "80", "NO_COLOR": "1"}


def _closed_stdout_run(argv):
    """Run with stdout a pipe whose reader has already gone (`| head -1` that got its line)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, **ENV}
    env.pop("BACKPROP_DEBUG", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "backprop_cli", *argv],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env,
    )  # fmt: skip
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.wait(timeout=60)
    return proc.returncode, err


def test_closed_pipe_after_a_rich_table_exits_0_quietly():
    # Rich's own broken-pipe handler exits 1, which here means "the computation failed"
    for argv in (["grad"], ["descend", "--all"]):
        code, err = _closed_stdout_run(argv)
        assert code == 0, (argv, err)
        assert err == ""


def test_closed_pipe_under_help_exits_0_quietly():
    # `backprop grad --help | head -c 10`: Typer prints help through a Rich console of its
    # own, whose broken-pipe handler exits 1
    for argv in (["grad", "--help"], ["--help"], ["descend", "-h"]):
        code, err = _closed_stdout_run(argv)
        assert code == 0, (argv, err)
        assert err == ""
