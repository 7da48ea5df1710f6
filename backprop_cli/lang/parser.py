"""Parser: tokens to a :class:`~backprop_cli.lang.syntax.Script`; never evaluates anything.

Two readers of one grammar. :func:`parse` is the careful recursive-descent parser below:
the reference, and the only place errors are worded. :func:`parse_flat` — what
``backprop_cli.compile`` uses — first tries :func:`_parse_quick`, a one-loop
operator-precedence reader that writes the flat form directly and declines (None) at the
first sign of anything unusual; declined text goes to :func:`parse`. The quick reader
exists for speed (benchmarks/README.md, W3); tests/accel/test_quick_parser.py holds it to
the careful one.

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

Precedence, tightest first::

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

from .. import limits
from ..errors import LimitError, ParseError, Span
from .lexer import QUICK_KINDS, Token, name_is_plain, prepare_source, quick_tokens, scan
from .names import CONSTANTS, FUNCTIONS
from .syntax import ASSIGN, BINARY, CALL, CONST, EXPR, NAME, NUM, UNARY, Flat, flatten
from .syntax import Assign, Binary, Call, Const, Expr, Name, Num, Script, Unary
from .syntax import make_span as _span

__all__ = ["parse", "parse_flat"]

_ATOM_START = ("num", "name", "(")


def parse_flat(text: str) -> Flat:
    """:func:`parse`, in the flat form the graph builder reads (:mod:`backprop_cli.lang.syntax`).

    Ordinary valid programs are read by the quick parser; everything else, every error
    included, by the careful one (then flattened), so errors are worded in one place.
    """
    text = prepare_source(text)
    quick = _parse_quick(text)
    if quick is not None:
        return Flat(tuple(quick), text)
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


#: binary operator -> precedence in :func:`_parse_quick` (unary signs are 3, between
#: '*' and '^'; bracket markers 0). '^' is the only right-associative one.
#: (looked up with any quick token kind: None, an operand's, gets None)
_QUICK_PREC: dict[str | None, int] = {"+": 1, "-": 1, "*": 2, "/": 2, "^": 4}
_DIGITS = frozenset("0123456789.")
_INF = float("inf")


def _parse_quick(text: str) -> list[tuple] | None:
    """The flat form of an ordinary, valid program in one loop, or None: ask :class:`_Parser`.

    The careful parser above is the reference and the only one that words errors. This
    one reads :func:`~backprop_cli.lang.lexer.quick_tokens` with an operator-precedence
    (shunting-yard) loop — no Token objects, no call per grammar level, no tree: each
    node is written as its flat entry (:mod:`backprop_cli.lang.syntax`) the moment it is
    complete, which is post-order. It returns None at the first thing that is not plainly
    valid: a character the quick tokens skip (checked at the end: the last token must end
    where the text does, bar trailing blanks), a name or number :func:`scan` would refuse
    or look at further, ``'='`` out of place, a missing operand or operator, a bad call, a
    bare expression before the last statement, unbalanced brackets, a name read before
    (or in) its assignment — statements out of order are the careful parser's to sort —
    or assigned twice, or a program that could come near a limit.
    For every text it accepts, the entries are exactly ``flatten`` of the careful
    parser's tree (tests/accel/test_quick_parser.py compares the two).

    Operators wait on a stack as ``(precedence, op, start or implicit)``; an arriving
    binary operator first reduces every waiting one that binds at least as tightly (for
    '^', nothing: it is right-associative and binds tightest), so ``-3^2`` is ``-(3^2)``
    and ``2^-1`` is ``2^(-1)``. Unary signs wait with precedence 3 (between '*' and '^');
    markers (0) stand for an open '(' or call. The stack bounds the careful parser's
    nesting depth from above (every open bracket, waiting sign and waiting '^' is on it),
    so a stack deeper than ``MAX_DEPTH`` hands over too (checked where the careful
    parser counts a level: brackets, signs, '^').
    """
    toks = quick_tokens(text)
    ntok = len(toks)
    # nodes <= tokens + numbers (an implicit '*' follows a number): within MAX_NODES
    if 2 * ntok + 2 > limits.MAX_NODES:
        return None
    max_depth = limits.MAX_DEPTH
    max_statements = limits.MAX_STATEMENTS
    max_literal = limits.MAX_LITERAL_CHARS
    kinds = QUICK_KINDS
    prec_of = _QUICK_PREC
    digits = _DIGITS
    functions, constants = FUNCTIONS, CONSTANTS
    n = len(text)
    plain: dict[str, bool] = {}
    out: list[tuple] = []
    emit = out.append
    first: dict[str, int] = {}  # assigned name -> its statement's index
    unassigned: set[str] = set()  # names read while not (yet) assigned
    statement = 0
    bare = False
    k = 0
    pos = 0  # the end of the last token read
    while True:
        while k < ntok and kinds.get(toks[k][1]) == "sep":
            pos += len(toks[k][0]) + 1
            k += 1
        if k == ntok:
            break
        if bare or statement >= max_statements:
            return None
        target = None
        ws, t = toks[k]
        if k + 1 < ntok and toks[k + 1][1] == "=" and t[0] not in digits and kinds.get(t) is None:
            if t in functions or t in constants or t in first:
                return None
            ok = plain.get(t)
            if ok is None:
                ok = plain[t] = name_is_plain(t)
            if not ok:
                return None
            tstart = pos + len(ws)
            target = t
            pos = tstart + len(t)
            k += 1
            pos += len(toks[k][0]) + 1
            k += 1
        # Where operands start (an operand ends where the last token read does: every
        # reduction happens when the token after its right operand arrives).
        starts: list[int] = []
        ops: list[tuple] = []  # (precedence, op, start | implicit[, name, name end, nstarts])
        expect = True  # an operand comes next
        after_num = False  # the last token read was a number
        while True:
            if k < ntok:
                ws, t = toks[k]
                start = pos + len(ws)
                end = start + len(t)
                kind = kinds.get(t)
            else:
                kind, start, end = "eof", pos, pos
            if expect:
                if kind is None:
                    if t[0] in digits:
                        value = float(t)
                        if value == _INF or len(t) > max_literal:
                            return None
                        if t == "0" and end < n and text[end] in "xXbBoO":
                            return None
                        emit((NUM, value, start, end))
                        after_num = True
                    else:
                        ok = plain.get(t)
                        if ok is None:
                            ok = plain[t] = name_is_plain(t)
                        if not ok:
                            return None
                        if k + 1 < ntok and toks[k + 1][1] == "(":
                            if t not in functions:
                                return None
                            ops.append((0, "call", start, t, end, len(starts)))
                            if len(ops) > max_depth:
                                return None
                            k += 1
                            pos = end + len(toks[k][0]) + 1
                            k += 1
                            continue
                        if t in functions:
                            return None
                        if t in constants:
                            emit((CONST, t, start, end))
                        else:
                            emit((NAME, t, start, end))
                            if t not in first:
                                unassigned.add(t)
                        after_num = False
                    starts.append(start)
                    expect = False
                elif kind == "-" or kind == "+":
                    ops.append((3, kind, start))
                    if len(ops) > max_depth:
                        return None
                elif kind == "(":
                    ops.append((0, "(", start))
                    if len(ops) > max_depth:
                        return None
                else:
                    return None
                k += 1
                pos = end
                continue
            # an operator comes next: first reduce every waiting operator that binds at
            # least as tightly as `floor` (markers, 0, stop it)
            prec = prec_of.get(kind)
            if prec == 4:  # '^': right-associative, binds tightest, reduces nothing; the
                ops.append((4, "^", False))  # careful parser counts it as a level
                if len(ops) > max_depth:
                    return None
                expect = True
                k += 1
                pos = end
                continue
            implicit = False
            if prec is not None:
                floor = prec
            elif (kind is None and t[0] not in digits) or kind == "(":
                if not after_num:
                    return None
                floor = prec = 2  # '2w': an implicit '*'; the token itself is read next round
                kind, implicit = "*", True
            elif kind == ")" or kind == "," or kind == "sep" or kind == "eof":
                floor = 1
            else:
                return None  # '=' out of place
            while ops and ops[-1][0] >= floor:
                top = ops.pop()
                if top[0] == 3:
                    emit((UNARY, top[1], top[2], pos))
                    starts[-1] = top[2]
                else:
                    starts.pop()
                    emit((BINARY, top[1], starts[-1], pos, top[2]))
            if prec is not None:
                ops.append((prec, kind, implicit))
                expect = True
                if not implicit:
                    k += 1
                    pos = end
                continue
            # a closer: ')' ',' or the end of the statement
            if kind == "sep" or kind == "eof":
                if ops:
                    return None  # a bracket is still open
                break
            if not ops:
                return None  # ')' or ',' outside brackets
            marker = ops[-1]
            if kind == ",":
                if marker[1] != "call":
                    return None
                expect = True
                k += 1
                pos = end
                continue
            ops.pop()
            if marker[1] == "(":
                starts[-1] = marker[2]
            else:
                _, _, nstart, name, nend, first_arg = marker
                nargs = len(starts) - first_arg
                if nargs not in functions[name]:
                    return None
                del starts[first_arg:]
                emit((CALL, name, nargs, nstart, end, nstart, nend))
                starts.append(nstart)
            after_num = False
            k += 1
            pos = end
            continue
        if target is None:
            bare = True
            emit((EXPR,))
        else:
            first[target] = statement
            emit((ASSIGN, target, tstart, tstart + len(target), tstart, pos))
        statement += 1
    if not statement or pos != len(text.rstrip(" \t\r")):
        return None
    # a name read before it was assigned, then assigned (later, or by that very
    # statement): the careful path sorts the statements, or words the error
    if not unassigned.isdisjoint(first):
        return None
    return out


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
    def __init__(self, text: str) -> None:
        self.text = text
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

    def expr(self) -> tuple[Expr, int, int]:
        left, start, end = self.term()
        while self.tok.kind in ("+", "-"):
            op = self.tok.kind
            self.advance()
            right, _, end = self.term()
            left = self.make(Binary(op, left, right, _span(start, end)))
        return left, start, end

    def term(self) -> tuple[Expr, int, int]:
        left, start, end = self.power() if self.tok.kind not in ("+", "-") else self.unary()
        while True:
            kind = self.tok.kind
            if kind in ("*", "/"):
                op, implicit = kind, False
                self.advance()
            elif kind in ("name", "(") and self.prev is not None and self.prev.kind == "num":
                op, implicit = "*", True
            else:
                break
            if self.tok.kind not in ("+", "-"):
                right, _, end = self.power()
            else:
                right, _, end = self.unary()
            left = self.make(Binary(op, left, right, _span(start, end), implicit))
        return left, start, end

    def signs(self) -> list[Token]:
        signs = []
        while self.tok.kind in ("+", "-"):
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
        if self.tok.kind not in ("+", "-"):  # the common case: no signs
            return self.power()
        signs = self.signs()
        node, start, end = self.power()
        node, start = self.wrap(signs, node, start, end)
        self.depth -= len(signs)
        return node, start, end

    def power(self) -> tuple[Expr, int, int]:
        base, start, end = self.atom()
        if self.tok.kind != "^":
            return base, start, end
        entered = 0
        levels: list[tuple[list[Token], Expr, int]] = []
        while self.tok.kind == "^":
            self.enter(self.tok)
            entered += 1
            self.advance()
            signs = self.signs()
            entered += len(signs)
            node, s, end = self.atom()
            levels.append((signs, node, s))
        # Fold from the right: a0 ^ s1 (a1 ^ s2 (a2 ^ ...)).
        signs, right, rstart = levels[-1]
        right, rstart = self.wrap(signs, right, rstart, end)
        for signs, node, s in reversed(levels[:-1]):
            right = self.make(Binary("^", node, right, _span(s, end)))
            right, rstart = self.wrap(signs, right, s, end)
        result = self.make(Binary("^", base, right, _span(start, end)))
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


def _check_in_order(
    program: Script, first: dict[str, int], uses: list[list[Name]] | None
) -> None:
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
