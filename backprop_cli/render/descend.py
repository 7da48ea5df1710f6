"""Renderers for `backprop descend`: the iteration table, summary and sparkline, the sweep
table, and the strict JSON documents (backprop.descend/1, backprop.descend-sweep/1)."""

from __future__ import annotations

from collections.abc import Callable

from rich.markup import escape

from ..engines.descend import Descent, IterationRecord
from .jsonout import Rows
from .numbers import fmt
from .table import make_table

DESCEND_SCHEMA = "backprop.descend/1"
SWEEP_SCHEMA = "backprop.descend-sweep/1"
HEAD_ROWS = 12  # long runs: this many first rows …
TAIL_ROWS = 5  # … an elision row, and this many last rows (--all shows every row)
SPARK_WIDTH = 60


# -- JSON ------------------------------------------------------------------------------
def iteration_record(rec: IterationRecord) -> dict:
    row = {
        "iteration": rec.iteration,
        "values": rec.values,
        "loss": rec.loss,
        "gradient": rec.gradient,
        "steps": rec.steps,
    }
    if rec.curvature is not None or len(rec.values) == 1:
        row["curvature"] = rec.curvature
        row["stability_bound"] = rec.stability_bound
    return row


def setup(run: Descent) -> dict:
    """The run's configuration."""
    return {
        "schema": DESCEND_SCHEMA,
        "expression": run.program.source,
        "output": run.program.output_name,
        "variables": list(run.names),
        "optimizer": run.optimizer,
        "eta": run.eta,
        "hyperparameters": run.hyper,
        "start": run.start,
        "tol": run.tol,
        "until_loss": run.until_loss,
        "max_iter": run.max_iter,
    }


def outcome(run: Descent) -> dict:
    """How the run ended: status, message, result (and the error of a domain_error)."""
    res = run.result
    doc = {
        "status": res.status,
        "message": res.message,
        "result": {"values": res.values, "loss": res.loss, "iterations": res.iterations},
    }
    if res.error is not None:
        doc["error"] = res.error
    return doc


def header(run: Descent) -> dict:
    """Everything but the iterations: configuration, status, message, result."""
    return {**setup(run), **outcome(run)}


def descend_document(run: Descent) -> dict:
    doc = header(run)
    doc["iterations"] = [iteration_record(r) for r in run]
    return doc


def streamed_document(run: Descent) -> tuple[dict, Callable[[], dict]]:
    """The same document for jsonout.emit_stream: the setup, the iterations as Rows (built
    one at a time while written: memory of one row), and the outcome as the tail — after
    the rows, so a run cut short (Ctrl-C) ends with its own status instead."""
    doc = setup(run)
    doc["iterations"] = Rows(iteration_record(r) for r in run)
    return doc, lambda: outcome(run)


def sweep_document(runs: list[Descent], stream: bool = False) -> dict:
    """The backprop.descend-sweep/1 document; ``stream=True``: every run's rows as
    jsonout.Rows (see :func:`streamed_document`)."""

    def run_doc(run: Descent) -> dict:
        if not stream:
            return descend_document(run)
        doc, tail = streamed_document(run)
        return {**doc, **tail()}

    docs = (run_doc(r) for r in runs)
    return {
        "schema": SWEEP_SCHEMA,
        "expression": runs[0].program.source if runs else None,
        "optimizer": runs[0].optimizer if runs else None,
        "etas": [r.eta for r in runs],
        "statuses": [r.status for r in runs],
        "runs": Rows(docs) if stream else list(docs),
    }


def jsonl_iteration(rec: IterationRecord) -> dict:
    return {"record": "iteration", **iteration_record(rec)}


def jsonl_summary(run: Descent) -> dict:
    return {"record": "summary", **header(run)}


# -- tables ----------------------------------------------------------------------------
def _rows_to_show(n: int, show_all: bool) -> list[int | None]:
    """Row indices to print; None marks the elision."""
    if show_all or n <= HEAD_ROWS + TAIL_ROWS + 1:
        return list(range(n))
    return list(range(HEAD_ROWS)) + [None] + list(range(n - TAIL_ROWS, n))


