"""accel.solve (``try_solve``: the solve engine's own loop and policy, the records built on
first access) against the reference, ``iterate(..., detail=False)`` collected: the same
setup, status, message, result and rows on a varied corpus — every status, both splits and
both gradient rules, split=gradient with three variables, every max_iter up to the run's
length, random programs and starts — and a run that differs in one number is told apart
(the comparison can fail).

The accelerator is called directly, so every comparison runs the same with
BACKPROP_REFERENCE=1; only the test that ``solve()`` takes it adapts.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import math
import pickle
import random

import pytest

import backprop_cli as bp
from backprop_cli.accel import solve as accel_solve
from backprop_cli.engines.solve import (
    STATUSES,
    Iteration,
    Policy,
    SolveResult,
    SolveRun,
    check_vary,
    iterate,
    make_run,
    solve,
)

LESSON = "x = 2*w + b; y = b + 1; z = x*y"
LONG = (
    "; ".join(f"t{i} = sin(w*{i % 5 + 1}) + b*{i % 3 + 1}" for i in range(20))
    + "; z = "
    + " + ".join(f"t{i}" for i in range(20))
)
MODES = list(itertools.product(["even", "gradient"], ["refresh", "freeze"]))
FIELDS = [f.name for f in dataclasses.fields(SolveRun)]
DEFAULTS = {"split": "even", "gradient": "refresh", "tol": 1e-5, "max_iter": 100}


def reference(program, start, target, vary=None, **kw):
    """The reference's run: the records of ``iterate(..., detail=False)``, collected."""
    kw = {**DEFAULTS, **kw}
    rows, res = [], None
    for rec in iterate(program, start, target, vary, detail=False, **kw):
        if isinstance(rec, Iteration):
            rows.append(rec)
        else:
            res = rec
    varied = check_vary(program, vary)
    return make_run(program, start, target, varied, kw["split"], kw["gradient"], kw["tol"],
                    kw["max_iter"], rows, res)  # fmt: skip


def accelerated(program, start, target, vary=None, **kw):
    """The accelerator's run of the same setup (a fresh Policy, as solve() passes it)."""
    kw = {**DEFAULTS, **kw}
    policy = Policy(program, target, check_vary(program, vary), **kw)
    return accel_solve.try_solve(policy, start)


def _equal(a, b) -> bool:
    # repr: a NaN (a step that became NaN) prints as nan on both sides
    return a == b or repr(a) == repr(b)


def differences(fast, ref) -> list[str]:
    """The fields in which two runs differ: the setup, every row, the result."""
    return [name for name in FIELDS if not _equal(getattr(fast, name), getattr(ref, name))]


def same(program, start, target, vary=None, **kw):
    """The accelerator's run equals the reference's, field by field; returns it."""
    fast = accelerated(program, start, target, vary, **kw)
    ref = reference(program, start, target, vary, **kw)
    assert differences(fast, ref) == []
    assert isinstance(fast, SolveRun)
    assert all(type(r) is Iteration for r in fast.iterations) and type(fast.result) is SolveResult
    return fast


# -- the comparison itself ----------------------------------------------------------------
def _tampered(run, rows=None, start=None, result=None):
    """A copy of a lazy run with other raw rows, start or result (records not yet built)."""
    policy, xs, raw_rows = run._raw
    out = object.__new__(type(run))
    object.__setattr__(out, "_raw", (policy, xs if start is None else start, raw_rows if rows is None else rows))
    object.__setattr__(out, "_result", run.result if result is None else result)
    return out


