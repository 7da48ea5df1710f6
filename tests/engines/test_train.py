"""Training on a data set (engines/train.py): full-batch, mini-batch and stochastic descent
recover the line, the first step by hand, a seeded batch order, and the stop rules.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from typer.testing import CliRunner

from backprop_cli import compile as compile_program
from backprop_cli.cli import app
from backprop_cli.data import bind, load
from backprop_cli.engines.objective import Objective
from backprop_cli.engines.optimizers import make
from backprop_cli.engines.train import run

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
