"""The interpreter's reverse mode at the edges where compiled code and forward mode answer.

Found by the thorough hypothesis profile (test_property_ad, test_anything_fails_only_with_
backprop_errors): the partial of x^y in a CONSTANT base can overflow while the derivative
in the varying exponent is finite. The compiled code never computes the constant's partial;
the interpreter used to raise for it. (The grad command's JSON for it is in
tests/render/test_grad_output.py.)
"""

from __future__ import annotations

import pytest

import backprop_cli
from backprop_cli.errors import DomainError

TEXT = "(1e-308) ^ (-(sigmoid(x)))"


def test_constant_base_partial_overflow_is_not_an_error():
    p = backprop_cli.compile(TEXT)
    t = p.trace({"x": 0.0})
    value, grad = p.value_and_grad({"x": 0.0})
    assert t.value == value == pytest.approx(1e154)
    # d/dx (1e-308)^(-s(x)) = out * ln(1e-308) * (-s'(x)) = 1e154 * -709.196... * -0.25
    want = 1e154 * 0.25 * 709.1962086421661
    assert grad["x"] == pytest.approx(want, rel=1e-12)
    assert t.adjoints[p.graph.names["x"]] == grad["x"]
    assert p.forward_gradient({"x": 0.0})["x"] == pytest.approx(want, rel=1e-12)
    assert t.adjoints[0] != t.adjoints[0]  # the constant's own partial: NaN, never used


def test_a_varying_base_still_fails_with_the_first_reason():
    p = backprop_cli.compile("x ^ (-(sigmoid(y)))")
    with pytest.raises(DomainError) as info:
        p.trace({"x": 1e-308, "y": 0.0})
    assert "cannot be computed: math range error" in str(info.value)
