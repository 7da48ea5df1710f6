"""Errors: one base class; every error carries the source text and a span and draws its own caret.

Exit codes live here too (cli.md §2) so every layer names them the same way, and so do the
two rules every printed message follows: control characters are escaped
(:func:`escape_controls`), and text goes out in a charset the stream can encode
(:func:`output_charset` decides, :func:`fit_charset` spells the rest in ASCII).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1  # valid input, but the computation failed (domain, diverged, ...)
    USAGE = 2  # bad flag, bad expression, input over a limit
    INTERRUPTED = 130


@dataclass(frozen=True, slots=True)
class Span:
    """Half-open character range [start, end) in the source text."""

    start: int
    end: int


def _escape_controls(text: str) -> str:
    """Make control and invisible characters visible so an echoed line cannot drive a terminal."""
    out = []
    for ch in text:
        code = ord(ch)
        if ch == "\t":
            out.append(" ")
        elif code < 32 or code == 127 or 0x80 <= code < 0xA0:
            out.append("?")
        elif code > 0xA0 and unicodedata.category(ch) in ("Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
            # invisible/bidi/format marks, lone surrogates, private use, line separators:
            # each becomes one visible column so the caret stays aligned and output encodes.
            out.append("?")
        else:
            out.append(ch)
    return "".join(out)


def escape_controls(text: str) -> str:
    """Message text safe for a terminal: control and invisible characters become escapes.

    ``ESC[31m`` prints as ``\\x1b[31m``; newlines are kept (messages may span lines).
    """
    out = []
    for ch in text:
        code = ord(ch)
        if ch == "\n":
            out.append(ch)
        elif code < 32 or code == 127 or 0x80 <= code < 0xA0:
            out.append(f"\\x{code:02x}")
        elif code > 0xA0 and unicodedata.category(ch) in ("Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
            out.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
        else:
            out.append(ch)
    return "".join(out)


class BackpropError(Exception):
    """Base error. ``str(err)`` is the one-line message; ``err.render()`` adds the caret lines."""

    exit_code: ExitCode = ExitCode.USAGE
    kind: str = "error"

    def __init__(
        self,
        message: str,
        source: str | None = None,
        span: Span | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.source = source
        self.span = span
        self.hint = hint

    def location(self) -> tuple[int, int] | None:
        """1-based (line, column) of the span start, or None."""
        if self.source is None or self.span is None:
            return None
        start = min(self.span.start, len(self.source))
        line = self.source.count("\n", 0, start) + 1
        col = start - (self.source.rfind("\n", 0, start) + 1) + 1
        return line, col

    def caret_lines(self, charset: str | None = None) -> list[str]:
        """The offending input line and a ``^`` caret line under the span (end of input: one
        past); with ``charset`` (see :func:`output_charset`) the line is spelled to fit it and
        the caret still stands under the span."""
        if self.source is None or self.span is None:
            return []
        src = self.source
        start = min(self.span.start, len(src))
        end = max(start + 1, min(self.span.end, len(src) + 1))
        line_start = src.rfind("\n", 0, start) + 1
        line_end = src.find("\n", start)
        if line_end == -1:
            line_end = len(src)
        end = min(end, max(line_end, start + 1))
        line = src[line_start:line_end]
        col = start - line_start
        width = max(1, end - start)
        # Long lines: show a window around the span so the caret stays on screen.
        left = 0
        if len(line) > 100:
            left = max(0, col - 40)
            right = min(len(line), col + min(max(width, 1), 60) + 40)
            shown = ("…" if left else "") + line[left:right] + ("…" if right < len(line) else "")
            pad = col - left + (1 if left else 0)
            width = min(width, right - col)
        else:
            shown, pad = line, col
        shown = _escape_controls(shown)
        if charset is not None:  # spelled wider (σ → sigma): the caret moves with its text
            before, under = shown[:pad], shown[pad : pad + max(1, width)]
            pad, width = len(fit_charset(before, charset)), len(fit_charset(under, charset))
            shown = fit_charset(shown, charset)
        return [shown, " " * pad + "^" * max(1, width)]

    def render(self, charset: str | None = None) -> str:
        """Full human text: ``error: message`` plus caret lines and hint; ``charset`` as for
        :meth:`caret_lines` (the caller fits the rest of the text)."""
        head = f"error: {escape_controls(self.message)}"
        loc = self.location()
        if loc and self.source is not None and "\n" in self.source.strip("\n"):
            head += f" (line {loc[0]}, column {loc[1]})"
        lines = [head]
        for text in self.caret_lines(charset):
            lines.append("  " + text)
        if self.hint:
            lines.append(f"hint: {escape_controls(self.hint)}")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        loc = self.location()
        doc: dict[str, Any] = {"kind": self.kind, "message": self.message}
        if self.span is not None:
            doc["span"] = [self.span.start, self.span.end]
        if loc:
            doc["line"], doc["column"] = loc
        if self.hint:
            doc["hint"] = self.hint
        return doc


class ParseError(BackpropError):
    """The text is not a valid program (exit 2)."""

    kind = "parse_error"


class LimitError(BackpropError):
    """The input is over a documented limit (exit 2)."""

    kind = "limit_exceeded"


class InputError(BackpropError):
    """A bad option value or a bad name in an option (exit 2)."""

    kind = "input_error"


class InputTypeError(InputError, TypeError):
    """A value of the wrong type given to the Python API (exit 2): a bool, None, a string, a
    complex number or a container that is not an array of numbers as a variable's value, or
    something other than a str as a program. Also a TypeError, as Python's own would be."""

    def __init__(self, message: str, variable: str | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.variable = variable

    def to_json(self) -> dict[str, Any]:
        doc = super().to_json()
        if self.variable is not None:
            doc["variable"] = self.variable
        return doc


class InputOverflowError(InputError, OverflowError):
    """A value beyond the float64 range given to the Python API (10**400; exit 2, as an
    out-of-range ``--at`` value is). Also an OverflowError, as Python's own would be."""

    def __init__(self, message: str, variable: str | None = None) -> None:
        super().__init__(message)
        self.variable = variable

    def to_json(self) -> dict[str, Any]:
        doc = super().to_json()
        if self.variable is not None:
            doc["variable"] = self.variable
        return doc


class OutputError(BackpropError):
    """A file (a picture, a graph) could not be written (exit 1: the input was fine)."""

    exit_code = ExitCode.FAILED
    kind = "output_error"


class DomainError(BackpropError):
    """A node left its domain during evaluation (exit 1): which node, which value."""

    exit_code = ExitCode.FAILED
    kind = "domain_error"

    def __init__(
        self,
        message: str,
        source: str | None = None,
        span: Span | None = None,
        hint: str | None = None,
        node: int | None = None,
        value: float | None = None,
    ) -> None:
        super().__init__(message, source, span, hint)
        self.node = node
        self.value = value

    def to_json(self) -> dict[str, Any]:
        doc = super().to_json()
        if self.node is not None:
            doc["node"] = self.node
        return doc


# -- the output charset: one decision for every writer ----------------------------------------
# A stream that cannot encode the symbols backprop prints (PYTHONIOENCODING=ascii, a latin-1
# terminal, a C locale) gets them spelled in ASCII instead of a UnicodeEncodeError. Rich
# consoles, plain writes and the JSON writer all ask output_charset(); a later translation
# of the symbols can hook into fit_charset().

_ASCII_SPELLING = {
    "∂": "d", "∇": "grad", "η": "eta", "→": "->", "←": "<-", "↔": "<->", "↑": "^", "↓": "v",
    "⇒": "=>", "−": "-", "‐": "-", "‑": "-", "‒": "-", "–": "-", "—": "--", "…": "...",
    "⋯": "...", "⋮": ":", "·": "*", "⋅": "*", "•": "*", "×": "x", "÷": "/", "±": "+/-",
    "∓": "-/+", "≤": "<=", "≥": ">=", "≠": "!=", "≈": "~", "√": "sqrt", "∞": "inf", "∑": "sum",
    "∏": "prod", "✓": "v", "✔": "v", "✗": "x", "✘": "x", "▲": "^", "▼": "v", "§": "S",
    "°": "deg", "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u00a0": " ",
    "\u2009": " ", "\u202f": " ", "\u0302": "^", "▁": "_", "▂": ".", "▃": ":", "▄": "-",
    "▅": "=", "▆": "+", "▇": "*", "█": "#",
}  # fmt: skip
_UNICODE_CODECS = ("utf-8", "utf-16", "utf-32", "utf-8-sig", "utf-7")
_fits: dict[tuple[str, str], bool] = {}


def output_charset(stream: Any) -> str | None:
    """The one decision: ``None`` when ``stream`` takes any character (a UTF encoding, or no
    encoding declared, as for an in-memory buffer), else the codec that text written to it
    must fit (``'ascii'``, ``'latin-1'``, ...) — see :func:`fit_charset`."""
    encoding = getattr(stream, "encoding", None)
    if not encoding:
        return None
    import codecs

    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        return None
    return None if name in _UNICODE_CODECS else name


def _encodable(ch: str, encoding: str) -> bool:
    key = (encoding, ch)
    ok = _fits.get(key)
    if ok is None:
        try:
            ch.encode(encoding)
            ok = True
        except (UnicodeError, LookupError):
            ok = False
        _fits[key] = ok
    return ok


def _ascii_spelling(ch: str, after_superscript: bool) -> tuple[str, bool]:
    """(ASCII text for ``ch``, whether ``ch`` is a superscript)."""
    spelled = _ASCII_SPELLING.get(ch)
    if spelled is not None:
        return spelled, False
    code = ord(ch)
    decomposition = unicodedata.decomposition(ch)
    if decomposition.startswith(("<super>", "<sub>")):
        base = "".join(chr(int(h, 16)) for h in decomposition.split()[1:])
        base = base.replace("\u2212", "-")
        if base.isascii():
            if decomposition.startswith("<sub>"):
                return base, False
            return (base if after_superscript else "^" + base), True
    if 0x2500 <= code <= 0x257F:  # box drawing
        words = set(unicodedata.name(ch, "").split())
        if words & {"UP", "DOWN", "LEFT", "RIGHT"} or {"HORIZONTAL", "VERTICAL"} <= words:
            return "+", False
        return ("-" if "HORIZONTAL" in words else "|" if "VERTICAL" in words else "+"), False
    if 0x2580 <= code <= 0x259F:  # block elements
        return "#", False
    name = unicodedata.name(ch, "")
    if name.startswith("GREEK ") and " LETTER " in name:
        letter = name.rsplit(" ", 1)[-1].lower()
        return (letter.capitalize() if " CAPITAL " in name else letter), False
    plain = "".join(
        c if c.isascii() else _ASCII_SPELLING.get(c, "") for c in unicodedata.normalize("NFKD", ch)
    )
    if plain:
        return plain, False
    return (f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"), False


def fit_charset(text: str, encoding: str | None) -> str:
    """``text`` with every character ``encoding`` cannot represent spelled in ASCII:
    ``∂f/∂x`` → ``df/dx``, ``η`` → ``eta``, ``→`` → ``->``, ``−`` → ``-``, ``x²`` → ``x^2``,
    box drawing → ``+ - |``, other Greek letters by name, anything else as ``\\uXXXX``.
    ``encoding=None`` (the stream takes any character) returns ``text`` unchanged."""
    if encoding is None or text.isascii():
        return text
    out = []
    superscript = False
    for ch in text:
        if ch.isascii() or (
            _encodable(ch, encoding)
            and not (superscript and unicodedata.decomposition(ch).startswith("<super>"))
        ):  # (a superscript run is spelled whole: x⁻¹ is x^-1 in latin-1 too)
            out.append(ch)
            superscript = False
        else:
            spelled, superscript = _ascii_spelling(ch, superscript)
            out.append(spelled)
    return "".join(out)


def fit_errors(exc: UnicodeError) -> tuple[str, int]:
    """A codecs error handler (registered as ``backprop.fit``): what a stream cannot encode
    is written as :func:`fit_charset` spells it, never a UnicodeEncodeError."""
    if not isinstance(exc, UnicodeEncodeError):
        raise exc
    return fit_charset(exc.object[exc.start : exc.end], "ascii"), exc.end
