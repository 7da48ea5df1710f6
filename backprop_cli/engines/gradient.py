"""The gradient report behind `backprop grad` and `backprop check`: plain records, no printing."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..core.graph import forward, needed_by
from ..core.program import Program

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    from ..core.program import Trace


@dataclass(frozen=True, slots=True)
class NodeRecord:
    id: int
    name: str | None
    expr: str
    op: str
    inputs: tuple[int, ...]
    value: float
    local: tuple[float, ...]  # ∂node/∂input for each input
    adjoint: float  # ∂output/∂node
    tangents: dict[str, float] | None = None  # forward mode: ∂node/∂variable
    span: tuple[int, int] | None = None  # [start, end) of the node's text in the source (expr may be shortened)


@dataclass(frozen=True, slots=True)
class Term:
    consumer: int  # node that uses this one
    adjoint: float  # ∂output/∂consumer
    local: float  # ∂consumer/∂this
    position: int = 0  # which input of the consumer this is (x*x uses x as inputs 0 and 1)


@dataclass(frozen=True, slots=True)
class ChainLine:
    """adjoint(node) = Σ adjoint(consumer) × local partial — the chain rule with numbers."""

    node: int
    terms: tuple[Term, ...]
    total: float


@dataclass(frozen=True, slots=True)
class Nudge:
    name: str
    node: int
    base: float  # the node's value
    delta: float
    partial: float  # ∂output/∂node
    predicted: float  # output + partial·delta
    actual: float  # output recomputed with the node moved by delta (everything else fixed)


@dataclass(frozen=True, slots=True)
class GradReport:
    expression: str
    output: str
    output_id: int
    at: dict[str, float]
    defaulted: tuple[str, ...]
    mode: str
    value: float
    gradient: dict[str, float]
    nodes: tuple[NodeRecord, ...]
    chain: tuple[ChainLine, ...]
    nudges: tuple[Nudge, ...] | None
    labels: Mapping[int, str]


class Labels(Mapping[int, str]):
    """What a person calls each node (``Program.label``), looked up when asked: a dict of
    every node's label would cost as much as the nodes themselves on a long program."""

    __slots__ = ("_program",)

    def __init__(self, program: Program) -> None:
        self._program = program

    def __getitem__(self, node_id: int) -> str:
        if not 0 <= node_id < len(self._program.graph.nodes):
            raise KeyError(node_id)
        return self._program.label(node_id)

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self._program.graph.nodes)))

    def __len__(self) -> int:
        return len(self._program.graph.nodes)


def output_symbol(program: Program) -> str:
    """How formulas name the output: its assigned name, else 'f' (or 'output' if f is taken)."""
    node = program.nodes[program.output]
    if node.name is not None:
        return node.name
    return "f" if "f" not in program.graph.names else "output"


def gradient_report(
    program: Program,
    values: dict[str, float],
    defaulted: Iterable[str] = (),
    mode: str = "reverse",
    nudge: float | None = None,
    *,
    chain: bool = True,
) -> GradReport:
    """Every relevant node's record and the gradient; ``chain=False`` leaves the chain rule
    lines out (only --explain and the step-through walk read them)."""
    trace = program.trace(values)
    graph = program.graph
    out = program.output
    relevant = _ancestors(program)
    tangents: dict[str, list] = {}
    if mode == "forward":
        for name in program.variables:
            tangents[name] = program.forward_tangents(values, name)
        gradient = {name: tangents[name][out] for name in program.variables}
    else:
        gradient = {v: trace.adjoints[i] for v, i in zip(graph.variables, graph.var_ids)}
    nodes = tuple(
        NodeRecord(
            id=n.id,
            name=n.name,
            expr=n.expr,
            op=n.op,
            inputs=n.inputs,
            value=trace.values[n.id],
            local=tuple(trace.locals[n.id]),
            adjoint=trace.adjoints[n.id],
            tangents={v: tangents[v][n.id] for v in tangents} if tangents else None,
            span=(n.span.start, n.span.end),
        )
        for n in graph.nodes
        if relevant[n.id]
    )
    nudges = _nudges(program, trace, nudge) if nudge is not None else None
    return GradReport(
        expression=program.source,
        output=program.output_name,
        output_id=out,
        at=dict(values),
        defaulted=tuple(defaulted),
        mode=mode,
        value=trace.value,
        gradient=gradient,
        nodes=nodes,
        chain=_chain(program, trace, relevant) if chain else (),
        nudges=nudges,
        labels=Labels(program),
    )


def _chain(program: Program, trace: Trace, relevant: list[bool]) -> tuple[ChainLine, ...]:
    """Each node's adjoint as the sum over its consumers, in reverse evaluation order."""
    graph = program.graph
    consumers: dict[int, list[Term]] = {}
    for n in graph.nodes:
        if not relevant[n.id] or not trace.locals[n.id]:  # constants are leaves of the sweep
            continue
        for k, j in enumerate(n.inputs):
            consumers.setdefault(j, []).append(
                Term(n.id, trace.adjoints[n.id], trace.locals[n.id][k], k)
            )
    return tuple(
        ChainLine(n.id, tuple(consumers.get(n.id, ())), trace.adjoints[n.id])
        for n in reversed(graph.nodes)
        if relevant[n.id] and n.id != program.output and not n.constant
    )


def _ancestors(program: Program) -> list[bool]:
    """Nodes the output depends on (others are not shown: their adjoint is 0 by construction)."""
    return needed_by(program.graph, program.output)


def _nudges(program: Program, trace: Trace, delta: float) -> tuple[Nudge, ...]:
    """The lesson's sensitivity experiment for every variable and named node."""
    graph = program.graph
    relevant = _ancestors(program)
    out = []
    point = {v: trace.values[i] for v, i in zip(graph.variables, graph.var_ids)}
    for n in graph.nodes:
        if n.name is None or not relevant[n.id] or n.id == program.output:
            continue
        base = trace.values[n.id]
        if n.op == "var":
            moved = dict(point)
            moved[n.name] = base + delta
            vals, _ = forward(graph, moved, output=program.output)
        else:
            vals, _ = forward(graph, point, overrides={n.id: base + delta}, output=program.output)
        actual = vals[program.output]
        partial = trace.adjoints[n.id]
        out.append(Nudge(n.name, n.id, base, delta, partial, trace.value + partial * delta, actual))
    return tuple(out)


def finite(x: object) -> bool:
    return isinstance(x, float | int) and math.isfinite(x)
