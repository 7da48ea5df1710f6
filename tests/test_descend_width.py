"""descend (and descend --data) tables at 80 and 40 columns: a number is never cut with '…'
nor folded over two lines ('-4.44089' / 'e-16' reads like another number); a table too
wide for the screen is shown as several tables with the same rows (cli.md §8)."""

from __future__ import annotations

from typer.testing import CliRunner

from backprop_cli.cli import app


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
    assert r.exit_code == 1  # 2 epochs: not converged
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
