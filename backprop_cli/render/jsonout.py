"""Strict JSON: one document, no NaN/Infinity tokens, full float precision (``repr``).

Non-finite numbers become ``null``; the document's ``status`` and ``message`` explain them.
numpy scalars and arrays are converted to Python floats and lists.
"""

from __future__ import annotations

import json
import math
import re
import sys
from typing import Any, Callable


def clean(obj: Any) -> Any:
    """A JSON-safe copy: floats that are not finite become None; numpy values become Python."""
    if obj is None or isinstance(obj, bool | str):
        return obj
    if isinstance(obj, int):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [clean(v) for v in obj]
    tolist = getattr(obj, "tolist", None)
    if tolist is not None:  # numpy scalar or array
        return clean(tolist())
    return str(obj)


_SURROGATE = re.compile("[\ud800-\udfff]")
_LINE_BREAKS = {0x85: "\\u0085", 0x2028: "\\u2028", 0x2029: "\\u2029"}
EMITTED = 0  # documents/lines emitted so far (the CLI boundary reads it on Ctrl-C)
_charset_seen: tuple[Any, bool] = (None, False)  # (stream, whether it needs ASCII JSON)


def needs_ascii(stream: Any = None) -> bool:
    """Whether JSON for ``stream`` (default stdout) must be pure ASCII: the stream cannot
    encode every character (errors.output_charset decides). Non-ASCII characters are then
    written as ``\\uXXXX`` escapes — the same JSON, never transliterated."""
    global _charset_seen
    stream = sys.stdout if stream is None else stream
    seen, answer = _charset_seen
    if seen is not stream:
        from ..errors import output_charset

        answer = output_charset(stream) is not None
        _charset_seen = (stream, answer)
    return answer


def dumps(doc: Any, ascii: bool | None = None) -> str:
    """Strict JSON text of ``doc``; ``ascii`` (default: whether stdout needs it) escapes every
    non-ASCII character."""
    if ascii is None:
        ascii = needs_ascii()
    text = json.dumps(clean(doc), allow_nan=False, ensure_ascii=ascii)
    if not ascii and _SURROGATE.search(text):  # lone surrogates (undecodable argv bytes)
        text = json.dumps(clean(doc), allow_nan=False, ensure_ascii=True)
    # U+0085, U+2028, U+2029 are legal inside JSON strings but end a line for many readers
    # (str.splitlines, JavaScript): escape them so every JSON Lines record is one line.
    if "\x85" in text or "\u2028" in text or "\u2029" in text:
        text = text.translate(_LINE_BREAKS)
    return text


def emit(doc: dict, stream=None) -> None:
    """Print one strict JSON document (or one JSON Lines record) and flush.

    ``EMITTED`` counts it before the write, with no call in between: a Ctrl-C raised as the
    write returns finds it counted (the CLI boundary then adds no second document). A text
    that may be longer than a pipe takes at once (PIPE_BUF) may block on a slow reader,
    where a Ctrl-C would make the write fail with the text lost: SIGINT waits until it is
    written (see emit_stream). A JSON Lines record is shorter; lost, it leaves complete
    lines only.
    """
    stream = stream or sys.stdout
    emit_line(Raw(dumps(doc, needs_ascii(stream))), stream)


def text_form(strings, stream: Any = None) -> tuple[bool, bool]:
    """How :func:`dumps` writes a document whose every string is among ``strings``, for
    writing it piece by piece: (whether it is pure ASCII — the stream needs it, or a lone
    surrogate makes dumps escape the whole document — and whether U+0085, U+2028 or U+2029
    occur, which pieces made as text must then escape)."""
    ascii = needs_ascii(stream)
    breaks = False
    for s in strings:
        if not ascii and _SURROGATE.search(s):
            ascii = True
        if "\x85" in s or "\u2028" in s or "\u2029" in s:
            breaks = True
    return ascii, breaks


def number(value: Any, ascii: bool = False) -> str:
    """A number's JSON text as dumps writes it (``repr``; ``null`` when not finite), for
    rows made directly as text; any other value goes through dumps' own conversion."""
    cls = value.__class__
    if cls is float:
        return _float_repr(value) if value - value == 0 else "null"
    if cls is int:
        return _int_repr(value)
    return json.dumps(clean(value), allow_nan=False, ensure_ascii=ascii)


def string_encoder(ascii: bool) -> Callable[[str], str]:
    """The function dumps quotes strings with (json's own, with or without ASCII escapes)."""
    from json.encoder import encode_basestring, encode_basestring_ascii

    return encode_basestring_ascii if ascii else encode_basestring


