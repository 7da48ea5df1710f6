"""`descend --all` past STREAM_FROM rows (render/descend.streamed_table): a plain table
written row by row, fixed column widths, the same numbers as the records."""

from __future__ import annotations

from typer.testing import CliRunner

import backprop_cli
from backprop_cli.cli import app
from backprop_cli.engines.descend import descend
from backprop_cli.render.descend import STREAM_FROM, STREAM_WIDTH, streamed_table
from backprop_cli.render.numbers import fmt

LOSS = "(x - 1)^4 + 0.001"


def test_every_row_with_the_records_numbers_in_fixed_columns():
    run = descend(backprop_cli.compile(LOSS), {"x": 0.0}, "sgd", 0.1, tol=1e-300,
                  max_iter=STREAM_FROM + 5)  # fmt: skip
    lines = list(streamed_table(run))
    assert len(lines) == 3 + len(run) == 3 + STREAM_FROM + 6
    assert lines[0] == f"sgd on {LOSS} (η = 0.1): every row"
    assert lines[1].split() == ["k", "x", "loss", "∂loss/∂x", "step", "f''", "2/f''"]
    width = len(lines[1])
    assert all(len(line) == width for line in lines[1:])  # fixed widths: columns line up
    for k in (0, 1, 4096, STREAM_FROM + 5):
        r = run.record(k)
        step = fmt(r.steps["x"]) if r.steps else "—"
        want = [str(k), fmt(r.values["x"]), fmt(r.loss), fmt(r.gradient["x"]), step,
                fmt(r.curvature), fmt(r.stability_bound)]  # fmt: skip
        assert lines[3 + k].split() == want
    assert max(len(fmt(-1.234567e-308)), len(fmt(-9.99999e+307))) <= STREAM_WIDTH


def test_cli_all_streams_past_the_threshold_and_keeps_rich_below():
    env = {"COLUMNS": "100", "NO_COLOR": "1"}
    long = CliRunner().invoke(app, ["descend", LOSS, "--x0", "0", "--tol", "1e-300",
                                    "--max-iter", str(STREAM_FROM + 1), "--all"], env=env)  # fmt: skip
    assert long.exit_code == 1  # max_iterations
    out = long.stdout.splitlines()
    assert out[0].endswith("every row") and "┃" not in long.stdout
    rows = [line for line in out if line.split() and line.split()[0].isdigit()]
    assert [int(line.split()[0]) for line in rows] == list(range(STREAM_FROM + 2))
    short = CliRunner().invoke(app, ["descend", LOSS, "--x0", "0", "--tol", "1e-300",
                                     "--max-iter", "50", "--all"], env=env)  # fmt: skip
    assert "┃" in short.stdout and "every row" not in short.stdout
