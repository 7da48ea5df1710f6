"""`backprop descend`: gradient descent with a trace, optimizers and learning-rate sweeps."""

from __future__ import annotations

from typing import List, Optional

import typer

from .. import interrupt
from ..errors import ExitCode
from . import common, help_text
from . import descend_data as dd

LESSON_LOSS = "(x - 1)^2 + 0.001"
DEFAULT_MAX_ITER = 10_000
LESSON_X0 = 0.2


def _etas(text: str | None, optimizer: str) -> list[float]:
    from ..engines.descend import eta_values
    from ..engines.optimizers import OPTIMIZERS

    if text is None:
        return [OPTIMIZERS[optimizer].default_eta]
    pieces = text.split(":") if ":" in text else text.split(",")
    for piece in pieces[:2] if ":" in text else pieces:  # a range's COUNT is checked below
        if piece.strip():
            common.parse_number(piece, f"--eta {text}")
    try:
        etas = eta_values(text)
    except ValueError as exc:
        msg = str(exc)
        if "could not convert" in msg:
            msg = f"'{text}' is not a number, a list a,b,c or a range START:STOP:COUNT"
        common.validate(False, f"--eta {msg}")
    for eta in etas:
        common.validate(eta == eta and abs(eta) != float("inf"), f"--eta {text}: every η must be a finite number")
        common.validate(eta > 0, f"--eta {text}: every η must be greater than 0 (got {eta:g})")
    return etas


HYPER_FLAGS = {"beta": "--momentum", "beta1": "--beta1", "beta2": "--beta2", "rho": "--rho", "epsilon": "--epsilon"}


def hyperparameters(optimizer: str, given: dict[str, str | None]) -> dict[str, float]:
    """The optimizer's hyperparameters from their option texts (None: not given), checked:
    each must apply to the optimizer; ε > 0, the others in [0, 1). Also used by --data."""
    from ..engines.optimizers import HYPERPARAMETERS

    hyper = {}
    for key, text in given.items():
        if text is None:
            continue
        flag = HYPER_FLAGS[key]
        common.validate(key in HYPERPARAMETERS[optimizer], f"{flag} does not apply to --optimizer {optimizer}")
        value = common.parse_number(text, flag)
        if key == "epsilon":
            common.validate(value > 0, f"--epsilon {text}: must be greater than 0")
        else:
            common.validate(0 <= value < 1, f"{flag} {text}: must be in [0, 1)")
        hyper[key] = value
    return hyper


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
            "--eta a,b,c or START:STOP:COUNT runs a learning-rate sweep (runs vectorised with "
            "numpy) and prints one comparison table; a sweep exits 0 once every run is classified.",
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
        at: Optional[List[str]] = common.at_option(),
        of: Optional[str] = common.of_option(),
        optimizer: str = typer.Option("sgd", "--optimizer", help="sgd, momentum, nesterov, adagrad, rmsprop, adam or newton."),
        momentum: Optional[str] = typer.Option(None, "--momentum", help="β for momentum and nesterov (default 0.9)."),
        beta1: Optional[str] = typer.Option(None, "--beta1", help="Adam's β1 (default 0.9)."),
        beta2: Optional[str] = typer.Option(None, "--beta2", help="Adam's β2 (default 0.999)."),
        rho: Optional[str] = typer.Option(None, "--rho", help="RMSProp's ρ (default 0.9)."),
        epsilon: Optional[str] = typer.Option(None, "--epsilon", help="ε for adagrad, rmsprop, adam (default 1e-8)."),
        tol: str = common.tol_option("every |∂loss/∂v| < TOL"),
        until_loss: Optional[str] = typer.Option(None, "--until-loss", help="Also converged as soon as the loss < L."),
        max_iter: Optional[int] = common.max_iter_option(
            None, "steps", " (default 10 000; with --data --epochs N, what N epochs need)"
        ),
        show_all: bool = typer.Option(False, "--all", help="Show every iteration (default: first and last rows)."),
        json_out: bool = common.json_option(),
        jsonl: bool = common.jsonl_option(),
        quiet: bool = common.quiet_option(),
        plot: Optional[str] = common.plot_option("the run (or sweep)"),
        data: Optional[str] = typer.Option(None, "--data", help=dd.DATA_HELP),
        column: Optional[List[str]] = typer.Option(None, "--column", help=dd.COLUMN_HELP),
        reduce: Optional[str] = typer.Option(None, "--reduce", help=dd.REDUCE_HELP, show_default=False),
        batch_size: Optional[int] = typer.Option(None, "--batch-size", help=dd.BATCH_HELP, show_default=False),
        epochs: Optional[int] = typer.Option(None, "--epochs", help=dd.EPOCHS_HELP, show_default=False),
        shuffle: Optional[bool] = typer.Option(
            None, "--shuffle/--no-shuffle", help=dd.SHUFFLE_HELP, show_default=False
        ),
        seed: Optional[int] = typer.Option(None, "--seed", help=dd.SEED_HELP, show_default=False),
        log: Optional[str] = typer.Option(None, "--log", help=dd.LOG_HELP, show_default=False),
    ) -> None:
        from ..render.descend import DESCEND_SCHEMA, SWEEP_SCHEMA

        machine = json_out or jsonl
        if data is not None:  # fitting to a data set: commands/descend_data.py, engines/train.py
            with common.boundary(machine, DESCEND_SCHEMA):
                dd.run_data_command(
                    expr=expr, eta=eta, x0=x0, at=at, of=of, optimizer=optimizer,
                    hyper_text={"beta": momentum, "beta1": beta1, "beta2": beta2, "rho": rho, "epsilon": epsilon},
                    tol=tol, until_loss=until_loss, max_iter=max_iter, show_all=show_all, json_out=json_out,
                    jsonl=jsonl, quiet=quiet, plot=plot, data=data, column=column,
                    reduce="mean" if reduce is None else reduce, batch_size=batch_size, epochs=epochs,
                    shuffle=True if shuffle is None else shuffle, seed=0 if seed is None else seed,
                    log="epoch" if log is None else log,
                )  # fmt: skip
            return
        schema = SWEEP_SCHEMA if eta is not None and ("," in eta or ":" in eta) else DESCEND_SCHEMA
        with common.boundary(machine, schema):
            _no_data_options(
                column=column, reduce=reduce, batch_size=batch_size, epochs=epochs,
                shuffle=shuffle, seed=seed, log=log,
            )  # fmt: skip
            run_command(
                expr, eta, x0, at, of, optimizer, momentum, beta1, beta2, rho, epsilon, tol, until_loss,
                DEFAULT_MAX_ITER if max_iter is None else max_iter, show_all, json_out, jsonl, quiet, plot,
            )  # fmt: skip


