"""The solve engine (engines/solve.py): the lesson's hand computation, both split rules,
both gradient rules, every stopping status and the order of the policy's rules — and the
README's solve example, whose every shown value is what it returns.
"""

from __future__ import annotations

import math
from fractions import Fraction

import pytest

import backprop_cli as bp
from backprop_cli.engines.solve import Iteration, Policy, SolveResult, iterate, solve

LESSON = "x = 2*w + b; y = b + 1; z = x*y"
ROOT = (-7 + math.sqrt(265)) / 2  # the exact root of (6+b)(b+1) = 60


def lesson(**kw):
    return solve(bp.compile(LESSON), {"w": 3.0, "b": 4.0}, 60.0, ["b"], **kw)


# -- the lesson (domain.md §2) ---------------------------------------------------------
def test_lesson_freeze_reproduces_the_hand_table():
    run = lesson(gradient="freeze")
    rows = run.iterations
    r0, r1, r2 = rows[0], rows[1], rows[2]
    assert (r0.values["b"], r0.values["x"], r0.values["y"], r0.output) == (4.0, 10.0, 5.0, 50.0)
    assert r0.error == -10.0 and r0.partials == {"b": 15.0} and r0.factors == {"b": 15.0}
    assert r0.steps["b"] == pytest.approx(-2 / 3, rel=1e-15)
    # step 1: b = 14/3 = 4.66667, z = (6 + 14/3)(1 + 14/3) = 544/9 = 60.4444 exactly
    assert r1.values["b"] == pytest.approx(14 / 3, rel=1e-15)
    assert round(r1.values["b"], 5) == 4.66667
    assert r1.output == pytest.approx(float(Fraction(544, 9)), rel=1e-14)
    assert round(r1.output, 4) == 60.4444
    assert r1.factors == {"b": 15.0}  # frozen, although the partial is now 16.3333
    assert r1.partials["b"] == pytest.approx(49 / 3, rel=1e-14)
    # step 2: b = 14/3 − (4/9)/15 = 626/135 = 4.63704, z = 59.9614
    assert r2.values["b"] == pytest.approx(626 / 135, rel=1e-14)
    assert round(r2.values["b"], 5) == 4.63704
    assert round(r2.output, 4) == 59.9614
    assert all(r.factors == {"b": 15.0} for r in rows)
    res = run.result
    assert res.status == "converged" and res.updates == 6 and len(rows) == 7
    assert round(res.values["b"], 6) == 4.639410
    assert abs(res.error) < 1e-5 and abs(rows[5].error) >= 1e-5
    assert rows[-1].steps is None and all(r.steps is not None for r in rows[:-1])


def test_lesson_refresh_is_newton_and_needs_three_updates():
    run = lesson(gradient="refresh")
    res = run.result
    assert res.status == "converged" and res.updates == 3
    assert res.values["b"] == pytest.approx(ROOT, abs=1e-9)
    # refreshed factor: x + y = 16.3333 after step 1
    assert run.iterations[1].factors["b"] == pytest.approx(49 / 3, rel=1e-14)
    assert run.iterations[1].steps["b"] == pytest.approx(
        float(Fraction(4, 9) / Fraction(49, 3)), rel=1e-12
    )


def test_per_node_deltas_and_sign_convention():
    row = lesson().iterations[0]
    # Δn = error / (∂z/∂n) with error = z − target = −10; ∂z/∂(w, b, x, y, z) = 10, 15, 5, 10, 1
    assert row.adjoints == {"w": 10.0, "b": 15.0, "x": 5.0, "y": 10.0, "z": 1.0}
    assert row.deltas == pytest.approx({"w": -1.0, "b": -2 / 3, "x": -2.0, "y": -1.0, "z": -10.0})
    # the chain x → a = x² → b = ln a → c = √b: Δc, Δb, Δa, Δx
    p = bp.compile("a = x^2; b = ln(a); c = sqrt(b)")
    r = solve(p, {"x": 2.0}, 1.0, max_iter=1).iterations[0]
    c = math.sqrt(math.log(4.0))
    err = c - 1.0
    dc_db = 1 / (2 * c)
    assert r.deltas["c"] == pytest.approx(err)
    assert r.deltas["b"] == pytest.approx(err / dc_db)
    assert r.deltas["a"] == pytest.approx(err / (dc_db / 4.0))
    assert r.deltas["x"] == pytest.approx(err / (dc_db / 4.0 * 4.0))


