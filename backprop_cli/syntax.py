"""The syntax tree: plain frozen data produced by the parser, consumed by the graph builder.

Every node carries the span of the source text it came from. ``**`` is normalised to ``^``;
implicit multiplication (``2w``) becomes an ordinary ``Binary("*")`` with ``implicit=True``.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, fields

from .errors import Span


_new = object.__new__
_set_start = Span.__dict__["start"].__set__
_set_end = Span.__dict__["end"].__set__


def make_span(start: int, end: int) -> Span:
    """``Span(start, end)`` in ~60 % of the time: fills the two slots directly.

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
    ``object.__setattr__`` (~0.1 µs a field); calling the slots' own descriptors is about
    twice as fast, which matters for the thousands of nodes of a long program. Everything
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
    exec(src, ns)  # our own source: field names of our own classes
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
class Program:
    """Statements in order; the last may be a bare expression (the output)."""

    statements: tuple[Assign | Expr, ...]
    source: str