def descend_table(run: Descent, show_all: bool = False):
    """One row per iteration: point, loss, gradient, step; for one variable f'' (and 2/f'')."""
    names = run.names
    one = len(names) == 1
    cols = [("k", "right")]
    cols += [(v, "right") for v in names]
    cols.append(("loss", "right"))
    cols += [(f"∂loss/∂{v}", "right") for v in names]
    cols += [(f"step {v}" if not one else "step", "right") for v in names]
    if one:
        cols.append(("f''", "right"))
        if run.optimizer == "sgd":
            cols.append(("2/f''", "right"))
    eta = fmt(run.eta)
    hyper = "".join(f", {k} = {fmt(v)}" for k, v in run.hyper.items())
    title = f"{run.optimizer} on {run.program.source} (η = {eta}{hyper})"
    table = make_table(title, cols)
    n = len(run)
    for k in _rows_to_show(n, show_all):
        if k is None:
            hidden = n - HEAD_ROWS - TAIL_ROWS
            table.add_row(*["⋮"] * len(cols))
            table.caption = f"{hidden} rows not shown (⋮); --all shows every row"
            continue
        r = run.record(k)
        cells = [str(r.iteration)]
        cells += [fmt(r.values[v]) for v in names]
        cells.append(fmt(r.loss))
        cells += [fmt(r.gradient[v]) if r.gradient else "—" for v in names]
        cells += [fmt(r.steps[v]) if r.steps else "—" for v in names]
        if one:
            cells.append(fmt(r.curvature))
            if run.optimizer == "sgd":
                cells.append(fmt(r.stability_bound))
        table.add_row(*cells)
    return table


STATUS_STYLE = {"converged": "green"}


def summary_lines(run: Descent) -> list[str]:
    """Rich-markup lines: the status and message, the result, and the loss sparkline."""
    from .spark import sparkline

    res = run.result
    style = STATUS_STYLE.get(res.status, "red")
    msg = res.message
    if msg.startswith(res.status):
        msg = msg[len(res.status) :].lstrip(": ")
    lines = [f"[{style}]{res.status}[/{style}]: {escape(msg)}"]
    point = ", ".join(f"{v} = {fmt(x)}" for v, x in res.values.items())
    lines.append(f"result: {escape(point)}, loss = {fmt(res.loss)} after {res.iterations} steps")
    losses = run.losses()
    note = "" if len(losses) <= SPARK_WIDTH else f", last {SPARK_WIDTH} of {len(losses)}"
    lines.append(
        f"loss per iteration (log scale{note}): {sparkline(losses, log=True, width=SPARK_WIDTH)}"
    )
    if len(run.names) == 1 and run.optimizer == "sgd":
        first = run.record(0)
        if first.stability_bound is not None:
            bound = first.stability_bound
            rel = "below" if run.eta < bound else ("at" if run.eta == bound else "above")
            lines.append(
                f"stability: η = {fmt(run.eta)} is {rel} the bound 2/f'' = {fmt(bound)} (at the start); "
                "below it descent settles, at it the point flips side to side, above it it grows"
            )
    return lines


def sweep_table(runs: list[Descent]):
    names = runs[0].names if runs else ()
    opt = runs[0].optimizer if runs else ""
    title = (
        f"learning-rate sweep: {opt} on {runs[0].program.source}" if runs else "learning-rate sweep"
    )
    cols = [("η", "right"), ("status", "left"), ("iterations", "right")]
    cols += [(f"final {v}", "right") for v in names]
    cols.append(("final loss", "right"))
    table = make_table(title, cols)
    for r in runs:
        res = r.result
        style = STATUS_STYLE.get(res.status, "red")
        table.add_row(
            fmt(r.eta),
            f"[{style}]{res.status}[/{style}]",
            str(res.iterations),
            *[fmt(res.values[v]) for v in names],
            fmt(res.loss),
        )
    return table


def sweep_summary(runs: list[Descent]) -> str:
    counts: dict[str, int] = {}
    for r in runs:
        counts[r.status] = counts.get(r.status, 0) + 1
    parts = ", ".join(f"{n} {s}" for s, n in counts.items())
    return f"{len(runs)} runs classified: {parts}"
