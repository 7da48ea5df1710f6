"""`backprop descend`: the lesson's iterates, honest statuses, sweeps, JSON, and the fast
(generated) sgd loop against the plain reference loop."""

import shlex

import pytest
from typer.testing import CliRunner

import backprop_cli
from backprop_cli.cli import app
from backprop_cli.commands.help_text import EXAMPLES
from backprop_cli.engines.descend import (
    _chunk_function,
    _cycle_period,
    descend,
    eta_values,
    is_checkpoint,
    next_checkpoint,
    sweep,
)
from tests.oracles import strict_json as strict

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


def test_cli_lesson_default_and_json():
    r = invoke("--eta", "0.1", "--x0", "0.2", "--json")
    assert r.exit_code == 0, r.stderr
    doc = strict(r.stdout)
    assert doc["schema"] == "backprop.descend/1"
    for key in ("expression", "optimizer", "eta", "start", "tol", "until_loss", "max_iter", "status",
                "message", "iterations", "result"):  # fmt: skip
        assert key in doc
    assert doc["status"] == "converged" and doc["optimizer"] == "sgd" and doc["eta"] == 0.1
    assert doc["start"] == {"x": 0.2} and doc["tol"] == 1e-5 and doc["max_iter"] == 10000
    assert doc["until_loss"] is None
    its = doc["iterations"]
    assert [it["iteration"] for it in its] == list(range(len(its)))
    assert [it["values"]["x"] for it in its[:4]] == pytest.approx([0.2, 0.36, 0.488, 0.5904])
    assert its[0]["loss"] == pytest.approx(0.641) and its[0]["gradient"] == {
        "x": pytest.approx(-1.6)
    }
    assert its[0]["steps"] == {"x": pytest.approx(0.16)} and its[-1]["steps"] is None
    assert doc["result"]["iterations"] == len(its) - 1
    assert doc["result"]["values"]["x"] == pytest.approx(1.0, abs=5e-6)
    # no EXPR, no options at all: the same lesson
    r2 = invoke("--json")
    assert r2.exit_code == 0 and strict(r2.stdout)["iterations"] == its


def test_cli_table_shows_curvature_and_stability_bound():
    r = invoke("--eta", "0.1", "--x0", "0.2")
    assert r.exit_code == 0
    out = r.stdout
    assert "0.36" in out and "0.488" in out and "0.5904" in out
    assert "f''" in out and "2/f''" in out and "converged" in out
    assert "rows not shown" in out  # 55 rows: head, elision, tail
    assert "loss per iteration" in out
    full = invoke("--eta", "0.1", "--x0", "0.2", "--all")
    assert full.exit_code == 0 and "rows not shown" not in full.stdout
    assert "│ 30 │" in full.stdout


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


# -- fast path = reference path --------------------------------------------------------
FAST_CASES = [
    ("(x - 1)^2 + 0.001", {"x": 0.2}, 0.1, {}),
    ("(x - 1)^2 + 0.001", {"x": 0.2}, 1e-6, {"max_iter": 3000}),
    ("x^2", {"x": -0.8}, 1.0, {}),
    ("x^2", {"x": -0.8}, 1.1, {}),
    ("x^4", {"x": 1.0}, 1e100, {}),
    ("ln(x)", {"x": 1.0}, 2.0, {}),
    ("sin(x) + 0.1*x^2", {"x": 2.0}, 0.3, {}),
    ("x*y + x^2 + y^2", {"x": 1.0, "y": 2.0}, 0.1, {}),
    ("(x - 1)^2 + 2*(y + 2)^2", {"x": 0.0, "y": 0.0}, 0.3, {}),
    ("exp(x) + exp(-x)", {"x": 3.0}, 0.05, {"until_loss": 2.1}),
    ("x", {"x": 0.0}, 0.5, {"max_iter": 700}),
]


@pytest.mark.parametrize("expr,start,eta,kw", FAST_CASES)
def test_generated_loop_agrees_with_reference(expr, start, eta, kw):
    p = backprop_cli.compile(expr)
    fast = descend(p, start, "sgd", eta, **kw)
    ref = descend(p, start, "sgd", eta, fast=False, **kw)
    assert fast.stored is None and ref.stored is not None  # really two paths
    assert fast.result == ref.result
    assert fast.points == ref.points
    assert [r for r in fast.records()] == [r for r in ref.records()]


def test_generated_loop_source_is_ours():
    p = backprop_cli.compile("zebra*quokka + 3")
    loops = _chunk_function(p, ("zebra", "quokka"))
    for src in (loops.two_sided.source, loops.upper_only.source):
        assert "a0, a1 = a0 - _eta * " in src  # simultaneous update (∂/∂zebra = quokka = a1)
        assert "zebra" not in src and "quokka" not in src  # no user text in generated code


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


