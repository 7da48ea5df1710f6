"""The computation graph: build it from a parsed program (its flat form), evaluate it forward.

Nodes are kept in creation order, which is already a topological order, and every
walk over them is a loop (never recursion): a 10 000-operation chain is fine.
This module knows nothing about derivatives.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, cast

from ..lang import syntax
from ..errors import DomainError, ParseError, Span
from ..lang.syntax import cheap_init, make_span
from .primitives import BINARY_OPS, FUNCTION_OPS, TABLE, namespace_for
from ..lang.names import CONSTANTS

if TYPE_CHECKING:
    from collections.abc import Callable


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


class _NewNode:
    """:class:`Node`'s slots with an ordinary ``__init__``. :func:`build` makes each node as
    one of these and then makes it a Node (same slots, so ``__class__`` may be reassigned):
    a frozen Node's own ``__init__`` sets each slot through its descriptor, which costs
    more (benchmarks/README.md). The result is an
    ordinary frozen Node."""

    __slots__ = Node.__slots__

    def __init__(self, id, op, inputs, name, expr, span, value, constant) -> None:  # noqa: A002
        self.id = id
        self.op = op
        self.inputs = inputs
        self.name = name
        self.expr = expr
        self.span = span
        self.value = value
        self.constant = constant


def build(program: syntax.Flat | syntax.Script, output: str | None = None) -> Graph:
    """Lower a parsed program to a graph. The parser has already checked names and limits.

    The output (:func:`output_of`): the last statement of the source if nothing reads it,
    else the one assigned name nothing reads; with several such names and no ``output``
    (the name ``--of`` gives, which the caller then selects) it is a ParseError listing them.

    Reads the flat form (:func:`backprop_cli.lang.parser.parse_flat`); a syntax tree is
    flattened first. One pass in post-order with a stack of node ids: a name is its node
    (an assigned intermediate, or an input variable created on first use), a number or
    constant a new "const" node, an operation a new node over the ids it pops. Unary '+'
    makes no node; ``x^c`` with a constant exponent is "powc". The root of an assignment
    takes the assigned name (known when the node is made: the entry after it is the
    ASSIGN) — or, when it already has one (``x = w``, ``x = y``), a copy node ("id")
    carries the new name.
    """
    if program.__class__ is not syntax.Flat:
        program = syntax.flatten(cast("syntax.Script", program))
    source = program.source
    limit = EXPR_CHARS
    span = syntax.make_span
    binary_ops, function_ops, constants = BINARY_OPS, FUNCTION_OPS, CONSTANTS
    NUM, CONST, NAME, UNARY, BINARY = syntax.NUM, syntax.CONST, syntax.NAME, syntax.UNARY, syntax.BINARY
    CALL, ASSIGN = syntax.CALL, syntax.ASSIGN
    # a _NewNode is made a Node by __class__ reassignment below (same slots): typed as one
    new: Callable[..., Node]
    new, node_cls = _NewNode, Node  # type: ignore[assignment]
    nodes: list[Node] = []
    add = nodes.append
    env: dict[str, int] = {}
    var_names: list[str] = []
    var_ids: list[int] = []
    assigned: list[str] = []
    stack: list[int] = []
    push, pop = stack.append, stack.pop
    out = -1
    out_name = ""
    entries = program.entries
    for idx, entry in enumerate(entries):
        tag = entry[0]
        if tag == NAME:
            name = entry[1]
            i = env.get(name)
            if i is None:
                i = env[name] = len(nodes)
                node = new(i, "var", (), name, name, span(entry[2], entry[3]), None, False)
                node.__class__ = node_cls
                add(node)
                var_names.append(name)
                var_ids.append(i)
            push(i)
            continue
        if tag <= CALL:  # a new node: a constant or an operation
            after = entries[idx + 1]  # the root of an assignment is named by it
            name = after[1] if after[0] == ASSIGN else None
            i = len(nodes)
            s, e = entry[2], entry[3]
            value = None
            inputs: tuple[int, ...]
            if tag == NUM or tag == CONST:
                value = float(entry[1]) if tag == NUM else constants[entry[1]]
                op, inputs, constant = "const", (), True
            elif tag == BINARY:
                right = pop()
                left = pop()
                op = binary_ops[entry[1]]
                rconst = nodes[right].constant
                constant = rconst and nodes[left].constant
                if op == "pow" and rconst:
                    op = "powc"
                inputs = (left, right)
            elif tag == UNARY:
                if entry[1] == "+":
                    continue  # the operand stays (and is named by an ASSIGN after it)
                inputs = (pop(),)
                op = "neg"
                constant = nodes[inputs[0]].constant
            else:  # CALL
                k = entry[2]
                s, e = entry[3], entry[4]
                inputs = tuple(stack[-k:])
                del stack[-k:]
                func = entry[1]
                if func == "pow":
                    op = "powc" if nodes[inputs[1]].constant else "pow"
                elif func == "log" and k == 2:
                    op = "logb"
                else:
                    op = function_ops[func]
                constant = True
                for j in inputs:
                    if not nodes[j].constant:
                        constant = False
                        break
            sp = span(s, e)
            expr = source[s:e] if e - s <= limit else excerpt(source, sp)
            node = new(i, op, inputs, name, expr, sp, value, constant)
            node.__class__ = node_cls
            add(node)
            push(i)
            continue
        if tag == ASSIGN:
            i = pop()
            node = nodes[i]
            target = entry[1]
            if node.name is None:  # made before a unary '+' (`x = +(a*b)`): name it now
                nodes[i] = node = replace(node, name=target)
            elif node.name != target:
                # already named (an alias like `x = w` or `x = y`): a copy node carries the new name
                i = len(nodes)
                alias = new(i, "id", (node.id,), target, node.name, span(entry[4], entry[5]), None, node.constant)
                alias.__class__ = node_cls
                add(alias)
            env[target] = i
            assigned.append(target)
            out, out_name = i, target
        else:  # EXPR: the bare last statement
            out = pop()
            out_name = nodes[out].name or nodes[out].expr
    last = entries[-1] if entries else None
    if last is not None and last[0] == ASSIGN and source[last[5] :].strip(" \t\r\n;"):
        # the parser reordered the statements: this one is not the last of the source
        out, out_name = output_of(program, env, output)
    names = {n.name: n.id for n in nodes if n.name is not None}
    return Graph(
        source=source,
        nodes=tuple(nodes),
        variables=tuple(var_names),
        var_ids=tuple(var_ids),
        names=names,
        assigned=tuple(assigned),
        output=out,
        output_name=out_name,
    )


def output_of(program: syntax.Flat, env: dict[str, int], output: str | None) -> tuple[int, str]:
    """The output of a program whose statements the parser reordered: (node id, name).

    The last statement of the source is the output if nothing reads it (then the sort has
    put it last as well); otherwise the one assigned name that nothing reads (which every
    other statement then feeds, so it is last too). Several unread names leave the choice
    to ``output`` (``--of``); without it, a ParseError lists them.
    """
    entries = program.entries
    starts = {e[1]: e for e in entries if e[0] == syntax.ASSIGN}  # name -> its ASSIGN entry
    last = max(starts.values(), key=lambda e: e[2])[1]
    read = {e[1] for e in entries if e[0] == syntax.NAME}
    if last not in read:
        return env[last], last
    unread = sorted((name for name in starts if name not in read), key=lambda n: starts[n][2])
    if len(unread) == 1 or output is not None:
        name = unread[0]
        return env[name], name
    shown = ", ".join(unread[:8]) + (f" and {len(unread) - 8} more" if len(unread) > 8 else "")
    where = starts[last]
    raise ParseError(
        f"cannot tell which node is the output: '{last}', assigned last, is read by another "
        f"statement, and {len(unread)} assigned names are read by none: {shown}",
        program.source,
        make_span(where[2], where[3]),
        hint=f"choose one with --of NAME (e.g. --of {unread[0]}), or end the program with it",
    )


#: operations whose operands may be swapped: canonical() sorts them
COMMUTATIVE = frozenset({"add", "mul"})


def canonical(graph: Graph, output: int | None = None, limit: int = 2000) -> str | None:
    """The output's computation as one string, the same for two graphs exactly when they
    compute the same expression up to the order of the operands of ``+`` and ``*`` and the
    names of intermediates: ``(w*2+b)*(b+1)`` and ``x = 2*w + b; y = b + 1; z = x*y`` give
    ``mul(add(1.0,b),add(b,mul(2.0,w)))``. Variables keep their names; a named intermediate
    is spelled out (a copy ``x = y`` adds nothing). None when a form would pass ``limit``
    characters (a shared subexpression is spelled out at every use, so forms can grow fast).
    """
    out = graph.output if output is None else output
    needed = needed_by(graph, out)
    forms = [""] * (out + 1)
    for node in graph.nodes[: out + 1]:
        if not needed[node.id]:
            continue
        if node.op == "var":
            form = str(node.name)
        elif node.op == "const":
            form = repr(node.value)
        elif node.op == "id":
            form = forms[node.inputs[0]]
        else:
            args = [forms[i] for i in node.inputs]
            if node.op in COMMUTATIVE:
                args.sort()
            form = f"{node.op}({','.join(args)})"
        if len(form) > limit:
            return None
        forms[node.id] = form
    return forms[out]


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
