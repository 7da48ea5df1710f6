"""Tables at 80 and 40 columns (cli.md §8): no line wider than the terminal, no number cut
with '…' nor folded over two lines ('-4.44089' / 'e-16' reads like another number) — a
table too wide goes on in further tables led by its key columns, with the same rows. For
solve, check, grad, descend, descend --data and sweeps; and the packing rule itself.
"""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from backprop_cli.cli import app
from backprop_cli.render import fit
from tests.helpers.oracles import strict_json


def run(width: int, *args: str):
    return CliRunner().invoke(app, list(args), env={"COLUMNS": str(width), "NO_COLOR": "1"})


def rows(text: str) -> list[list[str]]:
    """The cells of every table row (lines starting with │)."""
    return [
        [c.strip() for c in line.strip().strip("│").split("│")]
        for line in text.splitlines()
        if line.startswith("│")
    ]


NUMERIC_CHARS = re.compile(r"^[-+.0-9e]+$")
NUMBER = re.compile(r"^-?(\d+(\.\d*)?|\.\d+)(e[+-]\d+)?$|^—$|^nan$|^-?inf$")


def assert_fits_and_whole(text: str, width: int) -> None:
    assert all(len(line.rstrip()) <= width for line in text.splitlines()), text
    assert "…" not in text
    for cells in rows(text):
        # a folded number leaves a continuation row whose first cell ('#') is empty and a
        # fragment such as '32' or 'e-05'; every numeric-looking cell must be a whole number
        for cell in cells:
            cell = cell.replace(" ✗", "")
            if cell and NUMERIC_CHARS.match(cell):
                assert NUMBER.match(cell), f"folded number {cell!r} in\n{text}"


# -- solve ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("width", [80, 40])
def test_solve_freeze_table_keeps_every_number_whole(width):
    r = run(width, "solve", "--gradient", "freeze")
    assert r.exit_code == 0
    assert_fits_and_whole(r.stdout, width)
    cells = rows(r.stdout)
    # every Δ of row 2 (the lesson's second step) appears whole, beside its iteration and error
    for delta in ("-0.00342629", "-0.00237361", "-0.00685258", "-0.00363149"):
        assert any(c[0] == "2" and c[1] == "-0.0386283" and delta in c for c in cells), delta
    assert any(c == ["6", "-2.0375e-06", "-1.80649e-07", "-1.25163e-07"] for c in cells) or any(
        c[:3] == ["6", "-2.0375e-06", "-1.80649e-07"] for c in cells
    )
    assert "backward pass (continued)" in r.stdout
    assert "b = 4.639410173" in r.stdout  # the summary is unchanged


def test_solve_at_80_columns_rows_of_the_lesson():
    r = run(80, "solve", "--gradient", "freeze")
    cells = rows(r.stdout)
    assert ["2", "3", "4.63704", "10.637", "5.63704", "59.9614", "-0.0386283"] in cells
    assert ["1", "0.444444", "16.3333", "15", "0.0296296"] in cells
    assert ["4", "-0.000280328", "-2.48545e-05", "-1.72205e-05", "-4.97089e-05"] in cells
    assert ["4", "-0.000280328", "-2.63481e-05", "-0.000280328"] in cells


# -- check ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("width", [80, 40])
def test_check_table_keeps_every_number_whole(width):
    r = run(width, "check", "sqrt(ln(x^2))", "--at", "x=2")
    assert r.exit_code == 0
    assert_fits_and_whole(r.stdout, width)
    flat = [cell for c in rows(r.stdout) for cell in c]
    # d/dx sqrt(ln x²) = 1/(x·sqrt(ln x²)) = 0.424660900144 at x = 2 (12 digits, unfolded)
    assert flat.count("0.424660900144") == 2 and "0.424660900189" in flat
    assert "4.5e-11" in flat and "1.06e-10" in flat and "yes" in flat


