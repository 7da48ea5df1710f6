"""The generated Newton loop (engines.solve.solve_fast, solve(detail=False), and a
compiled engines.solve.solver) against the reference loop: the same status, message,
result and rows on every case — both gradient modes, both splits, every status — and the
fast path really taken when a run converges.
"""

from __future__ import annotations

import itertools
import random

import pytest

import backprop_cli as bp
from backprop_cli.engines.solve import FastSolveRun, _solve_reference, solve, solve_fast, solver

LESSON = "x = 2*w + b; y = b + 1; z = x*y"
LONG = (
    "; ".join(f"t{i} = sin(w*{i % 5 + 1}) + b*{i % 3 + 1}" for i in range(20))
    + "; z = "
    + " + ".join(f"t{i}" for i in range(20))
)


def same(program, start, target, vary=None, **kw):
    """solve_fast equals the reference (detail=False) in result and rows; returns the fast run."""
    kw.setdefault("split", "even")
    kw.setdefault("gradient", "refresh")
    kw.setdefault("tol", 1e-5)
    kw.setdefault("max_iter", 100)
    fast = solve_fast(program, start, target, vary, **kw)
    ref = _solve_reference(
        program, start, target, vary, kw["split"], kw["gradient"], kw["tol"], kw["max_iter"], False
    )
    # repr: equal floats print equally and NaN (a step that became NaN) prints as nan
    assert fast.result == ref.result or repr(fast.result) == repr(ref.result)
    assert fast.iterations == ref.iterations or repr(fast.iterations) == repr(ref.iterations)
    for attr in ("expression", "output_name", "target", "vary", "start", "gradient", "split", "tol", "max_iter",
                 "variables", "named"):  # fmt: skip
        assert getattr(fast, attr) == getattr(ref, attr), attr
    # only converged runs come back from the generated loop; it may hand a converged run to
    # the reference too (a row where a divergence or cycle check might fire)
    assert not isinstance(fast, FastSolveRun) or ref.result.status == "converged"
    # the same setup compiled once (solver) gives the same run, and the same kind of run
    bound = solver(program, vary, split=kw["split"], gradient=kw["gradient"], tol=kw["tol"],
                   max_iter=kw["max_iter"])(start, target)  # fmt: skip
    assert bound.result == ref.result or repr(bound.result) == repr(ref.result)
    assert bound.iterations == ref.iterations or repr(bound.iterations) == repr(ref.iterations)
    assert type(bound) is type(fast)
    return fast


MODES = list(itertools.product(["even", "gradient"], ["refresh", "freeze"]))


@pytest.mark.parametrize("split, gradient", MODES)
def test_lesson_every_vary_and_target(split, gradient):
    p = bp.compile(LESSON)
    for vary, target, tol in itertools.product([["b"], ["w"], ["b", "w"], None], [60.0, 50.0, 10.0, -3.0, 0.0],
                                               [1e-5, 1e-9, 1e-12]):  # fmt: skip
        run = same(p, {"w": 3.0, "b": 4.0}, target, vary, split=split, gradient=gradient, tol=tol)
        if gradient == "refresh" and run.result.status == "converged":
            assert isinstance(run, FastSolveRun)  # Newton on the lesson: always the generated loop


def test_w5_is_the_fast_path_and_the_lesson_numbers():
    run = solve(bp.compile("(w*2+b)*(b+1)"), {"w": 3, "b": 4}, 60, ("b",), tol=1e-9, detail=False)
    assert isinstance(run, FastSolveRun)
    assert run.result.status == "converged" and run.result.updates == 4
    assert run.result.values["b"] == pytest.approx((-7 + 265**0.5) / 2, rel=1e-14)
    assert [r.iteration for r in run.iterations] == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("split, gradient", MODES)
