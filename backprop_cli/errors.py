"""Errors: one base class; every error carries the source text and a span and draws its own caret.

Exit codes live here too (cli.md §2) so every layer names them the same way.
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

    def caret_lines(self) -> list[str]:
        """The offending input line and a ``^`` caret line under the span (end of input: one past)."""
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
        return [_escape_controls(shown), " " * pad + "^" * max(1, width)]

    def render(self) -> str:
        """Full human text: ``error: message`` plus caret lines and hint."""
        head = f"error: {escape_controls(self.message)}"
        loc = self.location()
        if loc and self.source is not None and "\n" in self.source.strip("\n"):
            head += f" (line {loc[0]}, column {loc[1]})"
        lines = [head]
        for text in self.caret_lines():
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
