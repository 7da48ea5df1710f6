"""Gaps found auditing issues 4 and 8 against the running CLI (see the commit messages)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from backprop_cli.cli import app
from tests.oracles import strict_json as strict

ENV = {"COLUMNS": "120", "NO_COLOR": "1"}


def invoke(*args):
    return CliRunner().invoke(app, list(args), env=ENV)


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


def test_help_names_every_status():
    r = CliRunner().invoke(app, ["descend", "--help"], env={**ENV, "COLUMNS": "300"})
    assert r.exit_code == 0
    for status in ["converged", "diverged", "oscillating", "max_iterations", "domain_error",
                   "nonpositive_curvature"]:  # fmt: skip
        assert status in r.stdout


def test_newton_on_a_line_is_nonpositive_curvature():
    r = invoke("descend", "3*x + 1", "--x0", "2", "--optimizer", "newton", "--json")
    assert r.exit_code == 1
    doc = strict(r.stdout)
    assert doc["status"] == "nonpositive_curvature"
    assert doc["iterations"] == [
        {"iteration": 0, "values": {"x": 2.0}, "loss": 7.0, "gradient": {"x": 3.0},
         "steps": None, "curvature": 0.0, "stability_bound": None}
    ]  # fmt: skip
