"""`backprop data` and the --data option of grad and descend (issue 8) as commands:
reproducible CSV and JSON output, bad options and bad files exit 2 naming the problem,
--data's options refused without --data, exit codes of fits, and the help's examples.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from backprop_cli.cli import app
from backprop_cli.data import load
from tests.helpers.oracles import strict_json as strict

ENV = {"COLUMNS": "120", "NO_COLOR": "1"}
LINE = "(w*x + b - y)^2"


def invoke(*args):
    return CliRunner().invoke(app, list(args), env=ENV)


def write(tmp_path, text: str, name: str = "d.csv") -> str:
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def least_squares(path: str) -> tuple[float, float]:
    d = load(path)
    A = np.column_stack([d.columns["x"], np.ones(d.rows)])
    (w, b), *_ = np.linalg.lstsq(A, d.columns["y"], rcond=None)
    return float(w), float(b)


# -- backprop data ---------------------------------------------------------------------
def test_data_command_is_reproducible_and_parseable():
    a = invoke("data", "linear", "--n", "50", "--seed", "7")
    b = invoke("data", "linear", "--n", "50", "--seed", "7")
    c = invoke("data", "linear", "--n", "50", "--seed", "8")
    assert a.exit_code == b.exit_code == c.exit_code == 0
    assert a.stdout == b.stdout
    assert a.stdout != c.stdout
    lines = a.stdout.splitlines()
    assert lines[0] == "x,y" and len(lines) == 51
    table = np.array([[float(v) for v in line.split(",")] for line in lines[1:]])
    x, y = table[:, 0], table[:, 1]
    assert np.all((x >= -1) & (x <= 1))
    # default w = 2, b = 3, σ = 0.1: the residuals are the noise
    resid = y - (2 * x + 3)
    assert abs(resid.mean()) < 0.05 and 0.05 < resid.std() < 0.15


@pytest.mark.parametrize(
    "args, message",
    [
        (["cubic"], "unknown data set 'cubic'"),
        (["linear", "--n", "0"], "--n 0: the number of rows must be between 1"),
        (["linear", "--noise", "-1"], "--noise -1: must be ≥ 0"),
        (["linear", "--noise", "nan"], "not a finite number"),
        (["linear", "--param", "a=1"], "--param a: the linear model's parameters are w, b"),
        (["logistic", "--noise", "0.2"], "has no additive noise"),
    ],
)
def test_data_command_rejects_bad_options(args, message):
    r = invoke("data", *args)
    assert r.exit_code == 2
    assert message in r.stderr


def test_missing_file_and_missing_column(tmp_path, points):
    r = invoke("grad", LINE, "--data", str(tmp_path / "nope.csv"))
    assert r.exit_code == 2 and "no such file" in r.stderr
    r = invoke("grad", LINE, "--data", points, "--column", "y=target")
    assert r.exit_code == 2
    assert "has no column 'target' (its columns: x, y)" in r.stderr
    r = invoke("grad", LINE, "--data", points, "--column", "q=y")
    assert r.exit_code == 2 and "--column q: 'q' is not a variable of the program" in r.stderr
    r = invoke("grad", "(w*u + b - v)^2", "--data", points)
    assert r.exit_code == 2 and "no column names a variable of the program" in r.stderr
    r = invoke("grad", LINE, "--data", points, "--at", "x=1")
    assert r.exit_code == 2 and "'x' is bound to column 'x'" in r.stderr


def test_bad_data_json_error_document(tmp_path):
    path = write(tmp_path, "x,y\n1,2\n3,abc\n")
    r = invoke("grad", LINE, "--data", path, "--json")
    assert r.exit_code == 2
    doc = strict(r.stdout)
    assert doc["status"] == "input_error" and "'abc' is not a number" in doc["message"]


# -- grad --data -----------------------------------------------------------------------
def test_grad_data_json(tmp_path):
    path = write(tmp_path, "u,y\n0,3\n1,5\n2,7.1\n-1,0.9\n")
    r = invoke("grad", LINE, "--data", path, "--column", "x=u", "--at", "w=1,b=1", "--json")
    assert r.exit_code == 0, r.stderr
    doc = strict(r.stdout)
    assert doc["schema"] == "backprop.grad/1" and doc["status"] == "ok"
    assert doc["data"] == {"file": path, "rows": 4, "columns": {"x": "u", "y": "y"}}
    assert doc["reduce"] == "mean"
    assert doc["value"] == pytest.approx(7.655)
    assert doc["gradient"] == {"w": pytest.approx(-5.15), "b": pytest.approx(-5.0)}
    assert doc["per_sample"]["output"] == pytest.approx([4.0, 9.0, 16.81, 0.81])
    assert doc["per_sample"]["gradient"]["b"] == pytest.approx([-4.0, -6.0, -8.2, -1.8])
    r = invoke(
        "grad",
        LINE,
        "--data",
        path,
        "--column",
        "x=u",
        "--at",
        "w=1,b=1",
        "--reduce",
        "sum",
        "--json",
    )
    doc = strict(r.stdout)
    assert doc["value"] == pytest.approx(4 * 7.655) and doc["gradient"]["b"] == pytest.approx(-20.0)


def test_grad_data_per_sample_flag_when_large(points):
    r = invoke("grad", LINE, "--data", points, "--at", "w=2,b=3", "--json")
    assert r.exit_code == 0
    assert strict(r.stdout)["per_sample"] is None  # 200 rows: only when asked
    r = invoke("grad", LINE, "--data", points, "--at", "w=2,b=3", "--json", "--per-sample")
    assert len(strict(r.stdout)["per_sample"]["output"]) == 200


def test_grad_data_table_and_default_warning(tmp_path):
    path = write(tmp_path, "x,y\n0,3\n1,5\n2,7.1\n-1,0.9\n")
    r = invoke("grad", LINE, "--data", path)
    assert r.exit_code == 0
    assert "no value for w, b; starting at 1.0" in r.stderr
    assert "7.655" in r.stdout and "-5.15" in r.stdout
    r = invoke("grad", LINE, "--data", path, "--mode", "forward")
    assert r.exit_code == 2 and "not available with --data" in r.stderr


# -- descend --data (CLI) --------------------------------------------------------------
def descend_json(*args):
    r = invoke("descend", LINE, *args, "--json")
    return r, (strict(r.stdout) if r.stdout.strip() else None)


def test_descend_data_full_batch_json(points):
    r, doc = descend_json("--data", points, "--at", "w=0,b=0", "--eta", "0.5")
    assert r.exit_code == 0, r.stderr
    assert doc["schema"] == "backprop.descend/1" and doc["status"] == "converged"
    assert doc["data"] == {"file": points, "rows": 200, "columns": {"x": "x", "y": "y"}}
    assert doc["batch_size"] == 200 and doc["epochs"] is None and doc["reduce"] == "mean"
    assert doc["variables"] == ["w", "b"] and doc["start"] == {"w": 0.0, "b": 0.0}
    its = doc["iterations"]
    assert its[0]["iteration"] == 0 and its[0]["epoch"] == 0 and its[0]["batch"] is None
    assert its[-1]["steps"] is None and its[0]["steps"] is not None
    assert len(its) == doc["result"]["iterations"] + 1 == len(doc["epoch_losses"])
    w_ls, b_ls = least_squares(points)
    assert doc["result"]["values"]["w"] == pytest.approx(w_ls, abs=1e-5)
    assert doc["result"]["values"]["b"] == pytest.approx(b_ls, abs=1e-5)
    # the first step by hand: Δ = −η·∇(mean loss) at w = b = 0
    d = load(points)
    x, y = d.columns["x"], d.columns["y"]
    assert its[0]["loss"] == pytest.approx(np.mean(y**2), rel=1e-12)
    assert its[0]["steps"]["w"] == pytest.approx(-0.5 * np.mean(-2 * y * x), rel=1e-12)
    assert its[0]["steps"]["b"] == pytest.approx(-0.5 * np.mean(-2 * y), rel=1e-12)


def test_descend_data_seed_reproducible_cli(points):
    base = [
        "--data",
        points,
        "--at",
        "w=0,b=0",
        "--eta",
        "0.1",
        "--batch-size",
        "16",
        "--epochs",
        "3",
    ]
    _, a = descend_json(*base, "--seed", "3", "--log", "step")
    _, b = descend_json(*base, "--seed", "3", "--log", "step")
    _, c = descend_json(*base, "--seed", "4", "--log", "step")
    assert a["iterations"] == b["iterations"]
    assert a["iterations"] != c["iterations"]
    assert a["batch_size"] == 16 and a["epochs"] == 3 and a["seed"] == 3
    assert a["status"] == "completed" and a["result"]["iterations"] == 3 * 13  # the budget
    assert [r["batch"] for r in a["iterations"][:14]] == list(range(1, 14)) + [1]
    assert a["iterations"][0]["full_loss"] is not None and a["iterations"][1]["full_loss"] is None
    _, d = descend_json(*base, "--seed", "3", "--no-shuffle")
    _, e = descend_json(*base, "--seed", "4", "--no-shuffle")
    assert d["iterations"] == e["iterations"] and [r["epoch"] for r in d["iterations"]] == [
        0,
        1,
        2,
        3,
    ]


def test_descend_data_stochastic_until_loss_and_exit_codes(points):
    common = [
        "--data",
        points,
        "--at",
        "w=0,b=0",
        "--eta",
        "0.05",
        "--batch-size",
        "1",
        "--seed",
        "2",
    ]
    r, doc = descend_json(*common, "--epochs", "20")
    assert r.exit_code == 0 and doc["status"] == "completed"  # the epochs asked for, spent
    w_ls, b_ls = least_squares(points)
    assert doc["result"]["values"]["w"] == pytest.approx(w_ls, abs=0.05)
    assert doc["result"]["values"]["b"] == pytest.approx(b_ls, abs=0.05)
    r, doc = descend_json(*common, "--epochs", "20", "--until-loss", "0.0125")
    assert r.exit_code == 0 and doc["status"] == "converged" and doc["result"]["loss"] < 0.0125


def test_descend_data_jsonl_streams(points):
    r = invoke("descend", LINE, "--data", points, "--at", "w=0,b=0", "--eta", "0.1", "--batch-size", "50",
               "--epochs", "2", "--log", "step", "--jsonl")  # fmt: skip
    assert r.exit_code == 0
    lines = [strict(line) for line in r.stdout.splitlines()]
    assert [x["record"] for x in lines] == ["iteration"] * 9 + ["summary"]
    assert [(x["epoch"], x["batch"]) for x in lines[:9]] == [(1, 1), (1, 2), (1, 3), (1, 4),
                                                          (2, 1), (2, 2), (2, 3), (2, 4), (2, None)]  # fmt: skip
    assert lines[-1]["status"] == "completed" and lines[-1]["batch_size"] == 50


@pytest.mark.parametrize(
    "args, message",
    [
        (["--eta", "0.1,0.2"], "sweeps are not available with --data"),
        (["--batch-size", "0"], "--batch-size 0: must be at least 1"),
        (["--epochs", "0"], "--epochs 0: must be at least 1"),
        (["--log", "often"], "--log 'often': use epoch or step"),
        (["--reduce", "max"], "--reduce 'max': use mean or sum"),
        (["--column", "y=z"], "has no column 'z'"),
        (["--plot", "/tmp/x.gif"], "unknown picture type"),
    ],
)
def test_descend_data_bad_options(points, args, message):
    r = invoke("descend", LINE, "--data", points, *args)
    assert r.exit_code == 2
    assert message in r.stderr


def test_descend_data_nothing_to_fit(tmp_path):
    path = write(tmp_path, "x,y\n1,2\n")
    r = invoke("descend", "(x - y)^2", "--data", path)
    assert r.exit_code == 2 and "nothing to fit" in r.stderr


def test_descend_data_domain_error(tmp_path):
    path = write(tmp_path, "x\n1\n2\n-3\n")
    r = invoke("descend", "ln(w*x)^2", "--data", path, "--at", "w=1", "--json")
    assert r.exit_code == 1
    doc = strict(r.stdout)
    assert doc["status"] == "domain_error" and "data row 3" in doc["message"]


def test_help_examples_for_data_run_verbatim(tmp_path, monkeypatch):
    import shlex

    from backprop_cli.commands.help_text import EXAMPLES

    monkeypatch.chdir(tmp_path)  # an example may write its CSV into the working folder
    for example in EXAMPLES["data"]:
        argv = shlex.split(example)
        assert argv[0] == "backprop"
        r = invoke(*argv[1:])
        assert r.exit_code == 0, (example, r.stderr)
    r = invoke("data", "--help")
    assert r.exit_code == 0
    flat = " ".join(r.stdout.split())
    assert "y = w·x + b + σ·ε with x uniform in [-1, 1]" in flat


@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_data_output_that_cannot_be_written_fails_like_plot(tmp_path, json_flag):
    """An unwritable --output is exit 1 ('the input was fine'), worded as --plot's and graph -o's."""
    missing = str(tmp_path / "no-such-folder" / "points.csv")
    r = CliRunner().invoke(app, ["data", "linear", "--output", missing, *json_flag], env=ENV)
    assert r.exit_code == 1
    assert r.stderr.startswith(f"error: cannot write '{missing}': No such file or directory")
    if json_flag:
        doc = strict(r.stdout)
        assert doc["status"] == "output_error" and doc["error"]["kind"] == "output_error"
    else:
        assert r.stdout == ""
    assert not (tmp_path / "no-such-folder").exists()


def _runner() -> CliRunner:
    return CliRunner(env={"COLUMNS": "80", "NO_COLOR": "1"})


def _strict(text: str):
    def bad(token):
        raise ValueError(token)

    return json.loads(text, parse_constant=bad)


def test_data_takes_json_like_every_command(tmp_path):
    """README: 'Every command takes --json'; data's rows are the CSV's numbers."""
    csv = _runner().invoke(app, ["data", "linear", "--n", "3", "--seed", "0"])
    assert csv.exit_code == 0
    lines = csv.stdout.strip().splitlines()
    assert lines[0] == "x,y"
    rows = [tuple(float(v) for v in line.split(",")) for line in lines[1:]]

    result = _runner().invoke(app, ["data", "linear", "--n", "3", "--seed", "0", "--json"])
    assert result.exit_code == 0
    doc = _strict(result.stdout)
    assert doc["schema"] == "backprop.data/1" and doc["status"] == "ok"
    assert doc["rows"] == 3 and doc["columns"] == ["x", "y"] and doc["file"] is None
    assert doc["noise"] == 0.1 and doc["params"] == {"w": 2.0, "b": 3.0}
    assert list(zip(doc["data"]["x"], doc["data"]["y"])) == rows

    out = tmp_path / "p.csv"
    result = _runner().invoke(app, ["data", "linear", "--n", "3", "--json", "--output", str(out)])
    assert result.exit_code == 0
    doc = _strict(result.stdout)
    assert doc["file"] == str(out) and "data" not in doc
    assert out.read_text().strip().splitlines()[1:] == lines[1:]


def test_data_json_error_is_one_document():
    result = _runner().invoke(app, ["data", "linear", "--n", "0", "--json"])
    assert result.exit_code == 2
    doc = _strict(result.stdout)
    assert doc["status"] == "input_error"
    assert "--n 0" in doc["message"]


@pytest.mark.parametrize(
    "args,flags",
    [
        (["--batch-size", "5"], "--batch-size"),
        (["--epochs", "3"], "--epochs"),
        (["--no-shuffle"], "--shuffle/--no-shuffle"),
        (["--seed", "0"], "--seed"),  # even the default value, when given, asks for data
        (["--log", "step"], "--log"),
        (["--reduce", "sum"], "--reduce"),
        (["--column", "x=a"], "--column"),
        (["--batch-size", "1", "--epochs", "2"], "--batch-size, --epochs"),
    ],
)
def test_data_options_without_data_are_refused_not_ignored(args, flags):
    r = invoke("descend", "x^2", "--x0", "1", *args)
    assert r.exit_code == 2
    assert r.stdout == ""
    assert f"error: {flags}: only with --data FILE" in r.stderr


def test_data_option_without_data_as_json():
    r = invoke("descend", "x^2", "--x0", "1", "--epochs", "3", "--json")
    assert r.exit_code == 2
    doc = strict(r.stdout)
    assert doc["schema"] == "backprop.descend/1"
    assert doc["status"] == "input_error"
    assert doc["message"] == "--epochs: only with --data FILE (there is no data set to fit)"


def test_data_defaults_still_apply_with_data(tmp_path):
    path = tmp_path / "p.csv"
    r = invoke("data", "linear", "--n", "20", "--seed", "0", "--output", str(path))
    assert r.exit_code == 0, r.stderr
    r = invoke("descend", "(w*x + b - y)^2", "--data", str(path), "--at", "w=0,b=0",
               "--eta", "0.5", "--max-iter", "1", "--json")  # fmt: skip
    assert r.exit_code == 1  # one update is not convergence
    doc = strict(r.stdout)
    assert (doc["reduce"], doc["shuffle"], doc["seed"], doc["log"]) == ("mean", True, 0, "epoch")
    assert doc["batch_size"] == 20 and doc["epochs"] is None


# -- explicit binding (issue 13, item 2) ---------------------------------------------------------
UNBOUND = (
    "y is neither a column of {path} nor given with --at; the column 'target' is not used: "
    "did you mean --column y=target?"
)


@pytest.mark.parametrize("command", ["grad", "descend"])
def test_a_variable_missing_while_a_column_is_unused_is_an_error(tmp_path, command):
    """Columns x,target and (w*x-y)^2: y is not fitted as a parameter; the fix is named."""
    path = write(tmp_path, "x,target\n1,2\n2,4\n3,6.5\n", "t.csv")
    r = invoke(command, "(w*x-y)^2", "--data", path, "--at", "w=0")
    assert r.exit_code == 2 and r.stdout == ""
    assert r.stderr == "error: " + UNBOUND.format(path=path) + "\n"
    r = invoke(command, "(w*x-y)^2", "--data", path, "--at", "w=0", "--json")
    assert r.exit_code == 2
    doc = strict(r.stdout)
    assert doc["status"] == "input_error" and doc["message"] == UNBOUND.format(path=path)
    # the suggested fix: y takes the column; the gradient at w = 0 is mean(-2·x·target)
    r = invoke("grad", "(w*x-y)^2", "--data", path, "--at", "w=0", "--column", "y=target", "--json")
    assert r.exit_code == 0, r.stderr
    x, t = np.array([1.0, 2.0, 3.0]), np.array([2.0, 4.0, 6.5])
    assert strict(r.stdout)["gradient"] == {"w": pytest.approx(np.mean(-2 * x * t), rel=1e-15)}
    assert r.stderr == ""  # every column bound: nothing to report


def test_several_missing_variables_and_unused_columns(tmp_path):
    path = write(tmp_path, "x,target,weight\n1,2,1\n", "t.csv")
    r = invoke("grad", LINE, "--data", path)
    assert r.exit_code == 2
    assert r.stderr == (
        f"error: w, b, y are neither columns of {path} nor given with --at; the columns "
        "'target', 'weight' are not used: did you mean --column y=target (and --at for the others)?\n"
    )


def test_unused_columns_are_named_on_stderr(tmp_path):
    """Every column feeds a variable or is named on stderr (not with --quiet)."""
    path = write(tmp_path, "x,y,z,id\n0,3,9,1\n1,5,9,2\n2,7.1,9,3\n-1,0.9,9,4\n")
    r = invoke("grad", LINE, "--data", path, "--at", "w=1,b=1")
    assert r.exit_code == 0, r.stderr
    assert r.stderr == (
        f"note: columns z, id of {path} are not used by the program (bind one with --column "
        "VARIABLE=COLUMN)\n"
    )
    assert "7.655" in r.stdout  # the mean loss at w = b = 1, as with the two columns alone
    r = invoke("grad", LINE, "--data", path, "--at", "w=1,b=1", "--quiet")
    assert r.exit_code == 0 and r.stderr == ""
    one = write(tmp_path, "x,y,z\n1,2,3\n", "one.csv")
    r = invoke("grad", LINE, "--data", one, "--at", "w=1,b=1", "--json")
    assert r.exit_code == 0 and strict(r.stdout)["value"] == 0.0
    assert r.stderr == (
        f"note: column z of {one} is not used by the program (bind it with --column VARIABLE=z)\n"
    )


# -- backprop data: finite rows or nothing ---------------------------------------------------------
@pytest.mark.parametrize(
    "args, message",
    [
        (["linear", "--param", "w=1e308,b=1e308"],
         "the linear data set would not be finite: data row 6 has y = inf (with w = 1e+308, "
         "b = 1e+308, σ = 0.1); use smaller --param or --noise values"),
        (["linear", "--noise", "1e308"],
         "the linear data set would not be finite: data row 15 has y = inf (with w = 2, b = 3, "
         "σ = 1e+308); use smaller --param or --noise values"),
        (["quadratic", "--param", "a=1e308,b=-1e308,c=0", "--noise", "0"],
         "the quadratic data set would not be finite: data row 4 has y = inf (with a = 1e+308, "
         "b = -1e+308, c = 0, σ = 0); use smaller --param or --noise values"),
        # finite, but its 10-digit text (1.797693135e+308) would read back as infinity
        (["linear", "--param", "w=0,b=1.7976931348623157e308", "--noise", "0"],
         "the linear data set would not be finite: data row 1 has y = 1.79769e+308 (with w = 0, "
         "b = 1.79769e+308, σ = 0); use smaller --param or --noise values"),
    ],
)  # fmt: skip
def test_data_refuses_rows_that_would_not_be_finite(tmp_path, args, message):
    """The first row that overflows, found independently: x, ε from PCG64(0) as documented,
    the model's formula evaluated by numpy (rows 6, 15 and 4 for these parameters)."""
    rng = np.random.default_rng(0)
    x, eps = rng.uniform(-1, 1, 200), rng.standard_normal(200)
    with np.errstate(all="ignore"):
        ys = {"w = 1e+308": 1e308 * x + 1e308 + 0.1 * eps, "σ = 1e+308": 2 * x + 3 + 1e308 * eps,
              "a = 1e+308": 1e308 * x * x - 1e308 * x}  # fmt: skip
    for key, y in ys.items():
        if key in message:
            row = int(np.flatnonzero(~np.isfinite(y))[0]) + 1
            assert f"data row {row} has y = {y[row - 1]:g} " in message
    r = invoke("data", *args, "--seed", "0")
    assert r.exit_code == 2 and r.stdout == ""
    assert r.stderr == f"error: {message}\n"
    new = tmp_path / "new.csv"
    old = tmp_path / "old.csv"
    old.write_text("x,y\n1,2\n")
    for path in (new, old):
        r = invoke("data", *args, "--seed", "0", "--output", str(path), "--json")
        assert r.exit_code == 2
        assert strict(r.stdout)["message"] == message
    assert not new.exists() and old.read_text() == "x,y\n1,2\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.csv"]