def test_a_run_that_differs_in_one_number_is_told_apart():
    p = bp.compile(LESSON)
    fast = accelerated(p, {"w": 3.0, "b": 4.0}, 60.0, ["b"], gradient="freeze")
    ref = reference(p, {"w": 3.0, "b": 4.0}, 60.0, ["b"], gradient="freeze")
    assert differences(fast, ref) == []
    rows = fast._raw[2]
    # one row's error one ulp off; one row's value; the result's message, its value; the start
    it, xs, got, error, factors, steps = rows[2]
    nudged = [*rows[:2], (it, xs, got, math.nextafter(error, math.inf), factors, steps), *rows[3:]]
    assert differences(_tampered(fast, rows=nudged), ref) == ["iterations"]
    moved = [*rows[:-1], (rows[-1][0], (rows[-1][1][0] * (1 + 1e-15),), *rows[-1][2:])]
    assert differences(_tampered(fast, rows=moved), ref) == ["iterations"]
    reworded = dataclasses.replace(fast.result, message=fast.result.message + ".")
    assert differences(_tampered(fast, result=reworded), ref) == ["result"]
    revalued = dataclasses.replace(fast.result, values={"w": 3.0, "b": math.nextafter(ref.result.values["b"], 0)})
    assert differences(_tampered(fast, result=revalued), ref) == ["result"]
    assert differences(_tampered(fast, start=(4.5,)), ref) == ["start"]
    # and a different setup differs where it should
    other = accelerated(p, {"w": 3.0, "b": 4.0}, 60.0, ["b"], gradient="refresh")
    assert {"gradient", "iterations", "result"} <= set(differences(other, ref))


# -- the corpus -------------------------------------------------------------------------
@pytest.mark.parametrize("split, gradient", MODES)
def test_lesson_every_vary_target_and_tol(split, gradient):
    p = bp.compile(LESSON)
    for vary, target, tol in itertools.product([["b"], ["w"], ["b", "w"], None], [60.0, 50.0, 10.0, -3.0, 0.0],
                                               [1e-5, 1e-9, 1e-12]):  # fmt: skip
        same(p, {"w": 3.0, "b": 4.0}, target, vary, split=split, gradient=gradient, tol=tol)


@pytest.mark.parametrize("split, gradient", MODES)
@pytest.mark.parametrize(
    "text, start, target, status",
    [
        ("x^2", {"x": 0.0}, 1.0, "zero_gradient"),  # f'(0) = 0
        ("x^2", {"x": 3.0}, 9.0, "converged"),  # already there: 0 updates
        ("log(x)", {"x": 1.0}, -40.0, None),  # steps out of the domain (or converges slowly)
        ("ln(x)", {"x": 5.0}, 0.0, "domain_error"),  # the first step leaves the domain
        ("sqrt(x)", {"x": -1.0}, 1.0, "domain_error"),  # the start is outside it
        ("x*1e200*1e200", {"x": 1.0}, 0.0, "non_finite"),  # the start overflows
        ("1e-320*x", {"x": 1.0}, 1.0, "non_finite"),  # the step overflows
        ("x^3 - 2*x + 2", {"x": 0.0}, 0.0, "oscillating"),  # Newton's 0 ↔ 1 cycle
        ("x^3 - 2*x + 2", {"x": 0.1}, 0.0, None),  # falls onto that cycle
        ("atan(x)", {"x": 2.0}, 0.0, "diverged"),  # Newton runs away
        ("x/abs(x)^(2/3)", {"x": 1.0}, 0.0, "diverged"),  # |error| grows steadily
        ("exp(x)", {"x": 0.0}, 1e300, None),
        ("exp(x)", {"x": 700.0}, 1.0, None),
        ("x^2", {"x": 1.001}, 4.0, None),  # freeze: a slow see-saw
        ("1/x", {"x": 0.5}, 1e-300, None),
        ("x^2 + 1", {"x": 1.0}, 0.0, None),  # no root: cycles or chaos
        ("x*y", {"x": 0.0, "y": 0.0}, 1.0, None),  # every partial 0
        ("x*y", {"x": 0.0, "y": 2.0}, 1.0, None),  # one partial 0
        ("x*y + sin(x)", {"x": 1.0, "y": 2.0}, 3.0, None),
        ("x*y*z + w", {"x": 1.0, "y": 2.0, "z": 3.0, "w": 0.5}, 10.0, None),
        ("min(x, 1) + 0*y", {"x": math.inf, "y": 1.0}, 3.0, None),  # an infinite start
        ("x*x - 2", {"x": math.nan}, 0.0, None),  # a NaN start
        ("2 + 3", {}, 1.0, "max_iterations"),  # nothing to vary
        (LONG, {"w": 0.3, "b": 0.2}, 5.0, None),
        (LONG, {"w": 0.3, "b": 0.2}, 1e6, None),
    ],
)
def test_statuses(text, start, target, status, split, gradient):
    run = same(bp.compile(text), start, target, split=split, gradient=gradient, max_iter=200)
    if status is not None and (split, gradient) == ("even", "refresh"):
        assert run.result.status == status


