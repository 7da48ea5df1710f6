"""Number formatting for tables: 6 significant digits, never truncated with an ellipsis."""

from __future__ import annotations

import math


def fmt(x, digits: int = 6) -> str:
    if x is None:
        return "—"
    if isinstance(x, bool):
        return str(x)
    try:
        xf = float(x)
    except (TypeError, ValueError):
        return str(x)
    if math.isnan(xf):
        return "nan"
    if math.isinf(xf):
        return "inf" if xf > 0 else "-inf"
    if xf == 0:
        return "0"
    text = f"{xf:.{digits}g}"
    return text

