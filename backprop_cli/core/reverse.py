"""Reverse mode: local partials of every node, then adjoints in one backward sweep.

Constant subexpressions (``2*pi``) are leaves here: no local partials, and the sweep
stops at them (their inputs keep adjoint 0), as in the compiled code.

The output is seeded with 1 and adjoints accumulate with ``+=``, so fan-out sums
itself: ∂z/∂b = 5·1 + 10·1 = 15. The sweep is a loop over nodes in reverse creation order.
"""

from __future__ import annotations

from ..errors import DomainError
from .graph import Graph, all_finite
from .primitives import TABLE


def local_partials(graph: Graph, vals: list, M) -> list[tuple]:
    """∂node/∂input for every input of every node (empty tuples for variables and constants)."""
    locals_: list[tuple] = []
    for node in graph.nodes:
        if node.constant or node.op == "var" or vals[node.id] is None:
            # variables and constants (``2*pi``, ``sqrt(0)``) have no partials we use: a
            # constant's derivative is never needed and may not exist (sqrt at 0);
            # None: not evaluated, the output does not depend on it
            locals_.append(())
            continue
        args = [vals[i] for i in node.inputs]
        try:
            parts = TABLE[node.op].partials(M, vals[node.id], *args)
        except (ArithmeticError, ValueError) as exc:
            parts = _varying_partials(graph, node, M, vals[node.id], args)
            if parts is None:
                raise DomainError(
                    f"the derivative of `{graph.label(node.id)}` cannot be computed: {exc}",
                    graph.source,
                    node.span,
                    node=node.id,
                ) from None
        for k, p in enumerate(parts):
            # a constant input's partial is never needed; a variable one must be finite
            if not graph.nodes[node.inputs[k]].constant and not all_finite(p):
                raise DomainError(
                    f"`{graph.label(node.id)}` is not differentiable here: its partial with "
                    f"respect to `{graph.label(node.inputs[k])}` is not finite",
                    graph.source,
                    node.span,
                    node=node.id,
                )
        locals_.append(tuple(parts))
    return locals_


def adjoints(graph: Graph, locals_: list[tuple], output: int | None = None) -> list:
    """∂output/∂node for every node: one sweep from the output back to the inputs."""
    out = graph.output if output is None else output
    adj: list = [None] * len(graph.nodes)  # None: not reached from the output (adjoint 0)
    adj[out] = 1.0
    nodes = graph.nodes
    for i in range(out, -1, -1):
        a = adj[i]
        if a is None or not locals_[i]:
            continue
        for k, j in enumerate(nodes[i].inputs):
            contribution = a * locals_[i][k]
            adj[j] = contribution if adj[j] is None else adj[j] + contribution
    return [0.0 if a is None else a for a in adj]


def _varying_partials(graph: Graph, node, M, out, args) -> tuple | None:
    """The partials of a node whose rule raised, when only a constant input's partial
    failed: ``(1e-308)^(-x)`` has a finite derivative in x, but its partial in the constant
    base overflows. Such a partial is never needed (the compiled code does not compute it),
    so it is recomputed with the namespace's functions answering NaN instead of raising,
    and kept as NaN; None when an input that depends on a variable has no finite partial
    (the caller reports the original error)."""
    if not any(graph.nodes[j].constant for j in node.inputs):
        return None
    try:
        parts = TABLE[node.op].partials(_forgiving(M), out, *args)
    except (ArithmeticError, ValueError):
        return None
    for k, p in enumerate(parts):
        if not graph.nodes[node.inputs[k]].constant and not all_finite(p):
            return None
    return tuple(parts)


_FORGIVING: dict[int, tuple] = {}


def _forgiving(M):
    """``M`` with every function answering NaN where it would raise (built once per M)."""
    got = _FORGIVING.get(id(M))
    if got is not None and got[0] is M:
        return got[1]
    import math
    from types import SimpleNamespace

    def forgive(f):
        def g(*a):
            try:
                return f(*a)
            except (ArithmeticError, ValueError):
                return math.nan

        return g

    ns = SimpleNamespace(**{k: forgive(v) if callable(v) else v for k, v in vars(M).items()})
    _FORGIVING[id(M)] = (M, ns)
    return ns
