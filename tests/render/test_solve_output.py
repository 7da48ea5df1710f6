"""What `backprop solve` prints: the strict JSON document's contract, JSON Lines (rows then
a summary), and the table at a fixed width (split into forward and backward passes when
narrow, the failed step marked).
"""

from __future__ import annotations

import math

import pytest
from typer.testing import CliRunner

from backprop_cli.cli import app
from tests.helpers.oracles import strict_json as strict

LESSON = "x = 2*w + b; y = b + 1; z = x*y"
ROOT = (-7 + math.sqrt(265)) / 2  # the exact root of (6+b)(b+1) = 60
ENV = {"COLUMNS": "100", "NO_COLOR": "1"}


def run_cli(*args, env=None):
    return CliRunner().invoke(app, ["solve", *args], env=env or ENV)


# -- JSON and JSON Lines ---------------------------------------------------------------
def test_json_document_contract():
    r = run_cli("--json")
    assert r.exit_code == 0
    doc = strict(r.stdout)
    for key in ("schema", "expression", "output", "target", "vary", "at", "defaulted", "gradient",
                "split", "tol", "max_iter", "status", "message", "iterations", "result"):  # fmt: skip
        assert key in doc
    assert doc["schema"] == "backprop.solve/1" and doc["status"] == "converged"
    assert doc["expression"] == LESSON and doc["output"] == "z" and doc["target"] == 60
    assert doc["vary"] == ["b"] and doc["at"] == {"w": 3, "b": 4} and doc["defaulted"] == []
    assert (doc["gradient"], doc["split"], doc["tol"], doc["max_iter"]) == (
        "refresh",
        "even",
        1e-5,
        100,
    )
    its = doc["iterations"]
    assert its[0]["iteration"] == 0 and its[0]["values"] == {
        "w": 3,
        "b": 4,
        "x": 10,
        "y": 5,
        "z": 50,
    }
    assert its[0]["output"] == 50 and its[0]["error"] == -10 and its[0]["partials"] == {"b": 15}
    assert its[0]["deltas"] == {"w": -1, "b": -2 / 3, "x": -2, "y": -1, "z": -10}
    assert its[0]["steps"] == {"b": -2 / 3}
    assert its[-1]["steps"] is None and all(i["steps"] is not None for i in its[:-1])
    res = doc["result"]
    assert res["updates"] == 3 == len(its) - 1
    assert res["values"]["b"] == pytest.approx(ROOT, abs=1e-9)
    assert res["output"] == its[-1]["output"] and res["error"] == its[-1]["error"]
    # full precision round trip
    assert its[1]["values"]["b"] == 4 - (-10 / 15)


def test_json_non_finite_becomes_null():
    r = run_cli("x*1e200*1e200", "--at", "x=1", "--target", "0", "--json")
    assert r.exit_code == 1
    doc = strict(r.stdout)
    assert doc["iterations"] == [] and doc["result"]["output"] is None
    assert doc["error"]["kind"] == "domain_error"  # the underlying error object


def test_jsonl_streams_rows_then_summary():
    r = run_cli("--jsonl", "--gradient", "freeze")
    assert r.exit_code == 0
    lines = r.stdout.splitlines()
    recs = [strict(line) for line in lines]
    assert len(recs) == 8
    assert all(x["record"] == "iteration" for x in recs[:-1])
    assert [x["iteration"] for x in recs[:-1]] == list(range(7))
    summary = recs[-1]
    assert summary["record"] == "summary" and summary["status"] == "converged"
    assert (
        summary["result"]["updates"] == 6 and round(summary["result"]["values"]["b"], 6) == 4.639410
    )
    doc = strict(run_cli("--json", "--gradient", "freeze").stdout)
    assert [{k: v for k, v in x.items() if k != "record"} for x in recs[:-1]] == doc["iterations"]


def test_jsonl_failure_ends_with_summary():
    r = run_cli("ln(x)", "--at", "x=5", "--target", "0", "--jsonl")
    assert r.exit_code == 1
    recs = [strict(line) for line in r.stdout.splitlines()]
    assert recs[-1]["record"] == "summary" and recs[-1]["status"] == "domain_error"
    assert recs[0]["steps"] is None and recs[-1]["attempted"]["values"]["x"] == pytest.approx(
        5 * (1 - math.log(5))
    )


