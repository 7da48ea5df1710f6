"""The syntax tree: plain frozen data produced by the parser — and its flat (post-order)
form, which the graph builder reads (see "the flat form" below).

Every node carries the span of the source text it came from. ``**`` is normalised to ``^``;
implicit multiplication (``2w``) becomes an ordinary ``Binary("*")`` with ``implicit=True``.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, fields

from ..compiler.execute import run_generated
from ..errors import Span


_new = object.__new__
_set_start = Span.__dict__["start"].__set__
_set_end = Span.__dict__["end"].__set__


def make_span(start: int, end: int) -> Span:
    """``Span(start, end)``, faster: fills the two slots directly.

    Span's generated ``__init__`` does nothing else (no ``__post_init__``; a test keeps it
    so); equality, hash, repr and frozenness are the dataclass's.
    """
    span = _new(Span)
    _set_start(span, start)
    _set_end(span, end)
    return span


def cheap_init(cls):
    """Give a frozen, slotted dataclass an ``__init__`` that fills the slots directly.

    The generated ``__init__`` of a frozen dataclass sets every field through
    ``object.__setattr__``; calling the slots' own descriptors is faster, which matters for the thousands of nodes of a long program. Everything
    else stays the dataclass's: frozen, equality, hash, repr, ``dataclasses.replace``.
    """
    names = [f.name for f in fields(cls)]
    params = []
    ns: dict = {}
    for f in fields(cls):
        if f.default is not MISSING:
            ns[f"_d_{f.name}"] = f.default
            params.append(f"{f.name}=_d_{f.name}")
        else:
            params.append(f.name)
        ns[f"_set_{f.name}"] = cls.__dict__[f.name].__set__
    body = "".join(f"    _set_{n}(self, {n})\n" for n in names) or "    pass\n"
    src = f"def __init__(self, {', '.join(params)}):\n{body}"
    run_generated(src, ns, "init")
    init = ns["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    cls.__init__ = init
    return cls


@cheap_init
@dataclass(frozen=True, slots=True)
class Num:
    value: float
    span: Span


@cheap_init
@dataclass(frozen=True, slots=True)
class Const:
    """A named constant: ``pi`` or ``e``."""

    name: str
    span: Span


@cheap_init
@dataclass(frozen=True, slots=True)
class Name:
    """A reference to an input variable or an earlier assigned name."""

    name: str
    span: Span


@cheap_init
@dataclass(frozen=True, slots=True)
class Unary:
    op: str  # "-" or "+"
    operand: "Expr"
    span: Span


@cheap_init
@dataclass(frozen=True, slots=True)
class Binary:
    op: str  # "+", "-", "*", "/", "^"
    left: "Expr"
    right: "Expr"
    span: Span
    implicit: bool = False


@cheap_init
@dataclass(frozen=True, slots=True)
class Call:
    func: str  # a name from primitives.FUNCTIONS
    args: tuple["Expr", ...]
    span: Span
    name_span: Span


Expr = Num | Const | Name | Unary | Binary | Call


@cheap_init
@dataclass(frozen=True, slots=True)
class Assign:
    target: str
    target_span: Span
    expr: Expr
    span: Span


@cheap_init
@dataclass(frozen=True, slots=True)
class Script:
    """A parsed program: statements in order; the last may be a bare expression (the output).

    (Named apart from :class:`backprop_cli.core.program.Program`, the compiled program.)
    """

    statements: tuple[Assign | Expr, ...]
    source: str


# -- the flat form ------------------------------------------------------------------------
# The same syntax written out in post-order, one plain tuple per node: a node's operands
# are the entries just before it, and each statement ends with an ASSIGN or EXPR entry.
# Spans are (start, end) ints. This is what the graph builder reads: it needs no tree
# walk, and a long program costs one tuple per node instead of a node object plus a Span
# (the tree's share of a compile: benchmarks/README.md).
#
#   (NUM, value, start, end)            (CONST, name, start, end)    (NAME, name, start, end)
#   (UNARY, op, start, end)             (BINARY, op, start, end, implicit)
#   (CALL, func, nargs, start, end, name_start, name_end)
#   (ASSIGN, target, target_start, target_end, start, end)          (EXPR,)
NUM, CONST, NAME, UNARY, BINARY, CALL, ASSIGN, EXPR = range(8)


@dataclass(frozen=True, slots=True)
class Flat:
    """A program in the flat form: ``entries`` in order, and the source they point into."""

    entries: tuple[tuple, ...]
    source: str


def flatten(program: Script) -> Flat:
    """The flat form of a syntax tree (iterative: left-deep chains can be 10 000 deep)."""
    out: list[tuple] = []
    append = out.append
    for stmt in program.statements:
        stack: list = [stmt.expr if stmt.__class__ is Assign else stmt]
        while stack:
            n = stack.pop()
            cls = n.__class__
            if cls is tuple:  # an operator whose operands are out
                n = n[0]
                s = n.span
                if n.__class__ is Binary:
                    append((BINARY, n.op, s.start, s.end, n.implicit))
                elif n.__class__ is Unary:
                    append((UNARY, n.op, s.start, s.end))
                else:
                    ns = n.name_span
                    append((CALL, n.func, len(n.args), s.start, s.end, ns.start, ns.end))
            elif cls is Binary:
                stack += ((n,), n.right, n.left)
            elif cls is Unary:
                stack += ((n,), n.operand)
            elif cls is Call:
                stack.append((n,))
                stack.extend(reversed(n.args))
            else:
                tag = NUM if cls is Num else CONST if cls is Const else NAME
                append((tag, n.value if cls is Num else n.name, n.span.start, n.span.end))
        if stmt.__class__ is Assign:
            ts, s = stmt.target_span, stmt.span
            append((ASSIGN, stmt.target, ts.start, ts.end, s.start, s.end))
        else:
            append((EXPR,))
    return Flat(tuple(out), program.source)
