"""Learning from data (issue 8): loading, binding, the mean objective, batch descent, `backprop data`."""

from __future__ import annotations

import math

import numpy as np
import pytest
from typer.testing import CliRunner

from backprop_cli import compile as compile_program
from backprop_cli.cli import app
from backprop_cli.data import Dataset, bind, generate, load, to_csv
from backprop_cli.engines import objective as objective_module
from backprop_cli.engines.objective import Objective, reduced_hessian
from backprop_cli.engines.optimizers import make
from backprop_cli.engines.train import run
from backprop_cli.errors import DomainError, InputError
from tests.oracles import strict_json as strict

ENV = {"COLUMNS": "120", "NO_COLOR": "1"}
LINE = "(w*x + b - y)^2"


def invoke(*args):
    return CliRunner().invoke(app, list(args), env=ENV)


@pytest.fixture
def points(tmp_path):
    """200 points of y = 2x + 3 + 0.1·ε (seed 0), written by `backprop data`."""
    path = tmp_path / "points.csv"
    r = invoke("data", "linear", "--n", "200", "--seed", "0", "--noise", "0.1", "--param", "w=2,b=3",
               "--output", str(path), "--quiet")  # fmt: skip
    assert r.exit_code == 0, r.stderr
    return str(path)


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


# -- the objective ---------------------------------------------------------------------
SMALL = "x,t\n0.5,1\n-1,0.25\n2,3\n1.5,-0.5\n"


def test_mean_gradient_is_average_of_per_sample_gradients_and_matches_sympy(tmp_path):
    sp = pytest.importorskip("sympy")
    path = write(tmp_path, SMALL)
    text = "sigmoid(w*x + b)*c - t"
    program = compile_program(f"r = {text}; loss = r^2 + 0.1*w^2")
    d = load(path)
    binding = bind(program, d, {"t": "t"})
    assert binding.columns == {"x": "x", "t": "t"} and binding.parameters == ("w", "b", "c")
    obj = Objective(program, d, binding)
    at = {"w": 0.7, "b": -0.3, "c": 1.5}
    ev = obj.evaluate(at)
    ps = obj.per_sample(at)
    for p in ("w", "b", "c"):
        assert ev.gradient[p] == pytest.approx(float(np.mean(ps.gradients[p])), rel=1e-14)
    assert ev.value == pytest.approx(float(np.mean(ps.values)), rel=1e-14)
    # SymPy: the mean of the per-row expressions, differentiated symbolically
    w, b, c = sp.symbols("w b c")
    rows = [(0.5, 1), (-1, 0.25), (2, 3), (1.5, -0.5)]
    sig = lambda z: 1 / (1 + sp.exp(-z))  # noqa: E731
    L = sum((sig(w * x + b) * c - t) ** 2 + sp.Rational(1, 10) * w**2 for x, t in rows) / len(rows)
    subs = {w: sp.Rational(7, 10), b: sp.Rational(-3, 10), c: sp.Rational(3, 2)}
    assert ev.value == pytest.approx(float(L.subs(subs).evalf(30)), rel=1e-12)
    for sym, name in ((w, "w"), (b, "b"), (c, "c")):
        assert ev.gradient[name] == pytest.approx(
            float(sp.diff(L, sym).subs(subs).evalf(30)), rel=1e-12
        )
    # reduce=sum is n times the mean; the Hessian is exact too
    tot = Objective(program, d, binding, "sum").evaluate(at)
    assert tot.value == pytest.approx(4 * ev.value, rel=1e-14)
    H = reduced_hessian(obj, at)
    assert H[0][1] == pytest.approx(float(sp.diff(L, w, b).subs(subs).evalf(30)), rel=1e-10)


def test_linear_gradient_by_hand(tmp_path):
    # rows (x, y): (0, 3), (1, 5), (2, 7.1), (-1, 0.9); at w = b = 1 residuals r = w·x + b − y
    path = write(tmp_path, "x,y\n0,3\n1,5\n2,7.1\n-1,0.9\n")
    program = compile_program(LINE)
    d = load(path)
    ev = Objective(program, d, bind(program, d)).evaluate({"w": 1.0, "b": 1.0})
    r = np.array([-2.0, -3.0, -4.1, -0.9])
    x = np.array([0.0, 1.0, 2.0, -1.0])
    assert ev.value == pytest.approx(np.mean(r**2), rel=1e-14)  # 7.655
    assert ev.gradient["w"] == pytest.approx(np.mean(2 * r * x), rel=1e-14)  # -5.15
    assert ev.gradient["b"] == pytest.approx(np.mean(2 * r), rel=1e-14)  # -5.0
    assert ev.value == pytest.approx(7.655) and ev.gradient["w"] == pytest.approx(-5.15)


