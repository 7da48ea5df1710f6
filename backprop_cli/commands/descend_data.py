"""`backprop descend --data FILE`: fit the parameters of a loss to a data set.

Called from commands/descend.py when --data is given; validates the data options, runs
engines/train.py and renders through render/train.py (and render/plot_data.py for --plot).
"""

from __future__ import annotations

import sys

import typer

from .. import interrupt
from ..errors import ExitCode
from . import common

DATA_HELP = (
    "Fit to a data set (CSV with a header row, .npz, or .npy with named fields): columns named "
    "like variables feed them sample by sample, the other variables are the parameters descent "
    "fits, and the loss is the --reduce (mean) of the output over the samples."
)
COLUMN_HELP = (
    "With --data: feed VARIABLE from a differently named column, VARIABLE=COLUMN; repeatable."
)
BATCH_HELP = "With --data: samples per update (default: all = full batch; 1 = stochastic)."
EPOCHS_HELP = (
    "With --data: train for this many passes over the data (a budget: spending it is status "
    "completed, exit 0; --tol and --until-loss may stop it earlier)."
)
SHUFFLE_HELP = (
    "With --data and mini-batches: a fresh random order every epoch (seeded by --seed); "
    "default --shuffle."
)
SEED_HELP = (
    "With --data: seed of the shuffling order (numpy Generator); same seed, same run. Default 0."
)
LOG_HELP = (
    "With --data: epoch, one row per epoch (whole-data loss; the default), or step, one per "
    "update (batch loss)."
)
REDUCE_HELP = "With --data: mean (the default) or sum of the output over the samples."


