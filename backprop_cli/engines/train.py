"""Descent on a data set: full batch, mini-batches or single samples, epoch by epoch.

An *update* (iteration) evaluates the objective on one batch — one compiled, vectorised
call — and moves the parameters by the optimizer's step. An *epoch* is one pass over the
data set, in a fresh order drawn from a seeded numpy Generator when shuffling. At every
epoch boundary (the start included) the objective is evaluated on the whole data set:
that loss and gradient decide convergence, whatever the batch size.

Stopping, as in descend: ``converged`` when every |∂loss/∂p| of the whole-data objective
is < tol, or as soon as the whole-data loss < until_loss; ``completed`` when the epoch
budget (epochs) is spent — a budget, not a failure — unless an until_loss was asked for
and not reached (then ``max_iterations``, as when the update budget max_iter runs out
first); ``interrupted`` when the consumer throws KeyboardInterrupt in (Ctrl-C): the last
complete update is the result; ``diverged`` when
the loss or a parameter becomes non-finite or the loss grows 1e12-fold; ``oscillating``
(full batch only — mini-batch iterates always jitter) when the iterates jump back and forth
between two points without the loss going down; ``domain_error`` when a sample leaves a
function's domain; ``nonpositive_curvature`` when newton meets a Hessian that is not
positive definite. Thresholds and defaults are descend's (engines/descend.py). Records
only; no printing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Iterator

from .. import interrupt
from ..errors import DomainError, InputError
from .descend import DEFAULT_MAX_ITER, DEFAULT_TOL
from .descend import GROWTH as GROWTH_LIMIT  # diverged: loss ≥ this many times max(1, start loss)
from .objective import Objective, reduced_hessian
from .optimizers import CurvatureError

OSCILLATION_WINDOW = 6


@dataclass(frozen=True, slots=True)
class TrainRow:
    """One logged point.

    Step rows (``--log step``, mini-batch): the point before update ``iteration + 1``, the
    loss and gradient of the batch it is computed on (``epoch`` 1-based, ``batch`` 1-based).
    Epoch rows (``--log epoch``, and every row of full-batch descent): the point after
    ``epoch`` complete epochs, with the loss and gradient of the whole data set
    (``batch`` None). ``steps`` is the change to the next row, None on the last row.
    ``full_loss`` is the whole-data loss when it was computed at this point.
    """

    iteration: int
    epoch: int
    batch: int | None
    values: dict[str, float]
    loss: float
    gradient: dict[str, float]
    steps: dict[str, float] | None
    full_loss: float | None


@dataclass(frozen=True, slots=True)
class TrainTick:
    """Progress after one update: how many updates so far, the epoch it belongs to (1-based),
    the batch within the epoch (1-based) and that batch's loss before the update."""

    iteration: int
    epoch: int
    batch: int
    batch_loss: float


#: statuses whose run counts as a success (exit 0)
SUCCESS = ("converged", "completed")


@dataclass(frozen=True)
class TrainResult:
    # converged | completed | max_iterations | diverged | oscillating | domain_error |
    # nonpositive_curvature | interrupted
    status: str
    message: str
    values: dict[str, float]
    loss: float | None  # whole-data loss at the end (None if it could not be computed)
    gradient: dict[str, float] | None
    iterations: int  # updates made
    epochs: int  # complete epochs
    batch_size: int
    rows: int  # samples in the data set
    epoch_losses: tuple[float, ...]  # whole-data loss after 0, 1, 2, ... epochs
    epoch_values: tuple[dict, ...]  # parameters after 0, 1, 2, ... epochs
    error: DomainError | None = None

    @property
    def ok(self) -> bool:
        return self.status in SUCCESS


