"""The descend engine (engines/descend.py): the lesson's iterates, honest statuses
(oscillating, diverged, a tiny step is not convergence, domain errors keep the trace),
cycle detection, and sweeps classifying every η.
"""

import pytest
from typer.testing import CliRunner

import backprop_cli
from backprop_cli.cli import app
from backprop_cli.engines.descend import (
    _cycle_period,
    descend,
    is_checkpoint,
    next_checkpoint,
    sweep,
)
from tests.helpers.oracles import strict_json as strict

ENV = {"COLUMNS": "120", "NO_COLOR": "1"}
runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, ["descend", *args], env=ENV)


def run(expr, start, eta=None, optimizer="sgd", **kw):
    return descend(backprop_cli.compile(expr), start, optimizer, eta, **kw)


# -- the lesson --------------------------------------------------------------------------
def test_lesson_iterates_and_convergence_to_one():
    d = run("(x - 1)^2 + 0.001", {"x": 0.2}, 0.1)
    xs = [r.values["x"] for r in d.records()]
    # x1 = 0.2 − 0.1·2(0.2 − 1) = 0.36, then 0.488, 0.5904 (domain.md §3)
    assert xs[:4] == pytest.approx([0.2, 0.36, 0.488, 0.5904], rel=1e-15)
    assert d.status == "converged"
    assert d.result.values["x"] == pytest.approx(1.0, abs=5e-6)  # |2(x − 1)| < 1e-5
    assert abs(d.records()[-1].gradient["x"]) < 1e-5 <= abs(d.records()[-2].gradient["x"])
    assert d.records()[0].curvature == 2.0 and d.records()[0].stability_bound == 1.0
    assert d.records()[0].steps == {"x": pytest.approx(0.16)} and d.records()[-1].steps is None


# -- honest failures -------------------------------------------------------------------
def test_eta_one_on_x_squared_oscillates_within_ten_iterations():
    d = run("x^2", {"x": -0.8}, 1.0)
    assert d.status == "oscillating" and d.result.iterations <= 10
    assert [r.values["x"] for r in d.records()] == [-0.8, 0.8, -0.8, 0.8, -0.8]
    assert "period 2" in d.result.message and "2/f'' = 1" in d.result.message
    r = invoke("x^2", "--x0", "-0.8", "--eta", "1", "--json")
    assert r.exit_code == 1
    doc = strict(r.stdout)
    assert doc["status"] == "oscillating" and doc["result"]["iterations"] <= 10
    assert "oscillating" in r.stderr


def test_eta_above_bound_diverges():
    d = run("x^2", {"x": -0.8}, 1.1)
    assert d.status == "diverged"
    assert "exceeds the stability bound 2/f'' = 1" in d.result.message
    r = invoke("x^2", "--x0", "-0.8", "--eta", "1.1")
    assert r.exit_code == 1 and "diverged" in r.stderr


def test_tiny_step_is_not_convergence():
    d = run("x^2", {"x": -0.8}, 1e-6)
    assert d.status == "max_iterations" and d.result.iterations == 10_000
    assert "η may be too small" in d.result.message
    r = invoke("x^2", "--x0", "-0.8", "--eta", "1e-6", "--max-iter", "50", "--json")
    assert r.exit_code == 1 and strict(r.stdout)["status"] == "max_iterations"


def test_stationary_start_converges_with_zero_steps():
    d = run("(x - 1)^2 + 2*(y + 2)^2", {"x": 1.0, "y": -2.0}, 0.1)
    assert d.status == "converged" and d.result.iterations == 0 and len(d.records()) == 1
    assert d.records()[0].steps is None
    r = invoke("x^2", "--x0", "0", "--json")
    assert r.exit_code == 0 and strict(r.stdout)["result"]["iterations"] == 0


def test_domain_error_keeps_the_trace():
    # ln(x): y' = 1/x = 1 at x = 1, so η = 2 jumps to x = −1
    d = run("ln(x)", {"x": 1.0}, 2.0)
    assert d.status == "domain_error" and d.result.iterations == 1
    assert d.result.error["label"] == "ln(x)" and "positive" in d.result.message
    recs = d.records()
    assert recs[0].values == {"x": 1.0} and recs[0].steps == {"x": -2.0}
    assert recs[1].values == {"x": -1.0} and recs[1].loss is None
    r = invoke("sqrt(x) + x^2", "--x0", "1", "--eta", "1", "--json")
    assert r.exit_code == 1
    doc = strict(r.stdout)
    assert doc["status"] == "domain_error" and doc["error"]["label"].startswith("sqrt")
    assert doc["iterations"][-1]["loss"] is None and doc["iterations"][0]["loss"] == 2.0


def test_until_loss():
    d = run("(x - 1)^2 + 0.001", {"x": 0.2}, 0.1, until_loss=0.01)
    assert d.status == "converged"
    losses = d.losses()
    assert losses[-1] < 0.01 <= losses[-2]


