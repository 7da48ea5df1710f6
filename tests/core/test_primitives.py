"""The primitives' documented conventions (kinks, 0^0) and domain errors, the same in every
evaluation path: the interpreter's trace, the compiled value_and_grad, forward mode, and
numpy arrays.
"""

from __future__ import annotations

import numpy as np
import pytest

import backprop_cli

CONVENTIONS = [
    # documented kink convention: the mean of the one-sided derivatives; 0^0 = 1
    ("abs'(0) = 0", "abs(x)", {"x": 0.0}, 0.0, {"x": 0.0}),
    ("relu'(0) = 0.5", "relu(x)", {"x": 0.0}, 0.0, {"x": 0.5}),
    ("min tie 0.5 each", "min(x, y)", {"x": 2.0, "y": 2.0}, 2.0, {"x": 0.5, "y": 0.5}),
    ("max tie 0.5 each", "max(x, y)", {"x": -1.0, "y": -1.0}, -1.0, {"x": 0.5, "y": 0.5}),
    ("max(x,x) = x", "max(x, x)", {"x": 3.0}, 3.0, {"x": 1.0}),
    ("0^0 = 1", "x^0", {"x": 0.0}, 1.0, {"x": 0.0}),
    ("x^1 at 0", "x^1", {"x": 0.0}, 0.0, {"x": 1.0}),
    ("x^1.5 at 0", "x^1.5", {"x": 0.0}, 0.0, {"x": 0.0}),
    ("x^2 negative base", "x^2", {"x": -3.0}, 9.0, {"x": -6.0}),
    ("x^3 negative base", "x^3", {"x": -2.0}, -8.0, {"x": 12.0}),
]


@pytest.mark.parametrize(
    "text, at, value, grad", [pytest.param(*c[1:], id=c[0]) for c in CONVENTIONS]
)
def test_conventions_same_in_every_path(text, at, value, grad):
    p = backprop_cli.compile(text)
    t = p.trace(at)
    assert t.value == value
    assert {v: t.adjoints[i] for v, i in zip(p.variables, p.graph.var_ids)} == grad
    assert p.value_and_grad(at) == (value, grad)
    assert p.forward_gradient(at) == grad
    arrays = {k: np.array([v, v]) for k, v in at.items()}
    av, ag = p.function()(*arrays.values())
    assert np.all(av == value)
    for k, g in zip(p.variables, ag):
        assert np.all(np.asarray(g) == grad[k])


INFINITE_SLOPES = [
    ("sqrt at 0", "sqrt(x)", {"x": 0.0}),
    ("asin at 1", "asin(x)", {"x": 1.0}),
    ("acos at -1", "acos(x)", {"x": -1.0}),
    ("x^0.5 at 0", "x^0.5", {"x": 0.0}),
    ("ln at 0", "ln(x)", {"x": 0.0}),
    ("division by zero", "1/x", {"x": 0.0}),
    ("0^negative", "x^-1", {"x": 0.0}),
    ("negative^fraction", "x^0.5", {"x": -4.0}),
    ("varying exponent at base 0", "x^y", {"x": 0.0, "y": 2.0}),
    ("log base 1", "log(x, b)", {"x": 2.0, "b": 1.0}),
    ("exp overflow", "exp(x)", {"x": 1000.0}),
    ("partial overflows", "1/x", {"x": 1e-200}),
    ("adjoint overflows", "1e300*sin(1e300*x)", {"x": 1e-300}),
]


@pytest.mark.parametrize("text, at", [pytest.param(c[1], c[2], id=c[0]) for c in INFINITE_SLOPES])
def test_domain_errors_in_every_path(text, at):
    from backprop_cli.errors import DomainError

    p = backprop_cli.compile(text)
    for name, run in (
        ("trace", lambda: p.trace(at)),
        ("value_and_grad", lambda: p.value_and_grad(at)),
        ("forward_gradient", lambda: p.forward_gradient(at)),
        ("arrays", lambda: p.function()(*[np.array([1.5, v]) for v in at.values()])),
    ):
        with pytest.raises(DomainError):
            run()
            pytest.fail(f"{name} did not raise")
