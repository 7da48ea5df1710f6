"""Every speed-only path of the package, behind one seam.

The reference modules (``lang``, ``core``, ``compiler``, ``engines``) compute every answer
on their own and never import from here (a ruff banned-import rule enforces it). An
accelerator is a function ``try_…(…) -> result | None``: it returns exactly what the
reference would, or None when it cannot (an unusual input, a setup it does not handle),
and the reference then answers. Stopping rules, statuses and messages stay defined once,
in the engines; an accelerator may replace an inner step, never restate a policy.

How the two meet: :func:`backprop_cli.compile` (the one sanctioned importer) hands this
module to the :class:`~backprop_cli.core.program.Program` it builds, and the reference
code calls ``program.accel.try_…`` when ``program.accel`` is not None
(:class:`backprop_cli.core.seam.Accelerators` is the contract). ``BACKPROP_REFERENCE=1``
in the environment makes :func:`active` return None: every accelerator off, the reference
alone (``.ci/run`` runs the whole suite once more that way). tests/accel/ holds each
accelerator equal to its reference.

Each ``try_…`` below imports its implementation on first use, so ``import backprop_cli``
stays cheap.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import ModuleType

    from ..lang.syntax import Flat

#: the environment switch that turns every accelerator off
REFERENCE_ENV = "BACKPROP_REFERENCE"


def active() -> ModuleType | None:
    """This module (the accelerators), or None when ``BACKPROP_REFERENCE`` is set to
    anything but "" or "0"."""
    if os.environ.get(REFERENCE_ENV, "") not in ("", "0"):
        return None
    return sys.modules[__name__]


def try_parse(text: str) -> Flat | None:
    """The quick parser: the flat form of an ordinary valid program, else None."""
    from .parse import try_parse

    return try_parse(text)


if TYPE_CHECKING:  # try_emit's types
    from collections.abc import Sequence

    from ..compiler.codegen import Body
    from ..core.graph import Graph


def try_emit(
    graph: Graph,
    args: Sequence[str],
    output: int | None = None,
    indent: str = "    ",
    fold: bool = False,
) -> Body | None:
    """The tuned emitter: exactly :func:`backprop_cli.compiler.codegen.emit`'s Body."""
    from .emit import emit

    return emit(graph, args, output, indent, fold)


if TYPE_CHECKING:  # try_solve's types
    from ..engines.solve import Policy, SolveRun


def try_solve(policy: Policy, start: dict) -> SolveRun | None:
    """The solve engine's loop and policy with the records built on first access. (The
    first call puts the implementation in this function's place: a solve is a few
    microseconds, an import statement a noticeable part of that.)"""
    from . import solve

    globals()["try_solve"] = solve.try_solve
    return solve.try_solve(policy, start)


if TYPE_CHECKING:  # try_sgd_loop's types
    from ..core.program import Program
    from ..core.seam import SgdLoop


def try_sgd_loop(program: Program, names: tuple[str, ...], eta: float, tol: float) -> SgdLoop | None:
    """The generated sgd loop (accel/descend.py): rows between checkpoints, the engine's
    checks 1–3 written from its predicates; None when they cannot be written."""
    from .descend import sgd_loop

    return sgd_loop(program, names, eta, tol)
