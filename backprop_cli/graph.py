"""The computation graph: build it from a syntax tree, evaluate it forward.

Nodes are kept in creation order, which is already a topological order, and every
walk over them is a loop (never recursion): a 10 000-operation chain is fine.
This module knows nothing about derivatives.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import syntax
from .errors import DomainError, Span
from .syntax import cheap_init
from .primitives import BINARY_OPS, FUNCTION_OPS, TABLE, namespace_for
from .primitives_names import CONSTANTS


@cheap_init  # a slot-descriptor __init__: about half the construction time, same dataclass
@dataclass(frozen=True, slots=True)
class Node:
    id: int
    op: str  # "var", "const", or a key of primitives.TABLE
    inputs: tuple[int, ...]
    name: str | None  # variable name, or the assigned name of a named intermediate
    expr: str  # the subexpression's source text (the name, for variables); see excerpt()
    span: Span
    value: float | None = None  # for "const" nodes
    constant: bool = False  # depends on no variable


@dataclass(frozen=True, slots=True)
class Graph:
    source: str
    nodes: tuple[Node, ...]
    variables: tuple[str, ...]  # input names in order of first appearance
    var_ids: tuple[int, ...]  # node id of each variable, same order
    names: dict[str, int]  # every named node: variables and assigned names
    assigned: tuple[str, ...]  # assigned names in statement order
    output: int
    output_name: str

    def label(self, i: int) -> str:
        """What a person calls node i: its name, else its subexpression."""
        node = self.nodes[i]
        return node.name if node.name is not None else node.expr


EXPR_CHARS = 100  # longer subexpression texts are shortened in the middle with '…'


def excerpt(source: str, span: Span, limit: int = EXPR_CHARS) -> str:
    """The text of *span*, shortened in the middle past *limit* characters.

    Storing every node's full text would be quadratic (a 20 000-term sum held
    over a gigabyte of labels); ``span`` still gives the exact text.
    """
    if span.end - span.start <= limit:
        return source[span.start : span.end]
    head = (2 * limit) // 3
    tail = limit - head - 1
    return source[span.start : span.start + head] + "…" + source[span.end - tail : span.end]


class _Builder:
    def __init__(self, source: str) -> None:
        self.source = source
        self.rows: list[list] = []  # [op, inputs, name, expr, span, value, constant]
        self.env: dict[str, int] = {}
        self.var_names: list[str] = []
        self.var_ids: list[int] = []

    def add(self, op, inputs, span, *, name=None, value=None, expr=None) -> int:
        rows = self.rows
        if op == "const":
            constant = True
        elif op == "var":
            constant = False
        else:
            constant = True
            for i in inputs:
                if not rows[i][6]:
                    constant = False
                    break
        if expr is None:
            expr = excerpt(self.source, span)
        rows.append([op, tuple(inputs), name, expr, span, value, constant])
        return len(rows) - 1

    def leaf(self, n) -> int:
        cls = n.__class__
        if cls is syntax.Num:
            return self.add("const", (), n.span, value=float(n.value))
        if cls is syntax.Const:
            return self.add("const", (), n.span, value=CONSTANTS[n.name])
        # a Name: an assigned intermediate, or an input variable (created on first use)
        i = self.env.get(n.name)
        if i is not None:
            return i
        i = self.add("var", (), n.span, name=n.name, expr=n.name)
        self.env[n.name] = i
        self.var_names.append(n.name)
        self.var_ids.append(i)
        return i

    def combine(self, n, args: list[int]) -> int:
        cls = n.__class__
        if cls is syntax.Binary:
            op = BINARY_OPS[n.op]
            if op == "pow" and self.rows[args[1]][6]:
                op = "powc"
            return self.add(op, args, n.span)
        if cls is syntax.Unary:
            if n.op == "+":
                return args[0]
            return self.add("neg", args, n.span)
        # a call
        if n.func == "pow":
            op = "powc" if self.rows[args[1]][6] else "pow"
        elif n.func == "log" and len(args) == 2:
            op = "logb"
        else:
            op = FUNCTION_OPS[n.func]
        return self.add(op, args, n.span)

    def lower(self, expr) -> int:
        """Post-order walk with an explicit stack (left-deep chains can be 10 000 deep).

        A node waiting for its operands is pushed as a 1-tuple ``(node,)``.
        """
        results: list[int] = []
        push = results.append
        stack: list = [expr]
        pop = stack.pop
        schedule = stack.append
        Binary, Unary, Call = syntax.Binary, syntax.Unary, syntax.Call
        while stack:
            n = pop()
            cls = n.__class__
            if cls is tuple:
                n = n[0]
                k = 2 if n.__class__ is Binary else 1 if n.__class__ is Unary else len(n.args)
                args = results[-k:]
                del results[-k:]
                push(self.combine(n, args))
            elif cls is Binary:
                schedule((n,))
                schedule(n.right)
                schedule(n.left)
            elif cls is Unary:
                schedule((n,))
                schedule(n.operand)
            elif cls is Call:
                schedule((n,))
                stack.extend(reversed(n.args))
            else:
                push(self.leaf(n))
        return results[0]


def build(program: syntax.Program) -> Graph:
    """Lower a parsed program to a graph. The parser has already checked names and limits."""
    b = _Builder(program.source)
    assigned: list[str] = []
    out = -1
    out_name = ""
    for stmt in program.statements:
        if isinstance(stmt, syntax.Assign):
            i = b.lower(stmt.expr)
            row = b.rows[i]
            if row[2] is not None:
                # already named (an alias like `x = w` or `x = y`): a copy node carries the new name
                i = b.add("id", (i,), stmt.span, name=stmt.target, expr=row[2])
            else:
                row[2] = stmt.target
            b.env[stmt.target] = i
            assigned.append(stmt.target)
            out, out_name = i, stmt.target
        else:
            out = b.lower(stmt)
            out_name = b.rows[out][2] or b.rows[out][3]
    nodes = tuple(
        Node(i, op, ins, name, expr, span, value, constant)
        for i, (op, ins, name, expr, span, value, constant) in enumerate(b.rows)
    )
    names = {n.name: n.id for n in nodes if n.name is not None}
    return Graph(
        source=program.source,
        nodes=nodes,
        variables=tuple(b.var_names),
        var_ids=tuple(b.var_ids),
        names=names,
        assigned=tuple(assigned),
        output=out,
        output_name=out_name,
    )


def _element(v, index, shape):
    """The value of one input at flat point ``index`` of the broadcast ``shape``.

    Inputs broadcast (a row against a column), so the index is taken after broadcasting;
    with no index (a condition on scalar inputs only, like ``x/0``) the first element
    stands as an example.
    """
    if isinstance(v, float | int) or not getattr(v, "ndim", 0):
        return float(v)
    import numpy as np

    flat = np.broadcast_to(v, shape).reshape(-1) if shape is not None else v.reshape(-1)
    return float(flat[index] if index is not None and index < flat.size else flat[0])


def _shape(values, ids):
    arrays = [values[i] for i in ids if getattr(values[i], "ndim", 0)]
    if not arrays:
        return None
    import numpy as np

    return np.broadcast(*arrays).shape if len(arrays) > 1 else arrays[0].shape


def _describe(graph: Graph, ids, values, index) -> list[str]:
    """Input expressions with their values at the failing point, for an error message."""
    shape = _shape(values, ids)
    return [f"`{graph.label(i)}` = {_element(values[i], index, shape):.6g}" for i in ids]


def domain_error(graph: Graph, node: Node, message: str, values, mask=None) -> DomainError:
    """A DomainError naming the node, its span and the offending input values."""
    index = None
    if mask is not None and not isinstance(mask, bool | int):
        import numpy as np

        shape = np.broadcast(*[values[i] for i in node.inputs], mask).shape
        bad = np.flatnonzero(np.broadcast_to(mask, shape))
        index = int(bad[0]) if bad.size else None
    described = _describe(graph, node.inputs, values, index)
    text = message.format(*described) if described else message
    if index is not None:
        text += f" (at point {index})"
    value = None
    if node.inputs:
        value = _element(values[node.inputs[0]], index, _shape(values, node.inputs))
    return DomainError(text, graph.source, node.span, node=node.id, value=value)


def check_domain(graph: Graph, node: Node, values, args) -> None:
    for predicate, message in TABLE[node.op].domain:
        if node.constant and getattr(predicate, "slope_only", False):
            continue  # a constant's derivative is never taken: only its value must exist
        bad = predicate(*args)
        if isinstance(bad, bool | int):
            if bad:
                raise domain_error(graph, node, message, values)
        elif bad.any():
            raise domain_error(graph, node, message, values, mask=bad)


def not_finite_error(graph: Graph, node: Node, values, what="value") -> DomainError:
    v = values[node.id] if what == "value" else None
    kind = "overflows" if v is not None and _is_inf(v) else "is not a finite number"
    msg = f"the {what} of `{graph.label(node.id)}` {kind}"
    if node.inputs:
        msg += " with " + ", ".join(_describe(graph, node.inputs, values, _first_bad(v)))
    return DomainError(msg, graph.source, node.span, node=node.id)


def _is_inf(v) -> bool:
    if isinstance(v, float | int):
        return v in (float("inf"), float("-inf"))
    import numpy as np

    return bool(np.isinf(v).any())


def _first_bad(v):
    if v is None or isinstance(v, float | int) or not getattr(v, "ndim", 0):
        return None
    import numpy as np

    bad = np.flatnonzero(~np.isfinite(v))
    return int(bad[0]) if bad.size else None


def all_finite(v) -> bool:
    """True when v (a float or an array) holds no inf or NaN."""
    if isinstance(v, float | int):
        return v - v == 0
    import numpy as np

    return bool(np.isfinite(v).all())


def needed_by(graph: Graph, output: int | None = None) -> list[bool]:
    """Which nodes the output depends on (itself included): one backward loop."""
    out = graph.output if output is None else output
    keep = [False] * len(graph.nodes)
    keep[out] = True
    nodes = graph.nodes
    for i in range(out, -1, -1):
        if keep[i]:
            for j in nodes[i].inputs:
                keep[j] = True
    return keep


def forward(
    graph: Graph, values: dict, overrides: dict | None = None, output: int | None = None
) -> tuple[list, object]:
    """Evaluate every node the output depends on. Returns (values by node id, the math namespace).

    Nodes the output does not depend on (statements after ``--of NAME``, dead statements)
    are not evaluated — their value is None — so that a domain problem there cannot fail a
    computation that never uses it (the compiled code does not compute them either).

    ``overrides`` maps node ids to values used instead of computing them (the nudge
    experiment: what happens downstream when one node alone moves).

    Raises DomainError naming the node when an input leaves a primitive's domain or a
    value is not finite (overflow, NaN).
    """
    M = namespace_for(values.values())
    vals: list = [None] * len(graph.nodes)
    needed = needed_by(graph, output)
    if M is not namespace_for(()):
        import numpy as np

        errstate = np.errstate(all="ignore")
    else:
        errstate = None
    if errstate is not None:
        errstate.__enter__()
    try:
        for node in graph.nodes:
            if not needed[node.id]:
                continue
            if node.op == "var":
                v = values[node.name]
                vals[node.id] = float(v) if isinstance(v, int | float) else v
                continue
            if node.op == "const":
                vals[node.id] = node.value
                continue
            if overrides and node.id in overrides:
                vals[node.id] = overrides[node.id]
                continue
            args = [vals[i] for i in node.inputs]
            check_domain(graph, node, vals, args)
            try:
                v = TABLE[node.op].value(M, *args)
            except (ArithmeticError, ValueError) as exc:
                why = f"cannot be computed: {exc}"
                if isinstance(exc, OverflowError):  # math.exp(710), 9.0**(9**9): Python raises
                    why = "overflows float64 (|value| > 1.8e308) with " + ", ".join(
                        _describe(graph, node.inputs, vals, None)
                    )
                raise DomainError(
                    f"`{graph.label(node.id)}` {why}",
                    graph.source,
                    node.span,
                    node=node.id,
                ) from None
            vals[node.id] = v
            if not all_finite(v):
                raise not_finite_error(graph, node, vals)
    finally:
        if errstate is not None:
            errstate.__exit__(None, None, None)
    return vals, M
