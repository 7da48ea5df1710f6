"""The generated sgd loop (and its variants: tol = 0, no gradient test; until_loss, an
asymmetric loss bound; the unrolled passes and their remainder; passes inside a proven
box) and the vectorised learning-rate sweep, against the plain reference loop.
"""

from __future__ import annotations

import itertools
import math
import random
import types

import pytest
from typer.testing import CliRunner

import backprop_cli
from backprop_cli.cli import app
from backprop_cli.engines.descend import (
    BOX_FROM,
    UNROLL,
    _chunk_function,
    _interval_function,
    _Iv,
    _Limits,
    _Unproven,
    descend,
    eta_values,
    loss_lower_bound,
    sgd_fast,
    sweep,
)
from tests.helpers.oracles import strict_json as strict

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
    """The benchmark's run: 10^4 steps at η = 1e-5, every point the hand loop's (x still moves)."""
    d = sgd_fast(backprop_cli.compile("(x - 1)^2 + 0.001"), {"x": 0.0}, 1e-5, 10_000)
    x = 0.0
    for _ in range(10_000):
        x -= 1e-5 * (2.0 * (x - 1.0))
    assert d.status == "max_iterations" and d.points[0][-1] == x and len(d) == 10_001


def test_the_lesson_loss_reaches_a_fixed_point_at_a_checkpoint():
    """tol 0 on the quadratic: the update stops moving x after some step k; both loops stop
    at the first checkpoint row at or after k, with the hand loop's point."""
    from backprop_cli.engines.descend import next_checkpoint

    x, k = 0.0, 0
    while True:
        nxt = x - 0.01 * (2.0 * (x - 1.0))
        if nxt == x:
            break
        x, k = nxt, k + 1
    for fast in (True, False):
        d = descend(backprop_cli.compile("(x - 1)^2 + 0.001"), {"x": 0.0}, "sgd", 0.01,
                    tol=0.0, max_iter=10_000, fast=fast)  # fmt: skip
        assert d.status == "converged" and len(d) - 1 == next_checkpoint(k + 1)
        assert d.points[0][-1] == x


def test_tol_zero_variant_has_no_gradient_test():
    p = backprop_cli.compile("(x - 1)^2 + 0.001")
    src0 = _chunk_function(p, ("x",), 0.0).two_sided.source
    src1 = _chunk_function(p, ("x",), 1e-5).two_sided.source
    assert "_ntol <" not in src0 and "_ntol <" in src1
    # one extend per pass, plus one per early exit (a check or an exception) and the
    # remainder; a pass inside the proven box has no loss test and cannot raise: no exit
    assert src0.count("_ex0((") == 1 + 2 * (UNROLL - 1) + 1
    assert src1.count("_ex0((") == 1 + 3 * (UNROLL - 1) + (UNROLL - 1) + 1


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
    assert "_lo <=" in fn.two_sided.source
    assert "_lo" not in fn.upper_only.source.split("\n", 1)[1]
    q = _chunk_function(backprop_cli.compile("x*y"), ("x", "y"), 0.0)
    assert q.upper_only is q.two_sided


def test_late_cycle_rows_and_status():
    d = descend(
        backprop_cli.compile("abs(x-3)"), {"x": 1000.0}, "sgd", 0.37, tol=0.0, max_iter=50000
    )
    assert (d.status, d.result.iterations, len(d)) == ("oscillating", 3072, 3073)


# -- passes inside a proven box: no loss test ---------------------------------------------
# each case runs past BOX_FROM with a box found at the start; the run leaves the box (or
# stops inside it) on a different status each time
BOX_CASES = [
    ("(x - 1)^2 + 0.001", {"x": 0.0}, 0.01, {"tol": 0.0, "max_iter": 3000}),  # W6
    ("-x^2", {"x": 1.0}, 0.01, {"tol": 0.0}),  # grows out of the box, then to the bound
    ("(x - 10)^2", {"x": 0.0}, 0.001, {"tol": 0.0, "until_loss": 1.0}),  # until, past the box
    ("1/x + x", {"x": 5.0}, 0.01, {"tol": 0.0, "max_iter": 3000}),  # a pole outside the box
    ("(x - 1)^2 + 2*(y + 2)^2", {"x": 0.0, "y": 0.0}, 0.01, {"tol": 1e-9}),  # gradient test
    ("(x*y - 1)^2 + x*x", {"x": 0.5, "y": 0.5}, 0.001, {"tol": 1e-9, "max_iter": 4000}),
    ("x - y", {"x": 0.0, "y": 0.0}, 0.01, {"tol": 0.0, "until_loss": -100.0}),  # linear
]


