"""The sparkline under solve's table (render/spark.py)."""

from __future__ import annotations

from backprop_cli.render.spark import sparkline


# -- sparkline -------------------------------------------------------------------------
def test_sparkline_log_scale():
    assert sparkline([10, 1, 0.1]) == "█▅▁"
    assert sparkline([1e3, 1e2, 1e1, 1, 1e-1, 1e-2, 1e-3, 1e-4]) == "█▇▆▅▄▃▂▁"
    assert sparkline([0.5, 0.0]) == "█▁"  # zero sits at the bottom, the other value on top
    assert sparkline([1.0, None, float("nan"), 1.0]) == "▄··▄"
    assert sparkline([2, 2, 2]) == "▄▄▄"
    assert sparkline([]) == ""
    assert sparkline(range(1, 200), width=5) == sparkline(range(195, 200))
    assert sparkline([1, 2, 3], log=False) == "▁▅█"
