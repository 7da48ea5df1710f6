"""The quick parser: an ordinary valid program to the flat form in one loop, or None.

The careful recursive-descent parser (:func:`backprop_cli.lang.parser.parse`) is the
reference and the only place errors are worded. This one reads the program's common
tokens with one regular expression (:func:`quick_tokens`) and an operator-precedence
(shunting-yard) loop that writes each node's flat entry (:mod:`backprop_cli.lang.syntax`)
the moment it is complete — post-order — with no Token objects, no call per grammar
level and no tree. Its binding powers come from the parser's one precedence table
(:data:`backprop_cli.lang.parser.PRECEDENCE`, see :func:`binding_powers`).

It declines (None) at the first thing that is not plainly valid, and the careful parser
then answers: a character the quick tokens skip (found at the end: the tokens must cover
the text, bar trailing blanks), a name or number the lexer would refuse or look at
further, ``'='`` out of place, a missing operand or operator, a bad call, a bare
expression before the last statement, unbalanced brackets, a name read before (or in) its
assignment — statements out of order are the careful parser's to sort — or assigned
twice, or a program that could come near a limit. For every text it accepts, the entries
are exactly ``flatten`` of the careful parser's tree (tests/accel/test_quick_parser.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import NamedTuple

from .. import limits
from ..lang.lexer import PLAIN_BLANKS, PLAIN_KINDS, PLAIN_NAME, PLAIN_NUMBER, PLAIN_OPERATOR
from ..lang.lexer import name_is_plain
from ..lang.names import CONSTANTS, FUNCTIONS
from ..lang.parser import IMPLICIT, PRECEDENCE, PrecedenceTable
from ..lang.syntax import ASSIGN, BINARY, CALL, CONST, EXPR, NAME, NUM, UNARY, Flat

__all__ = ["binding_powers", "quick_entries", "quick_tokens", "try_parse"]

#: The lexer's plain tokens (plus ``**``), all at once: ``findall`` gives one
#: ``(blanks, token)`` pair per match, in C. It *skips* what it cannot match, so the parser
#: checks at the end that the pairs cover the text. A ``0`` directly before ``x``, ``b`` or
#: ``o`` (which the lexer refuses as a radix prefix) is not read as a number, so it is
#: skipped too.
_QUICK = re.compile(
    f"({PLAIN_BLANKS})({PLAIN_NAME}|(?!0[xXbBoO]){PLAIN_NUMBER}|\\*\\*|{PLAIN_OPERATOR})"
)
#: token text -> kind, for the operator tokens of :data:`_QUICK`
_KINDS = {**PLAIN_KINDS, "**": "^"}


def quick_tokens(text: str) -> list[tuple[str, str]]:
    """``(blanks before, token text)`` pairs of the plain tokens of prepared *text*.

    Only a fast first look: a character this cannot read is skipped, not reported, and
    names and numbers are not checked (:func:`quick_entries` does both).
    """
    return _QUICK.findall(text)


class Powers(NamedTuple):
    """Binding powers read from a precedence table (tightest row first).

    Rows are numbered from 1, loosest first; 0 is left for the markers of an open ``(`` or
    call, which nothing reduces. An arriving binary operator reduces every waiting one of
    at least its *floor*: its own number for a left-associative row, one more for a
    right-associative one (so ``2^3^2`` waits: ``2^(3^2)``).
    """

    binary: dict[str, tuple[int, int, str, bool]]  # token -> (number, floor, operator, False)
    signs: frozenset[str]  # the prefix row's tokens
    sign: int  # the prefix row's number
    implicit: tuple[int, int, str, bool]  # implicit multiplication: (..., IMPLICIT, True)


def binding_powers(table: PrecedenceTable = PRECEDENCE, implicit: str = IMPLICIT) -> Powers:
    """:class:`Powers` of *table*: ``"left"`` and ``"right"`` rows, and one ``"prefix"`` row."""
    binary: dict[str, tuple[int, int, str, bool]] = {}
    signs, sign = frozenset[str](), 0
    for number, (ops, assoc) in enumerate(reversed(table), start=1):
        if assoc == "prefix":
            signs, sign = frozenset(ops), number
            continue
        for op in ops:
            binary[op] = (number, number + (assoc == "right"), op, False)
    for text, kind in _KINDS.items():  # '**' binds as '^'
        if kind in binary:
            binary[text] = binary[kind]
    number, floor, op, _ = binary[implicit]
    return Powers(binary, signs, sign, (number, floor, op, True))


_POWERS = binding_powers()

# What a token is where an operand is expected (names and numbers are classified once per
# program and text, by _classify): an atom's flat tag (NUM, CONST, NAME), or one of
_PUSH, _FUNCTION, _REFUSED = -1, -2, -3  # a sign or '(' (pushed), a function name, neither
#: the bottom of each statement's operator stack: a marker nothing reduces or closes
_BOTTOM = (0, "statement")
#: After an operand, the closers: like an operator of number 0 (nothing to push) and floor
#: 1, they reduce every waiting operator down to the markers; then they close a bracket or
#: an argument, or end the statement. ("": the end of the tokens.)
_CLOSERS = {")": (0, 1, ")", False), ",": (0, 1, ",", False), ";": (0, 1, "end", False),
            "\n": (0, 1, "end", False), "": (0, 1, "end", False)}  # fmt: skip
_SEPARATORS = (";", "\n")
_NAME_START = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
#: what, after a number, makes an implicit '*' (a name or call, or '(')
_IMPLICIT_START = _NAME_START | {"("}
_INF = float("inf")


def _classify(t: str, max_literal: int) -> int:
    """A name or number token's class: NUM (a literal the lexer reads as it is: finite,
    within ``MAX_LITERAL_CHARS``), CONST, NAME (a plain name), _FUNCTION, or _REFUSED."""
    if t[0] not in _NAME_START:  # a number
        return NUM if len(t) <= max_literal and float(t) != _INF else _REFUSED
    if t in FUNCTIONS:
        return _FUNCTION
    if t in CONSTANTS:
        return CONST
    return NAME if name_is_plain(t) else _REFUSED


def try_parse(text: str) -> Flat | None:
    """The flat form of *text* (already through ``prepare_source``), or None: ask the
    careful parser."""
    entries = quick_entries(text)
    return None if entries is None else Flat(tuple(entries), text)


def quick_entries(text: str, powers: Powers = _POWERS) -> list[tuple] | None:
    """The flat entries of an ordinary valid program, or None (see the module's docstring).

    Operators wait on a stack as ``(number, op, implicit)``, signs as ``(number, op,
    start)`` and markers as ``(0, "(", start)`` or ``(0, "call", start, name, name end,
    where its arguments' starts begin)`` (numbers: :class:`Powers`); ``starts`` holds where
    each complete operand begins (it ends where the last token read does: every reduction
    happens when the token after its right operand arrives). The stack bounds the careful
    parser's nesting depth from above (every open bracket, waiting sign and waiting '^'
    is on it), so a stack deeper than ``MAX_DEPTH`` declines.
    """
    toks = quick_tokens(text)
    ntok = len(toks)
    # nodes <= tokens + numbers (an implicit '*' follows a number): within MAX_NODES
    if 2 * ntok + 2 > limits.MAX_NODES:
        return None
    toks.append(("", ""))  # the end, as an empty token
    max_stack = limits.MAX_DEPTH + 1  # (the bottom marker is no level)
    max_statements, max_literal = limits.MAX_STATEMENTS, limits.MAX_LITERAL_CHARS
    sign, implicit_power = powers.sign, powers.implicit
    follows = {**powers.binary, **_CLOSERS}  # what may come after an operand
    pushes = {t: (sign, t) for t in powers.signs}
    pushes["("] = (0, "(")
    classes = dict.fromkeys(_KINDS, _REFUSED) | dict.fromkeys(pushes, _PUSH)
    classes[""] = _REFUSED
    out: list[tuple] = []
    emit = out.append
    first: dict[str, int] = {}  # assigned name -> its statement's index
    unassigned: set[str] = set()  # names read while not (yet) assigned
    statement = 0
    bare = False  # the last statement was a bare expression
    k = 0
    pos = 0  # the end of the last token read
    while True:
        while toks[k][1] in _SEPARATORS:
            pos += len(toks[k][0]) + 1
            k += 1
        if k == ntok:
            break
        if bare or statement >= max_statements:
            return None
        target = None
        if toks[k + 1][1] == "=":
            ws, target = toks[k]
            c = classes.get(target)
            if c is None:
                c = classes[target] = _classify(target, max_literal)
            if c != NAME or target in first:
                return None
            tstart = pos + len(ws)
            pos = tstart + len(target) + len(toks[k + 1][0]) + 1
            k += 2
        starts: list[int] = []
        ops: list[tuple] = [_BOTTOM]
        expect = True  # an operand comes next
        after_num = False  # the last token read was a number
        while True:
            ws, t = toks[k]
            start = pos + len(ws)
            end = start + len(t)
            if expect:
                # every push (a sign, bracket or operator) leads here
                if len(ops) > max_stack:
                    return None
                c = classes.get(t)
                if c is None:
                    c = classes[t] = _classify(t, max_literal)
                if c == NAME:
                    emit((NAME, t, start, end))
                    if t not in first:
                        unassigned.add(t)
                elif c == _PUSH:
                    ops.append(pushes[t] + (start,))
                    k += 1
                    pos = end
                    continue
                elif c == NUM:
                    emit((NUM, float(t), start, end))
                elif c == CONST:
                    emit((CONST, t, start, end))
                elif c == _FUNCTION and toks[k + 1][1] == "(":
                    ops.append((0, "call", start, t, end, len(starts)))
                    k += 1
                    pos = end + len(toks[k][0]) + 1
                    k += 1
                    continue
                else:
                    return None
                after_num = c == NUM
                starts.append(start)
                expect = False
                k += 1
                pos = end
                continue
            # after an operand: an operator or a closer, which first reduces every waiting
            # operator that binds at least as tightly as its floor (markers, 0, stop it)
            power = follows.get(t)
            if power is None:
                if not (after_num and t[0] in _IMPLICIT_START):
                    return None  # '=' out of place, "2 3", "a b", "(a)(b)"
                power = implicit_power  # '2w': the token itself is read next round
            floor = power[1]
            while ops[-1][0] >= floor:
                top = ops.pop()
                if top[0] == sign:
                    emit((UNARY, top[1], top[2], pos))
                    starts[-1] = top[2]
                else:
                    starts.pop()
                    emit((BINARY, top[1], starts[-1], pos, top[2]))
            if power[0]:  # an operator: it waits for its right operand
                ops.append((power[0], power[2], power[3]))
                expect = True
                if not power[3]:
                    k += 1
                    pos = end
                continue
            if power[2] == "end":
                if len(ops) > 1:
                    return None  # a bracket is still open
                break
            if not _close(t, ops, starts, emit, end):
                return None
            expect = t == ","
            after_num = False
            k += 1
            pos = end
        if target is None:
            bare = True
            emit((EXPR,))
        else:
            first[target] = statement
            emit((ASSIGN, target, tstart, tstart + len(target), tstart, pos))
        statement += 1
    return out if _complete(text, pos, statement, first, unassigned) else None


def _complete(
    text: str, pos: int, statements: int, first: dict[str, int], unassigned: set[str]
) -> bool:
    """Whether the program read is all of *text*: at least one statement, tokens that
    cover the text bar trailing blanks (a skipped character leaves *pos* short), and no
    name read before it was assigned, then assigned (later, or by that very statement):
    the careful path sorts such statements, or words the error."""
    return statements > 0 and pos == len(text.rstrip(" \t\r")) and unassigned.isdisjoint(first)


def _close(
    t: str, ops: list[tuple], starts: list[int], emit: Callable[[tuple], None], end: int
) -> bool:
    """Handle ``)`` or ``,`` at the marker on top of *ops*; False: decline.

    A ``,`` needs a call; a ``)`` closes a parenthesis (its operand now starts at the
    ``(``) or a call (its arguments become one CALL entry, if their count is accepted);
    either one at the bottom of the stack is outside any bracket.
    """
    marker = ops[-1]
    if t == ",":
        return marker[1] == "call"
    if marker[1] == "(":
        ops.pop()
        starts[-1] = marker[2]
        return True
    if marker[1] != "call":
        return False
    ops.pop()
    _, _, nstart, name, nend, first_arg = marker
    nargs = len(starts) - first_arg
    if nargs not in FUNCTIONS[name]:
        return False
    del starts[first_arg:]
    emit((CALL, name, nargs, nstart, end, nstart, nend))
    starts.append(nstart)
    return True