def test_zero_partial_gives_none_delta():
    # w does not reach z = b*b: ∂z/∂w = 0 → Δw is None (and w is not varied, so the solve runs)
    p = bp.compile("u = w + 1; z = b*b")
    r = solve(p, {"w": 1.0, "b": 1.0}, 4.0, ["b"]).iterations[0]
    assert r.deltas["w"] is None and r.deltas["u"] is None and r.deltas["b"] == pytest.approx(-1.5)


def test_start_within_tolerance_converges_with_zero_updates():
    run = solve(bp.compile("x^2"), {"x": 3.0}, 9.0)
    assert run.result.status == "converged" and run.result.updates == 0
    assert len(run.iterations) == 1 and run.iterations[0].steps is None


def test_iterate_streams_rows_then_one_result():
    recs = list(iterate(bp.compile(LESSON), {"w": 3.0, "b": 4.0}, 60.0, ["b"]))
    assert all(isinstance(r, Iteration) for r in recs[:-1]) and isinstance(recs[-1], SolveResult)
    assert [r.iteration for r in recs[:-1]] == [0, 1, 2, 3]


# -- two varied variables --------------------------------------------------------------
def test_split_even_two_variables_first_two_steps():
    # f = a*b from a=1, b=2 to 8. Row 0: error −6; each absorbs −3 through its own partial:
    # a ← 1 − (−3)/2 = 2.5, b ← 2 − (−3)/1 = 5. Row 1: f = 12.5, error 4.5, each absorbs 2.25:
    # a ← 2.5 − 2.25/5 = 2.05, b ← 5 − 2.25/2.5 = 4.1.
    run = solve(bp.compile("a*b"), {"a": 1.0, "b": 2.0}, 8.0, split="even")
    r0, r1, r2 = run.iterations[:3]
    assert r0.error == -6.0 and r0.steps == pytest.approx({"a": -1.5, "b": -3.0})
    assert r1.values == pytest.approx({"a": 2.5, "b": 5.0}) and r1.error == pytest.approx(4.5)
    assert r1.steps == pytest.approx({"a": 0.45, "b": 0.9})
    assert r2.values == pytest.approx({"a": 2.05, "b": 4.1})
    assert run.result.status == "converged"
    assert run.result.values["a"] * run.result.values["b"] == pytest.approx(8.0, abs=1e-5)


def test_split_gradient_two_variables_first_two_steps():
    # least-norm step v ← v − error·g_v/Σg². Row 0: g = (2, 1), Σg² = 5, error −6:
    # a ← 1 + 12/5 = 3.4, b ← 2 + 6/5 = 3.2. Row 1: f = 10.88, error 2.88, g = (3.2, 3.4),
    # Σg² = 21.8: a ← 3.4 − 2.88·3.2/21.8, b ← 3.2 − 2.88·3.4/21.8.
    run = solve(bp.compile("a*b"), {"a": 1.0, "b": 2.0}, 8.0, split="gradient")
    r0, r1, r2 = run.iterations[:3]
    assert r0.steps == pytest.approx({"a": -2.4, "b": -1.2})
    assert r1.values == pytest.approx({"a": 3.4, "b": 3.2})
    assert r1.output == pytest.approx(10.88) and r1.partials == pytest.approx({"a": 3.2, "b": 3.4})
    sa, sb = (
        Fraction("2.88") * Fraction("3.2") / Fraction("21.8"),
        Fraction("2.88") * Fraction("3.4") / Fraction("21.8"),
    )
    assert r1.steps == pytest.approx({"a": float(sa), "b": float(sb)}, rel=1e-12)
    assert r2.values == pytest.approx(
        {"a": float(Fraction("3.4") - sa), "b": float(Fraction("3.2") - sb)}, rel=1e-12
    )
    assert run.result.status == "converged"


def test_split_gradient_survives_one_zero_partial_but_even_does_not():
    p = bp.compile("a*b")
    even = solve(p, {"a": 0.0, "b": 2.0}, 8.0, split="even")
    assert even.result.status == "zero_gradient" and even.result.variable == "b"
    grad = solve(p, {"a": 0.0, "b": 2.0}, 8.0, split="gradient")
    assert grad.iterations[0].steps["b"] == 0.0 and grad.result.status == "converged"


def test_freeze_with_two_variables_reuses_both_first_partials():
    run = solve(bp.compile("a*b"), {"a": 1.0, "b": 2.0}, 8.0, gradient="freeze", max_iter=3)
    assert all(r.factors == {"a": 2.0, "b": 1.0} for r in run.iterations)


