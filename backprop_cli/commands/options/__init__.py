"""Every command's options: option text becomes checked values here, with the same words in
every command (cli.md §16), and a command's Typer callback gathers them into one frozen
dataclass, ``<Command>Options.parse(...)`` in ``options/<command>.py``, before any work.
Engines never parse option text.

This module holds what the commands share:

* the declarations of the shared options (one help each);
* numbers (:func:`parse_number`), ``NAME=VALUE`` lists (:func:`parse_at`), learning rates
  (:func:`parse_etas`), the run limits (:func:`parse_run_limits`);
* choices as ``str`` Enums (:func:`choice`), built from the names the engines define, so a
  choice is spelled once.

It is imported at start-up (the declarations); a command's own module only when the command
runs, since creating a dataclass compiles its generated methods.
"""

from __future__ import annotations

import importlib
import math
import re
from enum import StrEnum
from functools import cache
from typing import Self

import typer

from ...errors import InputError, LimitError
from ...limits import MAX_ITER, MAX_SWEEP


def validate(condition: bool, message: str) -> None:
    """An input error (exit 2) saying ``message`` unless ``condition`` holds."""
    if not condition:
        raise InputError(message)


# -- numbers and NAME=VALUE lists -------------------------------------------------------------
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def parse_number(text: str, what: str) -> float:
    """A finite float from option text, or an InputError saying what is wrong.

    Plain ASCII decimals only (``3``, ``-0.5``, ``.5``, ``1e-3``): Python's ``float`` would
    also take ``1_0``, non-ASCII digits, ``nan`` and ``inf``, which the language refuses.
    """
    t = text.strip()
    if t.lower().lstrip("+-") in ("nan", "inf", "infinity"):
        raise InputError(f"{what}: '{text}' is not a finite number")
    if not _DECIMAL.fullmatch(t):
        raise InputError(f"{what}: '{text}' is not a number (write it like 3, -0.5, .5 or 1e-3)")
    value = float(t)
    if not math.isfinite(value):
        raise InputError(f"{what}: '{text}' is not a finite number (beyond ±1.8e308)")
    return value


def parse_optional(text: str | None, what: str) -> float | None:
    """:func:`parse_number` of an option that may be absent (None stays None)."""
    return None if text is None else parse_number(text, what)


def parse_at(items: list[str] | None, option: str = "--at") -> dict[str, float]:
    """``--at w=3,b=4`` (repeatable) -> {"w": 3.0, "b": 4.0}."""
    values: dict[str, float] = {}
    for item in items or []:
        for part in item.split(","):
            name, raw = _assignment(part.strip(), item, option)
            if name in values:
                raise InputError(f"{option} {name}: '{name}' is given twice; give each name once")
            values[name] = parse_number(raw, f"{option} {name}")
    return values


def _assignment(part: str, item: str, option: str) -> tuple[str, str]:
    """One ``NAME=VALUE`` of an --at list: the name and the value's text."""
    if not part:
        raise InputError(f"{option} '{item}': empty assignment; write NAME=VALUE[,NAME=VALUE...]")
    if "=" not in part:
        raise InputError(f"{option} '{part}': expected NAME=VALUE (e.g. {option} w=3,b=4)")
    name, _, raw = part.partition("=")
    name = name.strip()
    if not name:
        raise InputError(f"{option} '{part}': the name before '=' is missing")
    if not raw.strip():
        raise InputError(f"{option} '{part}': the value after '=' is missing")
    return name, raw


def parse_names(items: list[str] | None, option: str) -> list[str]:
    """``--vary b --vary w`` or ``--vary b,w`` -> ["b", "w"] (checked against the program later)."""
    names: list[str] = []
    for item in items or []:
        for part in item.split(","):
            part = part.strip()
            validate(bool(part), f"{option} '{item}': empty name; write {option} NAME[,NAME...]")
            names.append(part)
    return names


# -- learning rates ---------------------------------------------------------------------------
def is_sweep(eta: str | None) -> bool:
    """Whether --eta names several learning rates (a list a,b,c or a range START:STOP:COUNT)."""
    return eta is not None and ("," in eta or ":" in eta)


def parse_etas(text: str) -> list[float]:
    """--eta: ``0.1`` · ``0.1,0.2,0.4`` (a list) · ``0.01:1.0:50`` (START:STOP:COUNT, evenly
    spaced, both ends included); every η finite and > 0, at most MAX_SWEEP of them."""
    etas = _eta_range(text) if ":" in text else _eta_list(text)
    for eta in etas:
        validate(math.isfinite(eta), f"--eta {text}: every η must be a finite number")
        validate(eta > 0, f"--eta {text}: every η must be greater than 0 (got {eta:g})")
    return etas


def _eta_numbers(text: str, pieces: list[str]) -> list[float]:
    """The numbers of ``pieces`` (each checked as an option number), or an input error naming
    the whole --eta when one is empty."""
    numbers = [parse_number(piece, f"--eta {text}") if piece.strip() else None for piece in pieces]
    if None in numbers:
        raise InputError(
            f"--eta '{text}' is not a number, a list a,b,c or a range START:STOP:COUNT"
        )
    return numbers  # type: ignore[return-value]  # no None: checked above


