"""Each update rule's first two steps against a hand computation, and convergence.

The function throughout is the lesson's y = (x − 1)^2 + 0.001 from x0 = 0.2, so
y'(x) = 2(x − 1), y'' = 2. Steps are the change added to x: x_{k+1} = x_k + Δ_k.
Newton on a line (zero curvature) stops with nonpositive_curvature.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from typer.testing import CliRunner

import backprop_cli
from backprop_cli.cli import app
from backprop_cli.engines.descend import descend
from backprop_cli.engines.optimizers import OPTIMIZERS, CurvatureError, Newton, cholesky_solve, make
from tests.helpers.oracles import strict_json as strict

LESSON = "(x - 1)^2 + 0.001"
TWO_VAR = "(x - 1)^2 + 2*(y + 2)^2"


def dy(x):
    return 2 * (x - 1)


def first_two_steps(name, eta):
    """Two steps through the optimizer object itself (y'' = 2 for newton)."""
    opt = make(name, eta)
    x = 0.2
    out = []
    for _ in range(2):
        (d,) = opt.step([x], [dy(x)], [[2.0]])
        out.append(d)
        x += d
    return out


def hand_steps(name):
    eps = 1e-8
    if name == "sgd":  # Δ = −η·g, η = 0.1
        g0 = dy(0.2)  # −1.6
        d0 = -0.1 * g0  # 0.16 → x1 = 0.36
        g1 = dy(0.2 + d0)  # −1.28
        return [d0, -0.1 * g1], [0.16, 0.128]
    if name == "momentum":  # v ← 0.9·v − η·g, Δ = v
        v1 = 0.9 * 0 - 0.1 * dy(0.2)  # 0.16
        v2 = 0.9 * v1 - 0.1 * dy(0.2 + v1)  # 0.144 + 0.128 = 0.272
        return [v1, v2], [0.16, 0.272]
    if name == "nesterov":  # v ← 0.9·v − η·g, Δ = 0.9·v − η·g
        g0 = dy(0.2)
        v1 = -0.1 * g0  # 0.16
        d0 = 0.9 * v1 - 0.1 * g0  # 0.144 + 0.16 = 0.304
        g1 = dy(0.2 + d0)  # 2(0.504 − 1) = −0.992
        v2 = 0.9 * v1 - 0.1 * g1  # 0.144 + 0.0992 = 0.2432
        d1 = 0.9 * v2 - 0.1 * g1  # 0.21888 + 0.0992 = 0.31808
        return [d0, d1], [0.304, 0.31808]
    if name == "adagrad":  # G ← G + g², Δ = −η·g/(√G + ε), η = 0.1
        G1 = 1.6**2  # 2.56
        d0 = 0.1 * 1.6 / (math.sqrt(G1) + eps)  # ≈ 0.1 → x1 = 0.3
        g1 = dy(0.2 + d0)  # ≈ 2(0.3 − 1) = −1.4
        G2 = G1 + g1 * g1  # ≈ 4.52
        d1 = -0.1 * g1 / (math.sqrt(G2) + eps)  # ≈ 0.14/2.126029 = 0.0658505
        return [d0, d1], [0.1, 0.14 / math.sqrt(4.52)]
    if name == "rmsprop":  # E ← 0.9·E + 0.1·g², Δ = −η·g/(√E + ε), η = 0.01
        E1 = 0.1 * 2.56  # 0.256
        d0 = 0.01 * 1.6 / (math.sqrt(E1) + eps)  # 0.016/0.5059644 = 0.0316228 (= 0.01·√10)
        g1 = dy(0.2 + d0)  # 2(0.2316228 − 1) = −1.5367544
        E2 = 0.9 * E1 + 0.1 * g1 * g1  # 0.2304 + 0.2361614 = 0.4665614
        d1 = -0.01 * g1 / (math.sqrt(E2) + eps)  # 0.015367544/0.6830530 = 0.02249832
        return [d0, d1], [0.01 * math.sqrt(10), 0.02249832]
    if name == "adam":  # bias-corrected, η = 0.01, β1 = 0.9, β2 = 0.999
        m1, v1 = 0.1 * -1.6, 0.001 * 2.56  # −0.16, 0.00256
        d0 = -0.01 * (m1 / 0.1) / (math.sqrt(v1 / 0.001) + eps)  # 0.01·1.6/1.6 = 0.01 → x1 = 0.21
        g1 = dy(0.2 + d0)  # ≈ 2(0.21 − 1) = −1.58
        m2 = 0.9 * m1 + 0.1 * g1  # −0.302
        v2 = 0.999 * v1 + 0.001 * g1 * g1  # 0.00255744 + 0.0024964 = 0.00505384
        mh, vh = m2 / (1 - 0.9**2), v2 / (1 - 0.999**2)  # −0.302/0.19 = −1.5894737, 2.528184
        d1 = -0.01 * mh / (math.sqrt(vh) + eps)  # 0.015894737/1.590026 = 0.0099965
        return [d0, d1], [0.01, 0.01 * 1.5894737 / math.sqrt(2.528184)]
    if name == "newton":  # Δ = −η·y'/y'', η = 1: straight to the bottom, then 0
        return [-dy(0.2) / 2.0, 0.0], [0.8, 0.0]
    raise AssertionError(name)


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_first_two_steps_match_hand_computation(name):
    eta = OPTIMIZERS[name].default_eta
    got = first_two_steps(name, eta)
    exact, rounded = hand_steps(name)
    assert got == pytest.approx(exact, rel=1e-12, abs=1e-15)
    assert got == pytest.approx(rounded, rel=1e-6, abs=1e-12)


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_first_two_steps_in_the_engine(name):
    run = descend(backprop_cli.compile(LESSON), {"x": 0.2}, name)
    exact, _ = hand_steps(name)
    recs = run.records()
    assert recs[0].steps["x"] == pytest.approx(exact[0], rel=1e-12)
    if name != "newton":  # newton stops at row 1 (gradient exactly 0)
        assert recs[1].steps["x"] == pytest.approx(exact[1], rel=1e-12)
    assert recs[1].values["x"] == pytest.approx(0.2 + exact[0], rel=1e-12)


# η per optimizer for the two-variable bowl (curvatures 2 and 8)
ETA_2D = {
    "sgd": 0.1,
    "momentum": 0.05,
    "nesterov": 0.05,
    "adagrad": 0.5,
    "rmsprop": 0.01,
    "adam": 0.05,
    "newton": 1.0,
}


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_reaches_the_minimum(name):
    one = descend(backprop_cli.compile(LESSON), {"x": 0.2}, name)
    assert one.status == "converged", one.result.message
    assert one.result.values["x"] == pytest.approx(1.0, abs=1e-5)
    two = descend(backprop_cli.compile(TWO_VAR), {"x": 0.0, "y": 0.0}, name, ETA_2D[name])
    assert two.status == "converged", two.result.message
    assert two.result.values["x"] == pytest.approx(1.0, abs=1e-5)
    assert two.result.values["y"] == pytest.approx(-2.0, abs=1e-5)


def test_newton_finds_a_parabola_minimum_in_one_step():
    for expr, start, where in [
        ("3*(x - 2)^2 + 5", {"x": -7.0}, {"x": 2.0}),
        ("(x - 1)^2 + 2*(y + 2)^2 + x*y", {"x": 4.0, "y": 3.0}, None),
    ]:
        run = descend(backprop_cli.compile(expr), start, "newton")
        assert run.status == "converged" and run.result.iterations == 1
        if where is None:  # ∇ = 0: 2(x−1) + y = 0, 4(y+2) + x = 0 → x = 16/7, y = −18/7
            where = {"x": 16 / 7, "y": -18 / 7}
        for v, val in where.items():
            assert run.result.values[v] == pytest.approx(val, rel=1e-12)


def test_newton_refuses_nonpositive_curvature():
    with pytest.raises(CurvatureError):
        Newton().step([0.5], [-1.0], [[-2.0]])
    with pytest.raises(CurvatureError):
        Newton().step([0.0, 0.0], [1.0, 1.0], [[1.0, 2.0], [2.0, 1.0]])  # indefinite
    run = descend(backprop_cli.compile("-x^2 + x^4"), {"x": 0.1}, "newton")  # f''(0.1) = −1.88
    assert run.status == "nonpositive_curvature"
    assert "not positive" in run.result.message and run.result.iterations == 0


def test_cholesky_solve():
    H = [[4.0, 1.0], [1.0, 3.0]]
    d = cholesky_solve(H, [1.0, 2.0])
    assert d == pytest.approx(np.linalg.solve(np.array(H), [1.0, 2.0]).tolist(), rel=1e-12)


@pytest.mark.parametrize("name", [n for n in OPTIMIZERS if n != "newton"])
def test_works_on_numpy_arrays_like_on_floats(name):
    """Elementwise: one array of three parameters (and an array η) equals three scalar runs."""
    etas = np.array([0.01, 0.05, 0.1])
    xs = np.array([0.2, -1.0, 3.0])
    opt = make(name, etas)
    scalar = [make(name, float(e)) for e in etas]
    sx = [float(v) for v in xs]
    for _ in range(5):
        (d,) = opt.step([xs], [dy(xs)])
        ds = [o.step([x], [dy(x)])[0] for o, x in zip(scalar, sx)]
        assert d.tolist() == pytest.approx(ds, rel=1e-14)
        xs = xs + d
        sx = [x + e for x, e in zip(sx, ds)]


def test_make_rejects_unknown_names_and_hyperparameters():
    with pytest.raises(ValueError, match="unknown optimizer"):
        make("lbfgs")
    with pytest.raises(ValueError, match="does not take"):
        make("sgd", 0.1, beta=0.9)
    assert make("adam", None, beta1=None).beta1 == 0.9
    assert make("newton").eta == 1.0 and make("sgd").eta == 0.1


ENV = {"COLUMNS": "120", "NO_COLOR": "1"}


def invoke(*args):
    return CliRunner().invoke(app, list(args), env=ENV)


def test_newton_on_a_line_is_nonpositive_curvature():
    r = invoke("descend", "3*x + 1", "--x0", "2", "--optimizer", "newton", "--json")
    assert r.exit_code == 1
    doc = strict(r.stdout)
    assert doc["status"] == "nonpositive_curvature"
    assert doc["iterations"] == [
        {"iteration": 0, "values": {"x": 2.0}, "loss": 7.0, "gradient": {"x": 3.0},
         "steps": None, "curvature": 0.0, "stability_bound": None}
    ]  # fmt: skip
