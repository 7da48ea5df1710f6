"""The Program API (issue 6): value_and_grad's generated wrapper (built once, irregular
input explained) and which statements an output evaluates.
"""

from __future__ import annotations

import pytest

import backprop_cli
from backprop_cli.engines.check import check
from backprop_cli.errors import InputError


def test_value_and_grad_matches_the_interpreter_and_is_built_once():
    p = backprop_cli.compile("x = 2*w + b; y = b + 1; z = x*y")
    early = p.value_and_grad  # bound before the first call: must not rebuild per call
    assert early({"w": 3.0, "b": 4.0}) == (50.0, {"w": 10.0, "b": 15.0})
    built = p._vg
    assert early({"w": 3, "b": 4}) == (50.0, {"w": 10.0, "b": 15.0})  # ints are fine
    assert p._vg is built
    assert p.value_and_grad({"b": 0.5, "w": -1.0}) == (-2.25, {"w": 3.0, "b": 0.0})
    assert p._vg is built
    t = p.trace({"w": 1.5, "b": -2.0})
    value, grad = p.value_and_grad({"w": 1.5, "b": -2.0})
    assert value == t.value
    assert grad == {"w": t.adjoints[p.graph.names["w"]], "b": t.adjoints[p.graph.names["b"]]}


@pytest.mark.parametrize(
    "values, message",
    [({"w": 3.0}, "no value for variable b"), ({"w": 3.0, "b": 4.0, "c": 1.0}, "'c' is not a variable")],
)
def test_value_and_grad_irregular_input_is_explained(values, message):
    p = backprop_cli.compile("(w*2+b)*(b+1)")
    p.value_and_grad({"w": 1.0, "b": 1.0})
    with pytest.raises(InputError, match=message):
        p.value_and_grad(values)


def test_value_and_grad_without_variables():
    assert backprop_cli.compile("2^3").value_and_grad({}) == (8.0, {})


def test_dead_and_later_statements_are_not_evaluated():
    """A statement the output does not use cannot fail it (interpreter == compiled)."""
    p = backprop_cli.compile("y = x + 1; z = ln(x)", output="y")
    assert p.trace({"x": -1.0}).value == 0.0
    assert p.value_and_grad({"x": -1.0}) == (0.0, {"x": 1.0})
    assert p.forward_gradient({"x": -1.0}) == {"x": 1.0}
    assert check(p, {"x": -1.0}).ok
    q = backprop_cli.compile("unused = sqrt(x); out = 2*x")
    assert q.trace({"x": -1.0}).value == -2.0
    assert q.value_and_grad({"x": -1.0}) == (-2.0, {"x": 2.0})
