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


# -- the lesson's graph, however it is written (issue 13, item 3) ----------------------------
LESSON_SPELLINGS = [
    "(w*2+b)*(b+1)", "(2*w+b)*(b+1)", "(b+1)*(b+2*w)", LESSON, "z = x*y; x = 2*w + b; y = b + 1",
]  # fmt: skip
ROOT = (-7 + 265**0.5) / 2  # the exact root of (6+b)(b+1) = 60


def test_design_card_command_starts_from_the_lesson():
    r = run_cli("(w*2+b)*(b+1)", "--target", "60", "--vary", "b")
    assert r.exit_code == 0, r.stderr
    assert r.stderr == (
        "note: this is the lesson's graph: starting at w = 3, b = 4 (set them with --at); "
        "the lesson's hand method is --gradient freeze (∂f/∂b held at its first value); "
        "this run recomputes it at every step (Newton)\n"
    )
    assert "w = 3; b = 4.639410298 (varied), from 4" in r.stdout
    doc = strict(run_cli("(w*2+b)*(b+1)", "--target", "60", "--vary", "b", "--json").stdout)
    assert doc["at"] == {"w": 3.0, "b": 4.0} and doc["defaulted"] == []
    assert doc["result"]["updates"] == 3
    assert doc["result"]["values"]["b"] == pytest.approx(ROOT, abs=1e-9)


@pytest.mark.parametrize("text", LESSON_SPELLINGS)
def test_lesson_spellings_default_values_and_target_and_freeze_gives_the_hand_table(text):
    r = run_cli(text, "--vary", "b", "--gradient", "freeze")
    assert r.exit_code == 0, r.stderr
    assert r.stderr == (
        "note: this is the lesson's graph: starting at w = 3, b = 4 with target 60 "
        "(set them with --at and --target)\n"
    )
    doc = strict(run_cli(text, "--vary", "b", "--gradient", "freeze", "--json").stdout)
    assert doc["target"] == 60.0 and doc["at"] == {"w": 3.0, "b": 4.0}
    rows = doc["iterations"]
    assert [rows[0]["output"], rows[0]["error"], rows[0]["partials"]["b"]] == [50.0, -10.0, 15.0]
    assert rows[1]["values"]["b"] == pytest.approx(14 / 3, rel=1e-15)
    assert rows[1]["output"] == pytest.approx(544 / 9, rel=1e-14)
    assert rows[2]["values"]["b"] == pytest.approx(626 / 135, rel=1e-14)
    assert all(row["factors"]["b"] == 15.0 for row in rows)
    assert doc["result"]["updates"] == 6 and round(doc["result"]["values"]["b"], 6) == 4.639410


def test_lesson_graph_given_values_win_and_the_note_names_only_what_was_missing():
    r = run_cli("(2*w+b)*(b+1)", "--at", "w=5", "--target", "70", "--vary", "b", "--gradient", "freeze")
    assert r.exit_code == 0, r.stderr
    assert r.stderr == "note: this is the lesson's graph: starting at b = 4 (set it with --at)\n"
    r = run_cli("(2*w+b)*(b+1)", "--at", "w=3,b=4", "--vary", "b", "--gradient", "freeze")
    assert r.stderr == "note: this is the lesson's graph: target 60 (set it with --target)\n"
    doc = strict(
        run_cli("(2*w+b)*(b+1)", "--at", "w=5", "--target", "70", "--vary", "b", "--json").stdout
    )
    assert doc["at"] == {"w": 5.0, "b": 4.0} and doc["target"] == 70.0
    # (10 + b)(b + 1) = 70: b = (−11 + √361)/2 = 4
    assert doc["result"]["values"]["b"] == pytest.approx(4.0)


def test_lesson_graph_fully_given_mentions_only_the_rule():
    args = ["(2*w+b)*(b+1)", "--at", "w=3,b=4", "--target", "60"]
    r = run_cli(*args, "--vary", "b", "--gradient", "freeze")
    assert r.exit_code == 0 and r.stderr == ""
    r = run_cli(*args)  # both varied, refreshed
    assert r.stderr == (
        "note: this is the lesson's graph; the lesson's hand method varies b alone with "
        "∂f/∂b held at its first value: use --vary b --gradient freeze\n"
    )
    r = run_cli(*args, "--vary", "w", "--gradient", "freeze")
    assert r.stderr == "note: this is the lesson's graph; the lesson varies b alone: use --vary b\n"


def test_lesson_note_is_silenced_by_quiet_and_machine_output():
    r = run_cli("(w*2+b)*(b+1)", "--vary", "b", "--quiet")
    assert r.exit_code == 0 and r.stderr == ""
    r = run_cli("(w*2+b)*(b+1)", "--vary", "b", "--jsonl")
    assert r.exit_code == 0 and r.stderr == ""


def test_bare_solve_names_the_hand_method_when_another_rule_is_used():
    r = run_cli()
    assert r.exit_code == 0
    assert r.stderr == (
        "note: this is the lesson's graph; the lesson's hand method is --gradient freeze "
        "(∂z/∂b held at its first value); this run recomputes it at every step (Newton)\n"
    )
    assert run_cli("--gradient", "freeze").stderr == ""


@pytest.mark.parametrize("text", ["(2*w+b)*(b+2)", "(2*b+w)*(w+1)", "(w+w+b)*(b+1)"])
def test_only_the_lessons_graph_gets_its_defaults(text):
    """A near miss keeps today's defaults: --target required, missing values start at 1."""
    lesson = strict(run_cli("(2*w+b)*(b+1)", "--vary", "b", "--json").stdout)
    assert lesson["at"] == {"w": 3.0, "b": 4.0} and lesson["target"] == 60.0
    r = run_cli(text, "--vary", "b")
    assert r.exit_code == 2 and r.stdout == ""
    assert r.stderr.startswith("error: --target is required")
    r = run_cli(text, "--target", "60", "--vary", "b", "--json")
    assert r.exit_code in (0, 1)
    doc = strict(r.stdout)
    assert doc["at"] == {"w": 1.0, "b": 1.0} or doc["at"] == {"b": 1.0, "w": 1.0}
    assert sorted(doc["defaulted"]) == ["b", "w"]
    r = run_cli(text, "--target", "60", "--vary", "b")
    assert "warning: no value for" in r.stderr and "note:" not in r.stderr
