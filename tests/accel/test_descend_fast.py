"""accel/descend.py, the generated sgd loop, against the engine's plain reference loop.

Every variant (tol = 0 without check 1; until_loss, an asymmetric range; the upper-only
test of a loss bounded below; unrolled passes and their remainder; passes inside a proven
box) gives the reference's rows, statuses and messages. Its checks are the engine's two
predicates read from their source: a rule changed in the engine changes both paths, a
rule the generator cannot write leaves the run to the engine. And the comparison used
here fails on a loop that is slightly wrong.

Programs are compiled with the accelerators handed over explicitly, so every test here
runs the generated loop under BACKPROP_REFERENCE=1 as well.
"""

from __future__ import annotations

import itertools
import math
import random
import types

import pytest

from backprop_cli import accel
from backprop_cli.accel import descend as generated
from backprop_cli.accel.descend import (
    BOX_FROM,
    UNROLL,
    _chunk_function,
    _interval_function,
    _Iv,
    _Unproven,
    loss_lower_bound,
    sgd_loop,
)
from backprop_cli.core.program import compile_program
from backprop_cli.engines import descend as engine
from backprop_cli.engines.descend import SGD, _Run, descend, next_checkpoint, sgd_fast


def program(text):
    """``text`` compiled with the accelerators on, whatever BACKPROP_REFERENCE says."""
    return compile_program(text, accel=accel)


def both(p, start, eta, **kw):
    """The run through the generated loop, and the plain loop's alone."""
    return descend(p, start, "sgd", eta, **kw), descend(p, start, "sgd", eta, fast=False, **kw)


def assert_same(fast, ref):
    """The generated loop ran (its rows keep their points only) and made the reference's
    rows, status, message, point and loss."""
    assert fast.stored is None and ref.stored is not None  # really two paths
    assert fast.result == ref.result
    assert fast.points == ref.points
    assert fast.records() == ref.records()


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
    assert_same(*both(program(expr), start, eta, **kw))


def test_w6_numbers():
    """The benchmark's run: 10^4 steps at η = 1e-5, every point the hand loop's (x still moves)."""
    d = sgd_fast(program("(x - 1)^2 + 0.001"), {"x": 0.0}, 1e-5, 10_000)
    x = 0.0
    for _ in range(10_000):
        x -= 1e-5 * (2.0 * (x - 1.0))
    assert d.status == "max_iterations" and d.points[0][-1] == x and len(d) == 10_001
    assert d.stored is None


def test_the_loop_called_directly_makes_the_hand_loops_points():
    """The accelerator itself, without the engine: rows 1 … 999 of W6 from row 1's point."""
    loop = sgd_loop(program("(x - 1)^2 + 0.001"), ("x",), 0.01, 0.0)
    xs = [0.0]
    for _ in range(1000):
        xs.append(xs[-1] - 0.01 * (2.0 * (xs[-1] - 1.0)))
    points = [xs[:2]]
    assert loop(points, -1e12, 1e12, 1, 1000) == 1000
    assert points == [xs[:1001]]
    # a loss out of range hands its row back, its point recorded: row 1's (0.9614 ≥ 0.9);
    # falling below 0.88 at row 4 (0.9614, 0.9234, 0.8868, 0.8518)
    assert [round((x - 1) ** 2 + 0.001, 4) for x in xs[1:5]] == [0.9614, 0.9234, 0.8868, 0.8518]
    points = [xs[:2]]
    assert loop(points, -1e12, 0.9, 1, 1000) == 1 and points == [xs[:2]]
    assert loop(points, 0.88, 1.0, 1, 1000) == 4 and points == [xs[:5]]


def test_the_lesson_loss_reaches_a_fixed_point_at_a_checkpoint():
    """tol 0 on the quadratic: the update stops moving x after some step k; both loops stop
    at the first checkpoint row at or after k, with the hand loop's point."""
    x, k = 0.0, 0
    while True:
        nxt = x - 0.01 * (2.0 * (x - 1.0))
        if nxt == x:
            break
        x, k = nxt, k + 1
    for run in both(program("(x - 1)^2 + 0.001"), {"x": 0.0}, 0.01, tol=0.0, max_iter=10_000):
        assert run.status == "converged" and len(run) - 1 == next_checkpoint(k + 1)
        assert run.points[0][-1] == x


def test_tol_zero_variant_has_no_gradient_test():
    p = program("(x - 1)^2 + 0.001")
    src0 = _chunk_function(p, ("x",), 0.0).two_sided.source
    src1 = _chunk_function(p, ("x",), 1e-5).two_sided.source
    assert "_tol <" not in src0 and "_ntol < g0 < _tol" in src1
    # one extend per pass, plus one per early exit (a check or an exception) and the
    # remainder; a pass inside the proven box has no range test and cannot raise: no exit
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
    p = program(expr)
    assert loss_lower_bound(p.graph, p.output) == bound


