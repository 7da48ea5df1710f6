"""`backprop grad`: declarations, one :class:`~.options.grad.GradOptions`, and one call to
the gradient engine (or, with --data, to the data objective) and its renderers."""

from __future__ import annotations

from typing import TYPE_CHECKING, List, Optional

import typer

from . import common, help_text, options

if TYPE_CHECKING:
    from .options.grad import GradOptions

EXPR_HELP = "The program, e.g. \"x = 2*w + b; y = b + 1; z = x*y\"; - reads stdin. Default: the lesson's graph."
DATA_HELP = (
    "A data set (CSV with a header row, .npz, or .npy with named fields): columns named like "
    "variables feed them sample by sample; the objective is the --reduce of the output over the samples."
)
COLUMN_HELP = "With --data: feed VARIABLE from a differently named column, VARIABLE=COLUMN; repeatable."
PER_SAMPLE_HELP = "With --data: every sample's output and partials (JSON includes them by itself up to 100 rows)."


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
        at: Optional[List[str]] = options.at_option(),
        of: Optional[str] = options.of_option(),
        mode: str = typer.Option("reverse", "--mode", help="reverse (one backward sweep) or forward (dual numbers, one pass per variable)."),
        explain: bool = typer.Option(False, "--explain", help="Write the chain rule out with numbers."),
        nudge: Optional[str] = typer.Option(None, "--nudge", help="Nudge every variable and named node by D: predicted vs actual output."),
        data: Optional[str] = typer.Option(None, "--data", help=DATA_HELP),
        column: Optional[List[str]] = typer.Option(None, "--column", help=COLUMN_HELP),
        reduce: str = typer.Option("mean", "--reduce", help="With --data: mean or sum of the output over the samples."),
        per_sample: bool = typer.Option(False, "--per-sample", help=PER_SAMPLE_HELP),
        json_out: bool = options.json_option(),
        quiet: bool = options.quiet_option(),
        step: bool = typer.Option(False, "--step", help=help_text.STEP_HELP),
    ) -> None:
        from ..render.grad import GRAD_SCHEMA
        from .options.grad import GradOptions

        with common.boundary(json_out, GRAD_SCHEMA):
            opts = GradOptions.parse(
                expr=expr, at=at, of=of, mode=mode, explain=explain, nudge=nudge, data=data,
                column=column, reduce=reduce, per_sample=per_sample, json_out=json_out, quiet=quiet,
                step=step,
            )  # fmt: skip
            if opts.step:
                from . import stepping

                stepping.grad(opts)
            elif opts.data is None:
                run(opts)
            else:
                run_data(opts)


def run(opts: GradOptions) -> None:
    """Every node's value and partials and the gradient: one JSON document, or the tables
    (with --explain the chain rule written out, with --nudge predicted vs actual outputs)."""
    from ..engines.gradient import gradient_report, output_symbol

    program, values, defaulted = common.load_point(opts.expr, opts.at, opts.of, opts.quiet or opts.json_out)
    report = gradient_report(
        program, values, defaulted, opts.mode.value, opts.nudge, chain=opts.explain
    )
    if opts.json_out:
        from ..render.grad import emit_grad

        emit_grad(report)
        return
    from ..render.grad import explain_lines, grad_tables, nudge_tables

    console = common.stdout_console()
    symbol = output_symbol(program)
    for table in grad_tables(report, symbol, console.width):
        console.print(table)
    if opts.explain:
        from rich.markup import escape

        console.print("[bold]chain rule[/bold]")
        for line in explain_lines(report, symbol):
            console.print("  " + escape(line))
    if report.nudges is not None:
        for table in nudge_tables(report, symbol, console.width):
            console.print(table)


def run_data(opts: GradOptions) -> None:
    """`grad --data`: the gradient of the mean (or sum) over the samples, w.r.t. the parameters."""
    from .. import compile as compile_program
    from ..data import bind, load
    from ..engines.objective import data_gradient_report
    from ..render import data as render

    program = compile_program(common.read_program_text(opts.expr, common.LESSON_GRAPH), output=opts.of)
    common.check_names(program, opts.at)
    assert opts.data is not None and opts.reduce is not None  # with --data
    dataset = load(opts.data)
    binding = bind(program, dataset, opts.columns, opts.at)
    note = render.unused_line(dataset, binding)
    if note is not None and not opts.quiet:
        import sys

        sys.stderr.write(note + "\n")
    values, defaulted = common.point_with_defaults(
        program, opts.at, opts.quiet or opts.json_out, binding.parameters
    )
    show = opts.per_sample or (opts.json_out and dataset.rows <= render.PER_SAMPLE_AUTO)
    report = data_gradient_report(program, dataset, binding, values, defaulted, opts.reduce.value, show)
    if opts.json_out:
        from ..render.grad import GRAD_SCHEMA
        from ..render.jsonout import emit

        emit(render.grad_document(report, GRAD_SCHEMA))
        return
    from rich.markup import escape

    console = common.stdout_console()
    if not opts.quiet:
        console.print(escape(render.binding_line(dataset, binding, opts.reduce.value, report.output)))
    for table in render.grad_tables(report):
        console.print(table)
