"""`backprop solve`: declarations, one :class:`~.options.solve.SolveOptions`, and one call
to the solve engine and its renderers."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, List, Optional

import typer

from . import common, help_text, options

if TYPE_CHECKING:
    from .options.solve import SolveOptions

LESSON_TARGET = 60.0
LESSON_VARY = ("b",)

EXPR_HELP = (
    'The program, e.g. "(w*2+b)*(b+1)"; - reads stdin. Default: the lesson\'s graph '
    "x = 2*w + b; y = b + 1; z = x*y at w=3, b=4, target 60, varying b."
)


def is_lesson_graph(program) -> bool:
    """Whether *program* computes the lesson's z = (2w + b)(b + 1) at its output: the same
    graph up to the order of the operands of + and * and the names of intermediates
    (compared by :func:`backprop_cli.core.graph.canonical`, not by text)."""
    if not set(common.LESSON_AT) <= set(program.variables):
        return False
    from .. import compile as compile_program
    from ..core.graph import canonical

    lesson = compile_program(common.LESSON_GRAPH)
    want = canonical(lesson.graph, lesson.output)
    return canonical(program.graph, program.output, limit=2 * len(want or "")) == want


def lesson_note(
    from_lesson: dict[str, float], target: bool, gradient: str, varied: list[str], out: str
) -> str | None:
    """The one line on stderr for the lesson's graph: which of its starting values and
    target stand in for missing ones, and — when another rule is used — that the lesson's
    hand method is freeze (∂out/∂b held at its first value) and how to get it."""
    parts = [_lesson_values(from_lesson, target)]
    vary = list(LESSON_VARY)
    held = f"∂{out}/∂b held at its first value"
    if gradient != "freeze" and varied != vary:
        parts.append(f"the lesson's hand method varies b alone with {held}: use --vary b --gradient freeze")
    elif gradient != "freeze":
        parts.append(
            f"the lesson's hand method is --gradient freeze ({held}); this run recomputes it "
            "at every step (Newton)"
        )
    elif varied != vary:
        parts.append("the lesson varies b alone: use --vary b")
    if len(parts) == 1 and not (from_lesson or target):
        return None
    return "note: " + "; ".join(parts)


def _lesson_values(from_lesson: dict[str, float], target: bool) -> str:
    """The note's first part: the lesson's graph, and the lesson's values it stands in."""
    if not (from_lesson or target):
        return "this is the lesson's graph"
    said = []
    if from_lesson:
        said.append("starting at " + ", ".join(f"{k} = {v:g}" for k, v in from_lesson.items()))
    if target:
        said.append(f"target {LESSON_TARGET:g}")
    flags = [o for o, missing in (("--at", from_lesson), ("--target", target)) if missing]
    them = "them" if len(from_lesson) + bool(target) > 1 else "it"
    return "this is the lesson's graph: " + " with ".join(said) + f" (set {them} with {' and '.join(flags)})"


def register(app: typer.Typer, command_cls) -> None:
    @app.command(
        "solve",
        cls=command_cls,
        help=help_text.command_help(
            "solve",
            "Drive the output to --target by varying input variables, tracing every forward "
            "value and every backward partial: error = output − target, Δn = error/(∂out/∂n) for "
            "every variable and named node, then the update v ← v − Δv.",
            "Updates: one varied variable: v ← v − error/(∂out/∂v). Several: --split even (each "
            "of k absorbs error/k through its own partial) or --split gradient (least-norm step "
            "v ← v − error·g_v/Σg²). --gradient refresh recomputes the partials at every point "
            "(Newton's method); --gradient freeze reuses the first ones (the lesson by hand). "
            "Stops: converged (|error| < --tol), zero_gradient, domain_error, non_finite, "
            "diverged (|error| over 1e12 × the first, or growing 10 updates in a row by ≥ 10×, "
            "or the iterates running away), oscillating (a cycle of up to 8 points seen twice), "
            "max_iterations. The lesson's graph, however written ((w*2+b)*(b+1), (b+1)*(b+2*w), "
            "its statements in any order), takes the lesson's w = 3, b = 4 and target 60 for a "
            "missing --at value or --target, said in a note on stderr; any other program needs "
            "--target.",
        ),
    )
    def solve(
        expr: Optional[str] = typer.Argument(None, help=EXPR_HELP, show_default=False),
        target: Optional[str] = typer.Option(
            None,
            "--target",
            "-t",
            help="The value the output should reach (default 60 with the lesson's graph).",
        ),
        vary: Optional[List[str]] = typer.Option(
            None,
            "--vary",
            help="Input variable(s) to change; repeatable or comma-separated. Default: all of them.",
        ),
        at: Optional[List[str]] = options.at_option(),
        of: Optional[str] = options.of_option(),
        split: str = typer.Option(
            "even",
            "--split",
            help="How several varied variables share the error: even or gradient.",
        ),
        gradient: str = typer.Option(
            "refresh", "--gradient", help="refresh (Newton) or freeze (first partials reused)."
        ),
        tol: str = options.tol_option("|error| < TOL"),
        max_iter: int = options.max_iter_option(100, "updates"),
        json_out: bool = options.json_option(),
        jsonl: bool = options.jsonl_option(),
        quiet: bool = options.quiet_option(),
        plot: Optional[str] = options.plot_option(),
        step: bool = typer.Option(False, "--step", help=help_text.RUN_STEP_HELP),
    ) -> None:
        from ..render.solve import SOLVE_SCHEMA
        from .options.solve import SolveOptions

        with common.boundary(json_out or jsonl, SOLVE_SCHEMA):  # --jsonl: the error is one JSON line
            run(SolveOptions.parse(
                expr=expr, target=target, vary=vary, at=at, of=of, split=split, gradient=gradient,
                tol=tol, max_iter=max_iter, json_out=json_out, jsonl=jsonl, quiet=quiet, plot=plot,
                step=step,
            ))  # fmt: skip