# -- failure statuses ------------------------------------------------------------------
def test_zero_gradient_names_the_variable_and_point():
    run = solve(bp.compile("x^2"), {"x": 0.0}, 1.0)
    res = run.result
    assert res.status == "zero_gradient" and res.variable == "x" and res.updates == 0
    assert "∂f/∂x is 0" in res.message and "x = 0" in res.message and "iteration 0" in res.message
    assert run.iterations[-1].steps is None


def test_domain_error_keeps_the_trace_and_names_node_and_value():
    # Newton on ln(x) = 0 from x = 5 steps to 5·(1 − ln 5) = −3.047: ln leaves its domain
    run = solve(bp.compile("ln(x)"), {"x": 5.0}, 0.0)
    res = run.result
    assert res.status == "domain_error" and res.node == "ln(x)"
    assert len(run.iterations) == 1 and run.iterations[0].steps is None and res.updates == 0
    bad = 5.0 * (1 - math.log(5.0))
    assert res.attempted["values"]["x"] == pytest.approx(bad)
    assert res.attempted["steps"]["x"] == pytest.approx(5.0 * math.log(5.0))
    assert "ln needs a positive argument" in res.message and "-3.04719" in res.message
    assert res.error_detail["kind"] == "domain_error"


def test_domain_error_at_the_start():
    run = solve(bp.compile("sqrt(x)"), {"x": -1.0}, 1.0)
    assert run.result.status == "domain_error" and run.iterations == ()
    assert run.result.output is None and run.result.values == {"x": -1.0}


def test_non_finite_value_and_non_finite_step():
    run = solve(bp.compile("x*1e200*1e200"), {"x": 1.0}, 0.0)
    assert run.result.status == "non_finite" and "overflows" in run.result.message
    run = solve(bp.compile("1e-320*x"), {"x": 1.0}, 1.0)  # step −1/1e-320 overflows
    assert run.result.status == "non_finite" and run.result.variable == "x"
    assert run.result.attempted["steps"]["x"] == -math.inf


def test_diverged_error_blows_up_with_frozen_partial():
    # freeze on x² = 4 from 0.1: factor 0.2 forever; the error grows quadratically
    run = solve(bp.compile("x^2"), {"x": 0.1}, 4.0, gradient="freeze")
    assert run.result.status == "diverged" and run.result.updates <= 5
    assert abs(run.result.error) > 1e12 * 3.99


def test_diverged_error_growing_steadily():
    # Newton on the cube root x^(1/3) doubles |x| each step: |error| grows by 2^(1/3) per step
    run = solve(bp.compile("x/abs(x)^(2/3)"), {"x": 1.0}, 0.0)
    assert run.result.status == "diverged" and run.result.updates == 10
    assert [r.values["x"] for r in run.iterations[:4]] == pytest.approx([1, -2, 4, -8])


def test_diverged_iterates_run_away():
    # Newton on atan(x) = 0 from |x0| > 1.39 overshoots farther every step
    run = solve(bp.compile("atan(x)"), {"x": 2.0}, 0.0)
    assert run.result.status == "diverged" and "ran away" in run.result.message
    assert run.result.updates < 10


def test_oscillating_newton_cycle_detected_within_two_cycles():
    # f(x) = x³ − 2x + 2 from 0: Newton goes 0 → 1 → 0 → 1 …
    run = solve(bp.compile("x^3 - 2*x + 2"), {"x": 0.0}, 0.0)
    assert run.result.status == "oscillating" and "period 2" in run.result.message
    assert [r.values["x"] for r in run.iterations] == [0.0, 1.0, 0.0, 1.0]


def test_oscillating_attracting_cycle_approached_gradually():
    # from x0 = 0.1 Newton falls onto the same (attracting) 0 ↔ 1 cycle
    run = solve(bp.compile("x^3 - 2*x + 2"), {"x": 0.1}, 0.0)
    assert run.result.status == "oscillating" and run.result.updates < 25
    # …while from 0.3 it escapes to the real root −1.7693
    run = solve(bp.compile("x^3 - 2*x + 2"), {"x": 0.3}, 0.0)
    assert run.result.status == "converged"
    assert run.result.values["x"] == pytest.approx(-1.7692923542386314, abs=1e-8)