def _no_data_options(**given) -> None:
    """Without --data the data options would be silently ignored: refuse them (exit 2). Each
    is None unless given (their defaults are applied in the --data path)."""
    flag = {"shuffle": "--shuffle/--no-shuffle"}
    flags = [
        flag.get(name, f"--{name.replace('_', '-')}")
        for name, value in given.items()
        if value not in (None, [])
    ]
    common.validate(not flags, f"{', '.join(flags)}: only with --data FILE (there is no data set to fit)")


def run_command(expr, eta, x0, at, of, optimizer, momentum, beta1, beta2, rho, epsilon, tol, until_loss,
                max_iter, show_all, json_out, jsonl, quiet, plot) -> None:  # fmt: skip
    import itertools
    import sys

    from ..engines.optimizers import OPTIMIZERS

    machine = json_out or jsonl
    common.validate_machine_output(json_out, jsonl)
    common.validate(
        optimizer in OPTIMIZERS, f"--optimizer '{optimizer}': use one of {', '.join(OPTIMIZERS)}"
    )
    etas = _etas(eta, optimizer)
    is_sweep = eta is not None and ("," in eta or ":" in eta)
    tol_value = common.validate_run_options(tol, max_iter)
    until = common.parse_number(until_loss, "--until-loss") if until_loss is not None else None
    hyper = hyperparameters(
        optimizer, {"beta": momentum, "beta1": beta1, "beta2": beta2, "rho": rho, "epsilon": epsilon}
    )
    common.validate(not (x0 is not None and at), "give the start with --x0 or with --at, not both")
    plotter = None
    if plot is not None:
        module = common.plot_module(plot)
        plotter = module.plot_sweep if is_sweep else module.plot_descend

    from .. import compile as compile_program

    text = common.read_program_text(expr, LESSON_LOSS)
    program = compile_program(text, output=of)
    common.validate(bool(program.variables), "the loss has no variables: there is nothing to descend on")
    if x0 is not None:
        common.validate(
            len(program.variables) == 1,
            f"--x0 needs a function of exactly one variable; this one has {len(program.variables)} "
            f"({', '.join(program.variables)}): use --at NAME=VALUE",
        )
        start = {program.variables[0]: common.parse_number(x0, "--x0")}
    else:
        given_at = common.parse_at(at)
        if expr is None and not at:
            given_at = {"x": LESSON_X0}
        start, _ = common.point_with_defaults(program, given_at, quiet or machine)

    from ..engines.descend import descend as run_descend
    from ..engines.descend import sweep

    show_progress = common.wants_progress(machine, quiet, max_iter)
    with common.progress_bar(show_progress, max_iter, "descending") as tick, interrupt.deferred():
        if is_sweep:
            runs = sweep(
                program, start, optimizer, etas,
                tol=tol_value, until_loss=until, max_iter=max_iter, hyper=hyper, progress=tick,
            )  # fmt: skip
        else:
            run = run_descend(
                program, start, optimizer, etas[0],
                tol=tol_value, until_loss=until, max_iter=max_iter, hyper=hyper, progress=tick,
            )  # fmt: skip

    from ..render import descend as view
    from ..render.jsonout import emit, emit_line, emit_stream

    # --json streams its rows (memory: one row); only a plot holds the whole document
    if is_sweep:
        if json_out:
            emit_stream(view.sweep_document(runs, stream=True))
        elif jsonl:
            emit(view.sweep_document(runs))  # --jsonl: the sweep is one line
        else:
            console = common.stdout_console()
            for table in view.sweep_tables(runs, console.width):
                console.print(table)
            console.print(view.sweep_summary(runs))
        if plotter is not None:
            plotter(view.sweep_document(runs), plot)
        return

    if jsonl:
        for block in view.jsonl_iterations(run):
            emit_line(block)
        emit(view.jsonl_summary(run))
    elif json_out:
        doc, tail = view.streamed_document(run)
        emit_stream(doc, tail)
    else:
        console = common.stdout_console()
        if show_all and len(run) > view.STREAM_FROM:  # bounded memory: plain lines as built
            lines = view.streamed_table(run)
            while chunk := list(itertools.islice(lines, 4096)):
                sys.stdout.write("\n".join(chunk) + "\n")
            sys.stdout.flush()
        else:
            for table in view.descend_tables(run, show_all, console.width):
                console.print(table)
        for line in view.summary_lines(run):
            console.print(line)
    if plotter is not None:
        plotter(view.descend_document(run), plot)
    if run.status == "interrupted":
        sys.stderr.write("interrupted\n")
        sys.stderr.flush()
        raise typer.Exit(int(ExitCode.INTERRUPTED))
    if run.status != "converged":
        sys.stderr.write(f"error: {run.result.message}\n")
        sys.stderr.flush()
        raise typer.Exit(1)
