"""What every command shares: reading the program, parsing --at, validating numbers,
the consoles, and the one boundary where errors become messages and exit codes.
"""

from __future__ import annotations

import math
import os
import re
import sys
from contextlib import contextmanager
from typing import Iterator

import typer

from ..errors import BackpropError, ExitCode, InputError, LimitError
from ..limits import MAX_ITER, MAX_SOURCE_CHARS, MAX_STDIN_BYTES

LESSON_GRAPH = "x = 2*w + b; y = b + 1; z = x*y"
LESSON_AT = {"w": 3.0, "b": 4.0}


_DEBUG = False


def set_debug(on: bool) -> None:
    """The root's --debug: tracebacks instead of one-line errors (like BACKPROP_DEBUG=1)."""
    global _DEBUG
    _DEBUG = bool(on)


def debug_enabled() -> bool:
    return _DEBUG or os.environ.get("BACKPROP_DEBUG", "") not in ("", "0")


def stdout_console():
    from rich.console import Console

    class _StdoutConsole(Console):
        def on_broken_pipe(self) -> None:
            # Rich's default exits with code 1 ("the computation failed"); a reader that
            # went away (`| head -1`) ends quietly with 0, as on the --json/--jsonl paths
            self.quiet = True
            quiet_broken_pipe()
            raise BrokenPipeError

    return _StdoutConsole(highlight=False, soft_wrap=False)


def stderr_console():
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def warn(message: str, quiet: bool = False) -> None:
    """A warning on stderr (never on stdout); silenced by --quiet."""
    if quiet:
        return
    from rich.markup import escape

    stderr_console().print(f"[yellow]warning:[/yellow] {escape(message)}")


def read_program_text(expr: str | None, default: str) -> str:
    """The program: the argument, stdin for '-', or the lesson's default."""
    if expr is None:
        return default
    if expr == "-":
        data = sys.stdin.buffer.read(MAX_STDIN_BYTES + 1)
        if len(data) > MAX_STDIN_BYTES:
            raise LimitError(f"the program on stdin is over the limit of {MAX_STDIN_BYTES} bytes")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"stdin is not valid UTF-8 (byte {exc.start})") from None
    else:
        text = expr
    if len(text) > MAX_SOURCE_CHARS:
        raise LimitError(
            f"the program is {len(text)} characters long; the limit is {MAX_SOURCE_CHARS}"
        )
    return text


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


def parse_at(items: list[str] | None, option: str = "--at") -> dict[str, float]:
    """``--at w=3,b=4`` (repeatable) -> {"w": 3.0, "b": 4.0}."""
    values: dict[str, float] = {}
    for item in items or []:
        for part in item.split(","):
            part = part.strip()
            if not part:
                raise InputError(
                    f"{option} '{item}': empty assignment; write NAME=VALUE[,NAME=VALUE...]"
                )
            if "=" not in part:
                raise InputError(f"{option} '{part}': expected NAME=VALUE (e.g. {option} w=3,b=4)")
            name, _, raw = part.partition("=")
            name = name.strip()
            if not name:
                raise InputError(f"{option} '{part}': the name before '=' is missing")
            if not raw.strip():
                raise InputError(f"{option} '{part}': the value after '=' is missing")
            if name in values:
                raise InputError(f"{option} {name}: '{name}' is given twice; give each name once")
            values[name] = parse_number(raw, f"{option} {name}")
    return values


def check_names(program, values: dict[str, float], option: str = "--at") -> None:
    """Every name given must be an input variable of the program."""
    from ..core.program import suggest

    for name in values:
        if name not in program.variables:
            if name in program.named:
                raise InputError(
                    f"{option} {name}: '{name}' is computed by the program, not an input variable"
                )
            raise InputError(
                f"{option} {name}: '{name}' is not a variable of the program"
                + suggest(name, program.variables)
            )


def point_with_defaults(
    program, given: dict[str, float], quiet: bool = False, names=None
) -> tuple[dict, list[str]]:
    """Values for every variable (or only ``names``); missing ones start at 1.0 with a warning."""
    check_names(program, given)
    values, defaulted = {}, []
    for name in program.variables if names is None else names:
        if name in given:
            values[name] = given[name]
        else:
            values[name] = 1.0
            defaulted.append(name)
    if defaulted:
        names = ", ".join(defaulted)
        example = ",".join(f"{n}=VALUE" for n in defaulted)
        warn(f"no value for {names}; starting at 1.0 (set it with --at {example})", quiet)
    return values, defaulted


def validate(condition: bool, message: str) -> None:
    if not condition:
        raise InputError(message)


# -- the options several commands share (cli.md §16): one declaration, one help, one check.
# Factories, so that every command gets its own typer.Option object.

