"""backprop: exact gradients of typed expressions, traced step by step.

Public API (no heavy imports here; numpy loads only when arrays are used):

    >>> import backprop_cli
    >>> p = backprop_cli.compile("x = 2*w + b; y = b + 1; z = x*y")
    >>> p.value_and_grad({"w": 3, "b": 4})
    (50.0, {'w': 10.0, 'b': 15.0})
"""

from __future__ import annotations

# typing.TYPE_CHECKING without importing typing: `import backprop_cli` stays cheap
# (type checkers treat any name TYPE_CHECKING as true)
TYPE_CHECKING = False
if TYPE_CHECKING:
    from .core.program import Program

__version__ = "0.1.0"

__all__ = ["compile", "__version__"]


def compile(text: str, output: str | None = None) -> Program:  # noqa: A001 - the public verb
    """Parse *text* into a :class:`backprop_cli.core.program.Program` (never evaluates it)."""
    from .core.program import compile_program

    return compile_program(text, output=output)
