"""Numeric edges through the CLI: overflow at exp(710), 0^0, negative bases, log of 0, a
NaN reaching a gradient, underflow, and an overflow mid-run still ending one strict
document.
"""

from __future__ import annotations

import json
import math

import pytest
from typer.testing import CliRunner

from backprop_cli.cli import app
from tests.helpers.oracles import strict_json as strict

ENV = {"COLUMNS": "120", "NO_COLOR": "1"}


def invoke(argv, input=None):
    result = CliRunner().invoke(app, argv, env=ENV, input=input)
    out = result.stdout + result.stderr
    assert "Traceback" not in out
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def grad_json(expr: str, *extra, input=None):
    """`backprop grad --json ... -- EXPR` -> (exit code, document, stderr)."""
    r = invoke(["grad", "--json", "--quiet", *extra, "--", expr], input=input)
    return r.exit_code, strict(r.stdout), r.stderr


# == numeric edges ===============================================================================
def test_exp_709_is_fine_exp_710_overflows():
    code, doc, _ = grad_json("exp(x)", "--at", "x=709")
    assert code == 0 and doc["value"] == math.exp(709) and doc["gradient"]["x"] == math.exp(709)
    code, doc, err = grad_json("exp(x)", "--at", "x=710")
    assert code == 1 and doc["status"] == "domain_error"
    assert doc["message"] == "`exp(x)` overflows float64 (|value| > 1.8e308) with `x` = 710"
    assert doc["error"]["node"] == 1


def test_zero_to_the_zero_is_one():
    code, doc, _ = grad_json("0^0")
    assert code == 0 and doc["value"] == 1.0
    code, doc, _ = grad_json("x^0", "--at", "x=0")
    assert code == 0 and doc["value"] == 1.0 and doc["gradient"] == {"x": 0.0}


def test_cube_root_of_a_negative_is_a_domain_error():
    code, doc, err = grad_json("(-8)^(1/3)")
    assert code == 1 and doc["status"] == "domain_error"
    assert "a negative base to a non-integer power is not a real number" in doc["message"]
    assert "`-8` = -8" in doc["message"]


def test_log_of_zero():
    code, doc, err = grad_json("log(x)", "--at", "x=0")
    assert code == 1 and doc["message"] == "log needs a positive argument: `x` = 0"
    assert "  log(x)\n  ^^^^^^" in err


def test_nan_reaching_a_gradient():
    # values stay finite (0), but the adjoint of x*0 is 1e300*1e300 = inf and inf*0 = NaN
    for mode in ("reverse", "forward"):
        code, doc, _ = grad_json("(x*0)*1e300*1e300", "--at", "x=1", "--mode", mode)
        assert code == 1 and doc["status"] == "domain_error"
        assert "the partial of the output with respect to 'x' is not finite" in doc["message"]
        assert "NaN" not in json.dumps(doc) and "Infinity" not in json.dumps(doc)


@pytest.mark.parametrize(
    "expr, at, substance",
    [
        ("1/x", "x=0", "division by zero"),
        ("sqrt(x)", "x=-1", "sqrt"),
        ("sqrt(x)", "x=0", "infinite slope"),
        ("asin(x)", "x=2", "asin"),
        ("x*x", "x=1e200", "overflows"),
        ("log(x, 1)", "x=2", "base"),
    ],
)
def test_other_domain_errors_exit_1(expr, at, substance):
    code, doc, _ = grad_json(expr, "--at", at)
    assert code == 1 and doc["status"] == "domain_error" and substance in doc["message"]


def test_tiny_literal_underflows_to_zero():
    code, doc, _ = grad_json("1e-400 + x", "--at", "x=1")
    assert code == 0 and doc["nodes"][0]["value"] == 0.0


@pytest.mark.parametrize("command", ["solve", "descend"])
def test_overflow_mid_run_still_one_strict_document(command):
    argv = {
        "solve": ["solve", "exp(x)", "--at", "x=700", "--target", "1e308", "--vary", "x"],
        "descend": ["descend", "exp(x)", "--x0", "700", "--eta", "1"],
    }[command]
    r = invoke(argv + ["--json"])
    assert r.exit_code in (0, 1)
    doc = strict(r.stdout)
    assert doc["schema"] == f"backprop.{command}/1"