AT_HELP = (
    "Values of the input variables: NAME=VALUE[,NAME=VALUE...]; repeatable. A missing one is 1."
)
OF_HELP = "Use this named node as the output instead of the last statement."
MAX_ITER_TEXT = f"{MAX_ITER:_}".replace("_", " ")


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


def plot_module(path: str):
    """render.plot for ``--plot PATH``, checked before any work: plotting is installed and the
    file type is one it writes (.png, .svg, .pdf) — so a bad path fails before a run, not after."""
    try:
        from ..render import plot
    except ModuleNotFoundError as exc:
        if exc.name not in ("backprop_cli.render.plot", "matplotlib"):
            raise
        raise InputError(f"--plot {path}: plotting is not available in this installation") from None
    plot.plot_format(path)
    problem = unwritable(path)
    if problem:
        raise plot.OutputError(problem)
    return plot


def unwritable(path: str) -> str | None:
    """Why a file cannot be written at ``path`` (its folder is missing), checked before any
    work — or None. The same words as the error met when writing fails."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        return f"cannot write '{path}': No such file or directory"
    return None


def validate_machine_output(json_out: bool, jsonl: bool) -> None:
    validate(not (json_out and jsonl), "--json and --jsonl cannot be used together")


def validate_run_options(tol: str, max_iter: int) -> float:
    """--tol (finite, > 0; returned as a float) and --max-iter (1 to MAX_ITER: every row of a
    run is kept for its trace), with the same messages in every command."""
    tol_value = parse_number(tol, "--tol")
    validate(tol_value > 0, f"--tol {tol}: must be greater than 0")
    validate(max_iter >= 1, f"--max-iter {max_iter}: must be at least 1")
    if max_iter > MAX_ITER:
        raise LimitError(f"--max-iter {max_iter}: over the limit of {MAX_ITER_TEXT} iterations")
    return tol_value


def print_error(err: BackpropError) -> None:
    """The one-line message, the input line and its caret — on stderr, markup-free."""
    sys.stderr.write(err.render() + "\n")
    sys.stderr.flush()


@contextmanager
def boundary(json_mode: bool = False, schema: str | None = None) -> Iterator[None]:
    """Turn anticipated errors into a message and an exit code (cli.md §2, §3).

    With --json the error goes out as one strict JSON document on stdout as well.
    """
    from ..render import jsonout

    emitted = jsonout.EMITTED
    try:
        yield
    except BackpropError as err:
        if debug_enabled():
            raise
        if json_mode and not getattr(err, "json_document_closed", False):
            from ..render.jsonout import emit

            doc = {
                "schema": schema,
                "status": err.kind,
                "message": err.message,
                "error": err.to_json(),
            }
            emit(doc)
        print_error(err)
        raise typer.Exit(int(err.exit_code)) from None
    except KeyboardInterrupt:
        if debug_enabled():
            raise
        if json_mode and jsonout.EMITTED == emitted:
            # --json: the one document says so; --jsonl: lines already out stay complete
            message = "interrupted (Ctrl-C) before the run finished"
            error = {"kind": "interrupted", "message": message}
            jsonout.emit(
                {"schema": schema, "status": "interrupted", "message": message, "error": error}
            )
        sys.stderr.write("interrupted\n")
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
    except BrokenPipeError:
        quiet_broken_pipe()
        raise typer.Exit(0) from None


def quiet_broken_pipe() -> None:
    """stdout was closed (`| head -1`): stop writing, say nothing."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


PROGRESS_DELAY = 1.0  # seconds: a run that ends sooner never shows its progress bar


def wants_progress(machine: bool, quiet: bool, max_iter: int | None = None) -> bool:
    """Progress on stderr only when it is a terminal, never with --json/--jsonl/--quiet
    (cli.md §10); the bar itself appears only once a run has lasted PROGRESS_DELAY."""
    return not (machine or quiet) and sys.stderr.isatty()


def progress_bar(enabled: bool, total: int, label: str):
    """A transient rich.progress bar on stderr, as a context manager yielding ``tick(k)`` (or None)."""
    from contextlib import nullcontext

    if not enabled:
        return nullcontext(None)
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    import time

    class Bar:
        """Started by the first update after PROGRESS_DELAY seconds (short runs show none)."""

        def __enter__(self):
            self.p = None
            self.since = time.monotonic()
            return self.update

        def update(self, k: int) -> None:
            if self.p is None:
                if time.monotonic() - self.since < PROGRESS_DELAY:
                    return
                self.p = Progress(
                    TextColumn(label), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                    TimeElapsedColumn(), console=stderr_console(), transient=True,
                )  # fmt: skip
                self.p.__enter__()
                self.task = self.p.add_task(label, total=total)
            self.p.update(self.task, completed=k)

        def __exit__(self, *exc):
            if self.p is not None:
                return self.p.__exit__(*exc)
            return None

    return Bar()