def train(
    objective: Objective,
    start: dict[str, float],
    optimizer,
    *,
    batch_size: int | None = None,
    epochs: int | None = None,
    max_iter: int = DEFAULT_MAX_ITER,
    tol: float = DEFAULT_TOL,
    until_loss: float | None = None,
    shuffle: bool = True,
    seed: int | None = 0,
    log: str = "epoch",
    progress: Callable[[TrainTick], None] | None = None,
) -> Iterator[TrainRow | TrainResult]:
    """Yield TrainRow records as they are made, then one TrainResult.

    ``progress`` is called after every update with a :class:`TrainTick`. A KeyboardInterrupt
    thrown in at a ``yield`` (:func:`consume` does it) or raised while the run computes ends
    the run with status ``interrupted`` at the last complete update.
    """
    import numpy as np

    n = objective.rows
    names = objective.parameters
    if not names:
        raise InputError(
            "nothing to fit: every variable of the program is bound to a column of the data"
        )
    k = n if batch_size is None else int(batch_size)
    if k < 1:
        raise InputError(f"--batch-size {batch_size}: must be ≥ 1")
    k = min(k, n)
    full = k == n
    if log not in ("epoch", "step"):
        raise InputError(f"--log '{log}': use epoch or step")
    if epochs is not None and epochs < 0:
        raise InputError(f"--epochs {epochs}: must be ≥ 0")
    rng = np.random.default_rng(seed)
    log_steps = log == "step" and not full
    newton = getattr(optimizer, "needs_hessian", False)

    point = [float(start[p]) for p in names]
    as_dict = lambda xs: dict(zip(names, (float(x) for x in xs)))  # noqa: E731
    epoch_losses: list[float] = []
    epoch_values: list[dict] = []
    updates = 0
    epoch = 0
    pending: TrainRow | None = None  # the last row, waiting for its steps
    loss0 = None
    history: list[tuple[list[float], float]] = []  # full-batch: recent (point, loss)

    finished = False  # the result is made: a Ctrl-C after it changes nothing

    def result(status, message, loss=None, gradient=None, error=None):
        nonlocal finished
        finished = True
        return TrainResult(
            status, message, as_dict(point), loss, gradient, updates, epoch, k, n,
            tuple(epoch_losses), tuple(epoch_values), error,
        )  # fmt: skip

    def flush(row_steps):
        nonlocal pending
        out = None
        if pending is not None:
            p = pending
            out = TrainRow(
                p.iteration, p.epoch, p.batch, p.values, p.loss, p.gradient, row_steps, p.full_loss
            )
            pending = None
        return out

    def move(grad_list, rows=None):
        hessian = reduced_hessian(objective, as_dict(point), rows) if newton else None
        return [float(s) for s in optimizer.step(point, grad_list, hessian)]

    try:
        while True:
            # -- epoch boundary: the whole data set decides -----------------------------
            ev = objective.evaluate(as_dict(point))
            if loss0 is None:
                loss0 = ev.value
            epoch_losses.append(ev.value)
            epoch_values.append(as_dict(point))
            gnorm = max((abs(g) for g in ev.gradient.values()), default=0.0)
            row = TrainRow(
                updates, epoch, None, as_dict(point), ev.value, dict(ev.gradient), None, ev.value
            )
            stop = _verdict(
                ev, gnorm, tol, until_loss, loss0, epoch, epochs, updates, max_iter, full, k
            )
            if stop is None and full:
                history.append((list(point), ev.value))
                del history[: -OSCILLATION_WINDOW - 1]
                stop = _oscillating(history)
            if stop is not None:
                status, message = stop
                last = flush(_diff(row.values, pending.values) if pending else None)
                if last is not None:
                    yield last
                yield row
                yield result(status, message, ev.value, dict(ev.gradient))
                return
            if not log_steps:
                previous = flush(_diff(row.values, pending.values) if pending else None)
                if previous is not None:
                    yield previous
                pending = row
            # -- one epoch of updates ----------------------------------------------------
            if full:
                steps = move([ev.gradient[p] for p in names])
                point = [x + s for x, s in zip(point, steps)]
                updates += 1
                epoch += 1
                if progress is not None:
                    progress(TrainTick(updates, epoch, 1, ev.value))
                interrupt.check()
                if not all(math.isfinite(x) for x in point):
                    yield flush(None) or row
                    yield result(
                        "diverged", _diverged_text(updates, "a parameter is no longer finite")
                    )
                    return
                continue
            order = rng.permutation(n) if shuffle else None
            for b, lo in enumerate(range(0, n, k), start=1):
                if updates >= max_iter:
                    break
                rows = slice(lo, min(lo + k, n)) if order is None else np.sort(order[lo : lo + k])
                bev = objective.evaluate(as_dict(point), rows)
                if log_steps:
                    previous = flush(_diff(as_dict(point), pending.values) if pending else None)
                    if previous is not None:
                        yield previous
                    pending = TrainRow(
                        updates, epoch + 1, b, as_dict(point), bev.value, dict(bev.gradient), None,
                        ev.value if b == 1 else None,
                    )  # fmt: skip
                steps = move([bev.gradient[p] for p in names], rows)
                point = [x + s for x, s in zip(point, steps)]
                updates += 1
                if progress is not None:
                    progress(TrainTick(updates, epoch + 1, b, bev.value))
                interrupt.check()
                if not all(math.isfinite(x) for x in point) or bev.value > GROWTH_LIMIT * max(
                    loss0, 1.0
                ):
                    last = flush(None)
                    if last is not None:
                        yield last
                    yield result(
                        "diverged", _diverged_text(updates, "the loss grows without bound")
                    )
                    return
            else:
                epoch += 1
                continue
            # the update budget ran out in the middle of an epoch: one last whole-data look
            ev = objective.evaluate(as_dict(point))
            epoch_losses.append(ev.value)
            epoch_values.append(as_dict(point))
            row = TrainRow(
                updates, epoch, None, as_dict(point), ev.value, dict(ev.gradient), None, ev.value
            )
            last = flush(_diff(row.values, pending.values) if pending else None)
            if last is not None:
                yield last
            yield row
            status, message = _verdict(ev, max(abs(g) for g in ev.gradient.values()), tol, until_loss, loss0,
                                       epoch, epochs, updates, max_iter, full, k) or ("max_iterations", "")  # fmt: skip
            yield result(status, message, ev.value, dict(ev.gradient))
            return
    except KeyboardInterrupt:
        if finished:
            raise
        # the last complete update is the state to report: ``point`` changes in one
        # assignment, so it is either before or after the update that was running
        last = flush(None)
        if last is not None:
            yield last
        try:
            ev = objective.evaluate(as_dict(point))
            loss, grad = ev.value, dict(ev.gradient)
        except (DomainError, KeyboardInterrupt):
            loss, grad = None, None
        yield result(
            "interrupted",
            f"interrupted by Ctrl-C after {_count(epoch, 'epoch')} ({_count(updates, 'update')})",
            loss, grad,
        )  # fmt: skip
        return
    except CurvatureError as err:
        last = flush(None)
        if last is not None:
            yield last
        yield result("nonpositive_curvature", f"newton cannot step: {err}; try another --optimizer")
        return
    except DomainError as err:
        last = flush(None)
        if last is not None:
            yield last
        grown = epoch_losses and loss0 is not None and epoch_losses[-1] > 10.0 * max(loss0, 1e-300)
        if updates and ("overflow" in err.message or "not finite" in err.message) and grown:
            yield result(
                "diverged", _diverged_text(updates, f"the loss grew until {err.message}"), error=err
            )
            return
        yield result("domain_error", err.message, error=err)
        return


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