@pytest.mark.parametrize(
    "optimizer", ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "newton"]
)
def test_vectorised_sweep_agrees_with_single_runs(optimizer):
    p = backprop_cli.compile("(x - 1)^2 + 2*(y + 2)^2")
    etas = [0.01, 0.1, 0.3, 0.6]
    vec = sweep(p, {"x": 0.0, "y": 0.5}, optimizer, etas, max_iter=2000)
    one = [descend(p, {"x": 0.0, "y": 0.5}, optimizer, e, max_iter=2000) for e in etas]
    for a, b in zip(vec, one):
        assert (a.status, a.result.iterations) == (b.status, b.result.iterations)
        assert a.result.message == b.result.message
        for v in ("x", "y"):
            assert a.result.values[v] == pytest.approx(b.result.values[v], rel=1e-12, abs=1e-15)


def test_vectorised_sweep_with_domain_errors_and_range():
    etas = eta_values("0.05:3:7")
    assert etas[0] == 0.05 and etas[-1] == 3.0 and len(etas) == 7
    p = backprop_cli.compile("ln(x) + (x - 2)^2")
    vec = sweep(p, {"x": 1.0}, "sgd", etas)
    one = [descend(p, {"x": 1.0}, "sgd", e) for e in etas]
    assert [(a.status, a.result.iterations) for a in vec] == [
        (b.status, b.result.iterations) for b in one
    ]
    assert "domain_error" in [a.status for a in vec]
    r = invoke("ln(x) + (x - 2)^2", "--x0", "1", "--eta", "0.05:3:7", "--json")
    assert r.exit_code == 0
    assert len(strict(r.stdout)["runs"]) == 7


# -- JSONL, options, help --------------------------------------------------------------
def test_jsonl_streams_records_then_summary():
    r = invoke("x^2", "--x0", "-0.8", "--eta", "0.25", "--jsonl")
    assert r.exit_code == 0
    lines = [strict(line) for line in r.stdout.splitlines()]
    assert all(line["record"] == "iteration" for line in lines[:-1])
    assert lines[-1]["record"] == "summary" and lines[-1]["status"] == "converged"
    # x_{k+1} = x_k − 0.25·2x_k = x_k/2
    assert [line["values"]["x"] for line in lines[:3]] == [-0.8, -0.4, -0.2]
    assert lines[-1]["result"]["iterations"] == len(lines) - 2


@pytest.mark.parametrize(
    "args",
    [
        ["--eta", "0"],
        ["--eta", "-0.1"],
        ["--eta", "nan"],
        ["--eta", "inf"],
        ["--eta", "0.1,abc"],
        ["--eta", "0.1:1"],
        ["--tol", "0"],
        ["--tol", "-1"],
        ["--max-iter", "0"],
        ["--at", "x=inf"],
        ["--x0", "nan"],
        ["x^2 + y", "--x0", "1"],
        ["--optimizer", "lbfgs"],
        ["--optimizer", "sgd", "--momentum", "0.9"],
        ["--optimizer", "momentum", "--momentum", "1.5"],
        ["--at", "z=1"],
        ["--json", "--jsonl"],
        ["--x0", "1", "--at", "x=1"],
    ],
)
def test_bad_options_exit_2(args):
    r = invoke(*args)
    assert r.exit_code == 2, (args, r.stdout, r.stderr)
    assert "error" in r.stderr.lower() or "usage" in r.stderr.lower()


def test_bad_option_with_json_is_a_json_document():
    r = invoke("--eta", "-1", "--json")
    assert r.exit_code == 2
    doc = strict(r.stdout)
    assert doc["status"] == "input_error" and "--eta" in doc["message"]


def test_optimizer_options_reach_the_run():
    r = invoke("(x - 1)^2 + 2*(y + 2)^2", "--at", "x=0,y=0", "--optimizer", "adam", "--eta", "0.1",
               "--beta1", "0.8", "--json")  # fmt: skip
    assert r.exit_code == 0
    doc = strict(r.stdout)
    assert doc["hyperparameters"] == {"beta1": 0.8, "beta2": 0.999, "epsilon": 1e-8}
    n = invoke("3*(x - 2)^2 + 5", "--x0", "-7", "--optimizer", "newton", "--json")
    assert n.exit_code == 0
    doc = strict(n.stdout)
    assert (
        doc["eta"] == 1.0
        and doc["result"]["iterations"] == 1
        and doc["result"]["values"]["x"] == 2.0
    )


def test_newton_bad_curvature_exits_1():
    r = invoke("--x0", "0.5", "--optimizer", "newton", "--json", "--", "-x^2")
    assert r.exit_code == 1
    assert strict(r.stdout)["status"] == "nonpositive_curvature"


def test_markup_in_expression_is_literal():
    r = invoke("x = [b]; y = x^2", "--x0", "1")
    assert r.exit_code == 2  # '[' is not in the language; the message must not eat it
    assert "[" in r.stderr


@pytest.mark.parametrize("example", EXAMPLES["descend"])
def test_help_examples_run_verbatim(example):
    argv = shlex.split(example)
    assert argv[0] == "backprop"
    r = runner.invoke(app, argv[1:], env=ENV)
    assert r.exit_code == 0, r.stderr
    h = runner.invoke(app, ["descend", "--help"], env={**ENV, "COLUMNS": "300"})
    assert h.exit_code == 0 and example in h.stdout
