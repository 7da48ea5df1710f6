"""Parser: tokens to a :class:`~backprop_cli.lang.syntax.Script`; never evaluates anything.

:func:`parse` is the careful recursive-descent parser below: the reference, and the only
place errors are worded. :func:`parse_flat` is the same parse in the flat form the graph
builder reads. (For speed, ``backprop_cli.compile`` first offers ordinary programs to the
quick parser, :func:`backprop_cli.accel.parse.try_parse`, which writes the flat form in
one loop and declines anything unusual; tests/accel/test_quick_parser.py holds it to
this one.) Both read operator precedence from one table, :data:`PRECEDENCE`.

Grammar (``sep`` is ``;`` or a newline; the parser always ends by requiring end of input)::

    program    := sep* statement (sep+ statement)* sep* EOF
    statement  := NAME '=' expr            -- an assignment
                | expr                     -- a bare expression: only as the LAST statement
    expr       := term (('+' | '-') term)*                         -- left-assoc, iterative
    term       := unary (('*' | '/') unary | <implicit> power)*    -- left-assoc, iterative
    unary      := ('+' | '-')* power
    power      := atom ('^' exponent)?                             -- right-assoc
    exponent   := ('+' | '-')* power
    atom       := NUMBER | NAME | CONSTANT | FUNCTION '(' expr (',' expr)* ')' | '(' expr ')'

    <implicit>: directly after a NUMBER token, when the next token is a name, a
    constant, a function call or '(' ("2w", "3pi", "2 sin(x)", "2(b+1)"). It is
    an ordinary '*' (same precedence, left-assoc: 1/2w = (1/2)*w) built as
    Binary("*", implicit=True). Anything else juxtaposed ("2 3", "a b",
    "(a)(b)") is "missing operator".

The levels ``expr`` and ``term`` (one loop, :meth:`_Parser.expr`, per left-associative
row), the signs of ``unary`` and ``exponent``, and the operator of ``power`` are read
from :data:`PRECEDENCE` (tightest first)::

    atoms     number, name, constant, call, ( ... )
    ^  **     power, right-assoc; its exponent may carry signs: 2^-1, 2^3^2 = 2^(3^2)
    + -       unary signs (looser than ^: -3^2 = -(3^2))
    * / ⋅     multiplication, division, implicit multiplication; left-assoc
    + -       addition, subtraction; left-assoc

Spans: a number, name or constant spans its token; Unary spans sign .. operand;
Call spans name .. ')'; a parenthesised expression keeps its inner node's span
(there is no Paren node) but a Binary or Unary built around it includes the
parentheses, so ``source[node.span]`` is always that node's own subexpression.

Limits (:mod:`backprop_cli.limits`) are read at call time: nesting depth of
parentheses + calls + unary signs + right-nested powers, syntax nodes, and
statements. Binary chains and sign/power chains are parsed with loops; only
parentheses and calls recurse, bounded by ``MAX_DEPTH``.

Checks after parsing: no assignment to a function or constant name, no name used in
its own assignment. Order: when every name is assigned once, statements may come in any
order (``z = x*y; x = 2*w + b; y = b + 1``): :func:`parse` returns them sorted
topologically — each assignment before the statements that read it, source order kept
wherever the dependencies allow — and assignments that depend on each other in a cycle
(``a = b + 1; b = a*2``) are an error naming the cycle. A name assigned twice is refused,
and then the statement order is the rule as it always was: the first problem met in
source order is reported (a use before the assignment, or the second assignment).
Names never assigned are the program's inputs; which statement is the output is the
graph builder's business (:func:`backprop_cli.core.graph.build`).
"""

from __future__ import annotations

import difflib
import sys
from dataclasses import dataclass

from .. import limits
from ..errors import LimitError, ParseError, Span
from .lexer import Token, prepare_source, scan
from .names import CONSTANTS, FUNCTIONS
from .syntax import Flat, flatten
from .syntax import Assign, Binary, Call, Const, Expr, Name, Num, Script, Unary
from .syntax import make_span as _span

