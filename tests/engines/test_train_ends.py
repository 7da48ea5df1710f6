"""The training run's own ends (engines/train.py): an --epochs budget that is spent is
``completed`` (a success), an --until-loss not reached is not, a Ctrl-C ends the run as
``interrupted`` at its last complete update, and progress is reported after every update.
"""

from __future__ import annotations

import numpy as np
import pytest

from backprop_cli import compile as compile_program
from backprop_cli.data import bind, load
from backprop_cli.engines.objective import Objective
from backprop_cli.engines.optimizers import make
from backprop_cli.engines.train import SUCCESS, TrainResult, TrainRow, consume, run, train

LINE = "(w*x + b - y)^2"


@pytest.fixture
def objective(tmp_path):
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 1, 40)
    y = 2 * x + 3 + 0.1 * rng.standard_normal(40)
    path = tmp_path / "p.csv"
    path.write_text("x,y\n" + "".join(f"{float(a)!r},{float(b)!r}\n" for a, b in zip(x, y)))
    program = compile_program(LINE)
    dataset = load(str(path))
    return Objective(program, dataset, bind(program, dataset, {}, {}), "mean")


def start():
    return {"w": 0.0, "b": 0.0}


def test_a_spent_epoch_budget_is_completed_and_a_success(objective):
    rows, res = run(objective, start(), make("sgd", 0.05), batch_size=4, epochs=3, shuffle=False)
    assert res.status == "completed" and res.ok and "completed" in SUCCESS
    assert res.epochs == 3 and res.iterations == 3 * 10
    assert len(res.epoch_losses) == 4
    assert res.message.startswith("completed 3 epochs (30 updates)")


def test_an_until_loss_not_reached_within_the_epochs_is_max_iterations(objective):
    _, res = run(objective, start(), make("sgd", 0.05), batch_size=4, epochs=2, until_loss=1e-9,
                 shuffle=False)  # fmt: skip
    assert res.status == "max_iterations" and not res.ok
    assert "--epochs" in res.message


def test_tol_still_stops_a_budgeted_run_early(objective):
    _, res = run(objective, start(), make("sgd", 0.5), epochs=10_000, tol=1e-3)
    assert res.status == "converged" and res.epochs < 10_000


def test_progress_is_told_after_every_update(objective):
    ticks = []
    _, res = run(objective, start(), make("sgd", 0.05), batch_size=7, epochs=2, shuffle=False,
                 progress=ticks.append)  # fmt: skip
    assert [t.iteration for t in ticks] == list(range(1, res.iterations + 1))
    assert [t.batch for t in ticks[:6]] == [1, 2, 3, 4, 5, 6]  # 40 rows, 7 a batch: 6 batches
    assert [t.epoch for t in ticks] == [1] * 6 + [2] * 6
    assert all(np.isfinite(t.batch_loss) for t in ticks)


@pytest.mark.parametrize("stop_at", [1, 3, 6])
def test_ctrl_c_in_the_consumer_ends_the_run_at_its_last_complete_update(objective, stop_at):
    """Full batch: a Ctrl-C while row ``stop_at`` is handled. The run had already made the
    next epoch's update (a row waits for its step), so its result is the point after
    stop_at + 1 epochs — the same point an uninterrupted run of that many epochs ends at."""
    seen: list = []

    def handle(rec):
        seen.append(rec)
        if isinstance(rec, TrainRow) and rec.epoch == stop_at and len(seen) == stop_at + 1:
            raise KeyboardInterrupt

    consume(train(objective, start(), make("sgd", 0.1), epochs=50), handle)
    res = seen[-1]
    assert isinstance(res, TrainResult) and res.status == "interrupted" and not res.ok
    _, ref = run(objective, start(), make("sgd", 0.1), epochs=stop_at + 1)
    assert res.values == ref.values and res.loss == ref.loss
    assert res.epochs == stop_at + 1 and res.iterations == stop_at + 1
    assert res.message == f"interrupted by Ctrl-C after {stop_at + 1} epochs ({stop_at + 1} updates)"


def test_ctrl_c_inside_the_run_ends_it_where_it_is(objective):
    """A Ctrl-C that lands while the run computes (here: from the progress callback, after
    update 13) ends it at that update: the result is the point after 13 updates."""

    def tick(t):
        if t.iteration == 13:
            raise KeyboardInterrupt

    recs = list(train(objective, start(), make("sgd", 0.05), batch_size=4, epochs=5,
                      shuffle=False, progress=tick))  # fmt: skip
    res = recs[-1]
    assert res.status == "interrupted" and res.iterations == 13
    # the reference: 13 updates, then the budget's end (epochs=2 would make 20): max_iter
    _, ref = run(objective, start(), make("sgd", 0.05), batch_size=4, max_iter=13, shuffle=False)
    assert res.values == ref.values
    assert res.loss == pytest.approx(ref.loss, rel=1e-15)


def test_a_finished_run_is_not_rewritten_by_a_late_ctrl_c(objective):
    """Ctrl-C after the result was handled: nothing more to say; the interrupt goes on."""
    got = []

    def handle(rec):
        got.append(rec)
        if isinstance(rec, TrainResult):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        consume(train(objective, start(), make("sgd", 0.05), epochs=2), handle)
    assert got[-1].status == "completed"