def test_blocks_give_the_same_answer(monkeypatch, points):
    program = compile_program(LINE)
    d = load(points)
    obj = Objective(program, d, bind(program, d))
    at = {"w": 0.3, "b": -0.2}
    whole = obj.evaluate(at)
    monkeypatch.setattr(objective_module, "BLOCK", 7)
    blocked = obj.evaluate(at)
    assert blocked.value == pytest.approx(whole.value, rel=1e-13)
    for p in at:
        assert blocked.gradient[p] == pytest.approx(whole.gradient[p], rel=1e-13)


def test_domain_error_names_the_data_row(monkeypatch, tmp_path):
    path = write(tmp_path, "x\n1\n2\n3\n-4\n5\n")
    program = compile_program("ln(w*x)")
    d = load(path)
    obj = Objective(program, d, bind(program, d))
    monkeypatch.setattr(objective_module, "BLOCK", 2)
    with pytest.raises(DomainError) as exc:
        obj.evaluate({"w": 1.0})
    assert "(data row 4)" in exc.value.message
    with pytest.raises(DomainError) as exc:
        obj.evaluate({"w": 1.0}, np.array([4, 3, 0]))
    assert "(data row 4)" in exc.value.message
    r = invoke("grad", "ln(w*x)", "--data", path, "--at", "w=1")
    assert r.exit_code == 1 and "data row 4" in r.stderr


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


# -- training (engine) -----------------------------------------------------------------
@pytest.mark.parametrize(
    "batch_size, epochs, eta, optimizer",
    [
        (None, None, 0.5, "sgd"),
        (20, 200, 0.1, "sgd"),
        (1, 30, 0.01, "sgd"),
        (10, 100, 0.05, "adam"),
    ],
)
def test_fit_recovers_w_and_b(points, batch_size, epochs, eta, optimizer):
    program = compile_program(LINE)
    d = load(points)
    obj = Objective(program, d, bind(program, d))
    rows, res = run(
        obj,
        {"w": 0.0, "b": 0.0},
        make(optimizer, eta),
        batch_size=batch_size,
        epochs=epochs,
        seed=1,
    )
    w_ls, b_ls = least_squares(points)
    # the least-squares line is within the noise of the truth (σ = 0.1, n = 200) ...
    assert abs(w_ls - 2) < 0.05 and abs(b_ls - 3) < 0.03
    # ... and descent gets there: full batch exactly, mini-batch/stochastic within the noise
    tol = 1e-4 if batch_size is None else 0.02
    assert abs(res.values["w"] - w_ls) < tol and abs(res.values["b"] - b_ls) < tol
    assert res.loss == pytest.approx(0.01, rel=0.2)  # ≈ σ²
    if batch_size is None:
        assert res.status == "converged"
        assert max(abs(g) for g in res.gradient.values()) < 1e-5
    else:
        assert res.epochs == epochs and res.iterations == epochs * math.ceil(200 / batch_size)
    assert len(res.epoch_losses) == res.epochs + 1
    assert res.epoch_losses[-1] < res.epoch_losses[0] / 100


def test_full_batch_first_step_by_hand(tmp_path):
    path = write(tmp_path, "x,y\n0,3\n1,5\n2,7.1\n-1,0.9\n")
    program = compile_program(LINE)
    d = load(path)
    obj = Objective(program, d, bind(program, d))
    rows, res = run(obj, {"w": 1.0, "b": 1.0}, make("sgd", 0.1), max_iter=2)
    assert [r.iteration for r in rows] == [0, 1, 2]
    assert rows[0].steps == {"w": pytest.approx(0.515), "b": pytest.approx(0.5)}
    assert rows[1].values == {"w": pytest.approx(1.515), "b": pytest.approx(1.5)}
    assert rows[-1].steps is None and res.status == "max_iterations" and res.iterations == 2


def trace_of(points, seed, shuffle=True):
    program = compile_program(LINE)
    d = load(points)
    obj = Objective(program, d, bind(program, d))
    rows, _ = run(obj, {"w": 0.0, "b": 0.0}, make("sgd", 0.1), batch_size=16, epochs=3, seed=seed,
                  shuffle=shuffle, log="step")  # fmt: skip
    return [(r.epoch, r.batch, r.values["w"], r.values["b"], r.loss) for r in rows]


def test_minibatch_order_is_reproducible_with_seed(points):
    a, b, c = trace_of(points, 5), trace_of(points, 5), trace_of(points, 6)
    assert a == b
    assert a != c
    assert trace_of(points, 5, shuffle=False) == trace_of(points, 6, shuffle=False)
    # 200 rows in batches of 16: 13 batches per epoch (the last one has 8 rows)
    assert [r[1] for r in a[:14]] == list(range(1, 14)) + [1]


