"""Forward mode (dual numbers) and its second derivatives where the values are extreme."""

from __future__ import annotations

import backprop_cli


def test_forward_mode_tanh_far_out():
    """tanh' in forward mode must not overflow where tanh itself is fine (was 1/cosh²)."""
    p = backprop_cli.compile("tanh(x)")
    assert p.forward_gradient({"x": 1000.0}) == {"x": 0.0}
    assert p.hessian({"x": 1000.0}) == [[0.0]]