def test_every_status_is_covered():
    seen = set()
    cases = [
        ("x^2", {"x": 0.0}, 1.0, {}),
        ("x^2", {"x": 3.0}, 9.0, {}),
        ("ln(x)", {"x": 5.0}, 0.0, {}),
        ("x*1e200*1e200", {"x": 1.0}, 0.0, {}),
        ("x^3 - 2*x + 2", {"x": 0.0}, 0.0, {}),
        ("atan(x)", {"x": 2.0}, 0.0, {}),
        ("x^2", {"x": 0.1}, 4.0, {"gradient": "freeze"}),
        ("x^2", {"x": 1.001}, 4.0, {"gradient": "freeze", "max_iter": 50}),
    ]
    for text, start, target, kw in cases:
        seen.add(same(bp.compile(text), start, target, **kw).result.status)
    assert seen == set(STATUSES)


@pytest.mark.parametrize("max_iter", range(1, 9))
def test_max_iter_boundaries(max_iter):
    for gradient in ("refresh", "freeze"):
        run = same(bp.compile(LESSON), {"w": 3.0, "b": 4.0}, 60.0, ["b"], gradient=gradient,
                   max_iter=max_iter, tol=1e-12)  # fmt: skip
        assert run.result.updates <= max_iter


@pytest.mark.parametrize("gradient", ["refresh", "freeze"])
@pytest.mark.parametrize("vary", [["x", "y"], ["x", "y", "w"], ["w", "y", "x"], None])
def test_split_gradient_with_three_variables(gradient, vary):
    # the generated loop this accelerator replaced raised UnboundLocalError here
    p = bp.compile("x*y + w*x + y")
    run = same(p, {"x": 1.0, "y": 2.0, "w": 1.0}, 10.0, vary, split="gradient", gradient=gradient)
    if gradient == "refresh":
        assert run.result.status == "converged"
        assert run.result.output == pytest.approx(10.0, abs=1e-5)
        v = run.result.values
        assert v["x"] * v["y"] + v["w"] * v["x"] + v["y"] == pytest.approx(10.0, abs=1e-5)


def test_freeze_divides_by_the_first_partials_and_refresh_by_each_rows():
    p = bp.compile(LESSON)
    frozen = same(p, {"w": 3.0, "b": 4.0}, 60.0, ["b"], gradient="freeze")
    assert {r.factors["b"] for r in frozen.iterations} == {15.0}  # ∂z/∂b at (3, 4)
    assert frozen.result.updates == 6  # the lesson's hand table
    fresh = same(p, {"w": 3.0, "b": 4.0}, 60.0, ["b"], gradient="refresh")
    assert [r.factors for r in fresh.iterations] == [r.partials for r in fresh.iterations]
    assert fresh.iterations[1].factors["b"] == pytest.approx(49 / 3, rel=1e-14)  # x + y there


def test_random_polynomials_and_starts():
    rng = random.Random(11)
    for _ in range(150):
        c = [rng.choice([-3, -2, -1, 0, 1, 2, 3]) for _ in range(4)]
        p = bp.compile(f"{c[0]}*x^3 + {c[1]}*x^2 + {c[2]}*x*y + {c[3]}*y + sin(y)")
        start = {"x": rng.uniform(-3, 3), "y": rng.uniform(-3, 3)}
        split, gradient = rng.choice(MODES)
        same(p, start, rng.uniform(-10, 10), rng.choice([None, ["x"], ["y"], ["y", "x"]]),
             split=split, gradient=gradient, tol=rng.choice([1e-5, 1e-10]),
             max_iter=rng.choice([3, 20, 100]))  # fmt: skip


def test_random_large_coefficients_and_starts():
    rng = random.Random(5)
    for _ in range(100):
        k = rng.choice(["1", "1e100", "1e200", "1e290"])
        c = [rng.choice([-3, -1, 1, 2]) for _ in range(3)]
        p = bp.compile(f"{c[0]}*x^3 + {c[1]}*x*x*y + w*{k}*x*x + {c[2]}*y")
        scale = 10.0 ** rng.choice([-3, 0, 5, 20, 40])
        start = {"x": rng.uniform(-1, 1) * scale, "y": rng.uniform(-2, 2), "w": rng.choice([0.0, 1.0])}
        split, gradient = rng.choice(MODES)
        same(p, start, rng.uniform(-100, 100), rng.choice([["x"], ["x", "y"], ["y"]]), split=split,
             gradient=gradient, tol=rng.choice([1e-3, 1e-9]), max_iter=rng.choice([5, 50]))  # fmt: skip


