"""`backprop solve`: declarations plus one call to the solve engine and its renderers."""

from __future__ import annotations

import sys
from typing import List, Optional

import typer

from . import common, help_text

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
    parts = []
    if from_lesson or target:
        said = []
        if from_lesson:
            said.append("starting at " + ", ".join(f"{k} = {v:g}" for k, v in from_lesson.items()))
        if target:
            said.append(f"target {LESSON_TARGET:g}")
        options = [o for o, missing in (("--at", from_lesson), ("--target", target)) if missing]
        them = "them" if len(from_lesson) + bool(target) > 1 else "it"
        parts.append(
            "this is the lesson's graph: "
            + " with ".join(said)
            + f" (set {them} with {' and '.join(options)})"
        )
    else:
        parts.append("this is the lesson's graph")
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


def _vary_names(items: list[str] | None) -> list[str]:
    """``--vary b --vary w`` or ``--vary b,w``."""
    names: list[str] = []
    for item in items or []:
        for part in item.split(","):
            part = part.strip()
            common.validate(bool(part), f"--vary '{item}': empty name; write --vary NAME[,NAME...]")
            names.append(part)
    return names


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
        at: Optional[List[str]] = common.at_option(),
        of: Optional[str] = common.of_option(),
        split: str = typer.Option(
            "even",
            "--split",
            help="How several varied variables share the error: even or gradient.",
        ),
        gradient: str = typer.Option(
            "refresh", "--gradient", help="refresh (Newton) or freeze (first partials reused)."
        ),
        tol: str = common.tol_option("|error| < TOL"),
        max_iter: int = common.max_iter_option(100, "updates"),
        json_out: bool = common.json_option(),
        jsonl: bool = common.jsonl_option(),
        quiet: bool = common.quiet_option(),
        plot: Optional[str] = common.plot_option(),
    ) -> None:
        from ..render.solve import SOLVE_SCHEMA

        machine = json_out or jsonl
        with common.boundary(machine, SOLVE_SCHEMA):  # --jsonl: the error is one JSON line
            common.validate_machine_output(json_out, jsonl)
            common.validate(
                split in ("even", "gradient"), f"--split '{split}': use even or gradient"
            )
            common.validate(
                gradient in ("refresh", "freeze"), f"--gradient '{gradient}': use refresh or freeze"
            )
            tol_value = common.validate_run_options(tol, max_iter)
            target_value = None if target is None else common.parse_number(target, "--target")
            given = common.parse_at(at)
            names = _vary_names(vary)
            plot_solve = common.plot_module(plot).plot_solve if plot is not None else None

            from .. import compile as compile_program
            from ..engines.gradient import output_symbol
            from ..engines.solve import Iteration, check_vary, iterate, make_run

            text = common.read_program_text(expr, common.LESSON_GRAPH)
            program = compile_program(text, output=of)
            lesson = expr is None or is_lesson_graph(program)
            common.validate(
                lesson or target_value is not None,
                "--target is required: the value the output should reach",
            )
            # the lesson's graph: its missing starting values and target are the lesson's
            from_lesson = {k: v for k, v in common.LESSON_AT.items() if k not in given}
            if lesson:
                given = {**from_lesson, **given}
            if expr is None and not names:
                names = list(LESSON_VARY)
            start, defaulted = common.point_with_defaults(program, given, quiet or machine)
            varied = check_vary(program, names)
            symbol = output_symbol(program)
            if lesson and not (quiet or machine):
                if expr is None:  # the bare command: the lesson's values are its documented default
                    from_lesson = {}
                note = lesson_note(
                    from_lesson, expr is not None and target_value is None, gradient,
                    list(varied), symbol,
                )  # fmt: skip
                if note:
                    sys.stderr.write(note + "\n")
                    sys.stderr.flush()
            if target_value is None:
                target_value = LESSON_TARGET

            records = iterate(
                program, start, target_value, varied,
                split=split, gradient=gradient, tol=tol_value, max_iter=max_iter,
            )  # fmt: skip
            setup = (program, start, target_value, varied, split, gradient, tol_value, max_iter)
            if json_out and plot_solve is None:  # rows written as they come, none kept
                from ..render.solve import emit_streaming

                # the setup only: a run with no rows and, deliberately, no result yet
                res = emit_streaming(make_run(*setup, (), None), records, defaulted, symbol)  # type: ignore[arg-type]
                _fail_unless_converged(res)
                return
            # rows kept: the table (and the plot) need them all; --jsonl writes them as they come
            rows, res = [], None
            if jsonl:
                from ..render.jsonout import emit
                from ..render.solve import jsonl_iteration
            show_progress = common.wants_progress(machine, quiet, max_iter)
            with common.progress_bar(show_progress, max_iter, "solving") as tick:
                for rec in records:
                    if isinstance(rec, Iteration):
                        rows.append(rec)
                        if jsonl:
                            emit(jsonl_iteration(rec))
                        elif tick is not None and rec.iteration % 256 == 0:
                            tick(rec.iteration)
                    else:
                        res = rec
            run = make_run(*setup, rows, res)
            if jsonl:
                from ..render.solve import jsonl_summary

                emit(jsonl_summary(run, defaulted, symbol))
            elif json_out:
                from ..render.jsonout import emit
                from ..render.solve import solve_document

                emit(solve_document(run, defaulted, symbol))
            else:
                from ..render.solve import print_summary, solve_tables

                console = common.stdout_console()
                if rows:
                    for table in solve_tables(run, symbol, console.width):
                        console.print(table)
                print_summary(console, run, symbol, defaulted)
            if plot_solve is not None:
                from ..render.solve import solve_document

                plot_solve(solve_document(run, defaulted, symbol), plot)
            _fail_unless_converged(res)


def _fail_unless_converged(res) -> None:
    """Exit 1 with the message on stderr unless the run converged."""
    if res.status != "converged":
        import sys

        sys.stderr.write(f"error: {res.message}\n")
        sys.stderr.flush()
        raise typer.Exit(1)
