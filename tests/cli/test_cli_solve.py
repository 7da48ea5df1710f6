"""`backprop solve` as a command: failures exit 1 with a message (and a valid document),
option validation exits 2, --vary and --of, --plot without matplotlib, and the help's
examples run verbatim.
"""

from __future__ import annotations

import shlex

import pytest
from typer.testing import CliRunner

from backprop_cli.cli import app
from backprop_cli.commands import help_text
from tests.helpers.oracles import strict_json as strict

LESSON = "x = 2*w + b; y = b + 1; z = x*y"


ENV = {"COLUMNS": "100", "NO_COLOR": "1"}


def run_cli(*args, env=None):
    return CliRunner().invoke(app, ["solve", *args], env=env or ENV)


@pytest.mark.parametrize(
    "args, status",
    [
        (["x^2", "--at", "x=0", "--target", "1"], "zero_gradient"),
        (["ln(x)", "--at", "x=5", "--target", "0"], "domain_error"),
        (["x*1e200*1e200", "--at", "x=1", "--target", "0"], "non_finite"),
        (["x^2", "--at", "x=0.1", "--target", "4", "--gradient", "freeze"], "diverged"),
        (["x^3 - 2*x + 2", "--at", "x=0", "--target", "0"], "oscillating"),
        (["--max-iter", "2", "--gradient", "freeze"], "max_iterations"),
    ],
)
def test_cli_failures_exit_1_with_message_and_valid_json(args, status):
    r = run_cli(*args)
    assert r.exit_code == 1
    assert status in r.stdout and r.stderr.startswith("error: ")
    r = run_cli(*args, "--json")
    assert r.exit_code == 1
    doc = strict(r.stdout)
    assert doc["status"] == status and doc["result"]["status"] == status
    assert doc["message"] and doc["message"] in r.stderr
    if doc["iterations"]:
        assert doc["iterations"][-1]["steps"] is None


def test_json_input_error_is_still_a_document():
    r = run_cli("--json", "--vary", "q")
    assert r.exit_code == 2
    doc = strict(r.stdout)
    assert doc["schema"] == "backprop.solve/1" and doc["status"] == "input_error"


# -- options ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "args, message",
    [
        (["--target", "nan"], "not a finite number"),
        (["--target", "inf"], "not a finite number"),
        (["--target", "abc"], "not a number"),
        (["--at", "b=inf"], "not a finite number"),
        (["--tol", "0"], "--tol 0: must be greater than 0"),
        (["--tol", "-1"], "must be greater than 0"),
        (["--tol", "nan"], "not a finite number"),
        (["--max-iter", "0"], "--max-iter 0: must be at least 1"),
        (["--max-iter", "-3"], "must be at least 1"),
        (["--split", "odd"], "--split 'odd'"),
        (["--gradient", "stale"], "--gradient 'stale'"),
        (["--vary", "x"], "'x' is computed by the program, not an input variable"),
        (["--vary", "bb"], "did you mean 'b'?"),
        (["--vary", "q"], "'q' is not a variable of the program"),
        (["--json", "--jsonl"], "cannot be used together"),
        (["a*b"], "--target is required"),
    ],
)
def test_bad_options_exit_2(args, message):
    r = run_cli(*args)
    assert r.exit_code == 2
    assert message in r.stderr
    if "--json" in args:
        assert strict(r.stdout)["status"] == "input_error"
    else:
        assert r.stdout == ""
    r = run_cli(*args, "--jsonl") if "--jsonl" not in args else r
    assert r.exit_code == 2 and strict(r.stdout)["status"] == "input_error"


def test_vary_accepts_commas_and_repeats_and_defaults_to_every_variable():
    doc = strict(run_cli("a*b", "--at", "a=1,b=2", "--target", "8", "--json").stdout)
    assert doc["vary"] == ["a", "b"]
    doc = strict(
        run_cli("a*b", "--at", "a=1,b=2", "--target", "8", "--vary", "b,a", "--json").stdout
    )
    assert doc["vary"] == ["b", "a"]
    doc = strict(
        run_cli(
            "a*b", "--at", "a=1,b=2", "--target", "8", "--vary", "b", "--vary", "b", "--json"
        ).stdout
    )
    assert doc["vary"] == ["b"] and doc["result"]["values"]["b"] == pytest.approx(8.0)


def test_of_drives_a_named_node():
    doc = strict(
        run_cli(
            LESSON, "--at", "w=3,b=4", "--of", "x", "--target", "11", "--vary", "b", "--json"
        ).stdout
    )
    assert doc["output"] == "x" and doc["result"]["values"]["b"] == pytest.approx(5.0)


def test_plot_unavailable_is_a_clear_error(monkeypatch, tmp_path):
    import sys

    from backprop_cli import render

    monkeypatch.delattr(render, "plot", raising=False)
    monkeypatch.setitem(sys.modules, "backprop_cli.render.plot", None)
    r = run_cli("--plot", str(tmp_path / "p.png"))
    assert r.exit_code == 2 and "plotting is not available" in r.stderr


@pytest.mark.parametrize("example", help_text.EXAMPLES["solve"])
def test_help_examples_run_verbatim(example):
    argv = shlex.split(example)
    assert argv[:2] == ["backprop", "solve"]
    r = CliRunner().invoke(app, argv[1:], env=ENV)
    assert r.exit_code == 0, r.stderr
    assert (
        'backprop solve "(w*2+b)*(b+1)" --at w=3,b=4 --target 60 --vary b'
        in help_text.EXAMPLES["solve"]
    )


def test_help_shows_examples_verbatim():
    r = CliRunner().invoke(app, ["solve", "--help"], env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert r.exit_code == 0
    for example in help_text.EXAMPLES["solve"]:
        assert example in r.stdout
