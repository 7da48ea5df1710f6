"""Lexer: source text to tokens with spans. Owns every character-level decision.

The lexer never skips a character it does not know: anything outside the
language (quotes, brackets, look-alike Unicode, invisible characters, ...)
raises :class:`ParseError` with a caret under that one character and a
pointed message. Names that are reserved (Python keywords and soft keywords,
``nan``/``inf``/``infinity`` in any case, anything starting with ``__``) are
refused here too, so a token of kind ``"name"`` is always a usable name.

A single leading byte-order mark (U+FEFF) is stripped before anything else
(:func:`prepare_source`); every span then refers to the stripped text, and
errors carry the stripped text as their source. A BOM anywhere else is an
invisible character and an error.

Token kinds: ``"num"`` (``value`` holds the float), ``"name"``, the operators
``"+" "-" "*" "/" "^" "(" ")" "," "="`` (``**`` is a ``"^"`` token whose
``text`` is ``"**"``), ``"sep"`` (``;`` or a newline) and a final ``"eof"``
whose span is empty and one past the end.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from functools import lru_cache

from .. import limits
from ..errors import LimitError, ParseError, Span
from .syntax import make_span as _make_span

__all__ = ["RESERVED_WORDS", "Token", "name_is_plain", "prepare_source", "scan", "tokenize"]

BOM = "\ufeff"


class Token:
    """One token: its kind, its exact source text, its span, and for numbers the float value.

    A plain slotted class, not a frozen dataclass: a frozen dataclass's ``__init__`` sets
    each field through ``object.__setattr__`` (a large share of the lexer's time on long
    programs; benchmarks/README.md). The span is kept as two ints (``start``, ``end``) and the
    :class:`Span` is made on access (the parser reads the ints). Treat tokens as immutable; equality, hash and repr are a dataclass's.
    """

    __slots__ = ("kind", "text", "start", "end", "value")

    def __init__(
        self, kind: str, text: str, start: int, end: int, value: float | None = None
    ) -> None:
        self.kind = kind
        self.text = text
        self.start = start
        self.end = end
        self.value = value

    @property
    def span(self) -> Span:
        return _make_span(self.start, self.end)

    def _key(self) -> tuple:
        return (self.kind, self.text, self.start, self.end, self.value)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not Token:
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"Token(kind={self.kind!r}, text={self.text!r}, span={self.span!r}, value={self.value!r})"


# Python keywords and soft keywords of 3.10 to 3.13, frozen here so the language
# does not change with the interpreter that runs it.
RESERVED_WORDS = frozenset((
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class",
    "continue", "def", "del", "elif", "else", "except", "finally", "for", "from", "global",
    "if", "import", "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return",
    "try", "while", "with", "yield", "_", "case", "match", "type",
))  # fmt: skip
_NON_FINITE = frozenset({"nan", "inf", "infinity"})
_INF = float("inf")

_WS = re.compile(r"[ \t\r]+")
_NUMBER = re.compile(r"(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_ASCII_NAME_RUN = re.compile(r"[A-Za-z0-9_]*")
_LITERAL_TAIL = re.compile(r"[A-Za-z0-9_.]*")
_PREFIXES = {"x": "hexadecimal", "b": "binary", "o": "octal"}

_OPERATORS = {"+": "+", "-": "-", "*": "*", "/": "/", "^": "^", "(": "(", ")": ")", ",": ",",
              ";": "sep", "=": "="}  # fmt: skip

# Letters of other scripts that are drawn like Latin letters.
_CONFUSABLES = {
    # Cyrillic
    "а": "a", "в": "B", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x",
    "і": "i", "ј": "j", "ѕ": "s", "ԁ": "d", "ԛ": "q", "ԝ": "w", "һ": "h", "ӏ": "l",
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P",
    "С": "C", "Т": "T", "Х": "X", "І": "I", "Ј": "J", "Ѕ": "S", "У": "Y", "Ԛ": "Q",
    "Ԝ": "W",
    # Armenian
    "օ": "o", "ս": "u", "հ": "h", "ց": "g",
}  # fmt: skip
_MINUS_LIKE = "\u2212\u2010\u2011\u2012\u2013\u2014\u2015\ufe58\ufe63\u2796"
_TIMES_LIKE = "\u00d7\u00b7\u22c5\u2217\u2715\u2716\u2219"
_DIVIDE_LIKE = "\u00f7\u2215\u2044\u2797"
_QUOTES = "'\"`\u2018\u2019\u201a\u201b\u201c\u201d\u201e\u201f\u00ab\u00bb"
_ASCII_HINTS = {
    "[": "brackets are not supported; use parentheses for grouping",
    "]": "brackets are not supported; use parentheses for grouping",
    "{": "braces are not supported; use parentheses for grouping",
    "}": "braces are not supported; use parentheses for grouping",
    "%": "the modulo operator is not supported",
    "#": "comments are not supported",
    "!": "factorials and negation with '!' are not supported",
    "<": "comparisons are not supported",
    ">": "comparisons are not supported",
    "&": "bitwise operators are not supported",
    "|": "bitwise operators are not supported; use abs(x) for an absolute value",
    "~": "bitwise operators are not supported",
    "@": "matrix multiplication is not supported; use '*'",
    "\\": "line continuations are not supported",
}


def prepare_source(text: str) -> str:
    """Strip one leading BOM and refuse text over ``limits.MAX_SOURCE_CHARS`` (before tokenising)."""
    if text.startswith(BOM):
        text = text[1:]
    limit = limits.MAX_SOURCE_CHARS
    if len(text) > limit:
        raise LimitError(
            f"expression is {len(text)} characters long; the limit is {limit}",
            source=text,
            span=Span(limit, len(text)),
        )
    return text


def tokenize(text: str) -> list[Token]:
    """All tokens of *text* (after :func:`prepare_source`), ending with an ``"eof"`` token."""
    return list(scan(prepare_source(text)))


def _clip(s: str, width: int = 40) -> str:
    return s if len(s) <= width else s[: width - 1] + "…"


def _uname(ch: str) -> str:
    return unicodedata.name(ch, "")


@lru_cache(maxsize=512)
def _is_greek_letter(ch: str) -> bool:
    return (
        not ch.isascii()
        and ch.isalpha()
        and _uname(ch).startswith("GREEK")
        and unicodedata.normalize("NFKC", ch) == ch
    )


def _name_end(text: str, i: int) -> int:
    """End of the identifier run starting at *i* (ASCII letters, digits, ``_`` and Greek letters)."""
    n = len(text)
    while True:
        i = _ASCII_NAME_RUN.match(text, i).end()  # type: ignore[union-attr]  # matches ''
        if i < n and _is_greek_letter(text[i]):
            i += 1
            continue
        return i


def name_is_plain(name: str) -> bool:
    """A name :func:`scan` accepts as it is (not reserved, no ``__``, not nan/inf)."""
    return not (name.startswith("__") or name in RESERVED_WORDS or name.lower() in _NON_FINITE)


def _check_name(text: str, start: int, end: int) -> None:
    """Refuse a name that is not :func:`name_is_plain`, with the reason."""
    name = text[start:end]
    if name_is_plain(name):
        return
    span = Span(start, end)
    if name.startswith("__"):
        raise ParseError("names starting with '__' are not allowed", text, span)
    if name in RESERVED_WORDS:
        raise ParseError(f"'{name}' is a reserved word", text, span, hint="choose another name")
    if name.lower() in _NON_FINITE:
        raise ParseError(
            f"'{name}' is not a number you can write; non-finite values are not allowed", text, span
        )


def _number(text: str, i: int) -> Token:
    """Scan a numeric literal at *i*; refuse malformed ones instead of splitting them."""
    n = len(text)
    m = _NUMBER.match(text, i)
    j = m.end()  # type: ignore[union-attr]  # a digit, or '.' and a digit, is at i
    lit = m.group()  # type: ignore[union-attr]  # (matched above)
    nxt = text[j] if j < n else ""

    def bad(end: int, why: str, hint: str | None = None) -> ParseError:
        shown = _clip(text[i:end])
        return ParseError(f"invalid number literal '{shown}': {why}", text, Span(i, end), hint)

    if nxt == ".":
        raise bad(_LITERAL_TAIL.match(text, j).end(), "a number has at most one '.'")  # type: ignore[union-attr]  # matches ''
    if nxt == "_":
        raise bad(
            _ASCII_NAME_RUN.match(text, j).end(),  # type: ignore[union-attr]  # matches ''
            "'_' digit separators are not supported",
            hint="write the digits without separators; to multiply, use '*'",
        )
    if nxt in ("j", "J"):
        end = _name_end(text, j)
        run = text[j:end]
        if run in ("j", "J"):
            raise bad(end, "complex numbers are not supported")
        raise bad(
            end,
            f"a number followed by '{nxt}' reads as a complex literal",
            hint=f"to multiply, write {_clip(lit)}*{_clip(run)}",
        )
    if lit == "0" and nxt in "xXbBoO" and nxt:
        end = _ASCII_NAME_RUN.match(text, j).end()  # type: ignore[union-attr]  # matches ''
        raise bad(end, f"{_PREFIXES[nxt.lower()]} literals are not supported")
    if nxt in ("e", "E"):
        end = _name_end(text, j)
        if end == j + 1:  # the run after the digits is exactly "e": a bare exponent
            if end < n and text[end] in "+-":
                end += 1
            raise bad(
                end,
                f"a bare exponent; did you mean {_clip(lit)}*{nxt}?",
                hint=f"an exponent needs digits, as in {_clip(lit)}{nxt}3; "
                f"for {_clip(lit)} times the constant e write {_clip(lit)}*{nxt}",
            )
    value = float(lit)
    if value == float("inf"):
        raise ParseError(
            "number too large for float64",
            text,
            Span(i, j),
            hint="the largest float64 is about 1.8e308",
        )
    # After the overflow check (float() is linear and the source is bounded), so an
    # absurdly long literal that is also infinite gets the more useful message.
    if len(lit) > limits.MAX_LITERAL_CHARS:
        raise LimitError(
            f"number literal is {len(lit)} characters long; the limit is {limits.MAX_LITERAL_CHARS}",
            text,
            Span(i, j),
        )
    return Token("num", lit, i, j, value)


#: what went wrong with a character, and a hint (or None)
_Problem = tuple[str, "str | None"]
_NAMES_HINT = "names use ASCII letters, digits, '_' and Greek letters"


def _char_error(text: str, i: int, prev: str | None) -> ParseError:
    """The pointed error for a character that cannot start any token.

    *prev*: the kind of the token before it (a '.' after a name is attribute access).
    """
    ch = text[i]
    if ch in _QUOTES and ch != "`":
        message, hint = "string literals are not supported", None
    elif ch.isascii():
        message, hint = _ascii_problem(ch, prev)
    else:
        message, hint = _unicode_problem(ch)
    return ParseError(message, text, Span(i, i + 1), hint)


def _ascii_problem(ch: str, prev: str | None) -> _Problem:
    if ch == ".":
        if prev in ("name", ")"):
            return "attribute access is not supported", None
        return "unexpected character '.'", None
    if unicodedata.category(ch) == "Cc":
        return f"control character U+{ord(ch):04X}", None
    return f"unexpected character '{ch}'", _ASCII_HINTS.get(ch)


def _unicode_problem(ch: str) -> _Problem:
    """Checked in this order: the character's category (invisible, control, space,
    unassigned, combining), an operator look-alike, a compatibility form, a digit, a letter."""
    for check in (_by_category, _lookalike, _compatibility, _digit, _letter):
        found = check(ch)
        if found is not None:
            return found
    return f"unexpected character '{ch}' ({_described(ch)})", None


def _code(ch: str) -> str:
    return f"U+{ord(ch):04X}"


def _described(ch: str) -> str:
    """``U+2212 MINUS SIGN``, or only the code point when the character has no name."""
    name = _uname(ch)
    return f"{_code(ch)} {name}" if name else _code(ch)


def _by_category(ch: str) -> _Problem | None:
    cat = unicodedata.category(ch)
    code, name = _code(ch), _uname(ch)
    named = f" ({name})" if name else ""
    if cat == "Cf":
        return (
            f"invisible character {code}{named}",
            "delete it; it often comes with copy-pasted text",
        )
    if cat == "Cc":
        return f"control character {code}", None
    if cat in ("Zs", "Zl", "Zp"):
        return f"unusual space character {code}{named}; use an ordinary space or newline", None
    if cat in ("Cs", "Co", "Cn"):
        return f"unexpected character {code}", None
    if cat.startswith("M"):
        return f"combining mark {code} ({name}) is not allowed", _NAMES_HINT
    return None


def _lookalike(ch: str) -> _Problem | None:
    for chars, meant in ((_MINUS_LIKE, "-"), (_TIMES_LIKE, "*"), (_DIVIDE_LIKE, "/")):
        if ch in chars:
            return f"'{ch}' ({_described(ch)}) is not ASCII; did you mean '{meant}'?", None
    return None


def _compatibility(ch: str) -> _Problem | None:
    """Micro sign, superscripts, subscripts and fullwidth forms (NFKC folds them)."""
    folded = unicodedata.normalize("NFKC", ch)
    if folded == ch:
        return None
    code, name = _code(ch), _uname(ch)
    if ch == "\u00b5":
        return "micro sign 'µ' (U+00B5); did you mean the Greek letter 'μ' (U+03BC)?", None
    if name.startswith("SUPERSCRIPT"):
        if folded.isascii() and folded.isdigit():
            return f"superscript '{ch}' ({code}); did you mean '^{folded}'?", None
        return f"superscript '{ch}' ({code}); write powers with '^', e.g. 'x^2'", None
    if name.startswith("SUBSCRIPT"):
        return f"subscript '{ch}' ({code}); did you mean '{folded}'?", None
    if all(c.isascii() and c.isprintable() and c != " " for c in folded) or (
        len(folded) == 1 and _is_greek_letter(folded)
    ):
        return f"fullwidth/compatibility character '{ch}' ({code}); did you mean '{folded}'?", None
    return f"fullwidth/compatibility character '{ch}' ({_described(ch)}) is not allowed", None


def _digit(ch: str) -> _Problem | None:
    digit = unicodedata.digit(ch, None)
    if digit is None:
        return None
    return f"non-ASCII digit '{ch}' ({_described(ch)}); did you mean '{digit}'?", None


def _letter(ch: str) -> _Problem | None:
    cat = unicodedata.category(ch)
    if cat == "Lm":
        return f"modifier letter '{ch}' ({_described(ch)}) is not allowed in names", _NAMES_HINT
    if not cat.startswith("L"):
        return None
    name = _uname(ch)
    script = name.split()[0] if name else "UNKNOWN"
    script = script if script == "CJK" else script.title()
    if ch in _CONFUSABLES:
        return f"{script} letter '{ch}' looks like Latin '{_CONFUSABLES[ch]}'", _NAMES_HINT
    if script == "Latin":
        return f"non-ASCII letter '{ch}' ({_code(ch)}) is not allowed in names", _NAMES_HINT
    return (
        f"letters of the {script} script are not allowed in names ('{ch}', {_code(ch)})",
        _NAMES_HINT,
    )


#: One token of the common, unambiguous kinds, anchored at a position (possessive and atomic
#: so a match never backs off to a shorter token). Anything this does not match — an
#: unknown character, a non-ASCII (Greek) name, a number followed by a character that
#: makes it suspicious ('.', '_', 'j', 'e'), '**', '//', '==' — goes to the careful
#: per-character path in :func:`scan`, which decides (and words every error) as before.
#: The pieces are public: the quick tokenizer (:mod:`backprop_cli.accel.parse`) is built
#: from them, so the two agree on what a plain token is.
PLAIN_BLANKS = r"[ \t\r]*+"
PLAIN_NAME = r"[A-Za-z_][A-Za-z0-9_]*+(?![^\x00-\x7f])"
PLAIN_NUMBER = r"(?>(?:[0-9]++\.?+[0-9]*+|\.[0-9]++)(?:[eE][+-]?+[0-9]++)?+)(?![._jJeE_])"
PLAIN_OPERATOR = r"[-+^(),;\n]|\*(?!\*)|/(?!/)|=(?!=)"
_FAST = re.compile(
    f"{PLAIN_BLANKS}(?:(?P<name>{PLAIN_NAME})|(?P<num>{PLAIN_NUMBER})|(?P<op>{PLAIN_OPERATOR}))"
)
#: token text -> kind, for the operators :data:`PLAIN_OPERATOR` matches
PLAIN_KINDS = {"+": "+", "-": "-", "^": "^", "(": "(", ")": ")", ",": ",", ";": "sep",
               "\n": "sep", "*": "*", "/": "/", "=": "="}  # fmt: skip


def scan(text: str) -> Iterator[Token]:
    """Yield the tokens of already-prepared *text* lazily, so errors surface in text order.

    Common tokens are read by one anchored regular expression (:data:`_FAST`); anything
    else, and every error, by :func:`_careful_token`.
    """
    n = len(text)
    i = 0
    prev: str | None = None
    fast = _FAST.match
    kinds = PLAIN_KINDS
    good_names: set[str] = set()  # names already checked by _check_name
    max_literal = limits.MAX_LITERAL_CHARS
    while i < n:
        m = fast(text, i)
        if m is None:
            tok = _careful_token(text, i, prev)
            if tok is None:  # blanks
                i = _WS.match(text, i).end()  # type: ignore[union-attr]  # a blank is at i
                continue
        elif m.lastgroup == "name":
            j = m.end()
            lit = m.group("name")
            if lit not in good_names:
                _check_name(text, j - len(lit), j)
                good_names.add(lit)
            tok = Token("name", lit, j - len(lit), j)
        elif m.lastgroup == "op":
            j = m.end()
            lit = m.group("op")
            tok = Token(kinds[lit], lit, j - 1, j)
        else:  # a number: refused or suspicious literals take the careful path
            j = m.end()
            lit = m.group("num")
            value = float(lit)
            if value == _INF or len(lit) > max_literal or _radix_prefix(text, lit, j):
                tok = _number(text, j - len(lit))
            else:
                tok = Token("num", lit, j - len(lit), j, value)
        yield tok
        prev = tok.kind
        i = tok.end
    yield Token("eof", "", n, n)


def _radix_prefix(text: str, lit: str, end: int) -> bool:
    """Whether the literal *lit* ending at *end* is the ``0`` of ``0x``, ``0b`` or ``0o``."""
    return lit == "0" and end < len(text) and text[end] in "xXbBoO"


def _careful_token(text: str, i: int, prev: str | None) -> Token | None:
    """The token at *i* read character by character (None: blanks are there), or the
    pointed error for what cannot start a token. *prev*: the previous token's kind."""
    ch = text[i]
    if ch in " \t\r":
        return None
    if ch == "\n":
        return Token("sep", "\n", i, i + 1)
    if "0" <= ch <= "9" or (ch == "." and "0" <= text[i + 1 : i + 2] <= "9"):
        return _number(text, i)
    if ("a" <= ch <= "z") or ("A" <= ch <= "Z") or ch == "_" or _is_greek_letter(ch):
        end = _name_end(text, i)
        _check_name(text, i, end)
        return Token("name", text[i:end], i, end)
    pair = text[i : i + 2]
    if pair in _REFUSED_PAIRS:
        message, hint = _REFUSED_PAIRS[pair]
        raise ParseError(message, text, Span(i, i + 2), hint=hint)
    if pair == "**":
        return Token("^", "**", i, i + 2)
    if ch in _OPERATORS:
        return Token(_OPERATORS[ch], ch, i, i + 1)
    raise _char_error(text, i, prev)


#: two-character operators of other languages: message and hint
_REFUSED_PAIRS = {
    "//": ("'//' is not supported", "use '/' for division"),
    "==": (
        "'==' is not supported; comparisons are not part of the language",
        "a single '=' assigns a name: 'y = 2*x'",
    ),
    ":=": ("':=' is not supported", "assign with 'name = expr'"),
}
