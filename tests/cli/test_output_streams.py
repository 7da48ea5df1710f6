"""What the real process does with the streams it is given (issue 19), in subprocesses
(python -m backprop_cli): stdout full or closed is an output error in one line (exit 1);
a stream that cannot encode the symbols gets ASCII; argv decoded with surrogateescape
under a C locale is recovered; numpy's warnings never reach stderr.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.oracles import strict_json as strict

ROOT = Path(__file__).resolve().parents[2]
LESSON = "x = 2*w + b; y = b + 1; z = x*y"
HANG_GUARD = 120  # seconds: only so that a hung process fails instead of the run


def _env(**extra) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("NO_COLOR", "FORCE_COLOR", "BACKPROP_DEBUG", "PYTHONIOENCODING")
        and not k.startswith("LC_")
    }
    env.update({"PYTHONPATH": str(ROOT), "COLUMNS": "120", "LANG": "C.UTF-8"})
    env.update(extra)
    return env


def _run(argv, stdout=subprocess.PIPE, preexec_fn=None, cwd=None, **env):
    return subprocess.run(
        [sys.executable, "-m", "backprop_cli", *argv],
        stdout=stdout,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env=_env(**env),
        preexec_fn=preexec_fn,
        cwd=cwd,
        timeout=HANG_GUARD,
    )


COMMANDS = [
    ["grad", LESSON, "--at", "w=3,b=4"],
    ["grad", LESSON, "--at", "w=3,b=4", "--json"],
    ["descend", "--eta", "0.1", "--x0", "0.2", "--jsonl"],
    ["descend", "--eta", "0.1", "--x0", "0.2", "--json"],
    ["data", "linear", "--n", "5"],
    ["--version"],
]


# -- stdout that cannot be written -------------------------------------------------------------


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("argv", COMMANDS, ids=" ".join)
def test_a_full_stdout_is_an_output_error_in_one_line(argv):
    with open("/dev/full", "w") as full:
        done = _run(argv, stdout=full)
    assert done.returncode == 1
    assert done.stderr.decode() == "error: cannot write to stdout: No space left on device\n"


@pytest.mark.parametrize("argv", COMMANDS[:2] + COMMANDS[4:], ids=" ".join)
def test_a_closed_or_read_only_stdout_is_an_output_error_in_one_line(argv, tmp_path):
    closed = _run(argv, stdout=None, preexec_fn=lambda: os.close(1))
    assert closed.returncode == 1
    assert closed.stderr.decode() == "error: cannot write to stdout: Bad file descriptor\n"
    (tmp_path / "in").write_text("")
    with open(tmp_path / "in", "rb") as read_only:
        done = _run(argv, stdout=read_only)
    assert done.returncode == 1
    assert done.stderr.decode() == "error: cannot write to stdout: Bad file descriptor\n"


def test_a_closed_stdout_does_not_fail_a_run_that_writes_nothing_there(tmp_path):
    out = tmp_path / "points.csv"
    done = _run(["data", "linear", "--n", "5", "--output", str(out), "--quiet"],
                stdout=None, preexec_fn=lambda: os.close(1))  # fmt: skip
    assert done.returncode == 0 and done.stderr == b""
    assert out.read_text().startswith("x,y")


# -- streams that cannot encode the symbols -----------------------------------------------------


@pytest.mark.parametrize("encoding", ["ascii", "latin-1"])
def test_a_stream_without_the_symbols_gets_them_in_ascii(encoding):
    cases = [
        (["grad", LESSON, "--at", "w=3,b=4"], 0, ["dz/dnode", "d/dw = 2", "+---"]),
        (["descend", "--eta", "0.1", "--x0", "0.2"], 0, ["eta = 0.1"]),
        (["graph", LESSON, "--at", "w=3,b=4"], 0, ["dz/dx = 5"]),
        (["graph", "σ*2", "--at", "σ=1", "--format", "mermaid"], 0, ["df/dsigma = 2"]),
        (["--help"], 0, ["Commands"]),
        (["grad", "--help"], 0, ["Usage"]),
    ]
    for argv, code, shown in cases:
        done = _run(argv, PYTHONIOENCODING=encoding)
        assert done.returncode == code, (argv, done.stderr)
        out = done.stdout.decode(encoding)
        assert all(s in out for s in shown), (argv, out)
        assert "∂" not in out and "η" not in out and "σ" not in out
        assert b"Traceback" not in done.stderr and b"internal error" not in done.stderr
    done = _run(["grad", "σ*", "--at", "σ=1"], PYTHONIOENCODING=encoding)
    assert done.returncode == 2
    assert done.stderr.decode(encoding).splitlines()[1:] == ["  sigma*", "        ^"]
    utf8 = _run(["grad", "σ*2", "--at", "σ=1", "--json"])
    narrow = _run(["grad", "σ*2", "--at", "σ=1", "--json"], PYTHONIOENCODING=encoding)
    assert narrow.returncode == utf8.returncode == 0
    assert narrow.stdout.isascii() and strict(narrow.stdout) == strict(utf8.stdout)


# -- argv under a C locale ----------------------------------------------------------------------

C_LOCALE = {"LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"}


def test_utf8_argv_under_a_c_locale_is_read_as_under_a_utf8_locale():
    probe = subprocess.run(
        [sys.executable, "-c", "import sys, json; print(json.dumps(sys.argv[1]))", "σ"],
        capture_output=True,
        env=_env(**C_LOCALE),
    )
    assert json.loads(probe.stdout) == "\udccf\udc83"  # the premise: surrogateescape argv
    for argv in (["grad", "σ*2", "--at", "σ=1", "--json"],
                 ["solve", "σ*η", "--at", "σ=1,η=2", "--target", "6", "--vary", "σ", "--json"]):  # fmt: skip
        utf8, c = _run(argv), _run(argv, **C_LOCALE)
        assert c.returncode == utf8.returncode == 0, c.stderr
        assert strict(c.stdout) == strict(utf8.stdout)
    table = _run(["grad", "σ*2", "--at", "σ=1"], **C_LOCALE)
    assert table.returncode == 0 and b"d/dsigma = 2" in table.stdout, table.stderr


# -- numpy's warnings ---------------------------------------------------------------------------


def test_no_numpy_warning_reaches_stderr(tmp_path):
    pytest.importorskip("matplotlib")
    # drawing a run that climbs to 1e300: matplotlib's ticks overflow inside numpy
    done = _run(["descend", "x^2", "--x0", "1e150", "--eta", "0.1", "--plot", "p.png"],
                cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0 and done.stderr == b"", done.stderr
    assert (tmp_path / "p.png").stat().st_size > 0
    # one it cannot draw at all: an output error naming the file, not a bug
    done = _run(["descend", "x^2", "--x0", "1e140", "--eta", "0.1", "--plot", "q.png"],
                cwd=tmp_path)  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.decode().startswith("error: cannot draw 'q.png'"), done.stderr
    assert b"Warning" not in done.stderr and b"internal error" not in done.stderr
