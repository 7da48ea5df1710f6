"""A newcomer's usage mistakes get a message that says what to do: options after '--',
space-separated NAME=VALUE pairs, a plain extra argument, and the same as one JSON
document with --json.
"""

from __future__ import annotations

import json

from typer.testing import CliRunner

from backprop_cli.cli import app

ENV = {"COLUMNS": "80", "NO_COLOR": "1"}


def _runner() -> CliRunner:
    return CliRunner(env=ENV)


def _strict(text: str):
    def bad(token):
        raise ValueError(token)

    return json.loads(text, parse_constant=bad)


def _flat(text: str) -> str:
    """Rich's error panel wraps lines: join them back into one string."""
    return " ".join(line.strip("│╭╮╰╯─ ") for line in text.splitlines())


def test_options_after_double_dash_are_explained():
    result = _runner().invoke(app, ["grad", "--", "-x^2", "--at", "x=3"])
    assert result.exit_code == 2
    err = " ".join(_flat(result.stderr).split())
    assert "'--at' comes after '--'" in err
    assert "backprop grad --at x=3 -- '-x^2'" in err


def test_options_before_double_dash_work_as_the_readme_says():
    result = _runner().invoke(app, ["grad", "--at", "x=3", "--json", "--", "-x^2"])
    assert result.exit_code == 0
    doc = _strict(result.stdout)
    assert doc["value"] == -9.0
    assert doc["gradient"] == {"x": -6.0}


def test_space_separated_at_pairs_suggest_commas():
    result = _runner().invoke(app, ["grad", "w*b", "--at", "w=3", "b=4"])
    assert result.exit_code == 2
    err = " ".join(_flat(result.stderr).split())
    assert "'b=4' is not an option" in err
    assert "--at w=3,b=4" in err


def test_space_separated_param_pairs_suggest_commas():
    result = _runner().invoke(app, ["data", "linear", "--param", "w=2", "b=3"])
    assert result.exit_code == 2
    err = " ".join(_flat(result.stderr).split())
    assert "'b=3' is not an option" in err
    assert "--param w=3,b=4" in err


def test_plain_extra_argument_keeps_clicks_message():
    result = _runner().invoke(app, ["grad", "x", "y"])
    assert result.exit_code == 2
    assert "unexpected extra argument" in result.stderr


def test_space_separated_at_with_json_is_one_usage_error_document():
    result = _runner().invoke(app, ["grad", "w*b", "--at", "w=3", "b=4", "--json"])
    assert result.exit_code == 2
    doc = _strict(result.stdout)
    assert doc["status"] == "usage_error"
    assert "'b=4' is not an option" in doc["message"]
