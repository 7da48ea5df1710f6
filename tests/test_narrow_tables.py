"""Tables at 80 and 40 columns (cli.md §8): no line wider than the terminal, no number folded
over two lines — a table too wide goes on in further tables led by its key columns. Also the
cases an audit of issues 2, 3, 5 found: a program without input variables, the solve plot under
--gradient freeze."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

import backprop_cli as bp
from backprop_cli.cli import app
from backprop_cli.engines.solve import solve
from backprop_cli.render import fit
from tests.oracles import strict_json

LESSON = "x = 2*w + b; y = b + 1; z = x*y"


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


# -- the solve plot under --gradient freeze ------------------------------------------------------
def test_freeze_plot_does_not_call_its_steps_newton():
    pytest.importorskip("matplotlib")
    from backprop_cli.render import plot
    from backprop_cli.render.solve import solve_document

    program = bp.compile(LESSON)
    for gradient, words in (("freeze", "frozen"), ("refresh", "Newton")):
        doc = solve_document(solve(program, {"w": 3.0, "b": 4.0}, 60.0, ["b"], gradient=gradient))
        ax = plot.solve_figure(doc).axes[0]
        assert ax.get_title().startswith(words)
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert any(words in label for label in labels), labels
        steps = [ln for ln in ax.get_lines() if ln.get_color() == "C2"]
        slopes = [
            (ln.get_ydata()[1] - ln.get_ydata()[0]) / (ln.get_xdata()[1] - ln.get_xdata()[0])
            for ln in steps
        ]
        if gradient == "freeze":  # every step runs along the first slope, ∂z/∂b = 15
            assert slopes == pytest.approx([15.0] * 6)
        else:  # tangents: 15, then 49/3
            assert slopes[:2] == pytest.approx([15.0, 49 / 3])


# -- grad --explain on the shapes the lesson does not show ---------------------------------------
def explain(*args: str) -> list[str]:
    r = run(200, "grad", *args, "--explain")
    assert r.exit_code == 0, r.stderr
    return [line.strip() for line in r.stdout.split("chain rule", 1)[1].splitlines() if line.strip()]


def test_explain_same_input_twice_names_each_operand():
    # d/dx x·x = x + x = 4 at x = 2
    assert explain("x*x", "--at", "x=2") == [
        "∂f/∂x = ∂(x*x)/∂x (operand 1) + ∂(x*x)/∂x (operand 2) = 2 + 2 = 4"
    ]


def test_explain_named_output_local_partial_is_not_its_own_left_side():
    # b = a·x + a, a = x²: ∂b/∂a = x + 1 = 3, ∂b/∂x = ∂b/∂a·2x (twice, via x*x) + a = 3·2 + 3·2 + 4 = 16
    lines = explain("a = x*x; b = a*x + a", "--at", "x=2")
    assert "∂b/∂a = ∂b/∂(a*x)·∂(a*x)/∂a + ∂(a*x + a)/∂a = 1·2 + 1 = 3" in lines
    assert (
        "∂b/∂x = ∂b/∂a·∂a/∂x (operand 1) + ∂b/∂a·∂a/∂x (operand 2) + ∂b/∂(a*x)·∂(a*x)/∂x"
        " = 3·2 + 3·2 + 1·4 = 16" in lines
    )


def test_explain_covers_every_input_variable():
    # --of y: y = b + 1 does not depend on w; the line says so instead of leaving w out
    assert explain(LESSON, "--of", "y", "--at", "w=3,b=4") == [
        "∂y/∂b = 1",
        "∂y/∂w = 0 (y does not depend on w)",
    ]
    assert explain("x", "--at", "x=2") == ["∂x/∂x = 1 (x is the output itself)"]
    # the lesson's lines are unchanged
    assert "∂z/∂b = ∂z/∂x·∂x/∂b + ∂z/∂y·∂y/∂b = 5·1 + 10·1 = 15" in explain()
