"""`backprop graph`: the computation graph annotated with values and partials, as a picture."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from ..errors import BackpropError, ExitCode, OutputError
from . import common, help_text, options
from .grad import EXPR_HELP

if TYPE_CHECKING:
    from .options.graph import GraphOptions

GRAPH_SCHEMA = "backprop.graph/1"
DOT_TIMEOUT = 60  # seconds for the Graphviz `dot` program


class GraphvizError(BackpropError):
    """The Graphviz `dot` program is missing or failed (exit 1: the input was fine)."""

    exit_code = ExitCode.FAILED
    kind = "graphviz_error"


def render_with_dot(source: str, fmt: str, timeout: float = DOT_TIMEOUT) -> bytes:
    """Run Graphviz `dot -T<fmt>` on the source (stdin, no shell); its output bytes."""
    import shutil
    import subprocess

    exe = shutil.which("dot")
    if exe is None:
        raise GraphvizError(
            f"writing .{fmt} needs the Graphviz 'dot' program, which is not installed; "
            "install Graphviz (e.g. apt-get install graphviz, brew install graphviz), "
            "or write the source with --output FILE.dot or --output FILE.mmd"
        )
    try:
        done = subprocess.run(
            [exe, f"-T{fmt}"],
            input=source.encode("utf-8"),
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise GraphvizError(f"Graphviz 'dot' did not finish within {timeout:g} s") from None
    except OSError as exc:
        raise GraphvizError(f"could not run Graphviz 'dot': {exc.strerror or exc}") from None
    if done.returncode != 0 or not done.stdout:
        detail = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GraphvizError(
            f"Graphviz 'dot -T{fmt}' failed (exit {done.returncode})"
            + (f": {detail[0]}" if detail else "")
        )
    return done.stdout


def write_file(path: str, data: bytes) -> None:
    try:
        with open(path, "wb") as fh:
            fh.write(data)
    except OSError as exc:
        raise OutputError(f"cannot write '{path}': {exc.strerror or exc}") from None


def tree_text(report, width: int = 100) -> str:
    import io

    from rich.console import Console

    from ..render.diagram import to_tree

    console = Console(width=width, file=io.StringIO(), color_system=None, highlight=False)
    console.print(to_tree(report))
    return console.file.getvalue()  # type: ignore[attr-defined]  # the StringIO given above


def graph_document(report, fmt: str, text: str | None, output: str | None) -> dict:
    from ..render.diagram import edges
    from ..render.grad import grad_document

    doc = grad_document(report)
    doc["schema"] = GRAPH_SCHEMA
    doc["edges"] = [{"from": i.id, "to": c.id, "local": p} for i, c, p in edges(report)]
    doc["format"] = fmt
    doc["source"] = text
    doc["file"] = output
    return doc


def register(app: typer.Typer, command_cls) -> None:
    @app.command(
        "graph",
        cls=command_cls,
        help=help_text.command_help(
            "graph",
            "Draw the computation graph: every node with its value and ∂output/∂node, every "
            "edge with its local partial — as a tree in the terminal, Graphviz DOT or a "
            "Mermaid flowchart.",
            "--output FILE writes the picture; the file type comes from the extension: "
            ".dot/.gv (Graphviz source), .mmd (Mermaid), .txt (the tree), or .svg/.png/.pdf "
            "(rendered by the Graphviz 'dot' program, which must be installed). In the tree a "
            "node used twice (fan-out) is drawn once and then referenced as '↑ name (see above)'.",
        ),
    )
    def graph(
        expr: str | None = typer.Argument(None, help=EXPR_HELP, show_default=False),
        at: list[str] | None = options.at_option(),
        of: str | None = options.of_option(),
        fmt: str | None = typer.Option(
            None, "--format", "-f", help="tree (default), dot or mermaid.", show_default=False
        ),
        output: str | None = typer.Option(
            None,
            "--output",
            "-o",
            help="Write to FILE (.dot .gv .mmd .txt .svg .png .pdf).",
            show_default=False,
        ),
        json_out: bool = options.json_option(),
        quiet: bool = options.quiet_option(),
    ) -> None:
        from .options.graph import GraphOptions

        with common.boundary(json_out, GRAPH_SCHEMA):
            run(GraphOptions.parse(
                expr=expr, at=at, of=of, fmt=fmt, output=output, json_out=json_out, quiet=quiet
            ))  # fmt: skip


def run(opts: GraphOptions) -> None:
    """The graph as a tree, DOT or Mermaid: on stdout, into --output (rendered by Graphviz
    for .svg/.png/.pdf), or in a JSON document with the nodes and edges."""
    from ..engines.gradient import gradient_report

    program, values, defaulted = common.load_point(opts.expr, opts.at, opts.of, opts.quiet or opts.json_out)
    report = gradient_report(program, values, defaulted)
    text = _source(report, opts.format, opts.output is not None or opts.json_out)
    if opts.output is not None:
        _write(opts, text)
    if opts.json_out:
        from ..render.jsonout import emit

        emit(graph_document(report, opts.format, text, opts.output))
    elif opts.output is None:
        _print(report, text)


def _source(report, chosen: str, needed: bool) -> str | None:
    """The text of the picture in format ``chosen``; the tree's only when ``needed`` (a file
    or JSON: the terminal gets Rich's tree drawn directly)."""
    from ..render import diagram

    if chosen == "dot":
        return diagram.to_dot(report)
    if chosen == "mermaid":
        return diagram.to_mermaid(report)
    return tree_text(report) if needed else None


def _write(opts: GraphOptions, text: str | None) -> None:
    """--output: the source as is, or rendered by Graphviz; "wrote …" on stderr."""
    assert opts.output is not None and opts.output_kind is not None and text is not None
    data = render_with_dot(text, opts.output_kind) if opts.through_dot else text.encode("utf-8")
    write_file(opts.output, data)
    if not (opts.quiet or opts.json_out):
        from rich.markup import escape

        common.stderr_console().print(f"wrote {escape(opts.output)} ({len(data)} bytes)")


def _print(report, text: str | None) -> None:
    """The picture on stdout: the source text, or the tree drawn by Rich."""
    if text is not None:
        import sys

        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        from ..render import diagram

        common.stdout_console().print(diagram.to_tree(report))