def _box_of(expr, start, eta, kw):
    """The box the run proves, with the loop's lo and hi and the variant it runs."""
    p = backprop_cli.compile(expr)
    names = tuple(p.variables)
    fn = _chunk_function(p, names, kw.get("tol", 1e-5))
    x0 = [float(start[v]) for v in names]
    lim = _Limits(x0, p.function(names)(*x0)[0])
    until = kw.get("until_loss")
    lo = -lim.loss if until is None else max(until, -lim.loss)
    chunk = fn.upper_only if fn.lower_bound >= lo else fn.two_sided
    return p, names, chunk, chunk.box(tuple(x0), eta, lo, lim.loss), lo, lim.loss


@pytest.mark.parametrize("expr,start,eta,kw", BOX_CASES)
def test_boxed_passes_agree_with_reference(expr, start, eta, kw):
    p, names, chunk, box, _, _ = _box_of(expr, start, eta, kw)
    assert "_u0 <= a0 <= _v0" in chunk.source and box is not None
    fast = descend(p, start, "sgd", eta, **kw)
    ref = descend(p, start, "sgd", eta, fast=False, **kw)
    assert fast.stored is None
    assert fast.result == ref.result
    assert fast.points == ref.points
    assert fast.records() == ref.records()
    # the shortcut really ran: the row where the box is first looked for lies inside it
    assert fast.result.iterations > BOX_FROM
    assert all(box[2 * i] <= xs[BOX_FROM] <= box[2 * i + 1] for i, xs in enumerate(fast.points))


@pytest.mark.parametrize("expr,start,eta,kw", BOX_CASES)
def test_a_pass_from_the_box_edges_passes_every_loss_test(expr, start, eta, kw):
    # the claim the loop relies on, at its worst: a pass starting at any corner of [u, v]
    p, names, chunk, box, lo, hi = _box_of(expr, start, eta, kw)
    f = p.function(names)
    for corner in itertools.product(*[box[2 * i : 2 * i + 2] for i in range(len(names))]):
        x = list(corner)
        for _ in range(chunk.unroll):
            loss, g = f(*x)
            assert lo <= loss < hi, (corner, x, loss)
            x = [xi - eta * gi for xi, gi in zip(x, g)]


def test_box_respects_until_loss_and_poles():
    # loss < 1 for x > 9: the box must stop short of it; 1/x: short of 0
    *_, box, _, _ = _box_of("(x - 10)^2", {"x": 0.0}, 0.001, {"tol": 0.0, "until_loss": 1.0})
    assert box[1] < 9.0
    *_, box, _, _ = _box_of("1/x + x", {"x": 5.0}, 0.01, {"tol": 0.0})
    assert 0.0 < box[0] < 5.0 < box[1]
    # steps too long for a pass to stay in any box (η·16 > 1 on a parabola): none
    assert _box_of("x^2 + 1", {"x": 1.0}, 0.5, {"tol": 0.0})[3] is None


@pytest.mark.parametrize("expr", ["x^3 + 1", "exp(x) + x^2", "sin(x)*y + y^2", "x^2.5"])
def test_no_box_for_helpers_or_powers(expr):
    # libm and ** need not be monotone in the last ulp: no proof, no second pass
    p = backprop_cli.compile(expr)
    fn = _chunk_function(p, tuple(p.variables), 0.0)
    assert fn.prove is None and "_u0 <=" not in fn.two_sided.source
    assert fn.two_sided.box(tuple(1.0 for _ in p.variables), 0.01, -1e12, 1e12) is None