@pytest.mark.parametrize(
    "text, start, target, status",
    [
        ("x^2", {"x": 0.0}, 1.0, "zero_gradient"),  # f'(0) = 0
        ("x^2", {"x": 3.0}, 9.0, "converged"),  # already there: 0 updates
        ("log(x)", {"x": 1.0}, -40.0, None),  # steps out of the domain (or converges slowly)
        ("sqrt(x)", {"x": 4.0}, -1.0, None),
        ("x^3 - 2*x + 2", {"x": 0.0}, 0.0, None),  # Newton's 0 ↔ 1 cycle
        ("atan(x)", {"x": 1.5}, 0.0, None),  # Newton runs away
        ("exp(x)", {"x": 0.0}, 1e300, None),
        ("exp(x)", {"x": 700.0}, 1.0, None),
        ("x^2", {"x": 1.001}, 4.0, None),  # freeze: a slow see-saw
        ("1/x", {"x": 0.5}, 1e-300, None),
        ("x^2 + 1", {"x": 1.0}, 0.0, None),  # no root: cycles or chaos
        ("x*y", {"x": 0.0, "y": 0.0}, 1.0, None),  # every partial 0
        ("x*y", {"x": 0.0, "y": 2.0}, 1.0, None),  # one partial 0
        ("x*y + sin(x)", {"x": 1.0, "y": 2.0}, 3.0, None),
        (LONG, {"w": 0.3, "b": 0.2}, 5.0, None),  # long body: fewer unrolled rows
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
        ("log(x)", {"x": 1.0}, -40.0, {}),
        ("x^3 - 2*x + 2", {"x": 0.0}, 0.0, {}),
        ("atan(x)", {"x": 1.5}, 0.0, {}),
        ("exp(x)", {"x": 700.0}, 1.0, {"gradient": "freeze"}),
        ("exp(x)", {"x": 0.0}, 1e300, {}),
        ("x^2", {"x": 1.001}, 4.0, {"gradient": "freeze", "max_iter": 50}),
        ("x", {"x": 1.0}, 1e300, {"gradient": "freeze"}),
        ("x^2", {"x": 1e200}, 1.0, {"gradient": "freeze"}),
    ]
    for text, start, target, kw in cases:
        seen.add(same(bp.compile(text), start, target, **kw).result.status)
    assert seen >= {
        "converged",
        "zero_gradient",
        "domain_error",
        "oscillating",
        "diverged",
        "max_iterations",
    }
    assert "non_finite" in seen or "domain_error" in seen


@pytest.mark.parametrize("max_iter", range(1, 12))
def test_max_iter_boundaries(max_iter):
    for gradient in ("refresh", "freeze"):
        same(
            bp.compile(LESSON),
            {"w": 3.0, "b": 4.0},
            60.0,
            ["b"],
            gradient=gradient,
            max_iter=max_iter,
            tol=1e-12,
        )


def test_random_polynomials_and_starts():
    rng = random.Random(11)
    for _ in range(150):
        c = [rng.choice([-3, -2, -1, 0, 1, 2, 3]) for _ in range(4)]
        text = f"{c[0]}*x^3 + {c[1]}*x^2 + {c[2]}*x*y + {c[3]}*y + sin(y)"
        p = bp.compile(text)
        start = {"x": rng.uniform(-3, 3), "y": rng.uniform(-3, 3)}
        target = rng.uniform(-10, 10)
        split, gradient = rng.choice(MODES)
        vary = rng.choice([None, ["x"], ["y"], ["y", "x"]])
        same(p, start, target, vary, split=split, gradient=gradient, tol=rng.choice([1e-5, 1e-10]),
             max_iter=rng.choice([3, 20, 100]))  # fmt: skip


def test_bad_arguments_raise_like_the_reference():
    p = bp.compile(LESSON)
    for kw in (
        {"tol": 0.0},
        {"tol": float("nan")},
        {"max_iter": 0},
        {"split": "odd"},
        {"gradient": "warm"},
    ):
        with pytest.raises(bp.errors.InputError) as a:
            solve(p, {"w": 3.0, "b": 4.0}, 60.0, ["b"], detail=True, **kw)
        with pytest.raises(bp.errors.InputError) as b:
            solve(p, {"w": 3.0, "b": 4.0}, 60.0, ["b"], detail=False, **kw)
        assert a.value.message == b.value.message
    with pytest.raises(bp.errors.InputError):
        solve(p, {"w": 3.0, "b": 4.0}, 60.0, ["y"], detail=False)
    with pytest.raises(KeyError):
        solve(p, {"w": 3.0}, 60.0, ["b"], detail=False)
    # the cache is per setup: a later, different call is not confused by an earlier one
    assert solve(p, {"w": 3.0, "b": 4.0}, 50.0, ["b"], detail=False).result.status == "converged"
    assert solve(p, {"w": 3.0, "b": 4.0}, 50.0, ["w"], detail=False).result.values["b"] == 4.0


@pytest.mark.parametrize("max_iter", [4, 5, 6, 8, 9, 10])
def test_short_max_iter_still_takes_the_generated_loop(max_iter):
    # W5 converges after 4 updates: any max_iter >= 4 is a converged run, whichever loop runs it
    run = same(
        bp.compile("(w*2+b)*(b+1)"), {"w": 3.0, "b": 4.0}, 60.0, ("b",), tol=1e-9, max_iter=max_iter
    )
    assert isinstance(run, FastSolveRun) and run.result.updates == 4


@pytest.mark.parametrize("split, gradient", MODES)
@pytest.mark.parametrize(
    "text, start, target, vary",
    [
        ("exp(w)*b + b^2 + sin(w)", {"w": 0.3, "b": 1.0}, 5.0, ["b"]),  # invariant exp(w), sin(w)
        ("log(w) + b", {"w": -1.0, "b": 1.0}, 2.0, ["b"]),  # invariant part out of its domain
        ("exp(w)*b", {"w": 800.0, "b": 1.0}, 2.0, ["b"]),  # invariant part overflows
        ("b / (w - 2) + w^3", {"w": 2.0, "b": 1.0}, 2.0, ["b"]),  # invariant division by 0
        (
            "w*b + 1/(1 + b^2) + atan(w)*b",
            {"w": 1e200, "b": 0.5},
            3.0,
            ["b"],
        ),  # invariant inf guard
        ("w*b^2 + w^2", {"w": 2.0, "b": 3.0}, 10.0, ["b"]),  # ∂/∂w moves with b
    ],
)
def test_invariant_lines_run_once_and_equal_the_reference(
    text, start, target, vary, split, gradient
):
    same(bp.compile(text), start, target, vary, split=split, gradient=gradient)


# -- the cheaper proofs of the generated loop (see the comments in engines/solve.py) --------


def test_non_finite_partial_of_a_fixed_variable_in_a_middle_row_stops_like_the_reference():
    # ∂z/∂w = 1e305·b² overflows at row 1 only (b = 55); z and ∂z/∂b stay finite and Newton
    # on b³ = 1000 would converge by row 8 (tol 1) — the unrolled rows test finiteness once,
    # at the exit, through the running sum of every row's partials
    p = bp.compile("b*b*b + w*1e305*b*b")
    run = same(p, {"w": 0.0, "b": 2.5}, 1000.0, ["b"], tol=1.0)
    assert run.result.status == "non_finite"
    assert run.result.message.startswith("a value overflowed or became NaN at iteration 1 (b = 55, w = 0)")
    assert run.result.updates == 0 and run.iterations[0].adjoints["w"] == pytest.approx(6.25e305)
    # the same program converges when nothing overflows (w*1e300: ∂z/∂w ≤ 3025e300)
    ok = same(bp.compile("b*b*b + w*1e300*b*b"), {"w": 0.0, "b": 2.5}, 1000.0, ["b"], tol=1.0)
    assert isinstance(ok, FastSolveRun) and ok.result.updates == 8
    assert ok.result.values["b"] == pytest.approx(10.000043623776845, rel=1e-15)


def test_polynomial_certificate_bound_is_tested_on_the_converged_row():
    # c·b + w·1e270·b² (polynomial: rows 1 … compute no ∂z/∂w, they bound |b| instead).
    # One step to b = 1e20 converges, but there ∂z/∂w = 1e270·1e40 = inf: non_finite
    p = bp.compile("c*b + w*1e270*b*b")
    run = same(p, {"c": 1e-20, "w": 0.0, "b": 0.0}, 1.0, ["b"])
    assert run.result.status == "non_finite" and not isinstance(run, FastSolveRun)
    assert "at iteration 1 (c = 1e-20, b = 1e+20, w = 0)" in run.result.message
    # c = 1e-5: b = 1e5, ∂z/∂w = 1e280, finite — the generated loop finishes it
    ok = same(p, {"c": 1e-5, "w": 0.0, "b": 0.0}, 1.0, ["b"])
    assert isinstance(ok, FastSolveRun) and ok.result.values["b"] == pytest.approx(1e5, rel=1e-15)


def test_polynomial_bound_numbers():
    from backprop_cli.engines.solve import _polynomial_bound

    lines = ["v1 = a0 * a0", "v2 = 3.0 * v1 - a1", "g0 = -(v2 ** 2.0) + 1e10"]
    # |v1| ≤ A², |v2| ≤ 3A² + A, |g0| ≤ (3A² + A)² + 1e10: fine for A = 1e50, not for 1e100
    assert _polynomial_bound(lines, 1e50) == ({"a0", "a1"}, {"v1", "v2", "g0"})
    assert _polynomial_bound(lines, 1e100) is None
    assert _polynomial_bound(["v1 = a0 * 1e270", "g0 = v1 * a0"], 1e12) is not None  # 1e294
    assert _polynomial_bound(["v1 = a0 * 1e270", "g0 = v1 * a0"], 1e25) is None  # 1e320
    # anything but + - * and constant integer powers: no certificate
    for expr in ("_sin(a0)", "1.0 / a0", "a0 ** a1", "a0 ** 0.5", "abs(a0)"):
        assert _polynomial_bound([f"v1 = {expr}"], 1e12) is None, expr
    # and the bound holds where it is claimed: |a0|, |a1| ≤ 1e50 keeps g0 finite
    for a0, a1 in [(1e50, -1e50), (-1e50, 1e50), (1e50, 0.0)]:
        v1 = a0 * a0
        v2 = 3.0 * v1 - a1
        assert -(v2**2.0) + 1e10 > -1e300


def test_see_saw_convergence_takes_the_generated_loop():
    # Newton on atan from 1.3 alternates sign while converging: the rows are not monotone,
    # so the cycle test falls back to |x − P| ≤ 1e-3·|x − prev| — which a shrinking see-saw passes
    p = bp.compile("atan(x)")
    run = same(p, {"x": 1.3}, 0.0, tol=1e-9)
    assert isinstance(run, FastSolveRun) and run.result.updates == 6
    assert [round(r.values["x"], 6) for r in run.iterations][:4] == [1.3, -1.161621, 0.858896, -0.374241]


def test_remembered_setup_still_checks_the_arguments():
    p = bp.compile("(w*2+b)*(b+1)")
    vary = ("b",)
    first = solve_fast(p, {"w": 3.0, "b": 4.0}, 60.0, vary, tol=1e-9)
    assert isinstance(first, FastSolveRun) and first.result is first.result  # built once
    for kw in ({"tol": float("inf")}, {"tol": 0.0}, {"tol": -1.0}, {"tol": float("nan")}, {"max_iter": 0}):
        with pytest.raises(bp.errors.InputError):
            solve_fast(p, {"w": 3.0, "b": 4.0}, 60.0, vary, **kw)
    for target in (float("inf"), float("nan")):
        with pytest.raises(bp.errors.InputError):
            solve_fast(p, {"w": 3.0, "b": 4.0}, target, vary, tol=1e-9)
    with pytest.raises(KeyError):
        solve_fast(p, {"w": 3.0}, 60.0, vary)
    # ints and a start the caller changes afterwards: the run keeps its own floats
    start = {"w": 3, "b": 4}
    run = same(p, start, 60, vary, tol=1e-9)
    start["b"] = 100
    assert run.start == {"w": 3.0, "b": 4.0} and type(run.start["b"]) is float
    assert [r.values["b"] for r in run.iterations][0] == 4.0


def test_random_pure_polynomials_with_large_coefficients_and_starts():
    # certified rows (every moving line a polynomial) near the certificate's limits: big
    # coefficients, starts from 1e-3 to 1e40, a fixed variable's partial that may overflow
    rng = random.Random(5)
    for _ in range(150):
        k = rng.choice(["1", "1e100", "1e200", "1e270", "1e290"])
        c = [rng.choice([-3, -1, 1, 2]) for _ in range(3)]
        text = f"{c[0]}*x^3 + {c[1]}*x*x*y + w*{k}*x*x + {c[2]}*y"
        p = bp.compile(text)
        scale = 10.0 ** rng.choice([-3, 0, 1, 5, 12, 20, 40])
        start = {"x": rng.uniform(-1, 1) * scale, "y": rng.uniform(-2, 2), "w": rng.choice([0.0, 1e-30, 1.0])}
        split, gradient = rng.choice(MODES)
        same(p, start, rng.uniform(-100, 100), rng.choice([["x"], ["x", "y"], ["y"]]), split=split,
             gradient=gradient, tol=rng.choice([1e-3, 1e-9]), max_iter=rng.choice([5, 50]))  # fmt: skip


@pytest.mark.parametrize("gradient", ["refresh", "freeze"])
def test_three_variables_split_gradient(gradient):
    # the least-norm step's Σg² was a local named _n2 — also the name of the third
    # variable's name constant, so the loop's first line raised UnboundLocalError
    p = bp.compile("x*y + w*x + y")
    run = same(p, {"x": 1.0, "y": 2.0, "w": 1.0}, 10.0, ["x", "y"], split="gradient", gradient=gradient)
    assert run.result.status in ("converged", "max_iterations")
    if gradient == "refresh":
        assert isinstance(run, FastSolveRun) and run.result.output == pytest.approx(10.0, abs=1e-5)


def test_solver_raises_like_the_reference_at_the_call():
    p = bp.compile(LESSON)
    start = {"w": 3.0, "b": 4.0}
    for vary, kw in ((["b"], {"tol": 0.0}), (["b"], {"max_iter": 0}), (["b"], {"split": "odd"}),
                     (["b"], {"gradient": "warm"}), (["y"], {}), (["y"], {"tol": -1.0})):  # fmt: skip
        run = solver(p, vary, **kw)  # nothing raised when compiling the setup
        with pytest.raises(bp.errors.InputError) as a:
            run(start, 60.0)
        with pytest.raises(bp.errors.InputError) as b:
            solve(p, start, 60.0, vary, detail=True, **kw)
        assert a.value.message == b.value.message
    run = solver(p, ["b"], tol=1e-9)
    for target in (float("inf"), float("nan")):
        with pytest.raises(bp.errors.InputError):
            run(start, target)
    with pytest.raises(KeyError):
        run({"w": 3.0}, 60.0)


def test_solver_sweeps_targets_and_starts_like_solve():
    """One compiled setup, many targets and starts: each run is solve()'s (W5 numbers)."""
    p = bp.compile("(w*2+b)*(b+1)")
    run = solver(p, ("b",), tol=1e-9)
    first = run({"w": 3.0, "b": 4.0}, 60.0)
    assert isinstance(first, FastSolveRun) and first.result.status == "converged"
    assert first.result.values["b"] == pytest.approx((-7 + 265**0.5) / 2, abs=1e-9)
    for target, b0 in itertools.product([60.0, 50.0, 10.0, 100.0, -2.0], [4.0, 0.5, 10.0, -3.0]):
        got = run({"w": 3.0, "b": b0}, target)
        want = solve(p, {"w": 3.0, "b": b0}, target, ("b",), tol=1e-9, detail=False)
        assert got.result == want.result
        assert got.iterations == want.iterations


def test_compiled_fast_path_gives_the_same_iterates():
    p = bp.compile(LESSON)
    a = solve(p, {"w": 3.0, "b": 4.0}, 60.0, ["b", "w"], detail=True)
    b = solve(p, {"w": 3.0, "b": 4.0}, 60.0, ["b", "w"], detail=False)
    assert a.result.updates == b.result.updates
    for ra, rb in zip(a.iterations, b.iterations):
        assert ra.output == rb.output and ra.steps == rb.steps and ra.partials == rb.partials
    assert set(b.iterations[0].values) == {"w", "b"}