def test_upper_only_variant_when_the_loss_is_bounded_below():
    p = program("(x - 1)^2 + 0.001")
    fn = _chunk_function(p, ("x",), 0.0)
    assert fn.lower_bound == 0.001
    # the loss is computed inside its one test, compared with hi only
    upper, two = fn.upper_only.source, fn.two_sided.source
    assert "if not v2 * v2 + 0.001 < _hi:" in upper and "_lo" not in upper.split("\n", 1)[1]
    assert "if not _lo <= v2 * v2 + 0.001 < _hi:" in two
    # chosen by the run's lower bound: until_loss above 0.001 needs the lower link
    assert fn.variant(-1e12, 1e12) is fn.upper_only and fn.variant(0.001, 1e12) is fn.upper_only
    assert fn.variant(0.002, 1e12) is fn.two_sided
    q = _chunk_function(program("x*y"), ("x", "y"), 0.0)
    assert q.upper_only is q.two_sided


def test_late_cycle_rows_and_status():
    d = descend(program("abs(x-3)"), {"x": 1000.0}, "sgd", 0.37, tol=0.0, max_iter=50000)
    assert (d.status, d.result.iterations, len(d)) == ("oscillating", 3072, 3073)
    assert d.stored is None


# -- passes inside a proven box: no range test ---------------------------------------------
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
    """The box the run proves, with the range bounds the engine sets and the variant it runs."""
    p = program(expr)
    names = tuple(p.variables)
    fn = _chunk_function(p, names, kw.get("tol", 1e-5))
    x0 = [float(start[v]) for v in names]
    f = p.function(names)
    run = _Run(p, names, SGD(eta), f, kw.get("tol", 1e-5), kw.get("until_loss"), 10**4, None)
    run.set_start(x0, f(*x0)[0])
    lo, hi = run.lo, run.hi
    chunk = fn.variant(lo, hi)
    return p, names, chunk, chunk.box(tuple(x0), eta, lo, hi), lo, hi


@pytest.mark.parametrize("expr,start,eta,kw", BOX_CASES)
def test_boxed_passes_agree_with_reference(expr, start, eta, kw):
    p, names, chunk, box, _, _ = _box_of(expr, start, eta, kw)
    assert "_u0 <= a0 <= _v0" in chunk.source and box is not None
    fast, ref = both(p, start, eta, **kw)
    assert_same(fast, ref)
    # the shortcut really ran: the row where the box is first looked for lies inside it
    assert fast.result.iterations > BOX_FROM
    assert all(box[2 * i] <= xs[BOX_FROM] <= box[2 * i + 1] for i, xs in enumerate(fast.points))


@pytest.mark.parametrize("expr,start,eta,kw", BOX_CASES)
def test_a_pass_from_the_box_edges_passes_every_range_test(expr, start, eta, kw):
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
    p = program(expr)
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
    p = program(expr)
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
        p = program(expr)
        start = {v: round(rng.uniform(-4, 4), 3) for v in p.variables}
        eta = rng.choice([1e-3, 0.01, 0.03, 0.1])
        kw = {"tol": rng.choice([0.0, 1e-9, 1e-6]), "max_iter": rng.choice([300, 1500])}
        if rng.random() < 0.3:
            kw["until_loss"] = round(rng.uniform(-5, 5), 2)
        fast, ref = both(p, start, eta, **kw)
        assert (fast.result, fast.points) == (ref.result, ref.points), (expr, start, eta, kw)
        statuses.add(ref.status)
        if fast.result.iterations > BOX_FROM and p.variables:
            *_, box, _, _ = _box_of(expr, start, eta, kw)
            boxed += box is not None
    assert {"converged", "diverged", "max_iterations"} <= statuses and boxed >= 10


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
    assert_same(*both(program(expr), start, eta, **kw))


def test_generated_loop_source_is_ours():
    p = program("zebra*quokka + 3")
    loops = _chunk_function(p, ("zebra", "quokka"))
    for src in (loops.two_sided.source, loops.upper_only.source):
        assert "a0, a1 = a0 - _eta * " in src  # simultaneous update (∂/∂zebra = quokka = a1)
        assert "zebra" not in src and "quokka" not in src  # no user text in generated code


# -- the checks are the engine's predicates ---------------------------------------------------


def test_the_loops_tests_are_the_engines_predicates_written_out():
    """all(-tol < g < tol for g in grad) and lo <= value < hi, over the body's names."""
    src = _chunk_function(program("x*y + (y - 1)^2"), ("x", "y"), 1e-6).two_sided.source
    assert "if _ntol < a1 < _tol and _ntol < " in src  # ∂/∂x = y = a1; −tol computed once
    assert "if not _lo <= " in src and " < _hi:" in src


def settled_or_zero(grad, tol):
    """Check 1 changed: |g| ≤ tol (an exact zero partial converges even at tol = 0)."""
    return all(-tol <= g <= tol for g in grad)


def range_narrowed(value, lo, hi):
    """Checks 2 and 3 changed: the loss may grow a million times less."""
    return lo <= value < hi / 1e6


