"""`backprop graph`: the computation graph annotated with values and partials, as a picture."""

from __future__ import annotations

import typer

from ..errors import BackpropError, ExitCode, InputError, OutputError
from . import common, help_text
from .grad import EXPR_HELP, _load

GRAPH_SCHEMA = "backprop.graph/1"
FORMATS = ("tree", "dot", "mermaid")
TEXT_SUFFIXES = {
    ".dot": "dot",
    ".gv": "dot",
    ".mmd": "mermaid",
    ".mermaid": "mermaid",
    ".txt": "tree",
}
RENDERED_SUFFIXES = (".svg", ".png", ".pdf")
DOT_TIMEOUT = 60  # seconds for the Graphviz `dot` program


class GraphvizError(BackpropError):
    """The Graphviz `dot` program is missing or failed (exit 1: the input was fine)."""

    exit_code = ExitCode.FAILED
    kind = "graphviz_error"


def output_kind(path: str) -> str:
    """'dot' / 'mermaid' / 'tree' (text written as is) or 'svg' / 'png' / 'pdf' (through dot)."""
    import os

    suffix = os.path.splitext(path)[1].lower()
    if suffix in TEXT_SUFFIXES:
        return TEXT_SUFFIXES[suffix]
    if suffix in RENDERED_SUFFIXES:
        return suffix[1:]
    known = ", ".join(list(TEXT_SUFFIXES) + list(RENDERED_SUFFIXES))
    raise InputError(
        f"--output '{path}': unknown file type '{suffix or '(none)'}'; use one of {known}"
    )


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
        at: list[str] | None = common.at_option(),
        of: str | None = common.of_option(),
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
        json_out: bool = common.json_option(),
        quiet: bool = common.quiet_option(),
    ) -> None:
        with common.boundary(json_out, GRAPH_SCHEMA):
            common.validate(
                fmt is None or fmt in FORMATS, f"--format '{fmt}': use one of {', '.join(FORMATS)}"
            )
            kind = output_kind(output) if output is not None else None
            if output is not None and common.unwritable(output):
                raise OutputError(common.unwritable(output))  # type: ignore[arg-type]  # not None: tested
            if kind is not None and fmt is not None:
                source_kind = "dot" if kind in ("svg", "png", "pdf") else kind
                common.validate(
                    fmt == source_kind,
                    f"--format {fmt} does not match --output '{output}' (the extension means {source_kind})",
                )
            program, values, defaulted = _load(expr, at, of, quiet or json_out)
            from ..engines.gradient import gradient_report
            from ..render import diagram

            report = gradient_report(program, values, defaulted)
            chosen = fmt or ("dot" if kind in ("svg", "png", "pdf") else kind) or "tree"
            text: str | None  # None only with neither --output nor --json
            if chosen == "dot":
                text = diagram.to_dot(report)
            elif chosen == "mermaid":
                text = diagram.to_mermaid(report)
            else:
                text = tree_text(report) if (output is not None or json_out) else None
            if output is not None:
                data = (
                    render_with_dot(text, kind)  # type: ignore[arg-type]  # with --output, a str
                    if kind in ("svg", "png", "pdf")
                    else text.encode("utf-8")  # type: ignore[union-attr]  # with --output, a str
                )
                write_file(output, data)
                if not (quiet or json_out):
                    from rich.markup import escape

                    common.stderr_console().print(f"wrote {escape(output)} ({len(data)} bytes)")
            if json_out:
                from ..render.jsonout import emit

                emit(graph_document(report, chosen, text, output))
                return
            if output is not None:
                return
            if text is not None:
                import sys

                sys.stdout.write(text)
                sys.stdout.flush()
            else:
                common.stdout_console().print(diagram.to_tree(report))
