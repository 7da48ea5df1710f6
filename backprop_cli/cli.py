"""The command line: wiring only. Each command lives in backprop_cli/commands/.

Exit codes: 0 success · 1 valid input but the computation failed (domain error,
overflow, diverged, oscillating, did not converge) · 2 usage or input error (bad flag,
bad expression, value over a documented limit) · 130 interrupted.
"""

from __future__ import annotations

import sys

import typer

from . import __version__
from .commands import help_text

try:  # Typer ≥ 0.26 vendors Click
    from typer import _click as click
except ImportError:  # pragma: no cover - older Typer
    import click


class Command(typer.core.TyperCommand):
    """Adds the hint for an expression that starts with '-' (it looks like an option)."""

    def parse_args(self, ctx, args):
        original = list(args)
        try:
            return super().parse_args(ctx, args)
        except click.exceptions.NoSuchOption as exc:
            name = exc.option_name or ""
            offending = next((a for a in original if name and a.startswith(name)), name)
            if offending.startswith("-") and not offending.startswith("--"):
                raise click.exceptions.UsageError(
                    f"'{offending}' looks like an expression that starts with '-'; "
                    f"put '--' before it: backprop {ctx.info_name} [OPTIONS] -- '{offending}'",
                    ctx,
                ) from None
            raise


app = typer.Typer(
    name="backprop",
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
        False, "--version", "-V", help="Print the version and exit.", callback=_version, is_eager=True
    ),
) -> None:
    """backprop: exact gradients of typed expressions, traced step by step."""


def _register() -> None:
    from .commands import grad

    grad.register(app, Command)
    for module in ("solve", "descend", "pictures", "data"):
        try:
            mod = __import__(f"backprop_cli.commands.{module}", fromlist=["register"])
        except ModuleNotFoundError as exc:  # a command not built yet
            if exc.name != f"backprop_cli.commands.{module}":
                raise
            continue
        mod.register(app, Command)


_register()


def main() -> None:
    """Console-script entry point: a traceback only with BACKPROP_DEBUG=1."""
    from .commands.common import debug_enabled, quiet_broken_pipe

    try:
        app(prog_name="backprop")
    except BrokenPipeError:
        quiet_broken_pipe()
        sys.exit(0)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)
    except SystemExit:
        raise
    except Exception as exc:  # an unanticipated bug: one line, not a traceback
        if debug_enabled():
            raise
        sys.stderr.write(
            f"internal error: {type(exc).__name__}: {exc}\n"
            "This is a bug in backprop; rerun with BACKPROP_DEBUG=1 for the traceback.\n"
        )
        sys.exit(1)