__all__ = ["IMPLICIT", "PRECEDENCE", "parse", "parse_flat"]

_ATOM_START = ("num", "name", "(")


def parse_flat(text: str) -> Flat:
    """:func:`parse`, in the flat form the graph builder reads (:mod:`backprop_cli.lang.syntax`)."""
    return flatten(parse(text))


def parse(text: str) -> Script:
    """Parse *text* into a Script, or raise ParseError / LimitError with the source and a span.

    The careful recursive-descent parser: the reference for :func:`parse_flat`. The
    statements come back in dependency order (sorted when the source has them otherwise).
    """
    text = prepare_source(text)
    old = sys.getrecursionlimit()
    # Only parentheses and calls recurse (about six frames per level), and depth is
    # bounded by MAX_DEPTH, so a temporary, bounded raise is safe.
    needed = old + 8 * limits.MAX_DEPTH + 200
    if needed > old:
        sys.setrecursionlimit(needed)
    try:
        parser = _Parser(text)
        program = parser.program()
    finally:
        sys.setrecursionlimit(old)
    return _check_names(program, parser.uses)


#: rows of (operators, "left" | "right" | "prefix"), tightest first
PrecedenceTable = tuple[tuple[tuple[str, ...], str], ...]

#: Operator precedence, tightest first: the one table. The careful parser's grammar levels
#: (:func:`grammar`) and the quick parser's binding powers (:mod:`backprop_cli.accel.parse`)
#: are both read from it. Each row: its operators (token kinds: ``**`` is a ``"^"`` token)
#: and how a chain of them groups: ``"right"`` (2^3^2 = 2^(3^2)), ``"prefix"`` (signs in
#: front of an operand) or ``"left"`` (1/2/4 = (1/2)/4). Atoms bind tighter than any row.
PRECEDENCE: PrecedenceTable = (
    (("^",), "right"),  # power; its exponent may carry signs: 2^-1
    (("+", "-"), "prefix"),  # unary signs, looser than '^': -3^2 = -(3^2)
    (("*", "/"), "left"),  # multiplication, division, implicit multiplication (2w)
    (("+", "-"), "left"),  # addition, subtraction
)
#: implicit multiplication ("2w", "2(b+1)") is this operator, in its row
IMPLICIT = "*"


@dataclass(frozen=True, slots=True)
class Grammar:
    """The careful parser's operator levels, as read from a precedence table."""

    power: tuple[str, ...]  # the right-associative row (``power``)
    signs: tuple[str, ...]  # the prefix row (``unary``, ``exponent``)
    chains: tuple[tuple[str, ...], ...]  # the left-associative rows, loosest first


def grammar(table: PrecedenceTable = PRECEDENCE) -> Grammar:
    """The levels of *table* (tightest first) for the recursive-descent grammar.

    The grammar has one shape: one right-associative row (the tightest), then one prefix
    row, then one or more left-associative rows; a table of another shape is a ValueError.
    """
    shape = [assoc for _, assoc in table]
    if len(shape) < 3 or shape[:2] != ["right", "prefix"] or set(shape[2:]) != {"left"}:
        raise ValueError(f"the grammar reads 'right', 'prefix', then 'left' rows, not {shape}")
    chains = tuple(ops for ops, _ in reversed(table[2:]))
    return Grammar(table[0][0], table[1][0], chains)


_GRAMMAR = grammar()


def _describe(tok: Token | None) -> str:
    if tok is None:
        return "the start"
    if tok.kind == "eof":
        return "the end of input"
    if tok.kind == "sep" and tok.text == "\n":
        return "a line break"
    text = tok.text if len(tok.text) <= 30 else tok.text[:29] + "…"
    return f"'{text}'"