def run_data_command(
    *, expr, eta, x0, at, of, optimizer, hyper_text: dict, tol, until_loss, max_iter, show_all,
    json_out, jsonl, quiet, plot, data, column, reduce, batch_size, epochs, shuffle, seed, log,
) -> None:  # fmt: skip
    from ..engines.optimizers import OPTIMIZERS, make

    machine = json_out or jsonl
    common.validate_machine_output(json_out, jsonl)
    common.validate(
        optimizer in OPTIMIZERS, f"--optimizer '{optimizer}': use one of {', '.join(OPTIMIZERS)}"
    )
    if eta is not None:
        common.validate(
            "," not in eta and ":" not in eta,
            "--eta: learning-rate sweeps are not available with --data",
        )
        eta_value = common.parse_number(eta, "--eta")
        common.validate(eta_value > 0, f"--eta {eta}: must be greater than 0")
    else:
        eta_value = None
    tol_value = common.validate_run_options(tol, 1 if max_iter is None else max_iter)
    until = common.parse_number(until_loss, "--until-loss") if until_loss is not None else None
    common.validate(reduce in ("mean", "sum"), f"--reduce '{reduce}': use mean or sum")
    common.validate(log in ("epoch", "step"), f"--log '{log}': use epoch or step")
    common.validate(
        batch_size is None or batch_size >= 1, f"--batch-size {batch_size}: must be at least 1"
    )
    common.validate(epochs is None or epochs >= 1, f"--epochs {epochs}: must be at least 1")
    common.validate(seed >= 0, f"--seed {seed}: must be ≥ 0")
    from .descend import hyperparameters

    hyper = hyperparameters(optimizer, hyper_text)
    common.validate(not (x0 is not None and at), "give the start with --x0 or with --at, not both")
    if plot is not None:
        common.plot_module(plot)

    from .. import compile as compile_program
    from ..data import bind, load, parse_columns

    program = compile_program(common.read_program_text(expr, "(w*x + b - y)^2"), output=of)
    given = common.parse_at(at)
    common.check_names(program, given)
    dataset = load(data)
    binding = bind(program, dataset, parse_columns(column), given, x0=x0 is not None)
    if not quiet:
        from ..render.data import unused_line

        note = unused_line(dataset, binding)
        if note:
            common.stderr_console().print(note, markup=False)
    common.validate(
        bool(binding.parameters),
        "nothing to fit: every variable of the program is bound to a column of the data",
    )
    if x0 is not None:
        common.validate(
            len(binding.parameters) == 1,
            f"--x0 needs exactly one parameter; this fit has {len(binding.parameters)} "
            f"({', '.join(binding.parameters)}): use --at NAME=VALUE",
        )
        given = {binding.parameters[0]: common.parse_number(x0, "--x0")}
    start, _ = common.point_with_defaults(program, given, quiet or machine, binding.parameters)

    from ..engines.objective import Objective
    from ..engines.train import TrainResult, TrainRow, TrainTick, consume, train
    from ..render import train as view
    from ..render.jsonout import emit

    opt = make(optimizer, eta_value, **hyper)
    objective = Objective(program, dataset, binding, reduce)
    size = min(batch_size or dataset.rows, dataset.rows)
    per_epoch = -(-dataset.rows // size)  # updates in one epoch
    max_iter = updates_budget(max_iter, epochs, per_epoch)
    options = {
        "tol": tol_value, "until_loss": until, "max_iter": max_iter,
        "batch_size": size,
        "epochs": epochs, "shuffle": shuffle, "seed": seed, "log": log,
    }  # fmt: skip
    setup = view.setup_block(program, objective, opt, start, options)
    kept = view.KeptRows(show_all)  # the table's rows: all with --all, else head and tail
    result: TrainResult | None = None
    every = max(1, per_epoch // PROGRESS_LINES) if log == "epoch" and size < dataset.rows else 0
    show_progress = common.wants_progress(machine, quiet)

    with common.progress_bar(show_progress, max_iter, "training") as tick, interrupt.deferred():

        def on_update(t: TrainTick) -> None:
            if tick is not None:
                tick(t.iteration)
            if jsonl and every and t.iteration % every == 0 and t.batch < per_epoch:
                emit(view.jsonl_progress(t))

        records = train(
            objective, start, opt, batch_size=batch_size, epochs=epochs, max_iter=max_iter,
            tol=tol_value, until_loss=until, shuffle=shuffle, seed=seed, log=log,
            progress=on_update,
        )  # fmt: skip
        if json_out:  # rows written as they come, none kept
            result = view.emit_streaming(setup, records)
        else:

            def handle(rec: TrainRow | TrainResult) -> None:
                nonlocal result
                if isinstance(rec, TrainResult):
                    result = rec
                elif jsonl:
                    emit(view.jsonl_iteration(rec))
                else:
                    kept.add(rec)

            consume(records, handle)
    assert result is not None  # train() always ends with its TrainResult
    if jsonl:
        emit(view.jsonl_summary(setup, result))
    elif not json_out:
        from rich.markup import escape

        from ..render.data import binding_line

        console = common.stdout_console()
        if not quiet:
            console.print(escape(binding_line(dataset, binding, reduce, program.output_name)))
        for table in view.tables(setup, kept.rows(), show_all, console.width, kept.dropped):
            console.print(table)
        for line in view.summary_lines(setup, result):
            console.print(line)
    if plot is not None:
        from ..render.plot_data import plot_fit

        plot_fit(plot, program, dataset, binding, result, program.source, reduce)
    if result.status == "interrupted":
        sys.stderr.write("interrupted\n")
        sys.stderr.flush()
        raise typer.Exit(int(ExitCode.INTERRUPTED))
    if not result.ok:
        sys.stderr.write(f"error: {result.message}\n")
        sys.stderr.flush()
        raise typer.Exit(1)


#: --jsonl with --log epoch and mini-batches: about this many progress lines per epoch
PROGRESS_LINES = 10


def updates_budget(max_iter: int | None, epochs: int | None, per_epoch: int) -> int:
    """--max-iter as given, or derived: enough updates for --epochs (not capped: rows are
    not all kept on this path), else the default. Both given and --max-iter too small to
    finish the epochs: an input error before the run, not a run cut short."""
    from .descend import DEFAULT_MAX_ITER

    if epochs is None:
        return DEFAULT_MAX_ITER if max_iter is None else max_iter
    needed = epochs * per_epoch
    if max_iter is None:
        return needed
    common.validate(
        max_iter >= needed,
        f"--max-iter {max_iter} would stop before --epochs {epochs} end ({epochs} epochs of "
        f"{per_epoch} updates = {needed} updates): give only one of them, or --max-iter ≥ {needed}",
    )
    return max_iter