def range_narrowed_below(value, lo, hi):
    """Checks 2 and 3 changed: the loss may fall a million times less (lo < 0 here)."""
    return lo / 1e6 <= value < hi


def range_not_a_chain(value, lo, hi):
    """Checks 2 and 3 as two tests: written as they are, without the upper-only loop or boxes."""
    return value < hi / 1e6 and not value < lo


# (the engine predicate replaced, a run, its status and steps as the engine has it, then as
# the replacement makes it): both paths follow the replacement, which changes the result
CHANGED_RULES = [
    # x₁ = 0, where g = 0: an unmoved point, found at checkpoint 4; or at once, g = 0 ≤ 0
    ("gradient_converged", settled_or_zero, ("x^2", {"x": 1.0}, 0.5, {"tol": 0.0}),
     ("converged", 4), ("converged", 1)),
    # x − 1 halves each step: g is exactly 0 first at row 54, inside a pass
    ("gradient_converged", settled_or_zero, ("(x - 1)^2", {"x": 3.0}, 0.25, {"tol": 0.0}),
     ("converged", 64), ("converged", 54)),
    # x = (−2)^k: the loss 4^k reaches 1e12 at k = 20, 1e6 at k = 10 (the upper-only loop)
    ("loss_in_range", range_narrowed, ("x^2", {"x": 1.0}, 1.5, {"tol": 0.0}),
     ("diverged", 20), ("diverged", 10)),
    # x = 1.02^k: −x² passes −1e12 at k = 698, −1e6 at k = 349 (passes in a proven box)
    ("loss_in_range", range_narrowed_below, ("-x^2", {"x": 1.0}, 0.01, {"tol": 0.0}),
     ("unbounded_below", 698), ("unbounded_below", 349)),
    # the loss 2·4^k reaches 2e12 at k = 20, 2e6 at k = 10
    ("loss_in_range", range_not_a_chain, ("x^2 + y^2", {"x": 1.0, "y": 1.0}, 1.5, {"tol": 0.0}),
     ("diverged", 20), ("diverged", 10)),
]  # fmt: skip


@pytest.mark.parametrize("name,rule,case,before,after", CHANGED_RULES)
def test_a_rule_changed_in_the_engine_changes_both_paths(
    monkeypatch, name, rule, case, before, after
):
    expr, start, eta, kw = case
    fast, ref = both(program(expr), start, eta, **kw)
    assert_same(fast, ref)
    assert (ref.status, ref.result.iterations) == before
    monkeypatch.setattr(engine, name, rule)
    fast, ref = both(program(expr), start, eta, **kw)
    assert_same(fast, ref)
    assert (ref.status, ref.result.iterations) == after


def test_the_changed_rule_is_what_the_loop_runs(monkeypatch):
    monkeypatch.setattr(engine, "gradient_converged", settled_or_zero)
    monkeypatch.setattr(engine, "loss_in_range", range_narrowed)
    fn = _chunk_function(program("(x - 1)^2 + 0.001"), ("x",), 0.0)
    assert "if _ntol <= g0 <= _tol:" in fn.two_sided.source  # kept: |g| ≤ 0 can hold at 0
    assert " < _hi / 1000000.0:" in fn.upper_only.source


def abs_settled(grad, tol):
    return all(abs(g) < tol for g in grad)


def in_range_by_call(value, lo, hi):
    return min(max(value, lo), hi) == value != hi


@pytest.mark.parametrize(
    "name,rule", [("gradient_converged", abs_settled), ("loss_in_range", in_range_by_call)]
)
def test_a_rule_the_generator_cannot_write_leaves_the_run_to_the_engine(monkeypatch, name, rule):
    monkeypatch.setattr(engine, name, rule)
    p = program("(x - 1)^2 + 0.001")
    assert sgd_loop(p, ("x",), 0.1, 1e-5) is None
    fast, ref = both(p, {"x": 0.2}, 0.1)
    assert fast.stored is not None and fast.result == ref.result and fast.status == "converged"


# -- the comparison can fail ------------------------------------------------------------------


def test_the_comparison_catches_a_loop_that_skips_its_range_test(monkeypatch):
    monkeypatch.setattr(
        generated._Rules, "range_test", lambda self, value, upper_only=False: "False"
    )
    fast, ref = both(program("x^2"), {"x": 1.0}, 1.5, tol=0.0)
    assert ref.result.iterations == 20 and fast.result.iterations > 20  # on to an overflow
    with pytest.raises(AssertionError):
        assert_same(fast, ref)


def test_the_comparison_catches_a_step_one_ulp_off(monkeypatch):
    real = generated.run_generated

    def off(text, ns, kind):
        return real(text.replace("- _eta *", "- 1.0000000000000002 * _eta *"), ns, kind)

    monkeypatch.setattr(generated, "run_generated", off)
    fast, ref = both(program("(x - 1)^2 + 0.001"), {"x": 0.0}, 0.01, tol=0.0, max_iter=300)
    assert fast.status == ref.status == "max_iterations" and fast.points != ref.points
    with pytest.raises(AssertionError):
        assert_same(fast, ref)