def consume(records: Iterator[TrainRow | TrainResult], handle: Callable[[TrainRow | TrainResult], None]) -> None:
    """Pass each of :func:`train`'s records to ``handle``. A Ctrl-C that lands in ``handle``
    (while a row is rendered) is thrown into the run, which then ends as ``interrupted``
    and its last records are handled too; one that lands inside the run is handled there."""
    try:
        for rec in records:
            handle(rec)
    except KeyboardInterrupt:
        throw = getattr(records, "throw", None)
        if throw is None:
            raise
        try:
            rec = throw(KeyboardInterrupt)  # a finished run raises it again: nothing to add
        except StopIteration:
            return
        handle(rec)
        for rec in records:
            handle(rec)


def _diff(new: dict, old: dict) -> dict:
    return {p: new[p] - old[p] for p in new}


def _diverged_text(updates: int, why: str) -> str:
    return (
        f"diverged after {updates} update{'s' if updates != 1 else ''}: {why}; try a smaller --eta"
    )


def _verdict(ev, gnorm, tol, until_loss, loss0, epoch, epochs, updates, max_iter, full, k):
    """(status, message) when the run must stop at this epoch boundary, else None."""
    if not math.isfinite(ev.value):
        return "diverged", _diverged_text(updates, "the loss is no longer finite")
    if until_loss is not None and ev.value < until_loss:
        return (
            "converged",
            f"converged: the loss {ev.value:.6g} on the whole data set is below {until_loss:.6g}",
        )
    if until_loss is None and gnorm < tol:
        return "converged", (
            f"converged after {epoch} epoch{'s' if epoch != 1 else ''} ({updates} update{'s' if updates != 1 else ''}): every partial of the "
            f"whole-data loss is below {tol:g} in size"
        )
    if ev.value > GROWTH_LIMIT * max(loss0, 1.0):
        return "diverged", _diverged_text(
            updates, f"the loss grew from {loss0:.6g} to {ev.value:.6g}"
        )
    goal = (
        f"the loss {ev.value:.6g} is not below {until_loss:.6g}"
        if until_loss is not None
        else (f"the largest partial is {gnorm:.3g} (tol {tol:g})")
    )
    if epochs is not None and epoch >= epochs:
        if until_loss is not None:
            return (
                "max_iterations",
                f"stopped after {_count(epoch, 'epoch')} (--epochs) without converging: {goal}",
            )
        return (
            "completed",
            f"completed {_count(epoch, 'epoch')} ({_count(updates, 'update')}): the whole-data "
            f"loss is {ev.value:.6g}; {goal}",
        )
    if updates >= max_iter:
        return (
            "max_iterations",
            f"stopped after {updates} updates (--max-iter) without converging: {goal}",
        )
    return None


def _oscillating(history) -> tuple[str, str] | None:
    """Full batch: the last iterates alternate between two points and the loss does not fall."""
    if len(history) < OSCILLATION_WINDOW + 1:
        return None
    pts = [h[0] for h in history]
    losses = [h[1] for h in history]
    scale = max(1.0, max(abs(x) for p in pts for x in p))
    for i in range(2, len(pts)):
        if max(abs(a - b) for a, b in zip(pts[i], pts[i - 2])) > 1e-9 * scale:
            return None
        if losses[i] < losses[i - 2] * (1 - 1e-12):
            return None
    jump = max(abs(a - b) for a, b in zip(pts[-1], pts[-2]))
    if jump <= 1e-9 * scale:
        return None  # standing still is not oscillating
    return "oscillating", (
        "oscillating: the parameters jump back and forth between two points and the loss does not fall; "
        "try a smaller --eta"
    )


def run(
    objective: Objective, start: dict, optimizer, **options
) -> tuple[list[TrainRow], TrainResult]:
    """Collect :func:`train`: (rows, result)."""
    rows: list[TrainRow] = []
    for record in train(objective, start, optimizer, **options):
        if isinstance(record, TrainResult):
            return rows, record
        rows.append(record)
    raise AssertionError("train() ended without a result")  # pragma: no cover
