"""Renderers for `descend --data`: the iteration table, summary lines and strict JSON/JSONL.

The JSON is backprop.descend/1 plus the data fields: ``data``, ``reduce``, ``batch_size``,
``epochs`` (the budget asked for, null if none), ``shuffle``, ``seed``, ``log``,
``epoch_losses`` (whole-data loss after 0, 1, … epochs), and per iteration ``epoch``,
``batch`` (null on epoch rows) and ``full_loss``.
"""

from __future__ import annotations

from rich.markup import escape

from ..engines.train import SUCCESS, TrainResult, TrainRow, TrainTick
from .data import data_block
from .numbers import fmt

DESCEND_SCHEMA = "backprop.descend/1"
HEAD_ROWS = 12
TAIL_ROWS = 5
SPARK_WIDTH = 60


def iteration_record(row: TrainRow) -> dict:
    return {
        "iteration": row.iteration,
        "epoch": row.epoch,
        "batch": row.batch,
        "values": row.values,
        "loss": row.loss,
        "gradient": row.gradient,
        "steps": row.steps,
        "full_loss": row.full_loss,
    }


def outcome(result: TrainResult) -> dict:
    """How the run ended: status, message, result, the loss per epoch and the error."""
    doc = {
        "status": result.status,
        "message": result.message,
        "result": {
            "values": result.values,
            "loss": result.loss,
            "gradient": result.gradient,
            "iterations": result.iterations,
            "epochs": result.epochs,
        },
        "epoch_losses": list(result.epoch_losses),
    }
    if result.error is not None:
        doc["error"] = result.error.to_json()
    return doc


def header(setup: dict, result: TrainResult | None) -> dict:
    """Configuration (``setup``) plus status, message and result."""
    doc = {"schema": DESCEND_SCHEMA, **setup}
    if result is not None:
        doc.update(outcome(result))
    return doc


def setup_block(program, objective, optimizer, start, options: dict) -> dict:
    """The run's configuration, in descend's field names plus the data fields."""
    return {
        "expression": program.source,
        "output": program.output_name,
        "variables": list(objective.parameters),
        "optimizer": optimizer.name,
        "eta": optimizer.eta,
        "hyperparameters": optimizer.hyper,
        "start": dict(start),
        "tol": options["tol"],
        "until_loss": options["until_loss"],
        "max_iter": options["max_iter"],
        "data": data_block(objective.dataset, objective.binding),
        "reduce": objective.reduce,
        "batch_size": options["batch_size"],
        "epochs": options["epochs"],
        "shuffle": options["shuffle"],
        "seed": options["seed"],
        "log": options["log"],
    }


def document(setup: dict, rows: list[TrainRow], result: TrainResult) -> dict:
    doc = header(setup, result)
    doc["iterations"] = [iteration_record(r) for r in rows]
    return doc


def emit_streaming(setup: dict, records) -> TrainResult:
    """``--json`` while the run goes: the setup, each row as train() yields it (none kept),
    then the outcome (same fields as :func:`document`, the outcome after the rows)."""
    from .jsonout import Rows, emit_stream

    end: list[TrainResult] = []

    def rows():
        for rec in records:
            if isinstance(rec, TrainResult):
                end.append(rec)
            else:
                yield iteration_record(rec)

    doc = {"schema": DESCEND_SCHEMA, **setup, "iterations": Rows(rows())}
    emit_stream(doc, tail=lambda: outcome(end[-1]))
    return end[-1]


class KeptRows:
    """The rows a table will show, kept while the run goes: every row with --all, else the
    first HEAD_ROWS and the last TAIL_ROWS (a long run costs a bounded number of rows)."""

    def __init__(self, show_all: bool) -> None:
        from collections import deque

        self.show_all = show_all
        self.head: list[TrainRow] = []
        self.tail: deque[TrainRow] = deque(maxlen=None if show_all else TAIL_ROWS + 1)
        self.count = 0

    def add(self, row: TrainRow) -> None:
        self.count += 1
        if not self.show_all and len(self.head) < HEAD_ROWS:
            self.head.append(row)
        else:
            self.tail.append(row)

    @property
    def dropped(self) -> int:
        """Rows not kept (0 when every row is)."""
        return self.count - len(self.head) - len(self.tail)

    def rows(self) -> list[TrainRow]:
        return self.head + list(self.tail)


