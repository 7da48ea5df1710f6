"""`backprop check`: declarations, one :class:`~.options.check.CheckOptions`, and one call
to the check engine and its renderers."""

from __future__ import annotations

from typing import TYPE_CHECKING, List, Optional

import typer

from . import common, help_text, options
from .grad import EXPR_HELP

if TYPE_CHECKING:
    from .options.check import CheckOptions


def register(app: typer.Typer, command_cls) -> None:
    @app.command(
        "check",
        cls=command_cls,
        help=help_text.command_help(
            "check",
            "Check the gradient three ways — reverse mode, forward mode and central finite "
            "differences — per variable. Exit 1 when they disagree.",
            "Tolerances: reverse vs forward relative error ≤ 1e-9; finite differences "
            "(step h = 1e-5·max(1, |v|)) relative error ≤ 1e-5 or absolute error ≤ 1e-6.",
        ),
    )
    def check(
        expr: Optional[str] = typer.Argument(None, help=EXPR_HELP, show_default=False),
        at: Optional[List[str]] = options.at_option(),
        of: Optional[str] = options.of_option(),
        json_out: bool = options.json_option(),
        quiet: bool = options.quiet_option(),
    ) -> None:
        from ..render.grad import CHECK_SCHEMA
        from .options.check import CheckOptions

        with common.boundary(json_out, CHECK_SCHEMA):
            run(CheckOptions.parse(expr=expr, at=at, of=of, json_out=json_out, quiet=quiet))


def run(opts: CheckOptions) -> None:
    """The three gradients side by side (a JSON document or a table); exit 1 naming each
    variable where they disagree."""
    from ..engines.check import check

    program, values, defaulted = common.load_point(opts.expr, opts.at, opts.of, opts.quiet or opts.json_out)
    report = check(program, values, defaulted)
    if opts.json_out:
        from ..render.grad import check_document
        from ..render.jsonout import emit

        emit(check_document(report))
    else:
        from ..render.grad import check_tables

        console = common.stdout_console()
        for table in check_tables(report, console.width):
            console.print(table)
    if not report.ok:
        from rich.markup import escape

        for row in report.rows:
            if not row.ok:
                common.stderr_console().print(
                    f"[red]disagree:[/red] {escape(row.variable)}: {escape(row.cause or '')}"
                )
        raise typer.Exit(1)
