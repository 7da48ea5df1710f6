"""`backprop descend`: gradient descent with a trace, optimizers and learning-rate sweeps.

The declarations of every option (with --data too), parsed into one
:class:`~.options.descend.DescendOptions`; descent on the loss runs here, fitting to a data
set in commands/descend_data.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, List, Optional

import typer

from .. import interrupt
from ..errors import ExitCode
from . import common, help_text, options

if TYPE_CHECKING:
    from .options.descend import DescendOptions

LESSON_LOSS = "(x - 1)^2 + 0.001"
LESSON_X0 = 0.2

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


def register(app: typer.Typer, command_cls) -> None:
    @app.command(
        "descend",
        cls=command_cls,
        help=help_text.command_help(
            "descend",
            "Gradient descent on the output: every iteration's point, loss, gradient and step, "
            "then an honest status — converged, diverged, oscillating, max_iterations, "
            "domain_error or (newton) nonpositive_curvature. Without EXPR: the lesson's loss (x − 1)^2 + 0.001 from x = 0.2, η = 0.1.",
            "Stops when every |∂loss/∂v| < --tol (or the loss < --until-loss); a tiny step is not "
            "convergence. Optimizers (defaults): sgd Δ = −η·g (η 0.1); momentum v ← β·v − η·g, Δ = v "
            "(η 0.1, β 0.9); nesterov Δ = β·v − η·g with the new v (η 0.1, β 0.9); adagrad "
            "Δ = −η·g/(√Σg² + ε) (η 0.1, ε 1e-8); rmsprop Δ = −η·g/(√E + ε), E ← ρ·E + (1−ρ)·g² "
            "(η 0.01, ρ 0.9, ε 1e-8); adam, bias-corrected (η 0.01, β1 0.9, β2 0.999, ε 1e-8); "
            "newton Δ = −η·f'/f'' or −η·H⁻¹g with exact second derivatives (η 1). "
            "--eta a,b,c or START:STOP:COUNT runs a learning-rate sweep (one run "
            "per η) and prints one comparison table; a sweep exits 0 once every run is classified.",
        ),
    )
    def descend(
        expr: Optional[str] = typer.Argument(
            None, help="The loss, e.g. \"(x - 1)^2 + 2*(y + 2)^2\"; - reads stdin. Default: (x − 1)^2 + 0.001.",
            show_default=False,
        ),  # fmt: skip
        eta: Optional[str] = typer.Option(
            None, "--eta", help="Learning rate η > 0; a list 0.1,0.4,1 or a range START:STOP:COUNT sweeps.",
            show_default=False,
        ),  # fmt: skip
        x0: Optional[str] = typer.Option(None, "--x0", help="Start of the only variable (one-variable functions)."),
        at: Optional[List[str]] = options.at_option(),
        of: Optional[str] = options.of_option(),
        optimizer: str = typer.Option("sgd", "--optimizer", help="sgd, momentum, nesterov, adagrad, rmsprop, adam or newton."),
        momentum: Optional[str] = typer.Option(None, "--momentum", help="β for momentum and nesterov (default 0.9)."),
        beta1: Optional[str] = typer.Option(None, "--beta1", help="Adam's β1 (default 0.9)."),
        beta2: Optional[str] = typer.Option(None, "--beta2", help="Adam's β2 (default 0.999)."),
        rho: Optional[str] = typer.Option(None, "--rho", help="RMSProp's ρ (default 0.9)."),
        epsilon: Optional[str] = typer.Option(None, "--epsilon", help="ε for adagrad, rmsprop, adam (default 1e-8)."),
        tol: str = options.tol_option("every |∂loss/∂v| < TOL"),
        until_loss: Optional[str] = typer.Option(None, "--until-loss", help="Also converged as soon as the loss < L."),
        max_iter: Optional[int] = options.max_iter_option(
            None, "steps", " (default 10 000; with --data --epochs N, what N epochs need)"
        ),
        show_all: bool = typer.Option(False, "--all", help="Show every iteration (default: first and last rows)."),
        json_out: bool = options.json_option(),
        jsonl: bool = options.jsonl_option(),
        quiet: bool = options.quiet_option(),
        plot: Optional[str] = options.plot_option("the run (or sweep)"),
        data: Optional[str] = typer.Option(None, "--data", help=DATA_HELP),
        column: Optional[List[str]] = typer.Option(None, "--column", help=COLUMN_HELP),
        reduce: Optional[str] = typer.Option(None, "--reduce", help=REDUCE_HELP, show_default=False),
        batch_size: Optional[int] = typer.Option(None, "--batch-size", help=BATCH_HELP, show_default=False),
        epochs: Optional[int] = typer.Option(None, "--epochs", help=EPOCHS_HELP, show_default=False),
        shuffle: Optional[bool] = typer.Option(
            None, "--shuffle/--no-shuffle", help=SHUFFLE_HELP, show_default=False
        ),
        seed: Optional[int] = typer.Option(None, "--seed", help=SEED_HELP, show_default=False),
        log: Optional[str] = typer.Option(None, "--log", help=LOG_HELP, show_default=False),
        step: bool = typer.Option(False, "--step", help=help_text.RUN_STEP_HELP),
    ) -> None:
        from ..render.descend import DESCEND_SCHEMA, SWEEP_SCHEMA
        from .options.descend import DescendOptions

        sweep = data is None and options.is_sweep(eta)
        with common.boundary(json_out or jsonl, SWEEP_SCHEMA if sweep else DESCEND_SCHEMA):
            opts = DescendOptions.parse(
                expr=expr, eta=eta, x0=x0, at=at, of=of, optimizer=optimizer,
                hyper={"beta": momentum, "beta1": beta1, "beta2": beta2, "rho": rho, "epsilon": epsilon},
                tol=tol, until_loss=until_loss, max_iter=max_iter, show_all=show_all, json_out=json_out,
                jsonl=jsonl, quiet=quiet, plot=plot, data=data, column=column, reduce=reduce,
                batch_size=batch_size, epochs=epochs, shuffle=shuffle, seed=seed, log=log, step=step,
            )  # fmt: skip
            if opts.fit is None:
                run(opts)
            else:
                from . import descend_data

                descend_data.run(opts)


def run(opts: DescendOptions) -> None:
    """Descend (or sweep η) from the start the options give, show the run, draw it with
    --plot, and exit 1 unless it converged (a sweep exits 0 once every run is classified)."""
    from ..engines.descend import descend, sweep

    plot = common.plot_module(opts.plot) if opts.plot is not None else None  # before any work
    program, start = _program_and_start(opts)
    assert opts.max_iter is not None  # filled in for descent on the loss
    settings: dict[str, Any] = {
        "tol": opts.tol, "until_loss": opts.until_loss, "max_iter": opts.max_iter, "hyper": opts.hyper,
    }  # fmt: skip
    show_progress = common.wants_progress(opts.machine, opts.quiet, opts.max_iter)
    with common.progress_bar(show_progress, opts.max_iter, "descending") as tick, interrupt.deferred():
        if opts.sweep:
            runs = sweep(program, start, opts.optimizer.value, list(opts.etas), **settings, progress=tick)
        else:
            runs = [descend(program, start, opts.optimizer.value, opts.etas[0], **settings, progress=tick)]
    if opts.sweep:
        _show_sweep(runs, opts)
        if plot is not None:
            from ..render.descend import sweep_document

            plot.plot_sweep(sweep_document(runs), opts.plot)
        return
    if opts.step and runs[0].status != "interrupted":
        from . import stepping

        if not stepping.descend(runs[0]):
            return  # q: stopped where it was said, exit 0
    _show_run(runs[0], opts)
    if plot is not None:
        from ..render.descend import descend_document

        plot.plot_descend(descend_document(runs[0]), opts.plot, runs[0].program)
    _exit_unless_converged(runs[0])


def _program_and_start(opts: DescendOptions):
    """The loss (the argument, stdin, or the lesson's) and where descent starts: --x0 for a
    function of one variable, else --at (the lesson's x = 0.2 for the bare command), a
    missing variable at 1.0 with a warning."""
    from .. import compile as compile_program

    program = compile_program(common.read_program_text(opts.expr, LESSON_LOSS), output=opts.of)
    options.validate(bool(program.variables), "the loss has no variables: there is nothing to descend on")
    if opts.x0 is not None:
        options.validate(
            len(program.variables) == 1,
            f"--x0 needs a function of exactly one variable; this one has {len(program.variables)} "
            f"({', '.join(program.variables)}): use --at NAME=VALUE",
        )
        return program, {program.variables[0]: opts.x0}
    given = {"x": LESSON_X0} if opts.expr is None and not opts.at else opts.at
    start, _ = common.point_with_defaults(program, given, opts.quiet or opts.machine)
    return program, start


def _show_sweep(runs: list, opts: DescendOptions) -> None:
    """A sweep: one JSON document (streamed with --json, one line with --jsonl) or the
    comparison tables and their summary."""
    from ..render import descend as view
    from ..render.jsonout import emit, emit_stream

    if opts.json_out:
        emit_stream(view.sweep_document(runs, stream=True))
    elif opts.jsonl:
        emit(view.sweep_document(runs))
    else:
        console = common.stdout_console()
        for table in view.sweep_tables(runs, console.width):
            console.print(table)
        console.print(view.sweep_summary(runs))


def _show_run(run, opts: DescendOptions) -> None:
    """One run: its rows as JSON lines, as one streamed JSON document (memory: one row), or
    as tables (every row with --all, as plain lines past STREAM_FROM) and the summary."""
    import itertools
    import sys

    from ..render import descend as view
    from ..render.jsonout import emit, emit_line, emit_stream

    if opts.jsonl:
        for block in view.jsonl_iterations(run):
            emit_line(block)
        emit(view.jsonl_summary(run))
        return
    if opts.json_out:
        emit_stream(*view.streamed_document(run))
        return
    console = common.stdout_console()
    if opts.show_all and len(run) > view.STREAM_FROM:  # bounded memory: plain lines as built
        lines = view.streamed_table(run)
        while chunk := list(itertools.islice(lines, 4096)):
            sys.stdout.write("\n".join(chunk) + "\n")
        sys.stdout.flush()
    else:
        for table in view.descend_tables(run, opts.show_all, console.width):
            console.print(table)
    for line in view.summary_lines(run):
        console.print(line)


def _exit_unless_converged(run) -> None:
    """Exit 130 for an interrupted run, 1 with its message for any other status but converged."""
    import sys

    if run.status == "interrupted":
        sys.stderr.write("interrupted\n")
        sys.stderr.flush()
        raise typer.Exit(int(ExitCode.INTERRUPTED))
    if run.status != "converged":
        sys.stderr.write(f"error: {run.result.message}\n")
        sys.stderr.flush()
        raise typer.Exit(1)
