"""`backprop descend`'s options, parsed, with and without --data: read by its two runs,
commands/descend.py and commands/descend_data.py (which do not import each other)."""

from __future__ import annotations

from dataclasses import dataclass

from .. import options
from . import Choice, validate

#: the optimizer hyperparameters and their options
HYPER_FLAGS = {
    "beta": "--momentum", "beta1": "--beta1", "beta2": "--beta2", "rho": "--rho",
    "epsilon": "--epsilon",
}  # fmt: skip


@dataclass(frozen=True)
class FitOptions:
    """descend --data FILE and the options that apply only with it (defaults filled in)."""

    path: str
    columns: dict[str, str]  # --column VARIABLE=COLUMN
    reduce: Choice
    batch_size: int | None  # None: the whole data set
    epochs: int | None  # None: no epoch budget
    shuffle: bool
    seed: int
    log: Choice

    @classmethod
    def parse(cls, path, column, reduce, batch_size, epochs, shuffle, seed, log) -> FitOptions:
        """--data's options, defaults filled in: --reduce mean, --log epoch, --shuffle, seed 0."""
        from ...data import parse_columns

        reduced = options.choice("--reduce", "mean" if reduce is None else reduce)
        logged = options.choice("--log", "epoch" if log is None else log)
        validate(batch_size is None or batch_size >= 1, f"--batch-size {batch_size}: must be at least 1")
        validate(epochs is None or epochs >= 1, f"--epochs {epochs}: must be at least 1")
        seed = 0 if seed is None else seed
        validate(seed >= 0, f"--seed {seed}: must be ≥ 0")
        return cls(
            path=path, columns=parse_columns(column), reduce=reduced, batch_size=batch_size,
            epochs=epochs, shuffle=True if shuffle is None else shuffle, seed=seed, log=logged,
        )  # fmt: skip


@dataclass(frozen=True)
class DescendOptions:
    """`backprop descend`, with or without --data."""

    expr: str | None
    etas: tuple[float, ...]  # one η; several for a sweep
    sweep: bool
    x0: float | None
    at: dict[str, float]
    of: str | None
    optimizer: Choice
    hyper: dict[str, float]  # the hyperparameters given (the others take their defaults)
    tol: float
    until_loss: float | None
    max_iter: int | None  # None only with --data: derived from --epochs (or the default)
    show_all: bool
    json_out: bool
    jsonl: bool
    quiet: bool
    plot: str | None
    fit: FitOptions | None  # with --data
    step: bool  # --step: on a terminal, after the run, every iteration node by node

    @property
    def machine(self) -> bool:
        """--json or --jsonl: no warnings, no progress, no notes."""
        return self.json_out or self.jsonl

    @classmethod
    def parse(
        cls, *, expr, eta, x0, at, of, optimizer, hyper: dict[str, str | None], tol, until_loss,
        max_iter, show_all, json_out, jsonl, quiet, plot, data, column, reduce, batch_size,
        epochs, shuffle, seed, log, step=False,
    ) -> DescendOptions:  # fmt: skip
        from ...engines.descend import DEFAULT_MAX_ITER
        from ...engines.optimizers import OPTIMIZERS

        if data is None:
            refuse_data_options(
                column=column, reduce=reduce, batch_size=batch_size, epochs=epochs,
                shuffle=shuffle, seed=seed, log=log,
            )  # fmt: skip
        options.parse_machine_output(json_out, jsonl)
        chosen = options.choice("--optimizer", optimizer)
        if data is not None:
            etas = [OPTIMIZERS[chosen].default_eta if eta is None else fit_eta(eta)]
        else:
            etas = [OPTIMIZERS[chosen].default_eta] if eta is None else options.parse_etas(eta)
            max_iter = DEFAULT_MAX_ITER if max_iter is None else max_iter
        tol_value = options.parse_run_limits(tol, 1 if max_iter is None else max_iter)
        until = options.parse_optional(until_loss, "--until-loss")
        fit = None
        if data is not None:
            fit = FitOptions.parse(data, column, reduce, batch_size, epochs, shuffle, seed, log)
        hyperparameters = parse_hyperparameters(chosen, hyper)
        validate(not (x0 is not None and at), "give the start with --x0 or with --at, not both")
        sweep = data is None and options.is_sweep(eta)
        if step:
            check_step(expr, data is not None, json_out, jsonl, sweep)
        return cls(
            expr=expr, etas=tuple(etas), sweep=sweep,
            x0=options.parse_optional(x0, "--x0"), at=options.parse_at(at), of=of,
            optimizer=chosen, hyper=hyperparameters, tol=tol_value, until_loss=until,
            max_iter=max_iter, show_all=show_all, json_out=json_out, jsonl=jsonl, quiet=quiet,
            plot=plot, fit=fit, step=step,
        )  # fmt: skip


def check_step(expr: str | None, data: bool, json_out: bool, jsonl: bool, sweep: bool) -> None:
    """--step goes with one run on the loss, shown on a terminal (commands/stepping.py)."""
    from ..stepping import check

    given = {"--data": data, "--json": json_out, "--jsonl": jsonl, "a learning-rate sweep (--eta)": sweep}
    check(expr, given)


def fit_eta(text: str) -> float:
    """--eta with --data: one learning rate > 0 (a sweep would fit one model per η)."""
    validate(not options.is_sweep(text), "--eta: learning-rate sweeps are not available with --data")
    eta = options.parse_number(text, "--eta")
    validate(eta > 0, f"--eta {text}: must be greater than 0")
    return eta


def refuse_data_options(**given) -> None:
    """Without --data the data options would be silently ignored: refuse them (exit 2). Each
    is None unless given (their defaults are filled in with --data)."""
    flag = {"shuffle": "--shuffle/--no-shuffle"}
    flags = [
        flag.get(name, f"--{name.replace('_', '-')}")
        for name, value in given.items()
        if value not in (None, [])
    ]
    validate(not flags, f"{', '.join(flags)}: only with --data FILE (there is no data set to fit)")


def parse_hyperparameters(optimizer: str, given: dict[str, str | None]) -> dict[str, float]:
    """The optimizer's hyperparameters from their option texts (None: not given), checked:
    each must apply to the optimizer; ε > 0, the others in [0, 1)."""
    from ...engines.optimizers import HYPERPARAMETERS

    hyper = {}
    for key, text in given.items():
        if text is None:
            continue
        flag = HYPER_FLAGS[key]
        validate(key in HYPERPARAMETERS[optimizer], f"{flag} does not apply to --optimizer {optimizer}")
        value = options.parse_number(text, flag)
        if key == "epsilon":
            validate(value > 0, f"--epsilon {text}: must be greater than 0")
        else:
            validate(0 <= value < 1, f"{flag} {text}: must be in [0, 1)")
        hyper[key] = value
    return hyper