def run(opts: SolveOptions) -> None:
    """Solve from the options' start, show every row (or stream them as JSON), draw the run
    with --plot, and exit 1 unless it converged."""
    from ..engines.gradient import output_symbol
    from ..engines.solve import iterate, make_run

    plot = common.plot_module(opts.plot) if opts.plot is not None else None  # before any work
    program, start, defaulted, varied, target = _setup(opts)
    symbol = output_symbol(program)
    records = iterate(
        program, start, target, varied, split=opts.split.value, gradient=opts.gradient.value,
        tol=opts.tol, max_iter=opts.max_iter,
    )  # fmt: skip
    setup = (program, start, target, varied, opts.split.value, opts.gradient.value, opts.tol, opts.max_iter)
    if opts.json_out and plot is None:  # rows written as they come, none kept
        from ..render.solve import emit_streaming

        # the setup only: a run with no rows and, deliberately, no result yet
        result = emit_streaming(make_run(*setup, (), None), records, defaulted, symbol)  # type: ignore[arg-type]
        _exit_unless_converged(result)
        return
    rows, result = _collect(records, opts)
    run = make_run(*setup, rows, result)
    if opts.step and rows:
        from . import stepping

        if not stepping.solve(run, program, symbol):
            return  # q: stopped where it was said, exit 0
    _show(run, opts, defaulted, symbol)
    if plot is not None:
        from ..render.solve import solve_document

        plot.plot_solve(solve_document(run, defaulted, symbol), opts.plot, program)
    _exit_unless_converged(result)


def _setup(opts: SolveOptions):
    """The program, the start (the lesson's values stand in for missing ones on the lesson's
    graph, said in a note), the missing values started at 1.0, the varied variables and the
    target."""
    from .. import compile as compile_program
    from ..engines.gradient import output_symbol
    from ..engines.solve import check_vary

    program = compile_program(common.read_program_text(opts.expr, common.LESSON_GRAPH), output=opts.of)
    lesson = opts.expr is None or is_lesson_graph(program)
    options.validate(
        lesson or opts.target is not None, "--target is required: the value the output should reach"
    )
    # the lesson's graph: its missing starting values and target are the lesson's
    from_lesson = {k: v for k, v in common.LESSON_AT.items() if k not in opts.at}
    given = {**from_lesson, **opts.at} if lesson else opts.at
    names = list(LESSON_VARY) if opts.expr is None and not opts.vary else opts.vary
    start, defaulted = common.point_with_defaults(program, given, opts.quiet or opts.machine)
    varied = check_vary(program, names)
    if lesson and not (opts.quiet or opts.machine):
        _say_lesson_note(opts, from_lesson, list(varied), output_symbol(program))
    target = LESSON_TARGET if opts.target is None else opts.target
    return program, start, defaulted, varied, target


def _say_lesson_note(opts: SolveOptions, from_lesson: dict[str, float], varied: list[str], out: str) -> None:
    """The lesson's note on stderr (the bare command's lesson values are its documented
    default: not said)."""
    given_text = opts.expr is not None
    note = lesson_note(
        from_lesson if given_text else {}, given_text and opts.target is None, opts.gradient,
        varied, out,
    )  # fmt: skip
    if note:
        sys.stderr.write(note + "\n")
        sys.stderr.flush()


def _collect(records, opts: SolveOptions):
    """Every row kept (the table and the plot need them all; --jsonl writes each as it comes)
    and the result; a progress bar on a terminal."""
    from ..engines.solve import Iteration
    from ..render.jsonout import emit
    from ..render.solve import jsonl_iteration

    rows, result = [], None
    show_progress = common.wants_progress(opts.machine, opts.quiet, opts.max_iter)
    with common.progress_bar(show_progress, opts.max_iter, "solving") as tick:
        for rec in records:
            if not isinstance(rec, Iteration):
                result = rec
                continue
            rows.append(rec)
            if opts.jsonl:
                emit(jsonl_iteration(rec))
            elif tick is not None and rec.iteration % 256 == 0:
                tick(rec.iteration)
    return rows, result


def _show(run, opts: SolveOptions, defaulted, symbol: str) -> None:
    """The JSON summary line (--jsonl), the JSON document (--json), or the tables and summary."""
    from ..render import solve as view
    from ..render.jsonout import emit

    if opts.jsonl:
        emit(view.jsonl_summary(run, defaulted, symbol))
    elif opts.json_out:
        emit(view.solve_document(run, defaulted, symbol))
    else:
        console = common.stdout_console()
        if run.iterations:
            for table in view.solve_tables(run, symbol, console.width):
                console.print(table)
        view.print_summary(console, run, symbol, defaulted)


def _exit_unless_converged(result) -> None:
    """Exit 1 with the message on stderr unless the run converged."""
    if result.status != "converged":
        sys.stderr.write(f"error: {result.message}\n")
        sys.stderr.flush()
        raise typer.Exit(1)
