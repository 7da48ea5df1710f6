"""`backprop grad` as a command: the lesson without arguments, defaults with a warning,
exit codes and messages for domain and usage errors — CliRunner, and real
`python -m backprop_cli` subprocesses for a few.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from backprop_cli.cli import app
from tests.helpers.oracles import strict_json as loads

ROOT = Path(__file__).resolve().parents[2]
ENV = {"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}
runner = CliRunner()
LESSON = "x = 2*w + b; y = b + 1; z = x*y"


def run(*args: str):
    return runner.invoke(app, list(args), env=ENV)


def grad_json(*args: str) -> dict:
    r = run("grad", *args, "--json")
    assert r.exit_code == 0, r.output
    return loads(r.stdout)


def test_no_expression_is_the_lesson():
    doc = grad_json()
    assert doc["expression"] == LESSON
    assert doc["at"] == {"w": 3.0, "b": 4.0} and doc["defaulted"] == []
    assert doc["value"] == 50.0 and doc["gradient"] == {"w": 10.0, "b": 15.0}


def test_missing_variable_defaults_with_warning():
    r = run("grad", "x*y", "--at", "x=2", "--json")
    assert r.exit_code == 0, r.output
    doc = loads(r.stdout)
    assert doc["defaulted"] == ["y"] and doc["at"] == {"x": 2.0, "y": 1.0}
    assert doc["gradient"] == {"x": 1.0, "y": 2.0}
    r = run("grad", "x*y", "--at", "x=2")
    assert r.exit_code == 0
    assert "y" in r.stderr and "1.0" in r.stderr and "--at y=" in r.stderr
    assert "warning" not in r.stdout


# ------------------------------------------------------------------------------ errors
def test_domain_error_exit_1_with_caret():
    r = run("grad", "y = x + 1; z = ln(x - 3)", "--at", "x=1")
    assert r.exit_code == 1
    lines = r.stderr.splitlines()
    assert "ln needs a positive argument" in lines[0] and "-2" in lines[0]
    assert lines[1] == "  y = x + 1; z = ln(x - 3)"
    assert lines[2] == "  " + " " * 15 + "^" * 9
    rj = run("grad", "ln(x)", "--at", "x=-1", "--json")
    assert rj.exit_code == 1
    doc = loads(rj.stdout)
    assert doc["status"] == "domain_error" and doc["error"]["span"] == [0, 5]


@pytest.mark.parametrize(
    "at, message",
    [
        ("x=abc", "'abc' is not a number"),
        ("x", "expected NAME=VALUE"),
        ("x=", "value after '=' is missing"),
        ("=1", "name before '=' is missing"),
        ("x=1,,", "empty assignment"),
        ("x=nan", "not a finite number"),
        ("x=inf", "not a finite number"),
        ("q=1", "'q' is not a variable"),
    ],
)
def test_bad_at_exit_2(at, message):
    r = run("grad", "x*2", "--at", at)
    assert r.exit_code == 2, r.output
    assert message in r.stderr
    assert "Traceback" not in r.output


def test_bad_mode_and_nudge_exit_2():
    assert run("grad", "x", "--at", "x=1", "--mode", "sideways").exit_code == 2
    assert run("grad", "x", "--at", "x=1", "--nudge", "0").exit_code == 2
    assert run("grad", "x", "--at", "x=1", "--of", "nope").exit_code == 2


# -------------------------------------------------------------------- real subprocesses
def _subprocess(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT), **ENV)
    return subprocess.run(
        [sys.executable, "-m", "backprop_cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def test_subprocess_grad_json():
    p = _subprocess("grad", "(w*2+b)*(b+1)", "--at", "w=3,b=4", "--json")
    assert p.returncode == 0, p.stderr
    doc = loads(p.stdout)
    assert doc["value"] == 50.0 and doc["gradient"] == {"w": 10.0, "b": 15.0}
    assert p.stderr == ""


def test_subprocess_domain_error_and_usage_error():
    p = _subprocess("grad", "1/(x-2)", "--at", "x=2")
    assert p.returncode == 1
    assert "division by zero" in p.stderr and "Traceback" not in p.stderr
    assert p.stderr.splitlines()[2].strip().startswith("^")
    q = _subprocess("grad", "x", "--at", "x=oops")
    assert q.returncode == 2 and "Traceback" not in q.stderr


def test_subprocess_check_explain():
    p = _subprocess("grad", "--explain")
    assert p.returncode == 0
    assert "5·1 + 10·1 = 15" in p.stdout
    c = _subprocess("check", "--json")
    assert c.returncode == 0 and loads(c.stdout)["status"] == "agree"