def test_slow_see_saw_convergence_is_not_a_cycle():
    # freeze on x² = 4 from 1.001: factor 2.002 against a true slope of 4 at the root, so the
    # error flips sign and shrinks by only 0.998 per step. Late in the run each point is within
    # 1e-9 of the one two rows back, but the see-saw to the previous point is ~500× wider:
    # slow convergence, not a cycle.
    run = solve(
        bp.compile("x^2"),
        {"x": 1.001},
        4.0,
        gradient="freeze",
        tol=1e-12,
        max_iter=9000,
        detail=False,
    )
    assert run.result.status == "max_iterations"
    xs = [r.values["x"] for r in run.iterations[-3:]]
    assert abs(xs[2] - xs[0]) < 1e-9 * 2 and abs(xs[2] - xs[1]) > 400 * abs(xs[2] - xs[0])


def test_max_iterations():
    run = lesson(gradient="freeze", max_iter=2)
    assert run.result.status == "max_iterations" and run.result.updates == 2
    assert len(run.iterations) == 3 and run.iterations[-1].steps is None


def test_lesson_written_z_first_gives_the_same_hand_table():
    """Statements in any order (sorted by the parser): the same rows, number for number."""
    z_first = solve(bp.compile("z = x*y; x = 2*w + b; y = b + 1"), {"w": 3.0, "b": 4.0}, 60.0,
                    ["b"], gradient="freeze")  # fmt: skip
    rows, want = z_first.iterations, lesson(gradient="freeze").iterations
    assert [(r.values, r.output, r.error, r.partials, r.steps) for r in rows] == [
        (r.values, r.output, r.error, r.partials, r.steps) for r in want
    ]
    assert rows[1].values["b"] == pytest.approx(14 / 3, rel=1e-15)
    assert z_first.result.updates == 6 and round(z_first.result.values["b"], 6) == 4.639410


# -- the policy: the rules in their order, on raw numbers -----------------------------------
def _policy(**kw):
    return Policy(bp.compile("x*y"), 8.0, ["x", "y"], **{"tol": 1e-5, "max_iter": 5, **kw})


def test_policy_rules_apply_in_their_order():
    # an output that is not finite: non_finite, its row without factors
    stop = _policy().check(0, (1.0, 2.0), math.nan, math.nan, (2.0, 1.0))
    assert stop.status == "non_finite" and not stop.factors and "output f is not finite" in stop.message
    # converged before a zero factor; a zero factor before max_iter
    assert _policy().check(0, (1.0, 2.0), 8.0, 0.0, (0.0, 0.0)).status == "converged"
    p = _policy(max_iter=1)
    assert p.check(0, (1.0, 2.0), 2.0, -6.0, (2.0, 1.0)) is None
    assert p.check(1, (4.0, 5.0), 20.0, 12.0, (0.0, 4.0)).status == "zero_gradient"
    g = _policy(max_iter=1, split="gradient")  # one zero of two: the least-norm step goes on
    assert g.check(0, (1.0, 2.0), 2.0, -6.0, (2.0, 1.0)) is None
    assert g.check(1, (4.0, 5.0), 20.0, 12.0, (0.0, 4.0)).status == "max_iterations"


def test_policy_words_the_point_with_every_variable_in_program_order():
    p = Policy(bp.compile("w*b + c"), 0.0, ["c"], max_iter=1)
    p.start({"w": 2.0, "b": 3.0, "c": 0.5})
    stop = p.check(0, (0.5,), 6.5, 6.5, (0.0,))
    assert stop.status == "zero_gradient" and stop.extra == {"variable": "c"}
    assert "at iteration 0 (w = 2, b = 3, c = 0.5)" in stop.message


# -- the README's Python API -------------------------------------------------------------
def _readme_solve_block() -> list[str]:
    from pathlib import Path

    text = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    section = text.split("## Python API", 1)[1].split("\n## ", 1)[0]
    blocks = [b.split("```", 1)[0] for b in section.split("```python\n")[1:]]
    (block,) = [b for b in blocks if "engines.solve import" in b]
    return [line for line in block.splitlines() if line.strip()]


def test_readme_python_api_solve_lines_show_what_they_return():
    """Every line of the README's solve example that shows a value (``expr  # value``)
    returns exactly that value; the others run."""
    namespace = {"p": bp.compile(LESSON)}
    shown = 0
    for line in _readme_solve_block():
        code, _, comment = line.partition("  # ")
        if not comment or code.lstrip().startswith(("from ", "import ")) or "=" in code.split("(")[0]:
            exec(line, namespace)
            continue
        value = eval(code, namespace)
        assert repr(value) == comment.split()[0].rstrip(":"), line
        shown += 1
    assert shown >= 4
    run = namespace["run"]
    assert run.result.values["b"] == pytest.approx(ROOT, abs=1e-9) and run.result.status == "converged"
