"""`backprop grad` and `backprop check`: declarations plus one call each."""

from __future__ import annotations

from typing import List, Optional

import typer

from . import common, help_text

EXPR_HELP = "The program, e.g. \"x = 2*w + b; y = b + 1; z = x*y\"; - reads stdin. Default: the lesson's graph."


def _load(expr, at, of, quiet):
    from .. import compile as compile_program

    text = common.read_program_text(expr, common.LESSON_GRAPH)
    given = common.parse_at(at)
    if expr is None and not at:
        given = dict(common.LESSON_AT)
    program = compile_program(text, output=of)
    values, defaulted = common.point_with_defaults(program, given, quiet)
    return program, values, defaulted


DATA_HELP = (
    "A data set (CSV with a header row, .npz, or .npy with named fields): columns named like "
    "variables feed them sample by sample; the objective is the --reduce of the output over the samples."
)
COLUMN_HELP = "With --data: feed VARIABLE from a differently named column, VARIABLE=COLUMN; repeatable."
PER_SAMPLE_HELP = "With --data: every sample's output and partials (JSON includes them by itself up to 100 rows)."


def _grad_data(expr, at, of, data, column, reduce, per_sample, json_out, quiet) -> None:
    """`grad --data`: the gradient of the mean (or sum) over the samples, w.r.t. the parameters."""
    from .. import compile as compile_program
    from ..data import bind, load, parse_columns
    from ..engines.objective import data_gradient_report
    from ..render import data as render

    common.validate(reduce in ("mean", "sum"), f"--reduce '{reduce}': use mean or sum")
    program = compile_program(common.read_program_text(expr, common.LESSON_GRAPH), output=of)
    given = common.parse_at(at)
    common.check_names(program, given)
    dataset = load(data)
    binding = bind(program, dataset, parse_columns(column), given)
    note = render.unused_line(dataset, binding)
    if note is not None and not quiet:
        import sys

        sys.stderr.write(note + "\n")
    values, defaulted = common.point_with_defaults(program, given, quiet or json_out, binding.parameters)
    show = per_sample or (json_out and dataset.rows <= render.PER_SAMPLE_AUTO)
    report = data_gradient_report(program, dataset, binding, values, defaulted, reduce, show)
    if json_out:
        from ..render.grad import GRAD_SCHEMA
        from ..render.jsonout import emit

        emit(render.grad_document(report, GRAD_SCHEMA))
        return
    from rich.markup import escape

    console = common.stdout_console()
    if not quiet:
        console.print(escape(render.binding_line(dataset, binding, reduce, report.output)))
    for table in render.grad_tables(report):
        console.print(table)


def register(app: typer.Typer, command_cls) -> None:
    @app.command(
        "grad",
        cls=command_cls,
        help=help_text.command_help(
            "grad",
            "Evaluate a program and backpropagate: every node's value, its local partials "
            "and ∂output/∂node, then the gradient with respect to each input variable.",
        ),
    )
    def grad(
        expr: Optional[str] = typer.Argument(None, help=EXPR_HELP, show_default=False),
        at: Optional[List[str]] = common.at_option(),
        of: Optional[str] = common.of_option(),
        mode: str = typer.Option("reverse", "--mode", help="reverse (one backward sweep) or forward (dual numbers, one pass per variable)."),
        explain: bool = typer.Option(False, "--explain", help="Write the chain rule out with numbers."),
        nudge: Optional[str] = typer.Option(None, "--nudge", help="Nudge every variable and named node by D: predicted vs actual output."),
        data: Optional[str] = typer.Option(None, "--data", help=DATA_HELP),
        column: Optional[List[str]] = typer.Option(None, "--column", help=COLUMN_HELP),
        reduce: str = typer.Option("mean", "--reduce", help="With --data: mean or sum of the output over the samples."),
        per_sample: bool = typer.Option(False, "--per-sample", help=PER_SAMPLE_HELP),
        json_out: bool = common.json_option(),
        quiet: bool = common.quiet_option(),
    ) -> None:
        from ..render.grad import GRAD_SCHEMA

        if data is not None:
            with common.boundary(json_out, GRAD_SCHEMA):
                common.validate(mode == "reverse", "--mode forward is not available with --data")
                common.validate(not explain and nudge is None, "--explain and --nudge are not available with --data")
                _grad_data(expr, at, of, data, column, reduce, per_sample, json_out, quiet)
            return
        with common.boundary(json_out, GRAD_SCHEMA):
            common.validate(mode in ("reverse", "forward"), f"--mode '{mode}': use reverse or forward")
            delta = common.parse_number(nudge, "--nudge") if nudge is not None else None
            if delta is not None:
                common.validate(delta != 0, "--nudge must not be 0")
            program, values, defaulted = _load(expr, at, of, quiet or json_out)
            from ..engines.gradient import gradient_report, output_symbol

            report = gradient_report(program, values, defaulted, mode, delta)
            if json_out:
                from ..render.grad import grad_document
                from ..render.jsonout import emit

                emit(grad_document(report))
                return
            from ..render.grad import explain_lines, grad_tables, nudge_tables

            console = common.stdout_console()
            symbol = output_symbol(program)
            for table in grad_tables(report, symbol, console.width):
                console.print(table)
            if explain:
                from rich.markup import escape

                console.print("[bold]chain rule[/bold]")
                for line in explain_lines(report, symbol):
                    console.print("  " + escape(line))
            if report.nudges is not None:
                for table in nudge_tables(report, symbol, console.width):
                    console.print(table)

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
        at: Optional[List[str]] = common.at_option(),
        of: Optional[str] = common.of_option(),
        json_out: bool = common.json_option(),
        quiet: bool = common.quiet_option(),
    ) -> None:
        from ..render.grad import CHECK_SCHEMA

        with common.boundary(json_out, CHECK_SCHEMA):
            program, values, defaulted = _load(expr, at, of, quiet or json_out)
            from ..engines.check import check as run_check

            report = run_check(program, values, defaulted)
            if json_out:
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