def _line_of(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


class _Parser:
    def __init__(self, text: str, levels: Grammar = _GRAMMAR) -> None:
        self.text = text
        self.power_ops = levels.power
        self.signs_ops = levels.signs
        self.chains = levels.chains
        self._tokens = scan(text)
        self.tok: Token = next(self._tokens)
        self.prev: Token | None = None
        self._peeked: Token | None = None
        self.depth = 0
        self.nodes = 0
        self.open_parens: list[Token] = []
        self.uses: list[list[Name]] = []  # Name nodes of each statement, in source order
        self._names: list[Name] = []

    # -- token stream ---------------------------------------------------------------------

    def advance(self) -> None:
        if self.tok.kind == "eof":
            return
        self.prev = self.tok
        if self._peeked is not None:
            self.tok, self._peeked = self._peeked, None
        else:
            self.tok = next(self._tokens)

    def peek(self) -> Token:
        if self.tok.kind == "eof":
            return self.tok
        if self._peeked is None:
            self._peeked = next(self._tokens)
        return self._peeked

    # -- helpers --------------------------------------------------------------------------

    def error(self, message: str, span: Span, hint: str | None = None) -> ParseError:
        return ParseError(message, self.text, span, hint)

    def enter(self, tok: Token) -> None:
        """One more level of nesting, opened by *tok*; refuse it past MAX_DEPTH."""
        self.depth += 1
        if self.depth > limits.MAX_DEPTH:
            raise LimitError(
                f"expression nests deeper than {limits.MAX_DEPTH} levels "
                "(parentheses, calls, signs and powers count)",
                self.text,
                tok.span,
            )

    def make(self, node: Expr) -> Expr:
        self.nodes += 1
        if self.nodes > limits.MAX_NODES:
            at = self.prev.span if self.prev is not None else node.span
            raise LimitError(
                f"expression has more than {limits.MAX_NODES} syntax nodes; "
                f"the limit is {limits.MAX_NODES}",
                self.text,
                at,
            )
        return node

    def open_hint(self) -> str | None:
        if not self.open_parens:
            return None
        tok = self.open_parens[-1]
        col = tok.start - (self.text.rfind("\n", 0, tok.start) + 1) + 1
        return f"the '(' at column {col} is still open"

    def missing_operator(self) -> ParseError:
        return self.error(
            f"missing operator between {_describe(self.prev)} and {_describe(self.tok)}",
            self.tok.span,
            hint="write '*' to multiply",
        )

    def expected_operand(self) -> ParseError:
        tok = self.tok
        after = ""
        if self.prev is not None and self.prev.kind != "sep":
            after = f" after {_describe(self.prev)}"
        if tok.kind == "eof":
            return self.error(
                f"unexpected end of input: expected an expression{after}",
                tok.span,
                self.open_hint(),
            )
        if tok.kind == ")" and self.prev is not None and self.prev.kind == "(":
            return self.error("empty parentheses '()'", _span(self.prev.start, tok.end))
        if tok.kind == ")" and not self.open_parens:
            return self.error("unmatched ')'", tok.span)
        return self.error(f"expected an expression{after}, found {_describe(tok)}", tok.span)

    # -- grammar --------------------------------------------------------------------------

    def program(self) -> Script:
        statements: list[Assign | Expr] = []
        bare: Expr | None = None
        while True:
            while self.tok.kind == "sep":
                self.advance()
            if self.tok.kind == "eof":
                break
            if bare is not None:
                raise self.error(
                    "only the last statement can be a bare expression; did you mean 'name = ...'?",
                    bare.span,
                    hint="give the value a name, e.g. 'y = ...', or make it the last statement",
                )
            if len(statements) >= limits.MAX_STATEMENTS:
                raise LimitError(
                    f"program has more than {limits.MAX_STATEMENTS} statements; "
                    f"the limit is {limits.MAX_STATEMENTS}",
                    self.text,
                    self.tok.span,
                )
            names: list[Name]
            self._names = names = []
            stmt = self.statement()
            statements.append(stmt)
            self.uses.append(names)
            if not isinstance(stmt, Assign):
                bare = stmt
            if self.tok.kind not in ("sep", "eof"):
                raise self.bad_statement_end()
        if not statements:
            raise self.error("empty expression", _span(len(self.text), len(self.text)))
        return Script(tuple(statements), self.text)

    def bad_statement_end(self) -> ParseError:
        tok = self.tok
        if tok.kind == ")":
            return self.error("unmatched ')'", tok.span)
        if tok.kind in _ATOM_START:
            return self.missing_operator()
        if tok.kind == ",":
            return self.error(
                "unexpected ','", tok.span, hint="',' only separates function arguments"
            )
        return self.error(f"unexpected {_describe(tok)}", tok.span)

    def statement(self) -> Assign | Expr:
        tok = self.tok
        if tok.kind == "name" and self.peek().kind == "=":
            name = tok.text
            if name in FUNCTIONS:
                raise self.error(
                    f"cannot assign to '{name}': it is a built-in function",
                    tok.span,
                    hint="choose another name",
                )
            if name in CONSTANTS:
                raise self.error(
                    f"cannot assign to '{name}': it is a built-in constant",
                    tok.span,
                    hint="choose another name",
                )
            self.advance()
            self.advance()
            expr, _, end = self.expr()
            if self.tok.kind == "=":
                raise self.error(
                    "a statement can assign only one name; '=' appears twice",
                    self.tok.span,
                    hint="write one assignment per statement: 'a = 1; b = a'",
                )
            return Assign(name, tok.span, expr, _span(tok.start, end))
        expr, start, end = self.expr()
        if self.tok.kind == "=":
            left = self.text[start:end]
            left = left if len(left) <= 30 else left[:29] + "…"
            raise self.error(
                f"cannot assign to '{left}': the left side of '=' must be a name",
                _span(start, end),
            )
        return expr

    def expr(self, level: int = 0) -> tuple[Expr, int, int]:
        """A left-associative chain of the operators of ``chains[level]`` (``expr`` is row 0,
        ``term`` row 1); its operands are the next row's chains, or after the last row
        :meth:`unary`. Implicit multiplication joins the row of :data:`IMPLICIT`.
        """
        ops = self.chains[level]
        tighter = level + 1 < len(self.chains)
        left, start, end = self.expr(level + 1) if tighter else self.unary()
        while True:
            kind = self.tok.kind
            if kind in ops:
                op, implicit = kind, False
                self.advance()
            elif (
                IMPLICIT in ops
                and kind in ("name", "(")
                and self.prev is not None
                and self.prev.kind == "num"
            ):
                op, implicit = IMPLICIT, True
            else:
                break
            right, _, end = self.expr(level + 1) if tighter else self.unary()
            left = self.make(Binary(op, left, right, _span(start, end), implicit))
        return left, start, end

    def signs(self) -> list[Token]:
        signs = []
        while self.tok.kind in self.signs_ops:
            self.enter(self.tok)
            signs.append(self.tok)
            self.advance()
        return signs

    def wrap(self, signs: list[Token], node: Expr, start: int, end: int) -> tuple[Expr, int]:
        for sign in reversed(signs):
            start = sign.start
            node = self.make(Unary(sign.kind, node, _span(start, end)))
        return node, start

    def unary(self) -> tuple[Expr, int, int]:
        if self.tok.kind not in self.signs_ops:  # the common case: no signs
            return self.power()
        signs = self.signs()
        node, start, end = self.power()
        node, start = self.wrap(signs, node, start, end)
        self.depth -= len(signs)
        return node, start, end

    def power(self) -> tuple[Expr, int, int]:
        base, start, end = self.atom()
        ops = self.power_ops
        if self.tok.kind not in ops:
            return base, start, end
        entered = 0
        levels: list[tuple[str, list[Token], Expr, int]] = []
        while self.tok.kind in ops:
            op = self.tok.kind
            self.enter(self.tok)
            entered += 1
            self.advance()
            signs = self.signs()
            entered += len(signs)
            node, s, end = self.atom()
            levels.append((op, signs, node, s))
        # Fold from the right: a0 ^ s1 (a1 ^ s2 (a2 ^ ...)); each level's operator is the
        # one written before it.
        op, signs, right, rstart = levels[-1]
        right, rstart = self.wrap(signs, right, rstart, end)
        for before, signs, node, s in reversed(levels[:-1]):
            right = self.make(Binary(op, node, right, _span(s, end)))
            right, rstart = self.wrap(signs, right, s, end)
            op = before
        result = self.make(Binary(op, base, right, _span(start, end)))
        self.depth -= entered
        return result, start, end

    def atom(self) -> tuple[Expr, int, int]:
        tok = self.tok
        if tok.kind == "num":
            self.advance()
            return self.make(Num(tok.value, tok.span)), tok.start, tok.end  # type: ignore[arg-type]  # num: a value
        if tok.kind == "name":
            self.advance()
            name = tok.text
            if self.tok.kind == "(":
                return self.call(tok)
            if name in FUNCTIONS:
                raise self.error(f"{name} is a function; call it as {name}(...)", tok.span)
            node: Expr
            if name in CONSTANTS:
                node = Const(name, tok.span)
            else:
                node = Name(name, tok.span)
                self._names.append(node)
            return self.make(node), tok.start, tok.end
        if tok.kind == "(":
            self.enter(tok)
            self.open_parens.append(tok)
            self.advance()
            node, _, _ = self.expr()
            close = self.close(tok)
            self.open_parens.pop()
            self.depth -= 1
            return node, tok.start, close.end
        raise self.expected_operand()

    def close(self, open_tok: Token, func: str | None = None) -> Token:
        """Consume the ')' matching *open_tok* or explain why it is missing."""
        tok = self.tok
        if tok.kind == ")":
            self.advance()
            return tok
        if tok.kind == "eof":
            what = f" of the call to {func}" if func else ""
            raise self.error(
                f"unclosed '('{what}: expected ')' before the end of input",
                open_tok.span,
            )
        if tok.kind in _ATOM_START:
            raise self.missing_operator()
        col = open_tok.start - (self.text.rfind("\n", 0, open_tok.start) + 1) + 1
        if tok.kind == "=":
            raise self.error(
                "'=' is not allowed inside parentheses; assignments are statements",
                tok.span,
            )
        if tok.kind == "," and func is None:
            raise self.error(
                f"expected ')' to close the '(' at column {col}, found ','",
                tok.span,
                hint="',' only separates function arguments",
            )
        raise self.error(
            f"expected ')' to close the '(' at column {col}, found {_describe(tok)}", tok.span
        )

    def call(self, name_tok: Token) -> tuple[Expr, int, int]:
        name = name_tok.text
        if name not in FUNCTIONS:
            raise _unknown_function(self.text, name_tok)
        open_tok = self.tok
        self.enter(name_tok)
        self.open_parens.append(open_tok)
        self.advance()
        args: list[Expr] = []
        if self.tok.kind != ")":
            while True:
                if self.tok.kind in (",", ")"):
                    raise self.error(f"empty argument in the call to {name}", self.tok.span)
                if self.tok.kind in ("*", "^"):
                    raise self.error("starred arguments are not supported", self.tok.span)
                arg, astart, _ = self.expr()
                if self.tok.kind == "=":
                    raise self.error(
                        "keyword arguments are not supported",
                        _span(astart, self.tok.end),
                        hint=f"pass arguments by position: {name}(...)",
                    )
                args.append(arg)
                if self.tok.kind != ",":
                    break
                self.advance()
        close = self.close(open_tok, func=name)
        self.open_parens.pop()
        self.depth -= 1
        span = _span(name_tok.start, close.end)
        accepted = FUNCTIONS[name]
        if len(args) not in accepted:
            counts = " or ".join(str(k) for k in accepted)
            noun = "argument" if accepted == (1,) else "arguments"
            raise self.error(f"{name} takes {counts} {noun}, got {len(args)}", span)
        node = self.make(Call(name, tuple(args), span, name_tok.span))
        return node, span.start, span.end


def _unknown_function(text: str, tok: Token) -> ParseError:
    name = tok.text
    if name in CONSTANTS:
        return ParseError(
            f"'{name}' is a constant, not a function",
            text,
            tok.span,
            hint=f"to multiply, write {name}*(...)",
        )
    lowered = {f.lower(): f for f in FUNCTIONS}
    guess = lowered.get(name.lower())
    if guess is None:
        close = difflib.get_close_matches(name.lower(), list(FUNCTIONS), n=1, cutoff=0.6)
        guess = close[0] if close else None
    shown = name if len(name) <= 30 else name[:29] + "…"
    if guess is not None:
        return ParseError(f"unknown function '{shown}'; did you mean '{guess}'?", text, tok.span)
    return ParseError(
        f"unknown function '{shown}'",
        text,
        tok.span,
        hint=f"to multiply, write {shown}*(...); functions are " + ", ".join(FUNCTIONS),
    )


def _names_in(expr: Expr) -> list[Name]:
    """Name nodes of *expr* in source order, walked iteratively (chains can be 10 000 deep)."""
    found: list[Name] = []
    stack: list[Expr] = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, Name):
            found.append(node)
        elif isinstance(node, Binary):
            stack.append(node.right)
            stack.append(node.left)
        elif isinstance(node, Unary):
            stack.append(node.operand)
        elif isinstance(node, Call):
            stack.extend(reversed(node.args))
    return found