def test_momentum_spiral_is_not_an_oscillation():
    # heavy ball on a steep bowl spirals in (complex eigenvalues) but converges
    d = run("(x - 1)^2 + 2*(y + 2)^2", {"x": 0.0, "y": 0.0}, 0.2, "momentum")
    assert d.status == "converged"


def test_cycle_detection_unit():
    assert _cycle_period([[1.0, -1.0, 1.0, -1.0, 1.0]], 4) == 2
    assert _cycle_period([[0.0, 1.0, 2.0, 0.0, 1.0, 2.0]], 5) == 3
    assert _cycle_period([[1.0, 1.0, 1.0, 1.0, 1.0]], 4) is None  # not moving is not a cycle
    shrinking = [[(-0.9) ** k for k in range(9)]]
    assert _cycle_period(shrinking, 8) is None
    assert [k for k in range(1, 2100) if is_checkpoint(k)] == [
        4,
        8,
        16,
        32,
        64,
        128,
        256,
        512,
        1024,
        2048,
    ]
    assert next_checkpoint(5) == 8 and next_checkpoint(129) == 256 and next_checkpoint(1025) == 2048


# -- sweeps ----------------------------------------------------------------------------
def test_sweep_classifies_every_eta():
    runs = sweep(backprop_cli.compile("(x - 1)^2 + 0.1"), {"x": -0.8}, "sgd", [0.1, 0.4, 1.0, 1.1])
    assert [r.status for r in runs] == ["converged", "converged", "oscillating", "diverged"]
    r = invoke("(x - 1)^2 + 0.1", "--x0", "-0.8", "--eta", "0.1,0.4,1.0,1.1", "--json")
    assert r.exit_code == 0, r.stderr
    doc = strict(r.stdout)
    assert doc["schema"] == "backprop.descend-sweep/1"
    assert [d["status"] for d in doc["runs"]] == [
        "converged",
        "converged",
        "oscillating",
        "diverged",
    ]
    assert [d["eta"] for d in doc["runs"]] == [0.1, 0.4, 1.0, 1.1]
    assert all(d["schema"] == "backprop.descend/1" and d["iterations"] for d in doc["runs"])
    table = invoke("(x - 1)^2 + 0.1", "--x0", "-0.8", "--eta", "0.1,0.4,1.0,1.1")
    assert table.exit_code == 0
    for word in ("η", "status", "iterations", "final x", "final loss", "oscillating", "diverged"):
        assert word in table.stdout


def test_a_sweep_is_one_run_per_eta():
    """Every run of a sweep is the run descend makes alone with its η: rows, status, message
    (newton, momentum's state, a domain error and the generated sgd loop included)."""
    cases = [
        ("ln(x) + (x - 2)^2", {"x": 1.0}, "sgd", [0.05, 0.5, 1.0, 2.0, 3.0]),
        ("exp(x) + exp(-x) + sin(y)*y^2", {"x": 1.0, "y": 0.3}, "momentum", [0.01, 0.3, 1.1]),
        ("x^4 - x^2", {"x": 0.3}, "sgd", [0.01, 0.6, 1.1]),
        ("x^4 - x^2", {"x": 0.3}, "adam", [0.01, 0.6]),
        ("(x - 1)^2 + 2*(y + 2)^2", {"x": 0.0, "y": 0.5}, "newton", [0.5, 1.0]),
    ]
    statuses = set()
    for expr, start, optimizer, etas in cases:
        p = backprop_cli.compile(expr)
        runs = sweep(p, start, optimizer, etas, max_iter=2000)
        for eta, got in zip(etas, runs, strict=True):
            alone = descend(p, start, optimizer, eta, max_iter=2000)
            assert (got.eta, got.result, got.points) == (eta, alone.result, alone.points)
            assert got.records() == alone.records()
            statuses.add(got.status)
    assert statuses == {"converged", "domain_error", "diverged", "unbounded_below", "oscillating"}


def test_a_sweeps_progress_runs_once_through_the_rows():
    seen = []
    sweep(backprop_cli.compile("x^2"), {"x": 1.0}, "momentum", [1e-4, 2e-4], tol=0.0,
          max_iter=3000, progress=seen.append)  # fmt: skip
    # each run reports rows 0, 1024, 2048 of 3000: half of them on the bar, then the other half
    assert seen == [0, 512, 1024, 1500, 2012, 2524]


def test_ctrl_c_in_a_sweep_ends_the_sweep():
    def tick(k: int) -> None:
        if k >= 1500:  # the second run's first row
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sweep(backprop_cli.compile("x^2"), {"x": 1.0}, "momentum", [1e-4, 2e-4], tol=0.0,
              max_iter=3000, progress=tick)  # fmt: skip
