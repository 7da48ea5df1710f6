"""Fuzzing the CLI (issue 7): random text and bytes as the expression and as option values.

Whatever comes in: no traceback, an exit code in {0, 1, 2}, and — whenever --json was asked
for — exactly one strict JSON document on stdout (--jsonl: only complete strict lines).
CliRunner for volume; a few real subprocesses (python -m backprop_cli, and the installed
`backprop` when it is on PATH) for what only a process shows: argv bytes, encodings, exit.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from backprop_cli.cli import app
from tests.helpers.oracles import strict_json as strict

ROOT = Path(__file__).resolve().parents[2]
ENV = {"COLUMNS": "100", "NO_COLOR": "1"}
FUZZ = settings(
    deadline=None, suppress_health_check=[HealthCheck.too_slow]
)  # profile decides the count


def check_run(argv, *, json_mode=None, input=None):
    result = CliRunner().invoke(app, argv, env=ENV, input=input)
    out = result.stdout + result.stderr
    assert "Traceback" not in out, (argv, out[-800:])
    assert "internal error" not in result.stderr, (argv, result.stderr[-800:])
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        argv,
        repr(result.exception),
    )
    assert result.exit_code in (0, 1, 2), (argv, result.exit_code, out[-800:])
    if json_mode == "json":
        doc = strict(result.stdout)  # exactly one document: json.loads refuses trailing data
        assert isinstance(doc, dict) and doc.get("schema", "").startswith("backprop.")
        assert "status" in doc or result.exit_code == 0
    elif json_mode == "jsonl":
        assert result.stdout == "" or result.stdout.endswith("\n")
        for line in result.stdout.splitlines():
            assert isinstance(strict(line), dict)
    return result


# text from the whole of Unicode (surrogates too), and bytes as the shell would hand them over
any_text = st.text(max_size=60)
bytes_text = st.binary(max_size=60).map(lambda b: b.decode("utf-8", "surrogateescape"))
TOKENS = [
    "x", "y", "w", "b", "θ", "2", "0", "1e3", ".5", "1e308", "9", "+", "-", "*", "/", "^",
    "**", "(", ")", ",", "=", ";", "\n", " ", "sin(", "exp(", "log(", "sqrt(", "abs(",
    "max(", "pow(", "pi", "e", "z =", "[", "'", "_", "__", "−", "²",
]  # fmt: skip
token_text = st.lists(st.sampled_from(TOKENS), max_size=25).map("".join)
expressions = st.one_of(any_text, bytes_text, token_text)
values = st.one_of(
    any_text,
    bytes_text,
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["0", "-1", "1e-300", "1e308", "nan", "inf", "-0", "1_0", "0x1", "", "=", ","]),
)


@FUZZ
@given(expr=expressions, mode=st.sampled_from(["json", "table"]))
def test_grad_any_expression(expr, mode):
    argv = ["grad", "--quiet"] + (["--json"] if mode == "json" else []) + ["--", expr]
    check_run(argv, json_mode=mode if mode == "json" else None)


@FUZZ
@given(expr=expressions)
def test_check_any_expression(expr):
    check_run(["check", "--json", "--", expr], json_mode="json")


@FUZZ
@given(expr=expressions)
def test_expression_on_stdin(expr):
    data = expr.encode("utf-8", "surrogateescape")
    check_run(["grad", "-", "--json"], json_mode="json", input=data)


@FUZZ
@given(expr=token_text, at=values, of=st.one_of(st.none(), values))
def test_grad_any_option_values(expr, at, of):
    argv = ["grad", "--json", "--at", at] + (["--of", of] if of is not None else []) + ["--", expr]
    check_run(argv, json_mode="json")


@FUZZ
@given(
    expr=token_text,
    target=values,
    tol=values,
    max_iter=st.one_of(values, st.integers(-5, 30).map(str)),
)
def test_solve_any_values(expr, target, tol, max_iter):
    argv = ["solve", "--json", "--target", target, "--tol", tol, "--max-iter", max_iter]
    check_run(argv + ["--", expr], json_mode="json")


@FUZZ
@given(
    expr=token_text,
    eta=values,
    x0=values,
    max_iter=st.one_of(values, st.integers(-5, 30).map(str)),
    jsonl=st.booleans(),
)
def test_descend_any_values(expr, eta, x0, max_iter, jsonl):
    mode = "jsonl" if jsonl else "json"
    argv = ["descend", f"--{mode}", "--eta", eta, "--x0", x0, "--max-iter", max_iter]
    check_run(argv + ["--", expr], json_mode=mode)


@FUZZ
@given(expr=expressions)
def test_graph_any_expression(expr):
    check_run(["graph", "--json", "--", expr], json_mode="json")


@FUZZ
@given(
    argv=st.lists(
        st.one_of(expressions, st.sampled_from(["--json", "--at", "--of", "-", "--"])), max_size=5
    )
)
def test_random_argv_after_a_command(argv):
    result = check_run(["grad", *argv])
    if "--json" in argv[: argv.index("--")] if "--" in argv else "--json" in argv:
        if result.exit_code in (0, 1, 2) and result.stdout:
            strict(result.stdout)


# -- real processes -------------------------------------------------------------------------------


def _env() -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("NO_COLOR", "FORCE_COLOR", "BACKPROP_DEBUG")
    }
    env.update(PYTHONPATH=str(ROOT), COLUMNS="100")
    return env


RAW_ARGV = [
    [b"grad", b"--json", b"--", b"x\xff + 1"],
    [b"grad", b"--json", b"--at", b"\xff\xfe=1", b"x"],
    [b"grad", b"--json", b"--", b"\xe2\x88\x92x"],  # Unicode minus
    [b"descend", b"--json", b"--eta", b"\xc0\x80", b"x^2"],
    [b"solve", b"--json", b"--target", b"1", b"--", b"\x1b[31mx"],
    [b"check", b"--json", b"--", b"__import__('os')"],
]


def _run(prefix: list, argv: list, **kwargs):
    proc = subprocess.run(prefix + argv, capture_output=True, env=_env(), timeout=60, **kwargs)
    out, err = proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace")
    assert "Traceback" not in out + err, err
    assert proc.returncode in (0, 1, 2), (argv, proc.returncode, err)
    doc = strict(out)
    assert doc["schema"].startswith("backprop.")
    assert b"\x1b" not in proc.stderr
    return proc, doc


@pytest.mark.parametrize("argv", RAW_ARGV, ids=[b" ".join(a).decode("latin-1") for a in RAW_ARGV])
def test_subprocess_raw_bytes(argv):
    proc, doc = _run([sys.executable.encode(), b"-m", b"backprop_cli"], argv)
    assert proc.returncode == 2 and doc["status"] in ("parse_error", "input_error")


def test_subprocess_ascii_locale_does_not_crash():
    env = {**_env(), "LC_ALL": "C", "LANG": "C", "PYTHONIOENCODING": "ascii"}
    proc = subprocess.run(
        [sys.executable, "-m", "backprop_cli", "grad", "θ^2 + x", "--at", "θ=2,x=1"],
        capture_output=True, env=env, timeout=60,
    )  # fmt: skip
    assert b"Traceback" not in proc.stderr
    assert proc.returncode in (0, 1, 2)


@pytest.mark.skipif(shutil.which("backprop") is None, reason="the console script is not installed")
def test_installed_console_script():
    exe = shutil.which("backprop").encode()
    proc, doc = _run([exe], [b"grad", b"--json", b"--", b"x\xff"])
    assert proc.returncode == 2
    proc, doc = _run([exe], [b"grad", b"--json", b"x^2", b"--at", b"x=3"])
    assert proc.returncode == 0 and doc["gradient"] == {"x": 6.0}
