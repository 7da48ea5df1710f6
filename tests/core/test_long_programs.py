"""Long programs (no recursion limit anywhere) and numpy batches of 10^6 points, through
compile, trace, value_and_grad, forward_gradient and the Hessian.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import backprop_cli


def _all_ways(program, at):
    """value and gradient through compile, trace, value_and_grad and forward_gradient."""
    f = program.function()
    v1, g1 = f(*[at[n] for n in program.variables])
    t = program.trace(at)
    v2 = t.value
    g2 = tuple(t.adjoints[program.graph.names[n]] for n in program.variables)
    v3, g3 = program.value_and_grad(at)
    g4 = program.forward_gradient(at)
    return (
        (v1, g1),
        (v2, g2),
        (v3, tuple(g3[n] for n in program.variables)),
        tuple(g4[n] for n in program.variables),
    )


def test_flat_5000_term_sum():
    text = " + ".join(["x"] * 5000)
    p = backprop_cli.compile(text)
    (v1, g1), (v2, g2), (v3, g3), g4 = _all_ways(p, {"x": 0.5})
    assert v1 == v2 == v3 == 2500.0
    assert g1 == g2 == g3 == g4 == (5000.0,)


def test_flat_5000_term_sum_of_distinct_terms():
    # Σ k·x^2 for k = 1..5000 at x = 1.5: value 2.25·S, gradient 3·S with S = 5000·5001/2
    text = " + ".join(f"{k}*x^2" for k in range(1, 5001))
    p = backprop_cli.compile(text)
    s = 5000 * 5001 / 2
    (v1, g1), (v2, g2), (v3, g3), g4 = _all_ways(p, {"x": 1.5})
    for v in (v1, v2, v3):
        assert v == pytest.approx(2.25 * s, rel=1e-13)
    for g in (g1, g2, g3, g4):
        assert g[0] == pytest.approx(3 * s, rel=1e-13)


def test_10000_operation_chain():
    # x*1.0001/1.00005*1.0001/1.00005…: 10 000 operations, one left-deep chain in the tree
    text = "x" + "*1.0001/1.00005" * 5000
    p = backprop_cli.compile(text)
    assert len(p.nodes) > 10_000
    slope = (1.0001 / 1.00005) ** 5000
    (v1, g1), (v2, g2), (v3, g3), g4 = _all_ways(p, {"x": 2.0})
    for g in (g1, g2, g3, g4):
        assert g[0] == pytest.approx(slope, rel=1e-11)
    for v in (v1, v2, v3):
        assert v == pytest.approx(2.0 * slope, rel=1e-11)
    # and with sums mixed in: x - 1 + 1 - 1 + 1 … (10 000 operations), gradient exactly 1
    q = backprop_cli.compile("x" + "-1+1" * 5000)
    (w1, h1), (w2, h2), (w3, h3), h4 = _all_ways(q, {"x": 0.25})
    assert w1 == w2 == w3 == 0.25 and h1 == h2 == h3 == h4 == (1.0,)


def test_10000_deep_chain_of_functions():
    # sin(sin(…)) by statements: t_k = sin(t_{k-1}) — 10 000 nested calls as a program
    text = "t0 = x\n" + "\n".join(f"t{k} = sin(t{k - 1})" for k in range(1, 10_001))
    p = backprop_cli.compile(text)
    x = 0.3
    vals = [x]
    for _ in range(10_000):
        vals.append(math.sin(vals[-1]))
    d = 1.0
    for v in vals[:-1]:
        d *= math.cos(v)
    (v1, g1), (v2, g2), (v3, g3), g4 = _all_ways(p, {"x": x})
    assert v1 == v2 == v3 == pytest.approx(vals[-1], rel=1e-12)
    for g in (g1, g2, g3, g4):
        assert g[0] == pytest.approx(d, rel=1e-9)


def test_2000_statement_program():
    # s0 = x; s_k = s_{k-1} + x*y  → s_1999 = x + 1999·x·y; ∂/∂x = 1 + 1999y, ∂/∂y = 1999x
    lines = ["s0 = x"] + [f"s{k} = s{k - 1} + x*y" for k in range(1, 2000)]
    p = backprop_cli.compile("; ".join(lines))
    assert len(p.named) == 2000
    at = {"x": 2.0, "y": 3.0}
    (v1, g1), (v2, g2), (v3, g3), g4 = _all_ways(p, at)
    assert v1 == v2 == v3 == 2.0 + 1999 * 6.0
    assert g1 == g2 == g3 == g4 == (1.0 + 1999 * 3.0, 1999 * 2.0)
    # --of an early statement: only its ancestors matter
    q = p.with_output("s10")
    assert q.value_and_grad(at) == (2.0 + 10 * 6.0, {"x": 31.0, "y": 20.0})
    assert q.trace(at).value == 62.0


def test_hessian_of_a_long_sum():
    p = backprop_cli.compile(" + ".join(["x*x"] * 2000))
    assert p.hessian({"x": 1.0}) == [[4000.0]]


# ---------------------------------------------------------------------------- numpy
def test_one_million_points_in_one_call():
    p = backprop_cli.compile("x = 2*w + b; y = b + 1; z = x*y")
    rng = np.random.default_rng(7)
    w = rng.uniform(-5, 5, 1_000_000)
    b = rng.uniform(-5, 5, 1_000_000)
    value, (gw, gb) = p.function()(w, b)
    assert value.shape == gw.shape == gb.shape == (1_000_000,)
    np.testing.assert_allclose(value, (2 * w + b) * (b + 1), rtol=1e-14)
    np.testing.assert_allclose(gw, 2 * (b + 1), rtol=1e-14)
    np.testing.assert_allclose(gb, (b + 1) + (2 * w + b), rtol=1e-14, atol=1e-12)
    # value_and_grad with arrays is the same
    v2, g2 = p.value_and_grad({"w": w, "b": b})
    assert np.array_equal(v2, value) and np.array_equal(g2["b"], gb)
    # sampled points equal the scalar results exactly
    f = p.function()
    for i in rng.integers(0, 1_000_000, 20):
        sv, (sw, sb) = f(float(w[i]), float(b[i]))
        assert (sv, sw, sb) == (value[i], gw[i], gb[i])


def test_one_million_points_with_functions():
    p = backprop_cli.compile("sin(x)*exp(-y^2) + sqrt(x^2 + 1) + relu(y)")
    rng = np.random.default_rng(11)
    x = rng.uniform(-3, 3, 1_000_000)
    y = rng.uniform(-3, 3, 1_000_000)
    value, (gx, gy) = p.function()(x, y)
    np.testing.assert_allclose(
        value, np.sin(x) * np.exp(-(y**2)) + np.sqrt(x**2 + 1) + np.maximum(y, 0), rtol=1e-13
    )
    np.testing.assert_allclose(
        gx, np.cos(x) * np.exp(-(y**2)) + x / np.sqrt(x**2 + 1), rtol=1e-12, atol=1e-15
    )
    np.testing.assert_allclose(
        gy, np.sin(x) * np.exp(-(y**2)) * (-2 * y) + (y > 0), rtol=1e-12, atol=1e-15
    )
    t = p.trace({"x": x[:1000], "y": y[:1000]})
    np.testing.assert_allclose(t.value, value[:1000], rtol=1e-14)
    for i in rng.integers(0, 1_000_000, 10):
        sv, sg = p.value_and_grad({"x": float(x[i]), "y": float(y[i])})
        assert sv == pytest.approx(value[i], rel=1e-14)
        assert sg["x"] == pytest.approx(gx[i], rel=1e-12, abs=1e-15)


def test_one_bad_point_in_a_million_is_named():
    from backprop_cli.errors import DomainError

    p = backprop_cli.compile("ln(x)")
    x = np.linspace(1, 2, 1_000_000)
    x[123_456] = -1.0
    with pytest.raises(DomainError, match=r"at point 123456"):
        p.function()(x)