def _eta_range(text: str) -> list[float]:
    parts = text.split(":")
    shown = text.strip()
    if len(parts) != 3:  # its numbers are checked first, then its shape
        for piece in parts[:2]:
            if piece.strip():
                parse_number(piece, f"--eta {text}")
        raise InputError(f"--eta '{shown}': a range is START:STOP:COUNT, e.g. 0.01:1.0:50")
    lo, hi = _eta_numbers(text, parts[:2])
    try:
        count = int(parts[2])
    except ValueError:
        raise InputError(
            f"--eta '{shown}': the COUNT of START:STOP:COUNT must be a whole number"
        ) from None
    validate(count >= 1, f"--eta '{shown}': the COUNT of START:STOP:COUNT must be at least 1")
    validate(count <= MAX_SWEEP, f"--eta '{shown}': a sweep runs at most {MAX_SWEEP} learning rates")
    if count == 1:
        return [lo]
    values = [lo + (hi - lo) * i / (count - 1) for i in range(count)]
    values[-1] = hi  # exactly the given end, not a rounding of it
    return values


def _eta_list(text: str) -> list[float]:
    pieces = text.split(",")
    for piece in pieces:
        if piece.strip():
            parse_number(piece, f"--eta {text}")
    validate(
        len(pieces) <= MAX_SWEEP,
        f"--eta a sweep runs at most {MAX_SWEEP} learning rates (got {len(pieces)})",
    )
    return _eta_numbers(text, pieces)


# -- choices: str Enums of the names the engines define -----------------------------------------
#: grad --mode and descend --data --log: the engines (gradient_report, train) take these as
#: literals and export no tuple of them yet, so they are spelled here
MODES = ("reverse", "forward")
LOGS = ("epoch", "step")

#: every choice option: its Enum's name and the tuple (module:attribute) that defines its
#: values. Engines are imported when a choice is first parsed, not at start-up.
CHOICE_OPTIONS: dict[str, tuple[str, str]] = {
    "--optimizer": ("Optimizer", "engines.optimizers:OPTIMIZERS"),
    "--split": ("Split", "engines.solve:SPLITS"),
    "--gradient": ("Gradient", "engines.solve:GRADIENTS"),
    "--reduce": ("Reduce", "engines.objective:REDUCTIONS"),
    "--mode": ("Mode", "commands.options:MODES"),
    "--log": ("Log", "commands.options:LOGS"),
    "--format": ("Format", "commands.options.graph:FORMATS"),
}


class Choice(StrEnum):
    """A value of a choice option: a ``str`` (engines take it as the name they define)."""

    @classmethod
    def parse(cls, text: str, option: str) -> Self:
        """The member named ``text``, or an input error listing the choices."""
        try:
            return cls(text)
        except ValueError:
            names = [member.value for member in cls]
            listed = " or ".join(names) if len(names) == 2 else "one of " + ", ".join(names)
            raise InputError(f"{option} '{text}': use {listed}") from None


@cache
def choices(option: str) -> type[Choice]:
    """The str Enum of a choice option (``--optimizer`` …), built from its defining tuple."""
    name, source = CHOICE_OPTIONS[option]
    module, _, attribute = source.partition(":")
    values = getattr(importlib.import_module(f"backprop_cli.{module}"), attribute)
    members = [(value.upper(), value) for value in values]
    return Choice(name, members)  # type: ignore[call-arg, return-value]  # Enum's functional API


def choice(option: str, text: str) -> Choice:
    """The value of a choice option, checked against its Enum."""
    return choices(option).parse(text, option)


# -- the run limits ---------------------------------------------------------------------------
MAX_ITER_TEXT = f"{MAX_ITER:_}".replace("_", " ")


def parse_machine_output(json_out: bool, jsonl: bool) -> None:
    """--json and --jsonl: at most one of them."""
    validate(not (json_out and jsonl), "--json and --jsonl cannot be used together")


def parse_run_limits(tol: str, max_iter: int) -> float:
    """--tol (finite, > 0; returned as a float) and --max-iter (1 to MAX_ITER: every row of a
    run is kept for its trace), with the same messages in every command."""
    tol_value = parse_number(tol, "--tol")
    validate(tol_value > 0, f"--tol {tol}: must be greater than 0")
    validate(max_iter >= 1, f"--max-iter {max_iter}: must be at least 1")
    if max_iter > MAX_ITER:
        raise LimitError(f"--max-iter {max_iter}: over the limit of {MAX_ITER_TEXT} iterations")
    return tol_value


# -- the shared declarations: one help each. Factories, so that every command gets its own
# typer.Option object.
AT_HELP = (
    "Values of the input variables: NAME=VALUE[,NAME=VALUE...]; repeatable. A missing one is 1."
)
OF_HELP = "Use this named node as the output (default: the statement nothing reads)."


def at_option():
    return typer.Option(None, "--at", help=AT_HELP)


def of_option():
    return typer.Option(None, "--of", help=OF_HELP)


def json_option():
    return typer.Option(False, "--json", help="One strict JSON document on stdout.")


def jsonl_option():
    return typer.Option(
        False,
        "--jsonl",
        help="One JSON object per iteration as it is written, then a summary line.",
    )


def quiet_option():
    return typer.Option(
        False, "--quiet", "-q", help="Only results and errors (no warnings, no progress)."
    )


def tol_option(criterion: str):
    """--tol: the tolerance (> 0) of the command's convergence test, named in ``criterion``."""
    return typer.Option("1e-5", "--tol", help=f"Tolerance > 0: converged when {criterion}.")


def max_iter_option(default: int | None, unit: str = "iterations", note: str = ""):
    """--max-iter; a None default means "derived" (the command says from what in ``note``)."""
    return typer.Option(
        default,
        "--max-iter",
        help=f"At most this many {unit}{note} (1 to {MAX_ITER_TEXT}).",
        show_default=default is not None,
    )


def plot_option(what: str = "the run"):
    return typer.Option(
        None, "--plot", help=f"Also draw {what} into FILE (.png, .svg or .pdf).", show_default=False
    )
