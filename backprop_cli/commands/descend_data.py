"""`backprop descend --data FILE`: fit the parameters of a loss to a data set.

Run by commands/descend.py when --data is given, with the options it parsed
(commands/options/descend.py); runs engines/train.py and renders through render/train.py
(and render/plot_data.py for --plot).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import typer

from .. import interrupt
from ..errors import ExitCode
from . import common
from .options import validate

if TYPE_CHECKING:
    from .options.descend import DescendOptions, FitOptions

LESSON_LOSS = "(w*x + b - y)^2"

#: --jsonl with --log epoch and mini-batches: about this many progress lines per epoch
PROGRESS_LINES = 10


def run(opts: DescendOptions) -> None:
    """Fit, show the rows and the summary (or JSON), draw the fit with --plot, and exit 1
    unless the fit ended well (converged or completed)."""
    from ..engines.objective import Objective
    from ..engines.optimizers import make

    assert opts.fit is not None  # descend.py runs this only with --data
    fit = opts.fit
    if opts.plot is not None:
        common.plot_module(opts.plot)  # before any work
    program, dataset, binding, start = _bind(opts, fit)
    objective = Objective(program, dataset, binding, fit.reduce.value)
    optimizer = make(opts.optimizer.value, opts.etas[0], **opts.hyper)
    result, setup, kept = _train(opts, fit, objective, optimizer, start)
    if opts.jsonl:
        from ..render import train as view
        from ..render.jsonout import emit

        emit(view.jsonl_summary(setup, result))
    elif not opts.json_out:
        _show(opts, fit, program, dataset, binding, setup, kept, result)
    if opts.plot is not None:
        from ..render.plot_data import plot_fit

        plot_fit(opts.plot, program, dataset, binding, result, program.source, fit.reduce.value)
    if result.status == "interrupted":
        sys.stderr.write("interrupted\n")
        sys.stderr.flush()
        raise typer.Exit(int(ExitCode.INTERRUPTED))
    if not result.ok:
        sys.stderr.write(f"error: {result.message}\n")
        sys.stderr.flush()
        raise typer.Exit(1)


def _bind(opts: DescendOptions, fit: FitOptions):
    """The program, the data set, which variables its columns feed, and where the fitted
    parameters start (--x0 for a single parameter, else --at, 1.0 with a warning)."""
    from .. import compile as compile_program
    from ..data import bind, load

    program = compile_program(common.read_program_text(opts.expr, LESSON_LOSS), output=opts.of)
    common.check_names(program, opts.at)
    dataset = load(fit.path)
    binding = bind(program, dataset, fit.columns, opts.at, x0=opts.x0 is not None)
    if not opts.quiet:
        from ..render.data import unused_line

        note = unused_line(dataset, binding)
        if note:
            common.stderr_console().print(note, markup=False)
    validate(
        bool(binding.parameters),
        "nothing to fit: every variable of the program is bound to a column of the data",
    )
    given = opts.at
    if opts.x0 is not None:
        validate(
            len(binding.parameters) == 1,
            f"--x0 needs exactly one parameter; this fit has {len(binding.parameters)} "
            f"({', '.join(binding.parameters)}): use --at NAME=VALUE",
        )
        given = {binding.parameters[0]: opts.x0}
    start, _ = common.point_with_defaults(program, given, opts.quiet or opts.machine, binding.parameters)
    return program, dataset, binding, start


def _train(opts: DescendOptions, fit: FitOptions, objective, optimizer, start):
    """Train, writing JSON rows as they come (--json streams its rows and keeps none,
    --jsonl writes a line each) or keeping the table's rows; returns the TrainResult, the
    setup block and the kept rows."""
    from ..engines.train import TrainResult, TrainRow, TrainTick, consume, train
    from ..render import train as view
    from ..render.jsonout import emit

    rows = objective.dataset.rows
    size = min(fit.batch_size or rows, rows)
    per_epoch = -(-rows // size)  # updates in one epoch
    max_iter = updates_budget(opts.max_iter, fit.epochs, per_epoch)
    settings = {
        "tol": opts.tol, "until_loss": opts.until_loss, "max_iter": max_iter,
        "batch_size": size,
        "epochs": fit.epochs, "shuffle": fit.shuffle, "seed": fit.seed, "log": fit.log.value,
    }  # fmt: skip
    setup = view.setup_block(objective.program, objective, optimizer, start, settings)
    kept = view.KeptRows(opts.show_all)  # the table's rows: all with --all, else head and tail
    result: TrainResult | None = None
    every = max(1, per_epoch // PROGRESS_LINES) if fit.log == "epoch" and size < rows else 0
    show_progress = common.wants_progress(opts.machine, opts.quiet)

    with common.progress_bar(show_progress, max_iter, "training") as tick, interrupt.deferred():

        def on_update(t: TrainTick) -> None:
            if tick is not None:
                tick(t.iteration)
            if opts.jsonl and every and t.iteration % every == 0 and t.batch < per_epoch:
                emit(view.jsonl_progress(t))

        records = train(
            objective, start, optimizer, batch_size=fit.batch_size, epochs=fit.epochs,
            max_iter=max_iter, tol=opts.tol, until_loss=opts.until_loss, shuffle=fit.shuffle,
            seed=fit.seed, log=fit.log.value, progress=on_update,
        )  # fmt: skip
        if opts.json_out:  # rows written as they come, none kept
            result = view.emit_streaming(setup, records)
        else:

            def handle(rec: TrainRow | TrainResult) -> None:
                nonlocal result
                if isinstance(rec, TrainResult):
                    result = rec
                elif opts.jsonl:
                    emit(view.jsonl_iteration(rec))
                else:
                    kept.add(rec)

            consume(records, handle)
    assert result is not None  # train() always ends with its TrainResult
    return result, setup, kept


def _show(opts: DescendOptions, fit: FitOptions, program, dataset, binding, setup, kept, result) -> None:
    """The tables: which columns feed which variables (unless --quiet), the rows, the summary."""
    from rich.markup import escape

    from ..render import train as view
    from ..render.data import binding_line

    console = common.stdout_console()
    if not opts.quiet:
        console.print(escape(binding_line(dataset, binding, fit.reduce.value, program.output_name)))
    for table in view.tables(setup, kept.rows(), opts.show_all, console.width, kept.dropped):
        console.print(table)
    for line in view.summary_lines(setup, result):
        console.print(line)


def updates_budget(max_iter: int | None, epochs: int | None, per_epoch: int) -> int:
    """--max-iter as given, or derived: enough updates for --epochs (not capped: rows are
    not all kept on this path), else the default. Both given and --max-iter too small to
    finish the epochs: an input error before the run, not a run cut short."""
    from ..engines.descend import DEFAULT_MAX_ITER

    if epochs is None:
        return DEFAULT_MAX_ITER if max_iter is None else max_iter
    needed = epochs * per_epoch
    if max_iter is None:
        return needed
    validate(
        max_iter >= needed,
        f"--max-iter {max_iter} would stop before --epochs {epochs} end ({epochs} epochs of "
        f"{per_epoch} updates = {needed} updates): give only one of them, or --max-iter ≥ {needed}",
    )
    return max_iter
