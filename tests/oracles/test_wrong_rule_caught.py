"""Test the tester: a 0.05 % error in one reverse rule (sin) is caught by the oracle helper,
by the check engine and by `backprop check`, because forward mode does not read the
reverse table.
"""

from __future__ import annotations

import dataclasses
import json
import math

import pytest
from typer.testing import CliRunner

import backprop_cli
from backprop_cli.cli import app
from backprop_cli.core import primitives
from backprop_cli.engines.check import check
from tests.helpers.oracles import FD_RTOL, assert_four_ways, central_difference


# ---------------------------------------------------------------- test the tester
def _wrong_sin(monkeypatch, factor=1.0005):
    """Make the reverse table's sin rule 0.05 % wrong (interpreter AND compiler templates)."""
    row = primitives.TABLE["sin"]
    bad = dataclasses.replace(
        row,
        partials=lambda M, o, a: (M.cos(a) * factor,),
        dcode=(f"_cos({{0}}) * {factor!r}",),
    )
    monkeypatch.setitem(primitives.TABLE, "sin", bad)


def test_oracle_helper_fails_on_a_wrong_rule(monkeypatch):
    assert_four_ways("sin(x)*y", {"x": 0.7, "y": 2.0})  # right before the patch
    _wrong_sin(monkeypatch)
    with pytest.raises(AssertionError, match="∂/∂x: reverse"):
        assert_four_ways("sin(x)*y", {"x": 0.7, "y": 2.0})


def test_forward_mode_does_not_read_the_reverse_table(monkeypatch):
    _wrong_sin(monkeypatch)
    p = backprop_cli.compile("sin(x)*y")
    at = {"x": 0.7, "y": 2.0}
    fwd = p.forward_gradient(at)["x"]
    assert fwd == pytest.approx(2.0 * math.cos(0.7), rel=1e-15)  # still right
    rev = p.value_and_grad(at)[1]["x"]
    assert rev == pytest.approx(2.0 * math.cos(0.7) * 1.0005, rel=1e-15)  # the patch took
    # the error is far below what a sloppy FD tolerance would notice, far above ours
    fd = central_difference(p, at, "x")
    assert abs(rev - fd) / abs(fd) > 100 * FD_RTOL


def test_check_engine_catches_a_wrong_rule(monkeypatch):
    _wrong_sin(monkeypatch)
    p = backprop_cli.compile("sin(x)*y")
    report = check(p, {"x": 0.7, "y": 2.0})
    assert not report.ok
    rows = {r.variable: r for r in report.rows}
    assert not rows["x"].ok and rows["y"].ok
    assert "derivative rule" in rows["x"].cause
    assert rows["x"].forward == pytest.approx(2.0 * math.cos(0.7), rel=1e-15)


def test_check_cli_catches_a_wrong_rule(monkeypatch):
    _wrong_sin(monkeypatch)
    runner = CliRunner()
    r = runner.invoke(app, ["check", "sin(x)*y", "--at", "x=0.7,y=2"])
    assert r.exit_code == 1, r.output
    assert "x:" in r.stderr and "derivative rule is wrong" in r.stderr
    assert "y:" not in r.stderr
    rj = runner.invoke(app, ["check", "sin(x)*y", "--at", "x=0.7,y=2", "--json"])
    assert rj.exit_code == 1
    doc = json.loads(rj.stdout, parse_constant=_no_constants)
    assert doc["status"] == "disagree"
    bad = [row for row in doc["rows"] if not row["ok"]]
    assert [row["variable"] for row in bad] == ["x"]


def test_check_passes_without_the_patch():
    r = CliRunner().invoke(app, ["check", "sin(x)*y", "--at", "x=0.7,y=2"])
    assert r.exit_code == 0, r.output


def _no_constants(token):
    raise ValueError(f"non-strict JSON token {token}")
