"""The steps of one pass through a program, as records: `grad --step` shows them one at a
time and `backprop quiz` asks for them.

Forward, one node at a time in evaluation order (its operands, its operation, its value);
then backward, one node at a time in reverse order (the output seeded with 1; every other
node: the adjoint arriving from each node it feeds times the local partial, summed where
the paths meet). Every number comes from one :class:`~backprop_cli.engines.gradient.GradReport`,
itself built from the Program's interpreted trace (:meth:`Program.trace`): a walk computes
nothing of its own.

An iteration of solve or descend is the walk of the gradient report at its iterate,
followed by its update: :func:`walk_report` takes any such report.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..core.primitives import TABLE
from ..errors import InputError
from .gradient import ChainLine, GradReport, NodeRecord, gradient_report, output_symbol

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ..core.program import Program

#: the words this module says (one place, for translation)
TEXT = {
    "scalar_only": "stepping and quizzes work on scalar values; '{name}' holds an array",
}


@dataclass(frozen=True, slots=True)
class ForwardStep:
    """One node evaluated: ``value = symbol(operand values)`` (a variable: given)."""

    node: int
    op: str  # "var" for an input variable (its value is given), else a primitive's op
    symbol: str  # the operation as written: "+", "sin", ... ("" for a variable)
    infix: bool  # written between its operands (a + b) rather than as a call (sin(a))
    operands: tuple[int, ...]  # node ids of its inputs (constants included)
    operand_values: tuple[float, ...]
    value: float


@dataclass(frozen=True, slots=True)
class BackwardStep:
    """One node's adjoint ∂output/∂node: 1 for the output itself (``line`` None), else
    ``line.total`` = Σ over the nodes it feeds of their adjoint × the local partial."""

    node: int
    line: ChainLine | None
    adjoint: float

    @property
    def seed(self) -> bool:
        """The output's own step: its adjoint is 1 by definition."""
        return self.line is None


Step = ForwardStep | BackwardStep


@dataclass(frozen=True, slots=True)
class Walk:
    """The report a walk is read from, how formulas name its output, and its steps:
    every forward step first, then every backward step."""

    report: GradReport
    symbol: str
    steps: tuple[Step, ...]
    records: dict[int, NodeRecord]  # the report's nodes by id

    @property
    def forward(self) -> tuple[ForwardStep, ...]:
        return tuple(s for s in self.steps if isinstance(s, ForwardStep))

    @property
    def backward(self) -> tuple[BackwardStep, ...]:
        return tuple(s for s in self.steps if isinstance(s, BackwardStep))

    def node(self, node_id: int) -> NodeRecord:
        """The report's record of a node (its value, locals and adjoint)."""
        return self.records[node_id]

    def label(self, node_id: int) -> str:
        """What formulas call a node: the output by its symbol, others by name or text."""
        if node_id == self.report.output_id:
            return self.symbol
        return self.report.labels[node_id]


def walk(program: Program, values: Mapping[str, float]) -> Walk:
    """The walk of ``program`` at ``values`` (its reverse-mode gradient report's steps)."""
    return walk_report(gradient_report(program, dict(values)), output_symbol(program))


def walk_report(report: GradReport, symbol: str) -> Walk:
    """The steps of ``report``: constants (``2``, ``2*pi``) are operands, not steps — they
    depend on no variable, and the sweep stops at them."""
    nodes = {n.id: n for n in report.nodes}
    for n in report.nodes:
        if not isinstance(n.value, float | int):
            raise InputError(TEXT["scalar_only"].format(name=report.labels[n.id]))
    # the report's chain holds every node the sweep reaches (constants are its leaves)
    computed = {line.node for line in report.chain} | {report.output_id}
    steps: list[Step] = [_forward_step(n, nodes) for n in report.nodes if n.id in computed]
    steps.append(BackwardStep(report.output_id, None, nodes[report.output_id].adjoint))
    for line in report.chain:  # reverse evaluation order, the output and constants left out
        steps.append(BackwardStep(line.node, line, line.total))
    return Walk(report, symbol, tuple(steps), nodes)


def _forward_step(n: NodeRecord, nodes: dict[int, NodeRecord]) -> ForwardStep:
    prim = TABLE.get(n.op)  # None for a variable
    return ForwardStep(
        node=n.id,
        op=n.op,
        symbol="" if prim is None else prim.symbol,
        infix=prim is not None and prim.infix,
        operands=n.inputs,
        operand_values=tuple(nodes[i].value for i in n.inputs),
        value=n.value,
    )
