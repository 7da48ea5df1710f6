"""CLI manners (cli.md §1–3, 9, 11, 13, 14, 17, 19): streams, colour, --quiet, --debug,
--version, the '-x^2' hint, usage errors as JSON, programs on stdin.

CliRunner for what it can see; real subprocesses (python -m backprop_cli) for terminals.
Ctrl-C and a closed pipe are in tests/cli/test_signals.py.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from backprop_cli import __version__
from backprop_cli.cli import app
from tests.helpers.oracles import strict_json as strict

ROOT = Path(__file__).resolve().parents[2]
ENV = {"COLUMNS": "120", "NO_COLOR": "1"}


COLOUR_SGR = re.compile(r"\x1b\[(?:[0-9;]*;)?(?:3[0-8]|9[0-7]|4[0-8])[0-9;]*m")


def run(*argv, env=None, input=None):
    return CliRunner().invoke(app, list(argv), env={**ENV, **(env or {})}, input=input)


def subprocess_env(**extra) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("NO_COLOR", "FORCE_COLOR", "BACKPROP_DEBUG")
    }
    env.update({"PYTHONPATH": str(ROOT), "COLUMNS": "120"})
    env.update(extra)
    return env


def cli(*argv, **kwargs):
    return subprocess.run(
        [sys.executable, "-m", "backprop_cli", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        env=subprocess_env(**kwargs.pop("env", {})),
        **kwargs,
    )


# -- streams --------------------------------------------------------------------------------------


def test_results_on_stdout_warnings_on_stderr():
    r = run("grad", "x*y", "--at", "x=2")
    assert r.exit_code == 0
    assert "warning: no value for y; starting at 1.0" in r.stderr
    assert "--at y=VALUE" in r.stderr
    assert "warning" not in r.stdout
    assert "gradient of" in r.stdout and "gradient of" not in r.stderr


def test_errors_on_stderr_nothing_on_stdout():
    r = run("grad", "log(x)", "--at", "x=0")
    assert r.exit_code == 1
    assert r.stdout == ""
    assert r.stderr.startswith("error: log needs a positive argument")
    assert "  log(x)\n  ^^^^^^" in r.stderr


def test_json_error_document_on_stdout_message_on_stderr():
    r = run("grad", "log(x)", "--at", "x=0", "--json")
    assert r.exit_code == 1
    doc = strict(r.stdout)
    assert doc["schema"] == "backprop.grad/1" and doc["status"] == "domain_error"
    assert doc["error"]["span"] == [0, 6]
    assert r.stderr.startswith("error: log needs a positive argument")


# -- --quiet --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["grad", "x*y", "--at", "x=2"],
        ["check", "x*y", "--at", "x=2"],
        ["graph", "x*y", "--at", "x=2"],
    ],
)
def test_quiet_silences_warnings_not_results(argv):
    loud = run(*argv)
    quiet = run(*argv, "--quiet")
    assert loud.exit_code == quiet.exit_code == 0
    assert "warning" in loud.stderr
    assert quiet.stderr == ""
    assert quiet.stdout == loud.stdout


def test_quiet_keeps_errors():
    r = run("grad", "log(x)", "--at", "x=-1", "--quiet")
    assert r.exit_code == 1 and "log needs a positive argument" in r.stderr


# -- colour ---------------------------------------------------------------------------------------


def test_no_colour_when_not_a_terminal():
    r = CliRunner().invoke(
        app,
        ["grad", "x*y", "--at", "x=2"],
        env={"NO_COLOR": "", "FORCE_COLOR": "", "COLUMNS": "120"},
    )
    assert r.exit_code == 0
    assert "\x1b" not in r.stdout and "\x1b" not in r.stderr


def test_force_color_forces_and_no_color_wins():
    forced = run("grad", "x*y", "--at", "x=2", env={"NO_COLOR": "", "FORCE_COLOR": "1"})
    assert forced.exit_code == 0
    assert COLOUR_SGR.search(forced.stderr), repr(forced.stderr)  # the yellow 'warning:'
    both = run("grad", "x*y", "--at", "x=2", env={"NO_COLOR": "1", "FORCE_COLOR": "1"})
    assert not COLOUR_SGR.search(both.stderr + both.stdout)


def _run_in_pty(argv, env):
    import pty

    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "backprop_cli", *argv],
        stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, env=env, close_fds=True,
    )  # fmt: skip
    os.close(slave)
    chunks = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=60)
    os.close(master)
    return proc.returncode, b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pty semantics")
def test_colour_on_a_terminal_and_no_color_honoured():
    argv = ["grad", "x*y", "--at", "x=2"]
    code, out = _run_in_pty(argv, subprocess_env(TERM="xterm-256color"))
    assert code == 0
    assert COLOUR_SGR.search(out), out[:300]
    code, out = _run_in_pty(argv, subprocess_env(TERM="xterm-256color", NO_COLOR="1"))
    assert code == 0
    assert not COLOUR_SGR.search(out), out[:300]


# -- --debug and tracebacks -----------------------------------------------------------------------


def test_no_traceback_by_default_and_one_with_debug():
    plain = cli("grad", "log(0)")
    assert plain.returncode == 1
    assert "Traceback" not in plain.stderr and plain.stderr.startswith("error: log needs")
    debug = cli("--debug", "grad", "log(0)")
    assert debug.returncode == 1
    assert "Traceback (most recent call last)" in debug.stderr
    assert "DomainError" in debug.stderr
    env_debug = cli("grad", "log(0)", env={"BACKPROP_DEBUG": "1"})
    assert "Traceback (most recent call last)" in env_debug.stderr


def test_debug_flag_does_not_leak_into_the_next_run():
    r = run("--debug", "grad", "log(0)")
    assert r.exception is not None and type(r.exception).__name__ == "DomainError"
    r = run("grad", "log(0)")
    assert r.exit_code == 1 and isinstance(r.exception, SystemExit)


def test_internal_error_is_one_line_not_a_traceback(monkeypatch):
    from backprop_cli.engines import gradient

    def boom(*a, **k):
        raise RuntimeError("synthetic \x1b[31mbug")

    monkeypatch.setattr(gradient, "gradient_report", boom)
    r = run("grad", "x", "--at", "x=1")
    assert r.exit_code == 1
    assert "internal error: RuntimeError: synthetic \\x1b[31mbug" in r.stderr
    assert "--debug" in r.stderr and "Traceback" not in r.stderr and "\x1b" not in r.stderr


# -- --version ------------------------------------------------------------------------------------


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version_one_line(flag):
    r = run(flag)
    assert r.exit_code == 0
    assert r.stdout == f"backprop {__version__}\n"
    assert r.stderr == ""


def test_version_subprocess():
    p = cli("--version")
    assert p.returncode == 0 and re.fullmatch(r"backprop \d+\.\d+\.\d+\n", p.stdout)


# -- an expression that starts with '-' -----------------------------------------------------------

COMMANDS = ["grad", "check", "solve", "descend", "graph"]


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("expr", ["-x^2", "-2*x", "-sin(x)", "-q^2", "-.5*x"])
def test_leading_minus_hint(command, expr):
    r = run(command, expr)
    assert r.exit_code == 2
    msg = " ".join(r.stderr.replace("│", " ").split())
    assert f"'{expr}' looks like an expression that starts with '-'" in msg
    assert f"put '--' before it: backprop {command} [OPTIONS] -- '{expr}'" in msg
    assert "Traceback" not in r.stderr


def test_leading_minus_hint_as_json():
    r = run("grad", "-x^2", "--at", "x=3", "--json")
    assert r.exit_code == 2
    doc = strict(r.stdout)
    assert doc["status"] == "usage_error" and doc["schema"] == "backprop.grad/1"
    assert "put '--' before it" in doc["error"]["message"]


def test_double_dash_form_works():
    r = run("grad", "--at", "x=3", "--json", "--", "-x^2")
    assert r.exit_code == 0, r.stderr
    doc = strict(r.stdout)
    assert doc["value"] == -9.0 and doc["gradient"] == {"x": -6.0}


def test_leading_minus_hint_subprocess():
    p = cli("grad", "-x^2")
    assert p.returncode == 2
    assert "put '--' before it" in " ".join(p.stderr.replace("│", " ").split())


# -- Click's own usage errors ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv, needle",
    [
        (["grad", "x", "--bogus", "--json"], "No such option: --bogus"),
        (["grad", "x", "y", "--json"], "unexpected extra argument"),
        (["solve", "x", "--max-iter", "abc", "--json"], "'abc' is not a valid int"),
        # the flag is taken as the value, and still asks for JSON
        (["descend", "x", "--max-iter", "--json"], "'--json' is not a valid int"),
        (["grad", "x", "--json", "--at"], "requires an argument"),
    ],
)
def test_click_usage_errors_give_one_json_document(argv, needle):
    r = run(*argv)
    assert r.exit_code == 2
    doc = strict(r.stdout)
    assert doc["status"] == "usage_error" and doc["error"]["kind"] == "usage_error"
    assert doc["schema"] == f"backprop.{argv[0]}/1"
    assert needle in doc["message"]
    assert needle in " ".join(r.stderr.replace("│", " ").split())


def test_usage_error_without_json_leaves_stdout_empty():
    r = run("grad", "x", "--bogus")
    assert r.exit_code == 2 and r.stdout == ""


def test_jsonl_usage_error_is_one_complete_line():
    r = run("descend", "x^2", "--max-iter", "zz", "--jsonl")
    assert r.exit_code == 2
    lines = r.stdout.splitlines()
    assert len(lines) == 1 and strict(lines[0])["status"] == "usage_error"


def test_usage_errors_escape_control_characters():
    r = run("grad", "x", "--bogus\x1b[31m", "--json")
    assert r.exit_code == 2
    assert "\x1b" not in r.stderr and "\\x1b[31m" in r.stderr
    assert strict(r.stdout)["message"] == "No such option: --bogus\\x1b[31m"
    r = run("nosuch\x1b]0;title\x07")
    assert r.exit_code == 2 and "\x1b" not in r.stderr and "\x07" not in r.stderr


def test_root_unknown_command():
    r = run("gradd")
    assert r.exit_code == 2 and "No such command 'gradd'" in r.stderr


# -- stdin ----------------------------------------------------------------------------------------


def test_program_from_stdin():
    r = run("grad", "-", "--json", input="x = 2*w + b\ny = b + 1\nz = x*y\n")
    assert r.exit_code == 0
    doc = strict(r.stdout)
    assert doc["value"] == 50.0 or doc["defaulted"] == ["w", "b"]


def test_program_from_stdin_with_bom_and_crlf():
    r = run(
        "grad",
        "-",
        "--at",
        "w=3,b=4",
        "--json",
        input="\ufeffx = 2*w + b\r\ny = b + 1\r\nz = x*y\r\n",
    )
    assert r.exit_code == 0, r.stderr
    doc = strict(r.stdout)
    assert doc["value"] == 50.0 and doc["gradient"] == {"w": 10.0, "b": 15.0}


def test_stdin_not_utf8():
    r = CliRunner().invoke(app, ["grad", "-", "--json"], input=b"x + \xff\xfe", env=ENV)
    assert r.exit_code == 2
    doc = strict(r.stdout)
    assert doc["status"] == "input_error" and "not valid UTF-8" in doc["message"]