def _check_names(program: Script, uses: list[list[Name]] | None = None) -> Script:
    """The program with its statements in dependency order, or a ParseError.

    When every name is assigned once, statements may come in any order: they are sorted
    topologically (:func:`_sort_statements`), keeping source order wherever the
    dependencies allow; a program already in order is returned as it is. A name used in
    its own definition, or assignments that depend on each other in a cycle, are refused.
    A name assigned twice keeps the rules of the statement order: double assignment and
    use before assignment are refused, in statement order (:func:`_check_in_order`).

    ``uses``: the Name nodes of each statement in source order, as the parser met them
    (the same list :func:`_names_in` walks out of the tree).
    """
    statements = program.statements
    first: dict[str, int] = {}
    twice = False
    for index, stmt in enumerate(statements):
        if isinstance(stmt, Assign):
            if stmt.target in first:
                twice = True
            else:
                first[stmt.target] = index
    if twice:
        _check_in_order(program, first, uses)
        raise AssertionError("a name assigned twice is always refused")  # pragma: no cover
    found_by: list[list[Name]] = []
    forward = False
    for index, stmt in enumerate(statements):
        if uses is not None:
            found = uses[index]
        else:
            found = _names_in(stmt.expr if isinstance(stmt, Assign) else stmt)
        found_by.append(found)
        for use in found:
            assigned = first.get(use.name)
            if assigned is not None and assigned >= index:
                if assigned == index:
                    raise _use_before_assignment(program, use, index, index)
                forward = True
    if not forward:
        return program
    return Script(_sort_statements(program, first, found_by), program.source)


