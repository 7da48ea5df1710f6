"""codegen.emit on a fixed program: the exact lines it writes, independent of any reference.

That the tuned emitter writes byte for byte what the reference emitter wrote is in
tests/accel/test_emitter_reference.py.
"""

from __future__ import annotations

import backprop_cli
from backprop_cli.compiler import codegen


def test_small_program_exactly():
    """A fixed expectation, independent of the reference: the lesson program, folded.

    x and y are read by the reverse sweep (each is the other's partial of z = x*y), so
    neither is folded; ∂z/∂b = y + x (reached through x first, then y), ∂z/∂w = y * 2.
    """
    program = backprop_cli.compile("x = 2*w + b; y = b + 1; z = x*y")
    body = codegen.emit(program.graph, tuple(program.variables), indent="", fold=True)
    assert body.lines == ["v4 = 2.0 * a0 + a1", "v6 = a1 + 1.0", "v7 = v4 * v6", "g3 = v4 + v6", "g1 = v6 * 2.0"]
    assert body.value == "v7"
    assert body.grads == ["g1", "g3"]
