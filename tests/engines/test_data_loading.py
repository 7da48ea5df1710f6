"""Data sets (backprop_cli/data.py): the generators' formulas, CSV/.npz/.npy loading where
every bad file names its problem, and binding columns to variables.
"""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from backprop_cli import compile as compile_program
from backprop_cli.cli import app
from backprop_cli.data import Dataset, bind, generate, load, to_csv
from backprop_cli.engines.objective import Objective
from backprop_cli.errors import InputError

ENV = {"COLUMNS": "120", "NO_COLOR": "1"}
LINE = "(w*x + b - y)^2"


def invoke(*args):
    return CliRunner().invoke(app, list(args), env=ENV)


def write(tmp_path, text: str, name: str = "d.csv") -> str:
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def test_data_formula_matches_generator_exactly():
    cols = generate("linear", 5, seed=3, noise=0.5, params={"w": -1.0, "b": 0.25})
    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, 5)
    eps = rng.standard_normal(5)
    assert np.array_equal(cols["x"], x)
    assert np.allclose(cols["y"], -1.0 * x + 0.25 + 0.5 * eps, rtol=0, atol=0)
    q = generate("quadratic", 4, seed=1, noise=0.0)
    assert np.allclose(q["y"], q["x"] ** 2 - 2 * q["x"] + 1)
    lg = generate("logistic", 1000, seed=2)
    assert set(np.unique(lg["y"])) <= {0.0, 1.0}
    # P(y=1) = sigmoid(2x): more ones on the right than the left
    assert lg["y"][lg["x"] > 1].mean() > 0.85 and lg["y"][lg["x"] < -1].mean() < 0.15


def test_data_round_trip_through_csv(tmp_path):
    cols = generate("quadratic", 30, seed=4)
    path = write(tmp_path, to_csv(cols))
    d = load(path)
    assert d.names == ("x", "y") and d.rows == 30
    assert np.allclose(d.columns["x"], cols["x"], rtol=1e-9, atol=0)


# -- loading: every bad-data case names the problem, exit 2 ----------------------------
BAD = [
    ("x,y\n1,2\n3,abc\n", "line 3 (data row 2), column 'y': 'abc' is not a number"),
    ("x,y\n1,2\n3,nan\n", "line 3 (data row 2), column 'y': 'nan' is not a finite number"),
    ("x,y\n1,2\ninf,4\n", "line 3 (data row 2), column 'x': 'inf' is not a finite number"),
    ("x,y\n1,2\n3\n", "line 3 (data row 2) has 1 cell; the header has 2 columns (x, y)"),
    ("x,y\n1,2\n3,\n", "line 3 (data row 2), column 'y': the cell is empty"),
    ("1,2\n3,4\n", "no header row: the first line '1,2' holds numbers"),
    ("x,y\n", "no data rows after the header; the data set is empty"),
    ("", "the file is empty"),
    ("x,x\n1,2\n", "duplicate column name 'x' (columns 1 and 2)"),
    ("x,\n1,2\n", "column 2 of the header has no name"),
]


@pytest.mark.parametrize("text, message", BAD)
def test_bad_csv_is_an_input_error(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(InputError) as exc:
        load(path)
    assert message in exc.value.message
    r = invoke("grad", LINE, "--data", path, "--at", "w=1,b=1")
    assert r.exit_code == 2
    assert message in r.stderr
    assert "Traceback" not in r.stderr


def test_npz_and_structured_npy(tmp_path, points):
    d = load(points)
    npz = tmp_path / "p.npz"
    np.savez(npz, x=d.columns["x"], y=d.columns["y"])
    npy = tmp_path / "p.npy"
    rec = np.zeros(d.rows, dtype=[("x", float), ("y", float)])
    rec["x"], rec["y"] = d.columns["x"], d.columns["y"]
    np.save(npy, rec)
    for path in (npz, npy):
        e = load(str(path))
        assert e.names == ("x", "y") and e.rows == 200
        assert np.array_equal(e.columns["y"], d.columns["y"])
    plain = tmp_path / "plain.npy"
    np.save(plain, np.ones((3, 2)))
    with pytest.raises(InputError, match="a plain array has no column names"):
        load(str(plain))
    bad = tmp_path / "bad.npz"
    np.savez(bad, x=np.array([1.0, np.nan]), y=np.array([1.0, 2.0]))
    with pytest.raises(InputError, match="data row 2, column 'x'"):
        load(str(bad))
    ragged = tmp_path / "ragged.npz"
    np.savez(ragged, x=np.ones(3), y=np.ones(2))
    with pytest.raises(InputError, match="column 'y' has 2 rows; 'x' has 3"):
        load(str(ragged))


def test_dataset_in_memory_binding():
    cols = {"x": np.array([1.0, 2.0]), "target": np.array([2.0, 4.0])}
    d = Dataset("<memory>", ("x", "target"), cols, 2)
    program = compile_program("(k*x - y)^2")
    b = bind(program, d, {"y": "target"})
    assert b.columns == {"x": "x", "y": "target"} and b.parameters == ("k",)
    assert Objective(program, d, b).evaluate({"k": 2.0}).value == 0.0
