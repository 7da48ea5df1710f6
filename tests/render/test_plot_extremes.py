"""Plots of runs whose values sit at the ends of the float range: a picture or a one-line
output error, never an internal error (the log panel's margins once overflowed to inf)."""

from __future__ import annotations

from typer.testing import CliRunner

from backprop_cli.cli import app


def test_values_near_the_largest_float_are_an_output_error_not_a_bug(tmp_path):
    out = tmp_path / "p.png"
    r = CliRunner().invoke(app, ["solve", "exp(b)", "--at", "b=700", "--target", "1e308",
                                 "--plot", str(out)], env={"NO_COLOR": "1"})  # fmt: skip
    assert "internal error" not in r.stderr
    assert r.exit_code in (0, 1)
    if r.exit_code == 1:
        assert r.stderr.startswith(f"error: cannot draw '{out}'")
        assert not out.exists()  # no half-written picture
    else:
        assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_values_near_the_smallest_float_draw(tmp_path):
    out = tmp_path / "p.png"
    r = CliRunner().invoke(app, ["solve", "exp(b)", "--at", "b=1e-300", "--target", "1",
                                 "--plot", str(out)], env={"NO_COLOR": "1"})  # fmt: skip
    assert r.exit_code == 0, r.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
