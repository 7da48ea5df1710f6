"""The command line: wiring only. Each command lives in backprop_cli/commands/.

Exit codes: 0 success · 1 valid input but the computation failed (domain error,
overflow, diverged, oscillating, did not converge) · 2 usage or input error (bad flag,
bad expression, value over a documented limit) · 130 interrupted.

Manners every command gets from :class:`Command` (cli.md): usage errors detected by
Click itself (unknown option, missing or ill-typed option value, extra argument) exit 2
with the message on stderr, control characters escaped, and — when ``--json`` or
``--jsonl`` was given before ``--`` — one strict JSON document ``{"schema":
"backprop.<command>/1", "status": "usage_error", "message": ..., "error": {...}}`` on
stdout; an expression that starts with '-' gets the hint to put '--' before it; Ctrl-C
exits 130 with one line on stderr; a closed stdout ends quietly; an unanticipated bug
prints one line (a traceback only with --debug or BACKPROP_DEBUG=1).
"""

from __future__ import annotations

import os
import signal
import sys


def _interrupted_while_starting(signum, frame):  # pragma: no cover - timing dependent
    sys.stderr.write("interrupted\n")
    os._exit(130)


# Ctrl-C while the imports below run (about 0.2 s) would print a traceback; nothing has been
# printed yet, so leave at once with 130. The normal handler is back at the end of this module.
try:
    _previous_sigint = signal.signal(signal.SIGINT, _interrupted_while_starting)
except ValueError:  # imported outside the main thread: leave signals alone
    _previous_sigint = None

import typer  # noqa: E402

from . import __version__  # noqa: E402
from .commands import help_text  # noqa: E402

try:  # Typer ≥ 0.26 vendors Click
    from typer import _click as click
except ImportError:  # pragma: no cover - older Typer
    import click  # type: ignore[no-redef]  # the same API, unvendored


def _wants_json(args: list[str]) -> bool:
    """--json or --jsonl among the options (before a '--')."""
    for a in args:
        if a == "--":
            return False
        if a in ("--json", "--jsonl") or a.startswith(("--json=", "--jsonl=")):
            return True
    return False


def _dash_hint(exc, ctx, original: list[str]):
    """An unknown short option that is really an expression starting with '-' (``-x^2``)."""
    name = getattr(exc, "option_name", None) or ""
    if not name.startswith("-") or name.startswith("--"):
        return None
    if "--" in original:
        original = original[: original.index("--")]
    letters = name[1:]
    offending = next(
        (a for a in original if a.startswith("-") and not a.startswith("--") and letters in a[1:]),
        name,
    )
    from .errors import escape_controls

    shown = escape_controls(offending).replace("'", "'\\''")
    return click.exceptions.UsageError(
        f"'{escape_controls(offending)}' looks like an expression that starts with '-'; "
        f"put '--' before it: backprop {ctx.info_name} [OPTIONS] -- '{shown}'",
        ctx,
    )


def _extra_hint(exc, ctx, original: list[str]):
    """Extra arguments a newcomer gives by mistake: ``--at w=3 b=4``, options after ``--``."""
    if not exc.format_message().startswith("Got unexpected extra argument"):
        return None
    from .errors import escape_controls

    if "--" in original:
        after = original[original.index("--") + 1 :]
        opts = [a for a in after[1:] if a.startswith("--")]
        if opts:
            return click.exceptions.UsageError(
                f"'{escape_controls(opts[0])}' comes after '--', where everything is read as "
                f"the expression; put the options before '--': backprop {ctx.info_name} "
                f"{escape_controls(' '.join(after[1:]))} -- '{escape_controls(after[0])}'",
                ctx,
            )
    extra = exc.format_message().rpartition(" (")[2].rpartition(")")[0]
    pairs = [a for a in original if "=" in a and not a.startswith("-") and a in extra.split()]
    options = [a for a in original if a.startswith("--")]
    for option in ("--at", "--param", "--column"):
        if pairs and option in options:
            return click.exceptions.UsageError(
                f"'{escape_controls(pairs[0])}' is not an option: separate NAME=VALUE pairs with "
                f"commas and no spaces ({option} w=3,b=4) or repeat the option "
                f"({option} w=3 {option} b=4)",
                ctx,
            )
    return None


def _usage_error(exc, ctx, original: list[str]):
    """The error to show for a Click usage error: hinted, control characters escaped.

    With --json/--jsonl the same error also goes to stdout as one JSON document.
    """
    from .errors import escape_controls

    new = None
    if isinstance(exc, click.exceptions.NoSuchOption):
        new = _dash_hint(exc, ctx, original)
    elif type(exc) is click.exceptions.UsageError:
        new = _extra_hint(exc, ctx, original)
    message = (new or exc).format_message()
    clean = escape_controls(message)
    if new is None and clean != message:
        new = click.exceptions.UsageError(clean, ctx)
    if _wants_json(original) and type(exc).__name__ != "NoArgsIsHelpError":
        from .render.jsonout import emit

        schema = f"backprop.{ctx.info_name}/1"
        emit({
            "schema": schema,
            "status": "usage_error",
            "message": clean,
            "error": {"kind": "usage_error", "message": clean},
        })  # fmt: skip
    return new or exc