@pytest.mark.parametrize(
    "expr",
    ["(x - 1)^2 + 0.001", "(x*y - 1)^2 + x*x", "x/(1 + y*y) - (x - y)*(x + 2*y)/3", "1/x - y/x"],
)
def test_intervals_hold_every_float_evaluation(expr):
    # test the tester: random boxes (some across 0), their corners and random points in
    # them; every loss and partial the compiled function gives lies inside the intervals
    p = backprop_cli.compile(expr)
    names = tuple(p.variables)
    f = p.function(names)
    prove = _chunk_function(p, names, 0.0).prove
    rng = random.Random(6)
    checked = 0
    for _ in range(300):
        ends = [sorted((rng.uniform(-3, 3), rng.uniform(-3, 3))) for _ in names]
        try:
            value, grads = prove(*[_Iv(a, b) for a, b in ends])
        except _Unproven:  # a division by an interval holding 0
            continue
        points = [list(c) for c in itertools.product(*ends)]
        points += [[rng.uniform(a, b) for a, b in ends] for _ in range(20)]
        for x in points:
            loss, g = f(*x)
            assert value.lo <= loss <= value.hi
            assert all(gi.lo <= gv <= gi.hi for gi, gv in zip(grads, g))
            checked += 1
    assert checked > 1000


@pytest.mark.parametrize(
    "lines,proven",
    [
        (["v1 = a0 * a0", "g0 = 2.0 * a0"], True),
        (["v1 = a0 - 1.0 / a0", "g0 = 1.0 + 1.0 / (a0 * a0)"], True),
        (["v1 = a0 ** 2.0", "g0 = 2.0 * a0"], False),  # ** : libm pow
        (["v1 = _exp(a0)", "g0 = v1"], False),  # a helper
        (["v1 = a0 if a0 == 0.0 else a0 * a0", "g0 = 2.0 * a0"], False),  # a branch
        (["v1 = a0 * a0 if a0 < 1.0 else a0", "g0 = 2.0 * a0"], False),
    ],
)
def test_interval_function_only_for_plain_arithmetic(lines, proven):
    # a comparison over a box has no single answer: it must fail, never pick a branch
    body = types.SimpleNamespace(lines=lines, value="v1", grads=["g0"])
    assert (_interval_function(body, 1) is not None) is proven


def _random_loss(rng, names, depth=0):
    """A random +, −, ×, ÷ expression (denominators 1 + (…)^2, never 0)."""
    if depth > 2 or rng.random() < 0.3:
        return rng.choice([*names, repr(round(rng.uniform(-3, 3), 2))])
    a, b = _random_loss(rng, names, depth + 1), _random_loss(rng, names, depth + 1)
    op = rng.choice(["+", "-", "*", "*", "/"])
    return f"({a} / (1 + ({b})^2))" if op == "/" else f"({a} {op} {b})"


def test_random_polynomial_and_rational_losses_agree_with_reference():
    # seeded: boxed passes found in many of these, runs ending on every common status
    rng = random.Random(6)
    statuses, boxed = set(), 0
    for _ in range(60):
        names = rng.choice([["x"], ["x", "y"]])
        terms = [_random_loss(rng, names) for _ in range(rng.randint(1, 3))]
        expr = " + ".join(f"({t})^2" if rng.random() < 0.6 else t for t in terms)
        p = backprop_cli.compile(expr)
        start = {v: round(rng.uniform(-4, 4), 3) for v in p.variables}
        eta = rng.choice([1e-3, 0.01, 0.03, 0.1])
        kw = {"tol": rng.choice([0.0, 1e-9, 1e-6]), "max_iter": rng.choice([300, 1500])}
        if rng.random() < 0.3:
            kw["until_loss"] = round(rng.uniform(-5, 5), 2)
        fast = descend(p, start, "sgd", eta, **kw)
        ref = descend(p, start, "sgd", eta, fast=False, **kw)
        assert (fast.result, fast.points) == (ref.result, ref.points), (expr, start, eta, kw)
        statuses.add(ref.status)
        if fast.result.iterations > BOX_FROM and p.variables:
            *_, box, _, _ = _box_of(expr, start, eta, kw)
            boxed += box is not None
    assert {"converged", "diverged", "max_iterations"} <= statuses and boxed >= 10