# -- the table -------------------------------------------------------------------------
EXPECTED_TABLE = """\
solve f → 60 by varying b (* varied; refresh, split even)
Δn = error/(∂f/∂n), applied as n ← n − Δn, with error = f − target (the lesson writes Δf =
target − f: the same numbers, opposite sign)
┏━━━┳━━━┳━━━━━━━━━┳━━━━━━━━━┳━━━━━━━━━━━━━┳━━━━━━━━━┳━━━━━━━━━━━━━┳━━━━━━━━━━━━━┳━━━━━━━━━━━━━┓
┃ # ┃ w ┃      b* ┃       f ┃       error ┃   ∂f/∂b ┃          Δw ┃          Δb ┃      step b ┃
┡━━━╇━━━╇━━━━━━━━━╇━━━━━━━━━╇━━━━━━━━━━━━━╇━━━━━━━━━╇━━━━━━━━━━━━━╇━━━━━━━━━━━━━╇━━━━━━━━━━━━━┩
│ 0 │ 3 │       4 │      50 │         -10 │      15 │          -1 │   -0.666667 │   -0.666667 │
│ 1 │ 3 │ 4.66667 │ 60.4444 │    0.444444 │ 16.3333 │   0.0392157 │   0.0272109 │   0.0272109 │
│ 2 │ 3 │ 4.63946 │ 60.0007 │ 0.000740432 │ 16.2789 │ 6.56475e-05 │ 4.54841e-05 │ 4.54841e-05 │
│ 3 │ 3 │ 4.63941 │      60 │ 2.06879e-09 │ 16.2788 │ 1.83422e-10 │ 1.27085e-10 │           — │
└───┴───┴─────────┴─────────┴─────────────┴─────────┴─────────────┴─────────────┴─────────────┘
status      converged: |error| = 2.06879e-09 < tol 1e-05 after 3 updates: f = 60 (target 60)
rule        refresh (Newton: ∂f/∂v recomputed at every iteration)
iterations  3 updates (4 rows; --max-iter 100)
final       w = 3; b = 4.639410298 (varied), from 4
output      f = 60 (target 60), residual 2.06879e-09
|error|     █▇▅▁  10 → 2.07e-09 (log scale)
"""


def test_table_at_fixed_width_matches_expected():
    r = run_cli("(w*2+b)*(b+1)", "--at", "w=3,b=4", "--target", "60", "--vary", "b")
    assert r.exit_code == 0
    got = "\n".join(line.rstrip() for line in r.stdout.splitlines()) + "\n"
    assert got == EXPECTED_TABLE


def test_wide_lesson_table_splits_into_forward_and_backward_at_100_columns():
    r = run_cli("--gradient", "freeze")
    assert r.exit_code == 0
    out = r.stdout
    assert all(len(line) <= 100 for line in out.splitlines())
    assert "…" not in out
    assert "forward pass" in out and "backward pass: partials and steps" in out
    assert "backward pass: per-node Δn = error/(∂z/∂n)" in out
    assert "│ 1 │ 3 │ 4.66667 │ 10.6667 │ 5.66667 │ 60.4444 │     0.444444 │" in out
    assert "│ 2 │ 3 │ 4.63704 │  10.637 │ 5.63704 │ 59.9614 │   -0.0386283 │" in out
    assert (
        "│ 1 │     0.444444 │ 16.3333 │         15 │    0.0296296 │" in out
    )  # factor frozen at 15
    assert (
        "│ 0 │          -10 │           -1 │    -0.666667 │           -2 │           -1 │          -10 │"
        in out
    )
    assert "freeze (the first iteration's ∂z/∂v reused throughout)" in out
    assert "6 updates (7 rows" in out and "b = 4.639410173" in out
    wide = run_cli("--gradient", "freeze", env={"COLUMNS": "220", "NO_COLOR": "1"})
    assert "forward pass" not in wide.stdout and "∂z/∂b used" in wide.stdout


def test_table_marks_the_failed_step():
    r = run_cli("ln(x)", "--at", "x=5", "--target", "0")
    assert r.exit_code == 1
    assert "8.04719 ✗" in r.stdout and "failed step  x ← 5 − 8.04719 = -3.04719" in r.stdout