#: what each option's value is, as its help shows it (Typer would show every one as <str>:
#: numbers are read as text and checked by the package, which takes 1e-3 but not nan)
METAVARS = {
    "--at": "NAME=VALUE", "--param": "NAME=VALUE", "--column": "VAR=COLUMN",
    "--of": "NAME", "--vary": "NAME[,NAME]", "--optimizer": "NAME",
    "--data": "FILE", "--plot": "FILE", "--output": "FILE",
    "--eta": "ETA", "--x0": "X", "--tol": "TOL", "--until-loss": "LOSS", "--target": "VALUE",
    "--momentum": "BETA", "--beta1": "BETA1", "--beta2": "BETA2", "--rho": "RHO",
    "--epsilon": "EPS", "--noise": "SIGMA", "--nudge": "H",
    "--max-iter": "N", "--batch-size": "N", "--epochs": "N", "--n": "N", "--seed": "N",
    "--format": "FORMAT", "--gradient": "RULE", "--log": "epoch|step", "--mode": "MODE",
    "--reduce": "mean|sum", "--split": "even|gradient",
}  # fmt: skip
#: the positional arguments' (not their upper-cased names: Typer shows the type for those)
ARGUMENT_METAVARS = {"expr": "PROGRAM", "kind": "MODEL"}


class _QuietHelp:
    """Help whose reader goes away (``backprop grad --help | head -c 10``) ends quietly with
    0, as every other output does: Typer prints help through a Rich console of its own, whose
    answer to a closed pipe is exit 1."""

    def format_help(self, ctx, formatter):
        try:
            return super().format_help(ctx, formatter)  # type: ignore[misc]  # a Click command's
        except SystemExit as exc:  # rich.Console.on_broken_pipe, raised handling the closed pipe
            if not isinstance(exc.__context__, BrokenPipeError):
                raise
            from .commands.common import quiet_broken_pipe

            quiet_broken_pipe()
            raise typer.Exit(0) from None


class Command(_QuietHelp, typer.core.TyperCommand):
    """Every backprop command: usage errors, the '-' hint, Ctrl-C, closed pipes, bugs."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for param in self.params:
            opts = getattr(param, "opts", ())
            if param.metavar is None and opts and opts[0] in METAVARS:
                param.metavar = METAVARS[opts[0]]
            elif param.metavar is None and param.name in ARGUMENT_METAVARS:
                param.metavar = ARGUMENT_METAVARS[param.name]

    def parse_args(self, ctx, args):
        original = list(args)
        ctx.meta["backprop.args"] = original
        try:
            return super().parse_args(ctx, args)
        except click.exceptions.ClickException as exc:
            raise _usage_error(exc, ctx, original) from None

    def invoke(self, ctx):
        from .commands.common import debug_enabled, quiet_broken_pipe

        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, SystemExit):
            raise
        except click.exceptions.ClickException as exc:  # typer.BadParameter from a command
            raise _usage_error(exc, ctx, ctx.meta.get("backprop.args", [])) from None
        except KeyboardInterrupt:
            if debug_enabled():
                raise
            sys.stderr.write("interrupted\n")
            raise typer.Exit(130) from None
        except BrokenPipeError:
            quiet_broken_pipe()
            raise typer.Exit(0) from None
        except Exception as exc:  # an unanticipated bug: one line, not a traceback
            if debug_enabled():
                raise
            from .commands.common import report_stdout_failure, stdout_failure

            failure = stdout_failure(exc)  # stdout full or closed: an output error, exit 1
            if failure is not None:
                raise typer.Exit(report_stdout_failure(failure)) from None
            from .errors import escape_controls

            sys.stderr.write(
                escape_controls(f"internal error: {type(exc).__name__}: {exc}")
                + "\nThis is a bug in backprop; rerun with --debug for the traceback.\n"
            )
            raise typer.Exit(1) from None


class Group(_QuietHelp, typer.core.TyperGroup):
    """The root: its own usage errors (unknown command or option) escaped like the commands'."""

    def parse_args(self, ctx, args):
        try:
            return super().parse_args(ctx, args)
        except click.exceptions.ClickException as exc:
            raise _usage_error(exc, ctx, []) from None

    def resolve_command(self, ctx, args):
        try:
            return super().resolve_command(ctx, args)
        except click.exceptions.ClickException as exc:
            raise _usage_error(exc, ctx, []) from None


