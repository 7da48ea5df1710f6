"""Strict JSON: one document, no NaN/Infinity tokens, full float precision (``repr``).

Non-finite numbers become ``null``; the document's ``status`` and ``message`` explain them.
numpy scalars and arrays are converted to Python floats and lists.
"""

from __future__ import annotations

import json
import math
import re
import sys
from typing import Any


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


def dumps(doc: Any) -> str:
    text = json.dumps(clean(doc), allow_nan=False, ensure_ascii=False)
    if _SURROGATE.search(text):  # lone surrogates (undecodable bytes in argv): escape them
        text = json.dumps(clean(doc), allow_nan=False, ensure_ascii=True)
    # U+0085, U+2028, U+2029 are legal inside JSON strings but end a line for many readers
    # (str.splitlines, JavaScript): escape them so every JSON Lines record is one line.
    if "\x85" in text or "\u2028" in text or "\u2029" in text:
        text = text.translate(_LINE_BREAKS)
    return text


def emit(doc: dict, stream=None) -> None:
    """Print one strict JSON document (or one JSON Lines record) and flush."""
    global EMITTED
    stream = stream or sys.stdout
    line = dumps(doc) + "\n"
    EMITTED += 1
    stream.write(line)
    stream.flush()


# -- one document, written piece by piece ------------------------------------------------


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


def emit_stream(doc: dict, tail=None, stream=None) -> None:
    """Write one strict JSON document, exactly as :func:`emit` would write the same data,
    but streaming every :class:`Rows` value (at any depth of nested dicts) element by element.

    ``tail``: a callable returning more top-level fields, called after everything in ``doc``
    has been written (for a status known only once the rows have been produced).
    If producing or writing a piece fails (or Ctrl-C), the open arrays and objects are
    closed and the document ends like every error document — ``"status"`` (the error's kind,
    e.g. ``interrupted``), ``"message"``, ``"error"`` — or, when the tail had already written
    a status, with ``"stream_error"``; then the exception propagates: stdout still holds one
    valid document (what was written of the rows stays).
    """
    global EMITTED
    stream = stream or sys.stdout
    write = stream.write
    stack: list[list] = []  # open containers: [closing text, elements written so far]
    written: set = set()  # top-level keys written

    def put(value, key=None) -> None:
        """Write one element (a ``key: value`` member inside an object), comma first."""
        top = stack[-1] if stack else None
        prefix = ", " if top and top[1] else ""
        if key is not None:
            prefix += dumps(str(key)) + ": "
        if isinstance(value, Rows):
            write(prefix + "[")
            _opened(top, "]")
            for item in value.items:
                put(item)
            write(stack.pop()[0])
        elif isinstance(value, dict) and _streams(value):
            write(prefix + "{")
            _opened(top, "}")
            for k, v in value.items():
                put(v, k)
            write(stack.pop()[0])
        else:
            write(prefix + dumps(value))
            if top is not None:
                top[1] += 1
        if len(stack) == 1 and key is not None:
            written.add(key)

    def _opened(top, closer) -> None:
        if top is not None:
            top[1] += 1
        stack.append([closer, 0])

    try:
        write("{")
        stack.append(["}", 0])
        for k, v in doc.items():
            put(v, k)
        if tail is not None:
            for k, v in tail().items():
                put(v, k)
        write("}\n")
        stack.pop()
    except BaseException as exc:
        if isinstance(exc, BrokenPipeError) or not stack:
            raise
        try:
            while len(stack) > 1:
                write(stack.pop()[0])
            note = _error_note(exc)
            ending = {"status": note["kind"], "message": note["message"], "error": note}
            if written & set(ending):
                ending = {"stream_error": note}
            for k, v in ending.items():
                put(v, k)
            write("}\n")
            stream.flush()
        except Exception:
            pass
        EMITTED += 1
        try:  # the CLI boundary must not print a second document for this error
            exc.json_document_closed = True  # type: ignore[attr-defined]  # a mark for the CLI boundary
        except AttributeError:
            pass
        raise
    EMITTED += 1
    stream.flush()