def test_check_at_80_columns_is_two_tables_led_by_the_variable():
    r = run(80, "check")
    cells = rows(r.stdout)
    assert ["w", "10", "10", "10.0000000003"] in cells
    assert ["b", "15", "15", "15.0000000001"] in cells
    assert ["w", "0", "3.32e-10", "3.32e-11", "yes"] in cells
    assert ["b", "0", "1.43e-10", "9.51e-12", "yes"] in cells


# -- grad ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("width", [80, 40])
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_grad_tables_fit(width, mode):
    r = run(width, "grad", "--mode", mode, "--nudge", "0.1")
    assert r.exit_code == 0
    assert_fits_and_whole(r.stdout, width)
    flat = [cell for c in rows(r.stdout) for cell in c]
    assert "z = x*y" in flat and "50" in flat and "51.51" in flat and "50.5" in flat


def test_grad_forward_tangents_at_80_columns_stay_in_one_table():
    r = run(80, "grad", "--mode", "forward")
    cells = rows(r.stdout)
    # node 7 (z = x*y): value 50, adjoint 1, ∂z/∂w = 10, ∂z/∂b = 15
    assert ["7", "z = x*y", "mul", "50", "∂/∂x = 5,", "1", "10", "15"] in cells


def test_grad_at_40_columns_continues_with_the_node_as_key():
    r = run(40, "grad")
    cells = rows(r.stdout)
    assert ["7", "z = x*y", "mul", "50"] in cells
    assert any(c[:2] == ["7", "z = x*y"] and c[-1] == "1" for c in cells)
    assert any(c[:2] == ["4", "x = 2*w +"] and c[-1] == "5" for c in cells)
    assert "(continued)" in r.stdout


def test_constants_only_program_says_so():
    r = run(80, "grad", "pi*e")
    assert r.exit_code == 0
    assert "no input variables — f is a constant" in r.stdout
    assert "8.53973" in r.stdout
    doc = strict_json(run(80, "grad", "pi*e", "--json").stdout)
    assert doc["gradient"] == {} and doc["value"] == pytest.approx(8.539734222673566)


# -- the packing rule ----------------------------------------------------------------------------
def test_pack_fills_as_few_tables_as_possible_and_evens_them():
    widths = [8, 10, 10, 10, 10, 10]  # key 8: each table = 12 + 13 per column + 1
    assert fit.pack([0], widths, None) == [[1, 2, 3, 4, 5]]
    assert fit.pack([0], widths, 200) == [[1, 2, 3, 4, 5]]
    # 52 holds three columns with the key; five columns need two tables: 3 + 2 (not 3 + 2 by
    # luck: the narrowest budget that still needs two tables is used)
    assert fit.pack([0], widths, 52) == [[1, 2, 3], [4, 5]]
    assert fit.pack([0], [8, 10, 10, 10, 10], 52) == [[1, 2], [3, 4]]
    # a column wider than the budget on its own still gets a table (Rich folds it then)
    assert fit.pack([0], [8, 100, 5], 40) == [[1], [2]]


def invoke(columns: int, *args):
    return CliRunner().invoke(app, list(args), env={"COLUMNS": str(columns), "NO_COLOR": "1"})


def assert_fits(out: str, columns: int) -> None:
    assert "…" not in out.replace("… ", "")  # the continuation titles start with '… '
    assert all(len(line.rstrip()) <= columns for line in out.splitlines()), out


def test_two_variable_newton_at_80_columns_keeps_every_number_whole():
    r = invoke(80, "descend", "(x-1)^2+2*(y+2)^2 + x*y", "--at", "x=0,y=0", "--optimizer", "newton")
    assert r.exit_code == 0, r.stderr
    out = r.stdout
    assert_fits(out, 80)
    # the gradient at the minimum is rounding noise, printed whole (it once read '-4.44089')
    assert "│ 1 │ 2.28571 │ -2.57143 │ -3.57143 │ -4.44089e-16 │ -8.88178e-16 │" in out
    assert "… step (same rows)" in out
    assert "│ 0 │ 2.28571 │ -2.57143 │" in out  # Newton step: H⁻¹g = (16/7, −18/7)
    assert "result: x = 2.28571, y = -2.57143, loss = -3.57143 after 1 step\n" in out