def test_divergence_and_stop_rules(points):
    program = compile_program(LINE)
    d = load(points)
    obj = Objective(program, d, bind(program, d))
    _, res = run(obj, {"w": 0.0, "b": 0.0}, make("sgd", 1.5))
    assert res.status == "diverged" and "smaller --eta" in res.message
    _, res = run(
        obj, {"w": 0.0, "b": 0.0}, make("sgd", 0.1), batch_size=1, epochs=50, until_loss=0.02
    )
    assert res.status == "converged" and res.loss < 0.02 and res.epochs < 50
    _, res = run(obj, {"w": 0.0, "b": 0.0}, make("sgd", 0.1), batch_size=50, max_iter=10)
    assert res.status == "max_iterations" and res.iterations == 10 and "--max-iter" in res.message
    _, res = run(obj, {"w": 0.0, "b": 0.0}, make("newton"))
    assert res.status == "converged" and res.iterations == 1  # a quadratic loss: one Newton step


def test_oscillation_full_batch(tmp_path):
    # loss = mean (w·x)^2 with x = ±1: f(w) = w², η = 1 jumps between w and −w
    path = write(tmp_path, "x\n1\n-1\n")
    program = compile_program("(w*x)^2")
    d = load(path)
    _, res = run(Objective(program, d, bind(program, d)), {"w": -0.8}, make("sgd", 1.0))
    assert res.status == "oscillating" and res.iterations <= 10


def test_dataset_in_memory_binding():
    cols = {"x": np.array([1.0, 2.0]), "target": np.array([2.0, 4.0])}
    d = Dataset("<memory>", ("x", "target"), cols, 2)
    program = compile_program("(k*x - y)^2")
    b = bind(program, d, {"y": "target"})
    assert b.columns == {"x": "x", "y": "target"} and b.parameters == ("k",)
    assert Objective(program, d, b).evaluate({"k": 2.0}).value == 0.0


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
    assert a["status"] == "max_iterations" and a["result"]["iterations"] == 3 * 13
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
    assert r.exit_code == 1 and doc["status"] == "max_iterations"
    w_ls, b_ls = least_squares(points)
    assert doc["result"]["values"]["w"] == pytest.approx(w_ls, abs=0.05)
    assert doc["result"]["values"]["b"] == pytest.approx(b_ls, abs=0.05)
    r, doc = descend_json(*common, "--epochs", "20", "--until-loss", "0.0125")
    assert r.exit_code == 0 and doc["status"] == "converged" and doc["result"]["loss"] < 0.0125


def test_descend_data_jsonl_streams(points):
    r = invoke("descend", LINE, "--data", points, "--at", "w=0,b=0", "--eta", "0.1", "--batch-size", "50",
               "--epochs", "2", "--log", "step", "--jsonl")  # fmt: skip
    assert r.exit_code == 1
    lines = [strict(line) for line in r.stdout.splitlines()]
    assert [x["record"] for x in lines] == ["iteration"] * 9 + ["summary"]
    assert [(x["epoch"], x["batch"]) for x in lines[:9]] == [(1, 1), (1, 2), (1, 3), (1, 4),
                                                          (2, 1), (2, 2), (2, 3), (2, 4), (2, None)]  # fmt: skip
    assert lines[-1]["status"] == "max_iterations" and lines[-1]["batch_size"] == 50


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


def test_descend_data_plot_is_deterministic(tmp_path, points):
    a, b = tmp_path / "a.svg", tmp_path / "b.svg"
    for p in (a, b):
        r = invoke("descend", LINE, "--data", points, "--at", "w=0,b=0", "--eta", "0.1", "--batch-size", "20",
                   "--epochs", "20", "--plot", str(p), "--quiet")  # fmt: skip
        assert r.exit_code == 1  # --epochs ran out: honest max_iterations
    svg = a.read_text()
    assert a.read_bytes() == b.read_bytes()
    for gid in ("epoch-0", "epoch-20"):
        assert f'id="{gid}"' in svg


def test_model_curve_choice():
    from backprop_cli.render.plot_data import model_node, snapshot_epochs

    cols = {"x": "x", "y": "y"}
    p = compile_program(LINE)
    node, inp, target = model_node(p, cols, ("w", "b"))
    assert (p.label(node), inp, target) == ("w*x + b", "x", "y")
    q = compile_program("p = sigmoid(w*x + b); -(y*ln(p) + (1 - y)*ln(1 - p))")
    node, inp, target = model_node(q, cols, ("w", "b"))
    assert (q.label(node), inp, target) == ("p", "x", "y")
    assert model_node(compile_program("(w*x - 1)^2"), {"x": "x"}, ("w",)) is None
    assert snapshot_epochs(3) == [0, 1, 2, 3]
    assert snapshot_epochs(1000)[0] == 0 and snapshot_epochs(1000)[-1] == 1000


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