def escape_breaks(text: str) -> str:
    """``text`` with U+0085, U+2028 and U+2029 escaped, as dumps leaves them."""
    return text.translate(_LINE_BREAKS)


_float_repr = float.__repr__
_int_repr = int.__repr__
_PIPE_BUF = 4096  # bytes a pipe writes at once (POSIX: at least 512; Linux 4096)


# -- one document, written piece by piece ------------------------------------------------


class Raw(str):
    """JSON text already written as :func:`dumps` would write its value (a long run's rows
    are made directly as text: render.descend.json_rows); :func:`emit_stream` writes it as
    it is, :func:`emit_line` writes it as one JSON Lines record."""

    __slots__ = ()


def emit_line(text: Raw, stream=None) -> None:
    """Write ``text`` (see :class:`Raw`) and a newline as :func:`emit` describes, and flush."""
    global EMITTED
    stream = stream or sys.stdout
    line = text + "\n"
    hold = _sigint_holder() if 4 * len(line) > _PIPE_BUF else None  # 4: bytes a character
    try:
        if hold:
            hold(True)
        EMITTED += 1  # -- stores only from here to the write
        stream.write(line)
    finally:
        if hold:
            hold(False)
    stream.flush()


class Rows:
    """An iterable that :func:`emit_stream` writes as a JSON array one element at a time, so
    the whole array is never held in memory (a 10^6-row trace costs one row)."""

    __slots__ = ("items",)

    def __init__(self, items) -> None:
        self.items = items


def _streams(value) -> bool:
    if isinstance(value, Rows):
        return True
    return isinstance(value, dict) and any(_streams(v) for v in value.values())


def _error_note(exc: BaseException) -> dict:
    if isinstance(exc, KeyboardInterrupt):
        return {
            "kind": "interrupted",
            "message": "interrupted (Ctrl-C) before the document was complete",
        }
    to_json = getattr(exc, "to_json", None)
    if to_json is not None:  # a BackpropError: its usual error object
        return to_json()
    kind = getattr(exc, "kind", None) or "internal_error"
    message = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
    return {"kind": kind, "message": message}


# How emit_stream stays one document whatever instruction a Ctrl-C lands on. CPython raises
# a signal's KeyboardInterrupt only between instructions that may run a signal handler —
# after a call returns, at a loop's backward jump, on entering a function — never at a
# subscript store, an ``x += 1`` on an int or a ``del xs[-1]``. So every piece is written
# the same way: first compute its text (calls: an interrupt there has changed nothing),
# then update the record of what is open with stores only, then write it as the last call.
# An interrupt that comes out of ``write`` is raised as the write returns, with the text out
# and the record already saying so; one anywhere else finds the record exact.
# One case is different: a write blocked on a full pipe (a slow reader) that a Ctrl-C
# interrupts fails inside Python's I/O with its text lost. Losing a row (``, {...}``) leaves
# the document valid; losing an opener, a closer, a first element or a top-level member
# would not, so those writes — a few per document — hold SIGINT back while they run (it is
# raised as they return), and so does the ending written on an error. (Held in the thread
# that writes: that is the CLI's one thread; in a process with more threads the kernel may
# hand a Ctrl-C to another one, and Python raises it here all the same.)


def _sigint_holder() -> Callable[[bool], object] | None:
    """``hold(True)`` / ``hold(False)`` blocks / releases SIGINT for this thread — or None
    where that cannot be done or is not needed (no pthread_sigmask, not the main thread: a
    Ctrl-C is never raised elsewhere; SIGINT already blocked by the caller)."""
    import signal
    import threading

    mask = getattr(signal, "pthread_sigmask", None)
    if mask is None or threading.current_thread() is not threading.main_thread():
        return None
    sigint = {signal.SIGINT}
    if signal.SIGINT in mask(signal.SIG_BLOCK, ()):
        return None
    block, unblock = signal.SIG_BLOCK, signal.SIG_UNBLOCK
    return lambda on: mask(block if on else unblock, sigint)


