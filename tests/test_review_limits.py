"""Fixes found in the final code review, pinned."""

import json

from typer.testing import CliRunner

from backprop_cli.cli import app
from backprop_cli.limits import MAX_SWEEP

runner = CliRunner()


def _strict(text: str) -> dict:
    def refuse(token):
        raise ValueError(token)

    return json.loads(text, parse_constant=refuse)


def test_sweep_range_over_the_limit_is_refused_before_any_work():
    # was: the whole range was built and run (10^8 runs: MemoryError as an internal error)
    result = runner.invoke(app, ["descend", "x^2", "--eta", "0.1:0.2:100000000", "--json"])
    assert result.exit_code == 2
    doc = _strict(result.stdout)
    assert doc["status"] == "input_error"
    assert f"at most {MAX_SWEEP} learning rates" in doc["message"]


def test_sweep_list_over_the_limit_is_refused():
    etas = ",".join(["0.1"] * (MAX_SWEEP + 1))
    result = runner.invoke(app, ["descend", "x^2", "--eta", etas])
    assert result.exit_code == 2
    assert f"at most {MAX_SWEEP} learning rates (got {MAX_SWEEP + 1})" in result.stderr


def test_sweep_at_the_limit_still_runs():
    result = runner.invoke(app, ["descend", "x^2", "--eta", f"0.1:0.4:{MAX_SWEEP}", "--max-iter", "3", "--json"])
    assert result.exit_code == 0, result.stderr
    doc = _strict(result.stdout)
    assert len(doc["etas"]) == MAX_SWEEP
    assert doc["etas"][0] == 0.1 and doc["etas"][-1] == 0.4