# -- what solve() returns -----------------------------------------------------------------
def test_solve_detail_false_takes_the_accelerator_unless_switched_off():
    p = bp.compile(LESSON)
    run = solve(p, {"w": 3.0, "b": 4.0}, 60.0, ["b"], tol=1e-9, detail=False)
    ref = reference(p, {"w": 3.0, "b": 4.0}, 60.0, ["b"], tol=1e-9)
    assert differences(run, ref) == []
    if p.accel is None:  # BACKPROP_REFERENCE=1: the reference's own record
        assert type(run) is SolveRun
    else:
        assert type(run) is accel_solve.LazySolveRun
    # detail=True never asks the accelerator: named nodes in every row
    assert set(solve(p, {"w": 3.0, "b": 4.0}, 60.0, ["b"]).iterations[0].values) == {"w", "b", "x", "y", "z"}


def test_w5_numbers():
    """The benchmark's W5 and the README's fast form: (w·2 + b)(b + 1) = 60 from (3, 4)."""
    run = same(bp.compile("(w*2+b)*(b+1)"), {"w": 3.0, "b": 4.0}, 60.0, ["b"], tol=1e-9)
    assert run.result.status == "converged" and run.result.updates == 4
    assert run.result.values["b"] == pytest.approx((-7 + 265**0.5) / 2, rel=1e-14)  # (6 + b)(b + 1) = 60
    assert [r.iteration for r in run.iterations] == [0, 1, 2, 3, 4]


def test_bad_arguments_raise_as_the_reference_does():
    p = bp.compile(LESSON)
    start = {"w": 3.0, "b": 4.0}
    for vary, kw in ((["b"], {"tol": 0.0}), (["b"], {"tol": math.nan}), (["b"], {"tol": math.inf}),
                     (["b"], {"max_iter": 0}), (["b"], {"split": "odd"}), (["b"], {"gradient": "warm"}),
                     (["y"], {}), (["y"], {"tol": -1.0}), (["q"], {"split": "odd"})):  # fmt: skip
        with pytest.raises(bp.errors.InputError) as a:
            solve(p, start, 60.0, vary, detail=True, **kw)
        with pytest.raises(bp.errors.InputError) as b:
            solve(p, start, 60.0, vary, detail=False, **kw)
        assert a.value.message == b.value.message
    for target in (math.inf, math.nan):
        with pytest.raises(bp.errors.InputError, match="target must be a finite number"):
            solve(p, start, target, ["b"], detail=False)
    for missing in ({"w": 3.0}, {"b": 4.0}, {}):  # the package's error, naming what is missing
        with pytest.raises(bp.errors.InputError, match="no value for variable") as a:
            solve(p, missing, 60.0, ["b"], detail=True)
        with pytest.raises(bp.errors.InputError) as b:
            solve(p, missing, 60.0, ["b"], detail=False)
        assert a.value.message == b.value.message


def test_the_run_keeps_its_own_floats():
    p = bp.compile("(w*2+b)*(b+1)")
    start = {"w": 3, "b": 4}
    run = same(p, start, 60, ["b"], tol=1e-9)
    start["b"] = 100
    assert run.start == {"w": 3.0, "b": 4.0} and type(run.start["b"]) is float
    assert run.iterations[0].values == {"w": 3.0, "b": 4.0}
    assert run.target == 60 and run.vary == ("b",) and run.variables == ("w", "b")


def test_records_are_built_once_and_a_copy_is_a_plain_run():
    p = bp.compile(LESSON)
    run = accelerated(p, {"w": 3.0, "b": 4.0}, 60.0, ["b", "w"], split="gradient")
    assert run.iterations is run.iterations
    ref = reference(p, {"w": 3.0, "b": 4.0}, 60.0, ["b", "w"], split="gradient")
    for copied in (pickle.loads(pickle.dumps(run)), copy.copy(run), copy.deepcopy(run)):
        assert type(copied) is SolveRun and copied == ref