ENV = {"COLUMNS": "120", "NO_COLOR": "1"}
runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, ["descend", *args], env=ENV)


# -- fast path = reference path --------------------------------------------------------
FAST_CASES = [
    ("(x - 1)^2 + 0.001", {"x": 0.2}, 0.1, {}),
    ("(x - 1)^2 + 0.001", {"x": 0.2}, 1e-6, {"max_iter": 3000}),
    ("x^2", {"x": -0.8}, 1.0, {}),
    ("x^2", {"x": -0.8}, 1.1, {}),
    ("x^4", {"x": 1.0}, 1e100, {}),
    ("ln(x)", {"x": 1.0}, 2.0, {}),
    ("sin(x) + 0.1*x^2", {"x": 2.0}, 0.3, {}),
    ("x*y + x^2 + y^2", {"x": 1.0, "y": 2.0}, 0.1, {}),
    ("(x - 1)^2 + 2*(y + 2)^2", {"x": 0.0, "y": 0.0}, 0.3, {}),
    ("exp(x) + exp(-x)", {"x": 3.0}, 0.05, {"until_loss": 2.1}),
    ("x", {"x": 0.0}, 0.5, {"max_iter": 700}),
]


@pytest.mark.parametrize("expr,start,eta,kw", FAST_CASES)
def test_generated_loop_agrees_with_reference(expr, start, eta, kw):
    p = backprop_cli.compile(expr)
    fast = descend(p, start, "sgd", eta, **kw)
    ref = descend(p, start, "sgd", eta, fast=False, **kw)
    assert fast.stored is None and ref.stored is not None  # really two paths
    assert fast.result == ref.result
    assert fast.points == ref.points
    assert [r for r in fast.records()] == [r for r in ref.records()]


def test_generated_loop_source_is_ours():
    p = backprop_cli.compile("zebra*quokka + 3")
    loops = _chunk_function(p, ("zebra", "quokka"))
    for src in (loops.two_sided.source, loops.upper_only.source):
        assert "a0, a1 = a0 - _eta * " in src  # simultaneous update (∂/∂zebra = quokka = a1)
        assert "zebra" not in src and "quokka" not in src  # no user text in generated code


@pytest.mark.parametrize(
    "optimizer", ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "newton"]
)
def test_vectorised_sweep_agrees_with_single_runs(optimizer):
    p = backprop_cli.compile("(x - 1)^2 + 2*(y + 2)^2")
    etas = [0.01, 0.1, 0.3, 0.6]
    vec = sweep(p, {"x": 0.0, "y": 0.5}, optimizer, etas, max_iter=2000)
    one = [descend(p, {"x": 0.0, "y": 0.5}, optimizer, e, max_iter=2000) for e in etas]
    for a, b in zip(vec, one):
        assert (a.status, a.result.iterations) == (b.status, b.result.iterations)
        assert a.result.message == b.result.message
        for v in ("x", "y"):
            assert a.result.values[v] == pytest.approx(b.result.values[v], rel=1e-12, abs=1e-15)


def test_vectorised_sweep_with_domain_errors_and_range():
    etas = eta_values("0.05:3:7")
    assert etas[0] == 0.05 and etas[-1] == 3.0 and len(etas) == 7
    p = backprop_cli.compile("ln(x) + (x - 2)^2")
    vec = sweep(p, {"x": 1.0}, "sgd", etas)
    one = [descend(p, {"x": 1.0}, "sgd", e) for e in etas]
    assert [(a.status, a.result.iterations) for a in vec] == [
        (b.status, b.result.iterations) for b in one
    ]
    assert "domain_error" in [a.status for a in vec]
    r = invoke("ln(x) + (x - 2)^2", "--x0", "1", "--eta", "0.05:3:7", "--json")
    assert r.exit_code == 0
    assert len(strict(r.stdout)["runs"]) == 7
