"""The gradient engine (engines/gradient.py): the lesson's values, adjoints and local
partials, nudges (actual against predicted), forward mode's tangents, another output with
--of, and reports on long graphs. Mostly through `backprop grad --json`.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

import backprop_cli
from backprop_cli.cli import app
from backprop_cli.engines.check import check
from backprop_cli.engines.gradient import gradient_report
from tests.helpers.oracles import strict_json as loads

ENV = {"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}
runner = CliRunner()
LESSON = "x = 2*w + b; y = b + 1; z = x*y"


def run(*args: str):
    return runner.invoke(app, list(args), env=ENV)


def grad_json(*args: str) -> dict:
    r = run("grad", *args, "--json")
    assert r.exit_code == 0, r.output
    return loads(r.stdout)


def by_expr(doc: dict) -> dict:
    return {n["expr"]: n for n in doc["nodes"]}


def by_name(doc: dict) -> dict:
    return {n["name"]: n for n in doc["nodes"] if n["name"] is not None}


# ------------------------------------------------------------------ the lesson's numbers
def test_inline_lesson_numbers_json():
    doc = grad_json("(w*2+b)*(b+1)", "--at", "w=3,b=4")
    assert doc["value"] == 50.0
    assert doc["gradient"] == {"w": 10.0, "b": 15.0}
    nodes = by_expr(doc)
    assert nodes["w*2+b"]["adjoint"] == 5.0 and nodes["w*2+b"]["value"] == 10.0
    assert nodes["b+1"]["adjoint"] == 10.0 and nodes["b+1"]["value"] == 5.0
    assert nodes["(w*2+b)*(b+1)"]["local"] == [5.0, 10.0]
    assert nodes["(w*2+b)*(b+1)"]["adjoint"] == 1.0


def test_named_program_numbers():
    doc = grad_json(LESSON, "--at", "w=3,b=4")
    named = by_name(doc)
    assert (named["x"]["value"], named["x"]["adjoint"]) == (10.0, 5.0)
    assert (named["y"]["value"], named["y"]["adjoint"]) == (5.0, 10.0)
    assert (named["z"]["value"], named["z"]["adjoint"]) == (50.0, 1.0)
    assert named["z"]["local"] == [5.0, 10.0]
    assert doc["output"] == "z" and doc["gradient"] == {"w": 10.0, "b": 15.0}


def test_nudge_json_actual_values():
    doc = grad_json(LESSON, "--at", "w=3,b=4", "--nudge", "0.1")
    nudges = {n["name"]: n for n in doc["nudges"]}
    assert nudges["x"]["actual"] == pytest.approx(50.5, abs=1e-12)
    assert nudges["y"]["actual"] == pytest.approx(51.0, abs=1e-12)
    assert nudges["x"]["predicted"] == pytest.approx(50.5, abs=1e-12)
    assert nudges["y"]["predicted"] == pytest.approx(51.0, abs=1e-12)
    # a variable's nudge recomputes everything downstream: b + 0.1 → (10.1)(5.1)
    assert nudges["b"]["actual"] == pytest.approx(51.51, abs=1e-12)
    assert nudges["b"]["predicted"] == pytest.approx(51.5, abs=1e-12)
    assert nudges["w"]["actual"] == pytest.approx(51.0, abs=1e-12)


def test_forward_mode_same_gradient():
    rev = grad_json(LESSON, "--at", "w=3,b=4")
    fwd = grad_json(LESSON, "--at", "w=3,b=4", "--mode", "forward")
    assert fwd["mode"] == "forward" and rev["mode"] == "reverse"
    assert fwd["gradient"] == rev["gradient"] == {"w": 10.0, "b": 15.0}
    # forward mode's tangents: ∂x/∂w = 2, ∂y/∂b = 1
    named = by_name(fwd)
    assert named["x"]["tangents"] == {"w": 2.0, "b": 1.0}
    assert named["y"]["tangents"] == {"w": 0.0, "b": 1.0}


def test_of_picks_another_output():
    doc = grad_json(LESSON, "--at", "w=3,b=4", "--of", "x")
    assert doc["output"] == "x" and doc["value"] == 10.0
    assert doc["gradient"] == {"w": 2.0, "b": 1.0}
    assert "y" not in by_name(doc)  # not an ancestor of x: not shown


def test_long_program_report_and_check():
    """The grad report (explain lines) and the checker walk long graphs with loops too."""
    p = backprop_cli.compile(" + ".join(["x"] * 5000))
    report = gradient_report(p, {"x": 1.0}, mode="reverse", nudge=0.1)
    assert report.gradient == {"x": 5000.0}
    assert check(p, {"x": 1.0}).ok
