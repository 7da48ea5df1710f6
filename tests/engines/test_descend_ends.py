"""How a descent ends (engines/descend.py): Ctrl-C at the last complete row, a loss that
falls without bound, a point the update no longer moves, and what kind of stationary point
a converged run reached — on the reference loop and the generated sgd loop alike."""

from __future__ import annotations

import itertools
import math
import random

import pytest

import backprop_cli
from backprop_cli.engines.descend import classify_point, descend, sweep


def interrupt_at(row: int):
    """A progress callback that raises KeyboardInterrupt (as Ctrl-C would) once k ≥ row."""

    def tick(k: int) -> None:
        if k >= row:
            raise KeyboardInterrupt

    return tick


@pytest.mark.parametrize("optimizer,fast", [("sgd", True), ("sgd", False), ("adam", True)])
def test_ctrl_c_ends_the_run_at_its_last_complete_row(optimizer, fast):
    p = backprop_cli.compile("(x - 3)^2 + 1e-3*(y + 1)^4")
    run = descend(p, {"x": 0.0, "y": 0.0}, optimizer, 1e-4, tol=1e-300, max_iter=200_000,
                  fast=fast, progress=interrupt_at(3000))  # fmt: skip
    res = run.result
    assert res.status == "interrupted" and not run.ok
    last = res.iterations
    assert last >= 3000 and len(run) == last + 1
    assert res.message == f"interrupted by Ctrl-C after {last} steps"
    # the rows kept are the rows an uninterrupted run makes (same floats), and the last
    # row's loss is the program's value there
    ref = descend(p, {"x": 0.0, "y": 0.0}, optimizer, 1e-4, tol=1e-300, max_iter=last, fast=False)
    assert ref.result.status == "max_iterations"
    for k in (0, 1, last // 2, last - 1, last):
        a, b = run.record(k), ref.record(k)
        assert a.values == b.values and a.loss == b.loss and a.gradient == b.gradient
        assert a.steps == b.steps
    assert res.values == ref.result.values
    assert res.loss == p.value_and_grad(res.values)[0]


@pytest.mark.parametrize("fast", [True, False])
@pytest.mark.parametrize("loss,x0", [("-x^2", 1.0), ("x^3", -1.0), ("-exp(x)", 1.0), ("-x^4 + x", 2.0)])
def test_a_loss_that_falls_without_bound_is_unbounded_below(loss, x0, fast):
    run = descend(backprop_cli.compile(loss), {"x": x0}, "sgd", 0.1, fast=fast)
    assert run.result.status == "unbounded_below"
    # either the loss passed −1e12·max(1, |loss₀|), or it was falling when the values overflowed
    assert run.result.loss is None or run.result.loss < -1e12
    assert "--eta" not in run.result.message and "no η" in run.result.message


def test_a_sweep_says_unbounded_below_for_every_eta():
    runs = sweep(backprop_cli.compile("-x^2"), {"x": 1.0}, "sgd", [0.01, 0.1, 0.5])
    assert [r.result.status for r in runs] == ["unbounded_below"] * 3


def test_a_loss_that_grows_is_still_diverged():
    run = descend(backprop_cli.compile("x^2"), {"x": 1.0}, "sgd", 1.5)
    assert run.result.status == "diverged" and "--eta" in run.result.message


@pytest.mark.parametrize("fast", [True, False])
def test_a_step_that_no_longer_moves_the_point_is_convergence(fast):
    """tol 0 never converges on the gradient; the update reaches a fixed point (the step
    −η·g is below half an ulp of x) and the run says converged, not max_iterations."""
    run = descend(backprop_cli.compile("(x - 1)^2"), {"x": 3.0}, "sgd", 0.1, tol=0.0,
                  max_iter=100_000, fast=fast)  # fmt: skip
    res = run.result
    assert res.status == "converged" and "no longer moves the point" in res.message
    k = res.iterations
    assert k < 100_000
    assert run.record(k).values == run.record(k - 1).values


def test_fixed_point_rows_agree_between_the_generated_loop_and_the_reference():
    p = backprop_cli.compile("(x - 1)^2 + (y + 2)^2/4")
    a = descend(p, {"x": 3.0, "y": 1.0}, "sgd", 0.3, tol=0.0, max_iter=50_000, fast=True)
    b = descend(p, {"x": 3.0, "y": 1.0}, "sgd", 0.3, tol=0.0, max_iter=50_000, fast=False)
    assert a.result == b.result


def test_momentum_is_not_stopped_by_one_unmoved_step():
    """Momentum keeps a velocity: an unmoved point does not mean the next step is zero."""
    run = descend(backprop_cli.compile("(x - 1)^2"), {"x": 3.0}, "momentum", 0.1, tol=1e-12,
                  max_iter=5_000)  # fmt: skip
    assert "no longer moves" not in run.result.message


@pytest.mark.parametrize(
    "loss,start,kind",
    [
        ("(x - 1)^2 + 0.001", {"x": 0.2}, "minimum"),
        ("x^4", {"x": 1.0}, "minimum"),
        ("x^3", {"x": 1.0}, "flat"),
        ("x^2 - y^2", {"x": 1.0, "y": 0.0}, "saddle"),
        ("-(x^2) - y^2", {"x": 0.0, "y": 0.0}, "maximum"),
        ("(x + y)^2", {"x": 1.0, "y": 0.0}, "flat"),
    ],
)
def test_a_converged_run_says_what_point_it_reached(loss, start, kind):
    run = descend(backprop_cli.compile(loss), start, "sgd", 0.1, max_iter=100_000)
    assert run.result.status == "converged"
    assert run.result.point_kind == kind


def test_until_loss_convergence_is_not_classified():
    run = descend(backprop_cli.compile("(x - 1)^2"), {"x": 3.0}, "sgd", 0.1, until_loss=0.5)
    assert run.result.status == "converged" and run.result.point_kind is None


def test_classification_matches_the_signs_of_a_known_spectrum():
    """Oracle: a quadratic form Σ λ_i (q_i·x)² with orthonormal q_i has eigenvalues 2λ_i, so
    its origin is a minimum, a maximum or a saddle by the signs of the λ_i alone."""
    rng = random.Random(7)
    for signs in itertools.product((1, -1), repeat=3):
        th = rng.uniform(0, math.pi)
        c, s = math.cos(th), math.sin(th)
        q = [(c, s, 0.0), (-s, c, 0.0), (0.0, 0.0, 1.0)]  # a rotation about z
        lams = [sg * rng.uniform(0.5, 3.0) for sg in signs]
        terms = " + ".join(
            f"({lam!r})*(({a!r})*x + ({b!r})*y + ({d!r})*z)^2" for lam, (a, b, d) in zip(lams, q)
        )
        p = backprop_cli.compile(terms)
        kind = classify_point(p, ("x", "y", "z"), [0.0, 0.0, 0.0], [0.0, 0.0, 0.0])
        expected = "minimum" if all(x > 0 for x in signs) else (
            "maximum" if all(x < 0 for x in signs) else "saddle")  # fmt: skip
        assert kind == expected, (signs, lams)


def test_a_wrong_hessian_would_be_caught():
    """The check above can fail: a program whose Hessian sign is flipped is called a maximum."""
    p = backprop_cli.compile("-((x - 1)^2)")
    assert classify_point(p, ("x",), [1.0], [0.0]) == "maximum"
    assert classify_point(backprop_cli.compile("(x - 1)^2"), ("x",), [1.0], [0.0]) == "minimum"
