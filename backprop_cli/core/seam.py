"""The contract between the reference code and the accelerators (:mod:`backprop_cli.accel`).

A :class:`~backprop_cli.core.program.Program` carries ``accel``: an object with these
methods, or None (the reference alone). Reference modules call only what is listed here,
through ``program.accel``, and never import the accelerators themselves. Every method
returns exactly what the reference would compute, or None: "not handled, ask the
reference".
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ..lang.syntax import Flat

if TYPE_CHECKING:  # try_emit's types
    from collections.abc import Sequence

    from ..compiler.codegen import Body
    from .graph import Graph

if TYPE_CHECKING:  # try_solve's types
    from ..engines.solve import Policy, SolveRun

if TYPE_CHECKING:  # try_sgd_loop's types
    from .program import Program


class Accelerators(Protocol):
    def try_parse(self, text: str) -> Flat | None:
        """The flat form of *text* (already passed through ``prepare_source``), or None."""
        ...

    def try_emit(
        self,
        graph: Graph,
        args: Sequence[str],
        output: int | None = None,
        indent: str = "    ",
        fold: bool = False,
    ) -> Body | None:
        """:func:`backprop_cli.compiler.codegen.emit`'s Body for these arguments, or None."""
        ...

    def try_solve(self, policy: Policy, start: dict) -> SolveRun | None:
        """``solve(..., detail=False)``'s run for this checked setup (``policy``, fresh) from
        ``start`` (a value for each variable), or None."""
        ...

    def try_sgd_loop(
        self, program: Program, names: tuple[str, ...], eta: float, tol: float
    ) -> SgdLoop | None:
        """A loop running plain descent (sgd, this η) on ``program`` over ``names`` between
        checkpoints for one run of :func:`backprop_cli.engines.descend.descend` with this
        gradient tolerance, or None."""
        ...


class SgdLoop(Protocol):
    """What ``try_sgd_loop`` returns: one run's rows of plain descent between checkpoints."""

    def __call__(self, points: list[list[float]], lo: float, hi: float, k: int, stop: int) -> int:
        """Run rows k … stop−1 from the last point of ``points`` (per variable, rows 0 … k),
        appending each new point: the floats the engine's plain loop computes. Every row it
        runs passes checks 1–3 of :mod:`backprop_cli.engines.descend` (its predicates
        ``gradient_converged`` and ``loss_in_range(loss, lo, hi)``, as written there).
        Returns the first row it did not run: ``stop``, or a row (its point recorded) for
        the plain loop to evaluate and check."""
        ...
