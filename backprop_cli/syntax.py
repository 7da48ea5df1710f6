"""The syntax tree: plain frozen data produced by the parser, consumed by the graph builder.

Every node carries the span of the source text it came from. ``**`` is normalised to ``^``;
implicit multiplication (``2w``) becomes an ordinary ``Binary("*")`` with ``implicit=True``.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import Span


@dataclass(frozen=True, slots=True)
class Num:
    value: float
    span: Span


@dataclass(frozen=True, slots=True)
class Const:
    """A named constant: ``pi`` or ``e``."""

    name: str
    span: Span


@dataclass(frozen=True, slots=True)
class Name:
    """A reference to an input variable or an earlier assigned name."""

    name: str
    span: Span


@dataclass(frozen=True, slots=True)
class Unary:
    op: str  # "-" or "+"
    operand: "Expr"
    span: Span


@dataclass(frozen=True, slots=True)
class Binary:
    op: str  # "+", "-", "*", "/", "^"
    left: "Expr"
    right: "Expr"
    span: Span
    implicit: bool = False


@dataclass(frozen=True, slots=True)
class Call:
    func: str  # a name from primitives.FUNCTIONS
    args: tuple["Expr", ...]
    span: Span
    name_span: Span


Expr = Num | Const | Name | Unary | Binary | Call


@dataclass(frozen=True, slots=True)
class Assign:
    target: str
    target_span: Span
    expr: Expr
    span: Span


@dataclass(frozen=True, slots=True)
class Program:
    """Statements in order; the last may be a bare expression (the output)."""

    statements: tuple[Assign | Expr, ...]
    source: str