def jsonl_progress(tick: TrainTick) -> dict:
    """--jsonl between epoch rows: how far the epoch has got (no whole-data loss yet)."""
    return {
        "record": "progress",
        "iteration": tick.iteration,
        "epoch": tick.epoch,
        "batch": tick.batch,
        "batch_loss": tick.batch_loss,
    }


def jsonl_iteration(row: TrainRow) -> dict:
    return {"record": "iteration", **iteration_record(row)}


def jsonl_summary(setup: dict, result: TrainResult) -> dict:
    return {"record": "summary", **header(setup, result)}


def tables(
    setup: dict,
    rows: list[TrainRow],
    show_all: bool = False,
    width: int | None = None,
    dropped: int = 0,
) -> list:
    """One row per update or epoch: point, loss(es), gradient, step; split into several
    tables (same rows) when one would not fit ``width`` (see render.descend.fit_tables).
    ``dropped``: rows of the run between ``rows[HEAD_ROWS - 1]`` and the next that were not
    kept (:class:`KeptRows`)."""
    from .descend import fit_tables

    names = setup["variables"]
    steps_mode = any(r.batch is not None for r in rows)
    n = len(rows) + dropped
    shown: list[int | None] = list(range(len(rows)))
    if not show_all and n > HEAD_ROWS + TAIL_ROWS + 1:
        shown = list(range(HEAD_ROWS)) + [None] + list(range(len(rows) - TAIL_ROWS, len(rows)))
    recs = [None if k is None else rows[k] for k in shown]

    def col(header: str, cell):
        return header, ["⋮" if r is None else cell(r) for r in recs]

    key = [col("k", lambda r: str(r.iteration)), col("epoch", lambda r: str(r.epoch))]
    if steps_mode:
        key.append(col("batch", lambda r: "—" if r.batch is None else str(r.batch)))
    point = [col(v, lambda r, v=v: fmt(r.values[v])) for v in names]
    point.append(col("batch loss" if steps_mode else "loss", lambda r: fmt(r.loss)))
    if steps_mode:
        point.append(col("whole-data loss", lambda r: fmt(r.full_loss)))
    grad = [col(f"∂loss/∂{v}", lambda r, v=v: fmt(r.gradient[v])) for v in names]
    steps = [col(f"step {v}", lambda r, v=v: fmt(r.steps[v]) if r.steps else "—") for v in names]
    hyper = "".join(f", {k} = {fmt(v)}" for k, v in setup["hyperparameters"].items())
    data = setup["data"]
    title = (
        f"{setup['optimizer']} on the {setup['reduce']} of {setup['expression']} over "
        f"{data['rows']} samples of {data['file']} (η = {fmt(setup['eta'])}{hyper}, "
        f"batch size {setup['batch_size']})"
    )
    caption = None
    if None in shown:
        caption = f"{n - HEAD_ROWS - TAIL_ROWS} rows not shown (⋮); --all shows every row"
    groups = [("point and loss", point), ("gradient", grad), ("step", steps)]
    return fit_tables(title, key, groups, width, caption)


def table(setup: dict, rows: list[TrainRow], show_all: bool = False):
    """The iteration table as one table, however wide (see :func:`tables`)."""
    return tables(setup, rows, show_all, None)[0]


def summary_lines(setup: dict, result: TrainResult) -> list[str]:
    from .spark import scale_words, sparkline

    style = "green" if result.status in SUCCESS else "red"
    msg = result.message
    if msg.startswith(result.status):
        msg = msg[len(result.status) :].lstrip(": ")
    lines = [f"[{style}]{result.status}[/{style}]: {escape(msg)}"]
    point = ", ".join(f"{v} = {fmt(x)}" for v, x in result.values.items())
    lines.append(
        f"result: {escape(point)}, {setup['reduce']} loss = {fmt(result.loss)} after "
        f"{result.epochs} epoch{'s' if result.epochs != 1 else ''} ({result.iterations} update{'s' if result.iterations != 1 else ''})"
    )
    losses = list(result.epoch_losses)
    note = "" if len(losses) <= SPARK_WIDTH else f", last {SPARK_WIDTH} of {len(losses)}"
    shown = losses[-SPARK_WIDTH:]
    lines.append(
        f"whole-data loss per epoch ({scale_words(shown)}{note}): {sparkline(shown, log=True)}"
    )
    return lines
