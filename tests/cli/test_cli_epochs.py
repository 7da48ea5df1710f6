"""`descend --data` with --epochs (commands/descend_data.py): a budget that ends in
``completed`` (exit 0), --max-iter derived from it or refused when too small, and --jsonl
progress records between the epoch rows."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from backprop_cli.cli import app
from backprop_cli.commands.descend_data import PROGRESS_LINES, updates_budget

ENV = {"COLUMNS": "120", "NO_COLOR": "1"}
LINE = "(w*x + b - y)^2"


def invoke(*args):
    return CliRunner().invoke(app, list(args), env=ENV)


@pytest.fixture(scope="module")
def points(tmp_path_factory):
    path = tmp_path_factory.mktemp("d") / "points.csv"
    r = invoke("data", "linear", "--n", "200", "--seed", "1", "--output", str(path), "--quiet")
    assert r.exit_code == 0, r.stderr
    return str(path)


def test_the_issue_run_trains_for_every_epoch_asked_and_exits_0(points):
    r = invoke("descend", LINE, "--data", points, "--at", "w=0,b=0", "--eta", "0.01",
               "--batch-size", "1", "--epochs", "60", "--json")  # fmt: skip
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["status"] == "completed"
    assert doc["result"]["epochs"] == 60 and doc["result"]["iterations"] == 60 * 200
    assert doc["max_iter"] == 12_000 and doc["epochs"] == 60
    assert len(doc["epoch_losses"]) == 61
    assert doc["epoch_losses"][-1] < doc["epoch_losses"][0] / 100


def test_completed_is_said_in_the_table_and_nothing_on_stderr(points):
    r = invoke("descend", LINE, "--data", points, "--at", "w=0,b=0", "--eta", "0.1",
               "--batch-size", "20", "--epochs", "3")  # fmt: skip
    assert r.exit_code == 0
    assert "completed: 3 epochs (30 updates)" in r.stdout
    assert "error" not in r.stderr


def test_until_loss_not_reached_in_the_epochs_is_exit_1(points):
    r = invoke("descend", LINE, "--data", points, "--at", "w=0,b=0", "--eta", "0.01",
               "--epochs", "2", "--until-loss", "1e-9", "--json")  # fmt: skip
    assert r.exit_code == 1
    assert json.loads(r.stdout)["status"] == "max_iterations"


def test_a_max_iter_too_small_for_the_epochs_is_refused_before_the_run(points):
    r = invoke("descend", LINE, "--data", points, "--at", "w=0,b=0", "--batch-size", "1",
               "--epochs", "60", "--max-iter", "100")  # fmt: skip
    assert r.exit_code == 2
    assert r.stderr.strip() == (
        "error: --max-iter 100 would stop before --epochs 60 end (60 epochs of 200 updates = "
        "12000 updates): give only one of them, or --max-iter ≥ 12000"
    )
    assert r.stdout == ""


def test_the_budget_is_derived_from_the_epochs_past_the_max_iter_limit():
    assert updates_budget(None, 2, 1_000_000) == 2_000_000  # 2 epochs of 10^6 single samples
    assert updates_budget(None, None, 50) == 10_000  # descend's default
    assert updates_budget(500, None, 50) == 500
    assert updates_budget(700, 3, 200) == 700  # enough for the epochs: kept


def test_jsonl_streams_progress_between_epoch_rows(points):
    r = invoke("descend", LINE, "--data", points, "--at", "w=0,b=0", "--eta", "0.01",
               "--batch-size", "1", "--epochs", "2", "--jsonl")  # fmt: skip
    assert r.exit_code == 0, r.stderr
    recs = [json.loads(line) for line in r.stdout.splitlines()]
    kinds = [rec["record"] for rec in recs]
    assert kinds[-1] == "summary" and recs[-1]["status"] == "completed"
    progress = [rec for rec in recs if rec["record"] == "progress"]
    every = 200 // PROGRESS_LINES
    assert [p["iteration"] for p in progress] == [
        u for u in range(every, 401, every) if u % 200 != 0
    ]
    assert all(p.keys() == {"record", "iteration", "epoch", "batch", "batch_loss"} for p in progress)
    assert [p["epoch"] for p in progress] == [1] * 9 + [2] * 9
    # an epoch row is written once its step (the change over the next epoch) is known: the
    # epoch-0 row follows epoch 1's progress
    first_row = kinds.index("iteration")
    assert kinds[:first_row] == ["progress"] * 9 and recs[first_row]["epoch"] == 0


def test_full_batch_jsonl_has_no_progress_records(points):
    r = invoke("descend", LINE, "--data", points, "--at", "w=0,b=0", "--epochs", "3", "--jsonl")
    assert r.exit_code == 0
    assert not [line for line in r.stdout.splitlines() if '"progress"' in line]
