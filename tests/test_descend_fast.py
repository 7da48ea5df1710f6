"""The generated sgd loop's variants (tol = 0: no gradient test; until_loss: asymmetric loss
bound; the unrolled passes and their remainder) against the plain reference loop."""

from __future__ import annotations

import math

import pytest

import backprop_cli
from backprop_cli.engines.descend import (
    UNROLL,
    _chunk_function,
    descend,
    loss_lower_bound,
    sgd_fast,
)

CASES = [
    ("(x - 1)^2 + 0.001", {"x": 0.0}, 0.01, {"tol": 0.0, "max_iter": 5000}),  # W6
    ("(x - 1)^2 + 0.001", {"x": 0.0}, 0.01, {"tol": 0.0, "max_iter": 1029}),
    ("x^2", {"x": 1.0}, 1.5, {"tol": 0.0}),  # grows to the loss bound
    ("x^2", {"x": 1.0}, 1.0, {"tol": 0.0}),  # an exact see-saw
    ("-x^2", {"x": 0.5}, 0.5, {"tol": 0.0}),  # falls through the lower bound
    ("x^4", {"x": 1.0}, 1e100, {"tol": 0.0}),  # overflow
    ("ln(x)", {"x": 1.0}, 2.0, {"tol": 0.0}),  # steps out of the domain
    ("x*y + x^2 + y^2", {"x": 1.0, "y": 2.0}, 0.1, {"tol": 0.0, "max_iter": 777}),
    ("x - y", {"x": 0.0, "y": 0.0}, 0.5, {"tol": 0.0, "until_loss": -100.0}),
    ("exp(x) + exp(-x)", {"x": 3.0}, 0.05, {"until_loss": 2.1, "tol": 0.0}),
    ("exp(x) + exp(-x)", {"x": 3.0}, 0.05, {"until_loss": 2.0000001}),
    ("(x - 3)^2 * 1e6", {"x": 0.0}, 1e-7, {"tol": 0.0, "max_iter": 3000}),
    ("sin(x) + 0.1*x^2", {"x": 2.0}, 0.3, {"tol": 1e-9, "max_iter": 4099}),
    # losses with a proven lower bound (the upper-only test): to the bound, with until_loss
    ("x^2 + 1", {"x": 1.0}, 1.5, {"tol": 0.0}),
    ("(x - 2)^4 + exp(y) + abs(y)", {"x": 0.0, "y": 1.0}, 0.01, {"tol": 0.0, "max_iter": 2100}),
    ("x^2 - 3", {"x": 1.0}, 0.1, {"tol": 0.0, "until_loss": -2.5}),
    ("x^2 - 3", {"x": 1.0}, 0.1, {"tol": 0.0, "until_loss": -3.5, "max_iter": 600}),
    ("sqrt(x^2 + 1) * (y*y + 2)", {"x": 3.0, "y": -1.0}, 0.05, {"tol": 1e-9, "max_iter": 1500}),
    # cycles that begin late: found by the checks run after a pass over several checkpoints
    ("abs(x)", {"x": 10.0}, 0.3, {"tol": 0.0}),  # oscillating at row 64
    ("abs(x) + abs(y)", {"x": 100.0, "y": -50.0}, 0.3, {"tol": 0.0}),  # at 512
    ("abs(x-3)", {"x": 1000.0}, 0.37, {"tol": 0.0, "max_iter": 50000}),  # at 3072
    # longer bodies: passes of 8 and of 4 rows
    (
        " + ".join(f"sin(x*{i})" for i in range(1, 12)) + " + x^2",
        {"x": 0.3},
        0.01,
        {"tol": 0.0, "max_iter": 1037},
    ),
    (
        " + ".join(f"sin(x*{i})*y" for i in range(1, 30)) + " + x^2 + y^2",
        {"x": 0.3, "y": 0.2},
        0.002,
        {"tol": 1e-12, "max_iter": 1100},
    ),
    (
        " + ".join(f"sin(x*{i})*y" for i in range(1, 70)) + " + x^2 + y^2",
        {"x": 0.3, "y": 0.2},
        0.0005,
        {"tol": 0.0, "max_iter": 1030},
    ),
]


@pytest.mark.parametrize("expr,start,eta,kw", CASES)
def test_generated_variants_agree_with_reference(expr, start, eta, kw):
    p = backprop_cli.compile(expr)
    fast = descend(p, start, "sgd", eta, **kw)
    ref = descend(p, start, "sgd", eta, fast=False, **kw)
    assert fast.stored is None and ref.stored is not None
    assert fast.result == ref.result
    assert fast.points == ref.points
    assert fast.records() == ref.records()


def test_w6_numbers():
    d = sgd_fast(backprop_cli.compile("(x - 1)^2 + 0.001"), {"x": 0.0}, 0.01, 10_000)
    x = 0.0
    for _ in range(10_000):
        x -= 0.01 * (2.0 * (x - 1.0))
    assert d.status == "max_iterations" and d.points[0][-1] == x and len(d) == 10_001


def test_tol_zero_variant_has_no_gradient_test():
    p = backprop_cli.compile("(x - 1)^2 + 0.001")
    src0 = _chunk_function(p, ("x",), 0.0).source
    src1 = _chunk_function(p, ("x",), 1e-5).source
    assert "_ntol <" not in src0 and "_ntol <" in src1
    # one extend per pass, plus one per early exit (a check or an exception) and the
    # remainder; a pass inside the proven box has no loss test, so only the exception exit
    assert src0.count("_ex0((") == 1 + 2 * (UNROLL - 1) + (UNROLL - 1) + 1


@pytest.mark.parametrize(
    "expr,bound",
    [
        ("(x - 1)^2 + 0.001", 0.001),
        ("x^2 - 3", -3.0),
        ("exp(x) + x^4", 0.0),
        ("abs(x)*sqrt(y) - 2", -2.0),
        ("x^2 * y^2 + 1", 1.0),
        ("-(x^2)", -math.inf),
        ("x*y + 1", -math.inf),  # x·y of different factors: no bound
        ("x^3 + 5", -math.inf),  # odd power
        ("sin(x) + 2", -math.inf),  # not followed
        ("x", -math.inf),
    ],
)
def test_loss_lower_bound(expr, bound):
    p = backprop_cli.compile(expr)
    assert loss_lower_bound(p.graph, p.output) == bound


def test_upper_only_variant_when_the_loss_is_bounded_below():
    p = backprop_cli.compile("(x - 1)^2 + 0.001")
    fn = _chunk_function(p, ("x",), 0.0)
    assert fn.lower_bound == 0.001
    # the loss is computed inside its one test, compared with hi only
    assert "if not (((v2 * v2) + 0.001) < _hi):" in fn.upper_only.source
    assert "_lo <=" in fn.source and "_lo" not in fn.upper_only.source.split("\n", 1)[1]
    q = backprop_cli.compile("x*y")
    assert _chunk_function(q, ("x", "y"), 0.0).upper_only is _chunk_function(q, ("x", "y"), 0.0)


def test_late_cycle_rows_and_status():
    d = descend(
        backprop_cli.compile("abs(x-3)"), {"x": 1000.0}, "sgd", 0.37, tol=0.0, max_iter=50000
    )
    assert (d.status, d.result.iterations, len(d)) == ("oscillating", 3072, 3073)
