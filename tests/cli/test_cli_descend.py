"""`backprop descend` as a command: option validation (exit 2, as a JSON document with
--json), optimizer options reach the run, Newton's bad curvature exits 1, markup stays
literal, and the help names every status and its examples run verbatim.
"""

from __future__ import annotations

import shlex

import pytest
from typer.testing import CliRunner

from backprop_cli.cli import app
from backprop_cli.commands.help_text import EXAMPLES
from tests.helpers.oracles import strict_json as strict

ENV = {"COLUMNS": "120", "NO_COLOR": "1"}
runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, ["descend", *args], env=ENV)


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


def test_help_names_every_status():
    r = CliRunner().invoke(app, ["descend", "--help"], env={**ENV, "COLUMNS": "300"})
    assert r.exit_code == 0
    for status in ["converged", "diverged", "oscillating", "max_iterations", "domain_error",
                   "nonpositive_curvature"]:  # fmt: skip
        assert status in r.stdout