def _use_before_assignment(program: Script, use: Name, index: int, assigned: int) -> ParseError:
    stmt = program.statements[assigned]
    assert isinstance(stmt, Assign)
    where = _line_of(program.source, stmt.target_span.start)
    if assigned == index:
        hint = (
            f"a name cannot be used in its own definition; to use an input "
            f"named {use.name}, give the result another name"
        )
    else:
        hint = f"move '{use.name} = ...' before its first use"
    return ParseError(
        f"'{use.name}' is used before it is assigned; its assignment is on line {where}",
        program.source,
        use.span,
        hint,
    )


def _check_in_order(program: Script, first: dict[str, int], uses: list[list[Name]] | None) -> None:
    """Refuse double assignment and use before assignment, in statement order."""
    text = program.source
    for index, stmt in enumerate(program.statements):
        if uses is not None:
            found = uses[index]
        else:
            found = _names_in(stmt.expr if isinstance(stmt, Assign) else stmt)
        for use in found:
            assigned = first.get(use.name)
            if assigned is not None and assigned >= index:
                raise _use_before_assignment(program, use, index, assigned)
        if isinstance(stmt, Assign) and first[stmt.target] != index:
            earlier = program.statements[first[stmt.target]]
            assert isinstance(earlier, Assign)
            where = _line_of(text, earlier.target_span.start)
            raise ParseError(
                f"'{stmt.target}' is assigned twice; it was first assigned on line {where}",
                text,
                stmt.target_span,
                hint="each name can be assigned once; use a new name",
            )