app = typer.Typer(
    name="backprop",
    cls=Group,
    help=help_text.MAIN,
    epilog=help_text.EPILOG,
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"backprop {__version__}\n")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(
        False,
        "--version",
        "-V",
        help="Print the version and exit.",
        callback=_version,
        is_eager=True,
    ),
    debug: bool = typer.Option(
        False, "--debug", help="Show a Python traceback for errors (same as BACKPROP_DEBUG=1)."
    ),
) -> None:
    """backprop: exact gradients of typed expressions, traced step by step."""
    from .commands import common

    common.set_debug(debug)
    if debug:  # --debug shows numpy's floating-point warnings again (see main)
        import warnings

        warnings.filterwarnings("default", category=RuntimeWarning)


#: the command modules (backprop_cli/commands/), in the order of the help
COMMANDS = (
    "grad",
    "check",
    "solve",
    "descend",
    "pictures",  # graph
    "data",
    "quiz",
)


def _register() -> None:
    """Every command, in the order of the help. A command module that fails to import is an
    error, not a missing command: a broken install must not look like a smaller tool."""
    import importlib

    for name in COMMANDS:
        importlib.import_module(f".commands.{name}", __package__).register(app, Command)


_register()

if _previous_sigint is not None or signal.getsignal(signal.SIGINT) is _interrupted_while_starting:
    signal.signal(signal.SIGINT, _previous_sigint or signal.default_int_handler)


def recover_argv(args: list[str]) -> list[str]:
    """Arguments decoded with ``surrogateescape`` (a C or POSIX locale without Python's UTF-8
    mode: ``σ`` arrives as ``'\\udccf\\udc83'``) decoded again as the UTF-8 they are; an
    argument that is not valid UTF-8 either is left as it came (its errors escape it)."""
    out = []
    for arg in args:
        if not arg.isascii() and any("\udc80" <= ch <= "\udcff" for ch in arg):
            try:
                arg = os.fsencode(arg).decode("utf-8")
            except UnicodeError:
                pass
        out.append(arg)
    return out


def prepare_streams() -> None:
    """The standard streams as every command expects them. A stdout closed at start
    (``>&-``) fails when written to (EBADF, an output error), not with an AttributeError; a
    closed stderr takes the messages nobody can read. A stream that cannot encode every
    character (errors.output_charset) writes what it cannot as errors.fit_charset spells it
    (``∂`` as ``d``) instead of raising UnicodeEncodeError — for the writes that do not fit
    their text themselves (the consoles and the JSON writer do)."""
    import codecs

    from .commands.common import ClosedStream
    from .errors import fit_errors, output_charset

    if sys.stdout is None:
        sys.stdout = ClosedStream()
    if sys.stderr is None:  # messages nobody can read: not a reason to fail the run
        sys.stderr = open(os.devnull, "w", encoding="utf-8")
    codecs.register_error("backprop.fit", fit_errors)
    for stream in (sys.stdout, sys.stderr):
        if output_charset(stream) is not None and hasattr(stream, "reconfigure"):
            try:
                stream.reconfigure(errors="backprop.fit")
            except (OSError, ValueError):
                pass


def main() -> None:
    """Console-script entry point: a traceback only with --debug or BACKPROP_DEBUG=1."""
    import warnings

    from .commands.common import (
        debug_enabled,
        quiet_broken_pipe,
        report_stdout_failure,
        stdout_failure,
    )

    prepare_streams()
    if not debug_enabled():
        # numpy's (and matplotlib's) floating-point warnings name their source files; the
        # conditions they report are checked and reported by backprop itself (--debug
        # shows them again)
        warnings.filterwarnings("ignore", category=RuntimeWarning)
    code: int | str | None = 0
    try:
        app(args=recover_argv(sys.argv[1:]), prog_name="backprop")
    except SystemExit as exc:
        code = exc.code
    except BrokenPipeError:
        quiet_broken_pipe()
    except KeyboardInterrupt:
        if debug_enabled():
            raise
        sys.stderr.write("interrupted\n")
        code = 130
    except Exception as exc:  # an unanticipated bug outside a command: one line
        if debug_enabled():
            raise
        failure = stdout_failure(exc)
        if failure is not None:  # stdout full or closed (help, --version): exit 1
            code = report_stdout_failure(failure)
        else:
            from .errors import escape_controls

            sys.stderr.write(
                escape_controls(f"internal error: {type(exc).__name__}: {exc}")
                + "\nThis is a bug in backprop; rerun with --debug for the traceback.\n"
            )
            code = 1
    try:  # output still buffered for a reader that has gone away (`| head -1`)
        sys.stdout.flush()
    except (BrokenPipeError, ValueError):
        quiet_broken_pipe()
    except OSError as exc:  # the last of it did not fit (`> /dev/full`)
        failure = stdout_failure(exc)
        if failure is None:
            raise
        code = report_stdout_failure(failure) if code in (0, None) else code
    sys.exit(code)