def test_lesson_at_40_columns_splits_into_readable_tables():
    r = invoke(40, "descend", "--max-iter", "3")
    assert r.exit_code == 1
    out = r.stdout
    assert_fits(out, 40)
    for row in [
        "│ 0 │    0.2 │    0.641 │     -1.6 │",
        "│ 1 │   0.36 │   0.4106 │    -1.28 │",
        "│ 2 │  0.488 │ 0.263144 │   -1.024 │",
        "│ 3 │ 0.5904 │ 0.168772 │  -0.8192 │",
        "│ 0 │   0.16 │   2 │     1 │",  # step 0.16, f'' = 2, bound 2/f'' = 1
        "│ 3 │      — │   2 │     1 │",
    ]:
        assert row in out, out


def test_one_table_when_it_fits():
    r = invoke(120, "descend", "--max-iter", "3")
    assert "(same rows)" not in r.stdout
    assert "│ 0 │    0.2 │    0.641 │     -1.6 │   0.16 │   2 │     1 │" in r.stdout


def test_elision_caption_under_the_last_table():
    r = invoke(40, "descend")
    assert r.exit_code == 0
    out = r.stdout
    assert_fits(out, 40)
    assert out.count("⋮") >= 2 * 4  # the elision row in both tables
    last = out.split("┏")[-1]  # the last table and what follows it
    assert "38 rows not shown" in " ".join(last.split())


def test_data_table_at_80_columns(tmp_path):
    path = tmp_path / "p.csv"
    r = invoke(
        80, "data", "linear", "--n", "200", "--seed", "0", "--noise", "0.1", "--output", str(path)
    )
    assert r.exit_code == 0, r.stderr
    r = invoke(
        80, "descend", "(w*x + b - y)^2", "--data", str(path), "--at", "w=0,b=0", "--eta", "0.5"
    )
    assert r.exit_code == 0, r.stderr
    out = r.stdout
    assert_fits(out, 80)
    assert "│  0 │     0 │        0 │       0 │   11.3649 │     -1.94309 │    -6.29915 │" in out
    assert "│ 27 │    27 │  1.98734 │ 2.99206 │ 0.0104214 │ -6.77686e-06 │ 8.38902e-07 │" in out
    # the steps: −η·∂loss/∂v = 0.5·(1.94309, 6.29915)
    assert "│  0 │     0 │    0.971543 │      3.14958 │" in out


def test_data_step_log_at_40_columns(tmp_path):
    path = tmp_path / "p.csv"
    invoke(40, "data", "linear", "--n", "20", "--seed", "0", "--output", str(path))
    r = invoke(40, "descend", "(w*x + b - y)^2", "--data", str(path), "--at", "w=0,b=0",
               "--batch-size", "5", "--epochs", "2", "--log", "step")  # fmt: skip
    assert r.exit_code == 0  # 2 epochs: the budget, spent (completed)
    assert_fits(r.stdout, 40)


def test_sweep_at_40_columns():
    r = invoke(40, "descend", "(x-1)^2+0.1", "--x0", "-0.8", "--eta", "0.1,0.4,1.0,1.1")
    assert r.exit_code == 0  # every run classified
    out = r.stdout
    assert_fits(out, 40)
    for row in [
        "│ 0.1 │ converged   │         58 │",
        "│   1 │ oscillating │          4 │",
        "│ 1.1 │ diverged    │         76 │",
        "│   1 │        -0.8 │        3.34 │",  # η = 1 cycles back to the start
        "│ 1.1 │ -1.8752e+06 │ 3.51637e+12 │",
    ]:
        assert row in out, out
    assert "4 runs classified: 2 converged, 1 \noscillating, 1 diverged" in out


def test_one_run_sweep_grammar():
    r = invoke(120, "descend", "x^2", "--x0", "1", "--eta", "0.1:1:1")
    assert r.exit_code == 0
    assert "1 run classified: 1 converged" in r.stdout