#: at most this many links of a cycle are spelled out in its error message
_CYCLE_SHOWN = 6


def _sort_statements(
    program: Script, first: dict[str, int], found_by: list[list[Name]]
) -> tuple[Assign | Expr, ...]:
    """The statements in a topological order: every assignment before the statements that
    read its name. Stable: among the statements ready at a step, the earliest in the source
    goes first (Kahn's algorithm over a heap of source indices), so a program already in
    order keeps it. Assignments that depend on each other in a cycle are a ParseError
    naming the cycle, its caret on the first of them in the source.
    """
    import heapq

    statements = program.statements
    n = len(statements)
    needs: list[list[int]] = []  # statement -> the statements it reads, in source order
    readers: list[list[int]] = [[] for _ in range(n)]
    waiting = [0] * n
    for index, found in enumerate(found_by):
        deps: list[int] = []
        for use in found:
            j = first.get(use.name)
            if j is not None and j not in deps:
                deps.append(j)
                readers[j].append(index)
        needs.append(deps)
        waiting[index] = len(deps)
    ready = [i for i in range(n) if not waiting[i]]  # ascending: already a heap
    order: list[int] = []
    while ready:
        i = heapq.heappop(ready)
        order.append(i)
        for r in readers[i]:
            waiting[r] -= 1
            if not waiting[r]:
                heapq.heappush(ready, r)
    if len(order) < n:
        raise _cycle_error(program, needs, waiting)
    return tuple(statements[i] for i in order)