def emit_stream(doc: dict, tail=None, stream=None, ascii: bool | None = None) -> None:
    """Write one strict JSON document, exactly as :func:`emit` would write the same data,
    but streaming every :class:`Rows` value (at any depth of nested dicts) element by element.

    ``tail``: a callable returning more top-level fields, called after everything in ``doc``
    has been written (for a status known only once the rows have been produced).
    If producing or writing a piece fails (or Ctrl-C), the open arrays and objects are
    closed and the document ends like every error document — ``"status"`` (the error's kind,
    e.g. ``interrupted``), ``"message"``, ``"error"`` — or, when the tail had already written
    a status, with ``"stream_error"``; then the exception propagates: stdout still holds one
    valid document (what was written of the rows stays), whatever instruction a Ctrl-C
    lands on (see the note above).
    ``ascii`` (default: whether the stream needs it) escapes every non-ASCII character.
    """
    global EMITTED
    stream = stream or sys.stdout
    write = stream.write
    if ascii is None:
        ascii = needs_ascii(stream)
    hold = _sigint_holder()
    # Open containers, outermost first: [closing text, elements written, is an array].
    # Updated before the write that opens, fills or closes one, with stores only.
    stack: list[list] = []
    written: dict = {}  # top-level keys written (or being written: never written twice)
    before = EMITTED

    def put(value, key=None) -> None:
        """Write one element (a ``key: value`` member inside an object), comma first."""
        nonlocal stack
        top = stack[-1]
        outermost = len(stack) == 1
        text = ", " if top[1] else ""
        if key is not None:
            text += dumps(str(key), ascii) + ": "
        rows = isinstance(value, Rows)
        if rows or (isinstance(value, dict) and _streams(value)):
            items = iter(value.items) if rows else iter(value.items())
            text += "[" if rows else "{"
            entry = ["]" if rows else "}", 0, rows]
            try:
                if hold:
                    hold(True)
                top[1] += 1  # -- stores only from here to the write
                if outermost:
                    written[key] = True
                stack += (entry,)
                write(text)
            finally:
                if hold:
                    hold(False)
            if rows:
                for item in items:
                    put(item)
            else:
                for k, v in items:
                    put(v, k)
            closer = entry[0]
            try:
                if hold:
                    hold(True)
                del stack[-1]  # -- stores only from here to the write
                write(closer)
            finally:
                if hold:
                    hold(False)
        else:
            text += value if value.__class__ is Raw else dumps(value, ascii)
            held = hold if not (top[2] and top[1]) else None  # a row after the first: not
            try:
                if held:
                    held(True)
                top[1] += 1  # -- stores only from here to the write
                if outermost:
                    written[key] = True
                write(text)
            finally:
                if held:
                    held(False)

    try:
        outer = ["}", 0, False]
        try:
            if hold:
                hold(True)
            stack += (outer,)  # -- stores only from here to the write
            write("{")
        finally:
            if hold:
                hold(False)
        for k, v in doc.items():
            put(v, k)
        if tail is not None:
            for k, v in tail().items():
                put(v, k)
        try:
            if hold:
                hold(True)
            del stack[-1]  # -- stores only from here to the write
            EMITTED += 1
            write("}\n")
        finally:
            if hold:
                hold(False)
        stream.flush()
    except BaseException as exc:
        if EMITTED != before:  # the document is complete (a Ctrl-C after its last write)
            _mark_closed(exc)
            raise
        if isinstance(exc, BrokenPipeError) or not stack:
            raise  # nothing reached the stream: the CLI boundary writes the whole document
        _end(exc, stack, written, write, ascii, hold)
        try:
            stream.flush()
        except BaseException:
            pass
        _mark_closed(exc)
        raise


def _end(exc: BaseException, stack: list, written: dict, write, ascii: bool, hold) -> None:
    """Close what is open and end the document with ``exc``'s error, in one write that a
    second Ctrl-C cannot cut (SIGINT held; one arriving meanwhile is dropped here, the run
    is ending on an interrupt or an error already)."""
    global EMITTED
    before = EMITTED
    for _attempt in range(3):  # a second Ctrl-C while the ending is computed: again
        try:
            try:
                if hold:
                    hold(True)
                note = _error_note(exc)
                ending = {"status": note["kind"], "message": note["message"], "error": note}
                if any(k in written for k in ending):
                    ending = {"stream_error": note}
                text = "".join(entry[0] for entry in reversed(stack[1:]))
                count = stack[0][1]
                for k, v in ending.items():
                    text += (", " if count else "") + dumps(k, ascii) + ": " + dumps(v, ascii)
                    count += 1
                EMITTED += 1  # -- stores only from here to the write
                write(text + "}\n")
            finally:
                if hold:
                    hold(False)
        except KeyboardInterrupt:
            if EMITTED == before:
                continue
        except Exception:  # the stream itself failed: nothing more can be written
            EMITTED = before + 1
        return


def _mark_closed(exc: BaseException) -> None:
    """Tell the CLI boundary not to print a second document for this error."""
    try:
        exc.json_document_closed = True  # type: ignore[attr-defined]
    except AttributeError:
        pass
