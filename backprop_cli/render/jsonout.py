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


def dumps(doc: dict) -> str:
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
