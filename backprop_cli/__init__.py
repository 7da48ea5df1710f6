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
    """Parse *text* into a :class:`backprop_cli.core.program.Program` (never evaluates it).

    *text* must be a str (bytes: decode them first); anything else raises
    :class:`backprop_cli.errors.InputTypeError`, which is also a TypeError.
    """
    if text.__class__ is not str or not (output is None or output.__class__ is str):
        _refuse_non_text(text, output)
    from .accel import active  # noqa: TID251 - the one place that hands out the accelerators
    from .core.program import compile_program

    return compile_program(text, output=output, accel=active())


def _refuse_non_text(text: object, output: object) -> None:
    from .errors import InputTypeError

    for what, value in (("the program", text), ("output", output)):
        if (value is None and what == "output") or isinstance(value, str):
            continue
        name = "None" if value is None else type(value).__name__
        hint = None
        if isinstance(value, bytes | bytearray):
            hint = "decode it first, e.g. compile(data.decode('utf-8'))"
        if what == "output":
            raise InputTypeError(f"compile() takes output as a str (a node's name), not {name}")
        raise InputTypeError(f"compile() takes the program as a str, not {name}", hint=hint)
