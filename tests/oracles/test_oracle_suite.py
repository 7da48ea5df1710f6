"""The oracle suite: every operator and function, four ways.

Reverse mode (Program.trace adjoints AND the compiled Program.value_and_grad), forward
mode (Program.forward_gradient, dual numbers), central finite differences and SymPy
(built from our graph, see tests/helpers/oracles.py) must agree at a point inside each
domain; the compiled path equals the interpreted one on arrays; and hand-computed values.
The suite itself is tests/helpers/oracle_suite.py.
"""

from __future__ import annotations

import numpy as np
import pytest

import backprop_cli
from backprop_cli.core import primitives
from tests.helpers.oracle_suite import HAND, SUITE
from tests.helpers.oracles import assert_four_ways, close

OPERATORS = {"+", "-", "*", "/", "^", "**"}
FUNCTIONS = {
    "sin",
    "cos",
    "tan",
    "asin",
    "acos",
    "atan",
    "sinh",
    "cosh",
    "tanh",
    "exp",
    "ln",
    "log",
    "log2",
    "log10",
    "sqrt",
    "abs",
    "sigmoid",
    "relu",
    "softplus",
    "pow",
    "min",
    "max",
}


def test_suite_covers_every_operator_and_function():
    import re

    texts = " ".join(text for _, text, _ in SUITE)
    called = set(re.findall(r"([a-z0-9]+)\(", texts))
    assert FUNCTIONS <= called, FUNCTIONS - called
    assert all(op in texts for op in OPERATORS)
    assert "log(x, " in texts  # two-argument log
    assert len(SUITE) >= 30
    ops = {n.op for _, text, _ in SUITE for n in backprop_cli.compile(text).nodes}
    assert ops >= set(primitives.TABLE) | {"var", "const"}, set(primitives.TABLE) - ops


@pytest.mark.parametrize("text, at", [pytest.param(t, a, id=i) for i, t, a in SUITE])
def test_four_ways(text, at):
    assert_four_ways(text, at)


@pytest.mark.parametrize("text, at", [pytest.param(t, a, id=i) for i, t, a in SUITE])
def test_compiled_equals_interpreted_on_arrays(text, at):
    """Issue 6: the compiled path equals the interpreted path — numpy arrays of points too."""
    program = backprop_cli.compile(text)
    rng = np.random.default_rng(20240601)
    # five points: the suite point and four small perturbations of it (same domain)
    arrays = {k: v + np.concatenate([[0.0], rng.uniform(-0.01, 0.01, 4)]) for k, v in at.items()}
    t = program.trace(arrays)
    value, grads = program.function()(*[arrays[k] for k in program.variables])
    np.testing.assert_allclose(value, t.value, rtol=1e-12, atol=0)
    for k, g in zip(program.variables, grads):
        ref = np.broadcast_to(t.adjoints[program.graph.names[k]], (5,))
        np.testing.assert_allclose(np.broadcast_to(g, (5,)), ref, rtol=1e-12, atol=1e-15)
    # and each array element equals the scalar compiled result
    f = program.function()
    for p in range(5):
        sv, sg = f(*[float(arrays[k][p]) for k in program.variables])
        assert close(sv, float(np.broadcast_to(value, (5,))[p]), 1e-13, 1e-300)
        for k, a, b in zip(program.variables, sg, grads):
            assert close(a, float(np.broadcast_to(b, (5,))[p]), 1e-12, 1e-15), k


@pytest.mark.parametrize("text, at, value, grad", [pytest.param(*h, id=h[0]) for h in HAND])
def test_hand_computed(text, at, value, grad):
    p = backprop_cli.compile(text)
    v, g = p.value_and_grad(at)
    assert v == pytest.approx(value, rel=1e-12)
    assert g == pytest.approx(grad, rel=1e-12)
    assert p.forward_gradient(at) == pytest.approx(grad, rel=1e-12)
