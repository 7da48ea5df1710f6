"""A newcomer's mistakes get a message that says what to do (final "new user" review)."""

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


def test_data_takes_json_like_every_command(tmp_path):
    """README: 'Every command takes --json'; data's rows are the CSV's numbers."""
    csv = _runner().invoke(app, ["data", "linear", "--n", "3", "--seed", "0"])
    assert csv.exit_code == 0
    lines = csv.stdout.strip().splitlines()
    assert lines[0] == "x,y"
    rows = [tuple(float(v) for v in line.split(",")) for line in lines[1:]]

    result = _runner().invoke(app, ["data", "linear", "--n", "3", "--seed", "0", "--json"])
    assert result.exit_code == 0
    doc = _strict(result.stdout)
    assert doc["schema"] == "backprop.data/1" and doc["status"] == "ok"
    assert doc["rows"] == 3 and doc["columns"] == ["x", "y"] and doc["file"] is None
    assert doc["noise"] == 0.1 and doc["params"] == {"w": 2.0, "b": 3.0}
    assert list(zip(doc["data"]["x"], doc["data"]["y"])) == rows

    out = tmp_path / "p.csv"
    result = _runner().invoke(app, ["data", "linear", "--n", "3", "--json", "--output", str(out)])
    assert result.exit_code == 0
    doc = _strict(result.stdout)
    assert doc["file"] == str(out) and "data" not in doc
    assert out.read_text().strip().splitlines()[1:] == lines[1:]


def test_data_json_error_is_one_document():
    result = _runner().invoke(app, ["data", "linear", "--n", "0", "--json"])
    assert result.exit_code == 2
    doc = _strict(result.stdout)
    assert doc["status"] == "input_error"
    assert "--n 0" in doc["message"]


def _closed_stdout_run(argv):
    """Run with stdout a pipe whose reader has already gone (`| head -1` that got its line)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, **ENV}
    env.pop("BACKPROP_DEBUG", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "backprop_cli", *argv],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env,
    )  # fmt: skip
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.wait(timeout=60)
    return proc.returncode, err


def test_closed_pipe_after_a_rich_table_exits_0_quietly():
    # Rich's own broken-pipe handler exits 1, which here means "the computation failed"
    for argv in (["grad"], ["descend", "--all"]):
        code, err = _closed_stdout_run(argv)
        assert code == 0, (argv, err)
        assert err == ""
