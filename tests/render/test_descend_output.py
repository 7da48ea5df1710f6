"""What `backprop descend` prints: the JSON document's fields, JSON Lines records then a
summary, and the table with curvature and the stability bound.
"""

import pytest
from typer.testing import CliRunner

from backprop_cli.cli import app
from tests.helpers.oracles import strict_json as strict

ENV = {"COLUMNS": "120", "NO_COLOR": "1"}
runner = CliRunner()


def invoke(*args):
    return runner.invoke(app, ["descend", *args], env=ENV)


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
