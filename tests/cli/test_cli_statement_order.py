"""Statements in any order and the choice of output, as the commands see them: the sorted
program runs; a cycle and an undecidable output are one error line with a caret, exit 2;
--of decides.
"""

from __future__ import annotations

from typer.testing import CliRunner

from backprop_cli.cli import app
from tests.helpers.oracles import strict_json as strict

ENV = {"COLUMNS": "100", "NO_COLOR": "1"}


def run(*args):
    return CliRunner().invoke(app, list(args), env=ENV)


def test_grad_of_the_lesson_written_z_first():
    r = run("grad", "z = x*y; x = 2*w + b; y = b + 1", "--at", "w=3,b=4", "--json")
    assert r.exit_code == 0, r.stderr
    doc = strict(r.stdout)
    assert doc["output"] == "z" and doc["value"] == 50.0
    assert doc["gradient"] == {"w": 10.0, "b": 15.0}


def test_cycle_is_exit_2_with_the_cycle_named_and_a_caret():
    r = run("grad", "a = b + 1; b = a*2", "--at", "w=1")
    assert r.exit_code == 2 and r.stdout == ""
    assert r.stderr.splitlines()[:3] == [
        "error: 'a' and 'b' are defined in terms of each other (a cycle): a uses b, b uses a",
        "  a = b + 1; b = a*2",
        "  ^^^^^^^^^",
    ]


def test_undecidable_output_is_exit_2_and_of_decides():
    text = "a = x + 1; b = x*2; x = w"
    r = run("solve", text, "--at", "w=3", "--target", "10")
    assert r.exit_code == 2 and r.stdout == ""
    assert r.stderr.splitlines()[:3] == [
        "error: cannot tell which node is the output: 'x', assigned last, is read by another "
        "statement, and 2 assigned names are read by none: a, b",
        "  a = x + 1; b = x*2; x = w",
        "                      ^",
    ]
    doc = strict(run("solve", text, "--at", "w=3", "--target", "10", "--of", "b", "--json").stdout)
    assert doc["output"] == "b" and doc["result"]["values"]["w"] == 5.0
    doc = strict(run("grad", text, "--at", "w=3", "--of", "a", "--json").stdout)
    assert doc["output"] == "a" and doc["value"] == 4.0 and doc["gradient"] == {"w": 1.0}
