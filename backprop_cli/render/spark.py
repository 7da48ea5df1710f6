"""One-line sparklines (▁▂▃▄▅▆▇█) for error and loss histories, on a log scale by default."""

from __future__ import annotations

import math
from collections.abc import Iterable

BLOCKS = "▁▂▃▄▅▆▇█"
MISSING = "·"  # a value that is None, NaN or infinite


def sparkline(values: Iterable, log: bool = True, width: int | None = None) -> str:
    """One block per value, lowest block for the smallest, highest for the largest.

    ``log=True`` plots log10 of the magnitudes (an error falling from 10 to 1e-9 shows
    its quadratic collapse); zeros then sit on the lowest block. Values below zero (a loss
    like x^2 − 10) have no logarithm that keeps their order: with any of them the scale is
    linear, so a falling loss still falls. Non-finite or missing
    values print as ``·``. All-equal values print as a flat middle line. ``width``
    keeps only the last ``width`` values (the end of a long run matters most).
    """
    vals = list(values)
    if width is not None and len(vals) > width:
        vals = vals[-width:]

    def level(v):
        if v is None:
            return None
        try:
            x = float(v)
        except (TypeError, ValueError):
            return None
        if not math.isfinite(x):
            return None
        if log:
            x = abs(x)
            return math.log10(x) if x > 0 else -math.inf
        return x

    if log and any(_below_zero(v) for v in vals):
        log = False
    levels = [level(v) for v in vals]
    finite = [x for x in levels if x is not None and math.isfinite(x)]
    lo = min(finite) if finite else 0.0
    hi = max(finite) if finite else 0.0
    out = []
    for x in levels:
        if x is None:
            out.append(MISSING)
        elif x == -math.inf:  # an exact zero on a log scale
            out.append(BLOCKS[0])
        elif hi == lo:
            out.append(
                BLOCKS[len(BLOCKS) // 2 - 1]
                if not any(v == -math.inf for v in levels)
                else BLOCKS[-1]
            )
        else:
            i = round((x - lo) / (hi - lo) * (len(BLOCKS) - 1))
            out.append(BLOCKS[max(0, min(len(BLOCKS) - 1, i))])
    return "".join(out)


def _below_zero(v: object) -> bool:
    try:
        x = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return math.isfinite(x) and x < 0


def scale_words(values: Iterable, log: bool = True) -> str:
    """The scale :func:`sparkline` draws ``values`` on: 'log scale' or 'linear scale'."""
    return "log scale" if log and not any(_below_zero(v) for v in values) else "linear scale"
