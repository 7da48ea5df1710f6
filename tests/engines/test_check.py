"""The checker (engines/check.py) through `backprop check`: reverse, forward and central
differences agree, and a disagreement names its cause (a kink, a domain boundary).
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from backprop_cli.cli import app
from tests.helpers.oracles import strict_json as loads

ENV = {"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}
runner = CliRunner()
LESSON = "x = 2*w + b; y = b + 1; z = x*y"


def run(*args: str):
    return runner.invoke(app, list(args), env=ENV)


# ------------------------------------------------------------------------------- check
@pytest.mark.parametrize(
    "expr, at",
    [
        (LESSON, "w=3,b=4"),
        ("sin(x)*exp(y) + sqrt(x*y)", "x=0.7,y=1.3"),
        ("log(x, b) + x^y", "x=3,b=2,y=1.5"),
        ("relu(x)", "x=0"),  # at the kink: convention 0.5 and the central difference 0.5 agree
        ("abs(x)", "x=0"),  # convention 0 and the symmetric difference 0 agree
    ],
)
def test_check_agrees(expr, at):
    r = run("check", expr, "--at", at, "--json")
    assert r.exit_code == 0, r.output
    doc = loads(r.stdout)
    assert doc["status"] == "agree" and all(row["ok"] for row in doc["rows"])


def test_check_values_at_relu_kink():
    doc = loads(run("check", "relu(x)", "--at", "x=0", "--json").stdout)
    row = doc["rows"][0]
    assert row["reverse"] == row["forward"] == 0.5
    assert row["finite_difference"] == pytest.approx(0.5, abs=1e-12)


def test_check_fails_next_to_a_kink():
    """Within a step of abs's kink the central difference straddles it: exit 1, named cause."""
    r = run("check", "abs(x) + y", "--at", "x=1e-7,y=2")
    assert r.exit_code == 1
    assert "x:" in r.stderr and "kink" in r.stderr and "abs(x)" in r.stderr
    assert "y:" not in r.stderr
    doc = loads(run("check", "abs(x) + y", "--at", "x=1e-7,y=2", "--json").stdout)
    rows = {row["variable"]: row for row in doc["rows"]}
    assert rows["x"]["reverse"] == 1.0 and rows["x"]["finite_difference"] == pytest.approx(0.01)
    assert rows["y"]["ok"]


def test_check_domain_boundary_cause():
    r = run("check", "sqrt(x)", "--at", "x=1e-6")
    assert r.exit_code == 1
    assert "domain boundary" in r.stderr and "x:" in r.stderr
