"""`backprop graph`'s options, parsed: the picture's format and what --output's extension means."""

from __future__ import annotations

import os
from dataclasses import dataclass

from ...errors import InputError, OutputError
from .. import common, options
from . import validate

FORMATS = ("tree", "dot", "mermaid")
#: what --output's extension means: a text written as is …
TEXT_SUFFIXES = {".dot": "dot", ".gv": "dot", ".mmd": "mermaid", ".mermaid": "mermaid", ".txt": "tree"}
#: … or a picture rendered by Graphviz's `dot` from the DOT source
RENDERED_SUFFIXES = (".svg", ".png", ".pdf")


@dataclass(frozen=True)
class GraphOptions:
    """`backprop graph`."""

    expr: str | None
    at: dict[str, float]
    of: str | None
    format: str  # tree, dot or mermaid: --format, else from --output's extension, else tree
    output: str | None
    output_kind: str | None  # what --output's extension means (:func:`output_kind`)
    json_out: bool
    quiet: bool

    @property
    def through_dot(self) -> bool:
        """--output is a picture (.svg, .png, .pdf) that Graphviz renders."""
        return self.output_kind in ("svg", "png", "pdf")

    @classmethod
    def parse(cls, *, expr, at, of, fmt, output, json_out, quiet) -> GraphOptions:
        chosen = None if fmt is None else options.choice("--format", fmt).value
        kind = output_kind(output) if output is not None else None
        if output is not None and common.unwritable(output):
            raise OutputError(common.unwritable(output))  # type: ignore[arg-type]  # not None: tested
        source_kind = "dot" if kind in ("svg", "png", "pdf") else kind
        if kind is not None and chosen is not None:
            validate(
                chosen == source_kind,
                f"--format {chosen} does not match --output '{output}' (the extension means {source_kind})",
            )
        return cls(expr, options.parse_at(at), of, chosen or source_kind or "tree", output, kind, json_out, quiet)


def output_kind(path: str) -> str:
    """'dot' / 'mermaid' / 'tree' (text written as is) or 'svg' / 'png' / 'pdf' (through dot)."""
    suffix = os.path.splitext(path)[1].lower()
    if suffix in TEXT_SUFFIXES:
        return TEXT_SUFFIXES[suffix]
    if suffix in RENDERED_SUFFIXES:
        return suffix[1:]
    known = ", ".join(list(TEXT_SUFFIXES) + list(RENDERED_SUFFIXES))
    raise InputError(f"--output '{path}': unknown file type '{suffix or '(none)'}'; use one of {known}")