def _cycle_error(program: Script, needs: list[list[int]], waiting: list[int]) -> ParseError:
    """Walk from the earliest unplaced statement along unplaced dependencies until a
    statement repeats: the loop found is a cycle."""
    statements = program.statements
    start = next(i for i, w in enumerate(waiting) if w)
    seen: dict[int, int] = {}
    path: list[int] = []
    i = start
    while i not in seen:
        seen[i] = len(path)
        path.append(i)
        i = next(j for j in needs[i] if waiting[j])
    cycle = path[seen[i] :]
    k = cycle.index(min(cycle))  # begin with the earliest in the source
    cycle = cycle[k:] + cycle[:k]
    names = [_assign(statements[j]).target for j in cycle]
    links = [f"{a} uses {b}" for a, b in zip(names, names[1:] + names[:1])]
    if len(links) > _CYCLE_SHOWN:
        links = links[: _CYCLE_SHOWN - 1] + [f"… ({len(links) - _CYCLE_SHOWN + 1} more)"]
    if len(names) == 2:
        who = f"'{names[0]}' and '{names[1]}' are"
    elif len(names) <= _CYCLE_SHOWN:
        who = ", ".join(f"'{m}'" for m in names[:-1]) + f" and '{names[-1]}' are"
    else:
        who = f"{len(names)} names are"
    head = _assign(statements[cycle[0]])
    return ParseError(
        f"{who} defined in terms of each other (a cycle): " + ", ".join(links),
        program.source,
        head.span,
        hint="a name must be computable from the inputs and the other names without itself",
    )


def _assign(stmt: Assign | Expr) -> Assign:
    """A statement known to be an assignment (a bare expression is never read)."""
    assert isinstance(stmt, Assign)
    return stmt
