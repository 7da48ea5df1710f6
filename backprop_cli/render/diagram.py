"""The annotated computation graph as a picture: Graphviz DOT, a Mermaid flowchart, a Rich tree.

Every node shows its name or subexpression, its value and ∂output/∂node; every edge
(input → consumer) its local partial ∂consumer/∂input. Constants are drawn small, without
an adjoint (nobody varies a literal), and their edges carry no partial. User text is
escaped for each target language. Every walk is a loop, never recursion.
"""

from __future__ import annotations

from ..engines.gradient import GradReport, NodeRecord
from .numbers import fmt

MAX_EXPR_CHARS = 48  # a subexpression longer than this is shortened in node labels
MAX_TREE_DEPTH = 16  # deeper levels of the terminal tree are elided (each level costs 4 columns)
ELIDED = "… deeper: --format dot"  # short enough to fit beside 16 levels of guides


# -- labels (plain text, escaped later for each format) ----------------------------------
def out_symbol(report: GradReport) -> str:
    """How formulas name the output: its assigned name, else 'f' (as `grad` does)."""
    node = _by_id(report)[report.output_id]
    if node.name is not None:
        return node.name
    names = {n.name for n in report.nodes if n.name is not None}
    return "f" if "f" not in names else "output"


def _by_id(report: GradReport) -> dict[int, NodeRecord]:
    return {n.id: n for n in report.nodes}


def _short(text: str) -> str:
    text = " ".join(text.split())  # a subexpression may span lines
    return text if len(text) <= MAX_EXPR_CHARS else text[: MAX_EXPR_CHARS - 1] + "…"


def _label(n: NodeRecord) -> str:
    return n.name if n.name is not None else _short(n.expr)


def _wrap(s: str) -> str:
    return s if s.replace("_", "a").isalnum() else f"({s})"


def _d(num: str, den: str) -> str:
    return f"∂{_wrap(num)}/∂{_wrap(den)}"


def _headline(n: NodeRecord) -> str:
    """'x = 2*w + b' for a named intermediate, 'w' for a variable, '2*w' otherwise."""
    if n.name is not None and n.op != "var" and n.expr != n.name:
        return f"{n.name} = {_short(n.expr)}"
    return _label(n)


def node_lines(n: NodeRecord, symbol: str) -> list[str]:
    """The lines of a node's label: what it is, its value, ∂output/∂node."""
    if n.op == "const":
        return [_label(n)]
    if n.op == "var":
        return [f"{n.name} = {fmt(n.value)}", f"{_d(symbol, n.name)} = {fmt(n.adjoint)}"]  # type: ignore[arg-type]  # var: named
    return [_headline(n), f"value {fmt(n.value)}", f"{_d(symbol, _label(n))} = {fmt(n.adjoint)}"]


def edge_label(consumer: NodeRecord, inp: NodeRecord, local: float) -> str:
    """The local partial ∂consumer/∂input; just the number when the names are long."""
    a, b = _label(consumer), _label(inp)
    if len(a) + len(b) <= 24:
        return f"{_d(a, b)} = {fmt(local)}"
    return fmt(local)


def edges(report: GradReport):
    """(input, consumer, local partial) for every edge, in evaluation order."""
    by = _by_id(report)
    for n in report.nodes:
        for j, p in zip(n.inputs, n.local):
            yield by[j], n, p


def title(report: GradReport) -> str:
    at = ", ".join(f"{k} = {fmt(v)}" for k, v in report.at.items())
    expr = " ".join(report.expression.split())
    if len(expr) > 120:
        expr = expr[:119] + "…"
    return f"{expr} at {at}" if at else expr


# -- Graphviz DOT --------------------------------------------------------------------------
def dot_escape(text: str) -> str:
    """Text for a double-quoted DOT string: backslash, quote and control characters escaped."""
    out = []
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ord(ch) < 32 or ord(ch) == 127:
            out.append(" ")
        else:
            out.append(ch)
    return "".join(out)


def _dot_label(lines: list[str]) -> str:
    return "\\n".join(dot_escape(line) for line in lines)


def to_dot(report: GradReport, symbol: str | None = None) -> str:
    """Graphviz source: inputs on the left, the output on the right."""
    symbol = symbol or out_symbol(report)
    out = [
        "digraph backprop {",
        "  rankdir=LR;",
        f'  label="{dot_escape(title(report))}";',
        "  labelloc=t;",
        '  fontname="Helvetica";',
        '  node [shape=box, style="rounded", fontname="Helvetica", fontsize=11];',
        '  edge [fontname="Helvetica", fontsize=10];',
    ]
    for n in report.nodes:
        attrs = [f'label="{_dot_label(node_lines(n, symbol))}"']
        if n.op == "const":
            attrs += ["shape=plaintext", "fontcolor=gray40"]
        elif n.op == "var":
            attrs += ["shape=ellipse"]
        if n.id == report.output_id:
            attrs += ['style="rounded,bold"']
        out.append(f"  n{n.id} [{', '.join(attrs)}];")
    for inp, consumer, p in edges(report):
        if inp.op == "const":
            out.append(f"  n{inp.id} -> n{consumer.id} [style=dashed, color=gray60];")
        else:
            out.append(
                f'  n{inp.id} -> n{consumer.id} [label="{dot_escape(edge_label(consumer, inp, p))}"];'
            )
    out.append("}")
    return "\n".join(out) + "\n"


# -- Mermaid -------------------------------------------------------------------------------
_MERMAID_ESCAPES = {c: f"#{ord(c)};" for c in '"#&<>[]{}|`;'}


def mermaid_escape(text: str) -> str:
    """Text for a quoted Mermaid label: quotes, brackets, HTML and entity characters as #NN; codes."""
    text = " ".join(text.split())
    return "".join(_MERMAID_ESCAPES.get(ch, " " if ord(ch) < 32 else ch) for ch in text)


def to_mermaid(report: GradReport, symbol: str | None = None) -> str:
    """A Mermaid flowchart (for Markdown): one node definition per line, then the edges."""
    symbol = symbol or out_symbol(report)
    out = ["flowchart LR"]
    for n in report.nodes:
        label = "<br/>".join(mermaid_escape(line) for line in node_lines(n, symbol))
        if n.op == "var":
            out.append(f'    n{n.id}(["{label}"])')
        else:
            out.append(f'    n{n.id}["{label}"]')
    for inp, consumer, p in edges(report):
        if inp.op == "const":
            out.append(f"    n{inp.id} -.-> n{consumer.id}")
        else:
            out.append(
                f'    n{inp.id} -->|"{mermaid_escape(edge_label(consumer, inp, p))}"| n{consumer.id}'
            )
    out.append("    classDef constant fill:none,stroke:none,color:#888")
    consts = [f"n{n.id}" for n in report.nodes if n.op == "const"]
    if consts:
        out.append(f"    class {','.join(consts)} constant")
    return "\n".join(out) + "\n"


# -- the terminal tree -----------------------------------------------------------------------
def tree_line(n: NodeRecord, symbol: str) -> str:
    if n.op == "const":
        return f"{_label(n)} (constant)"
    if n.op == "var":
        return f"{n.name} = {fmt(n.value)}   {_d(symbol, n.name)} = {fmt(n.adjoint)}"  # type: ignore[arg-type]  # var: named
    return f"{_headline(n)} = {fmt(n.value)}   {_d(symbol, _label(n))} = {fmt(n.adjoint)}"


def to_tree(report: GradReport, symbol: str | None = None, max_depth: int = MAX_TREE_DEPTH):
    """A Rich Tree from the output down to the inputs.

    A node reached a second time (fan-out: b feeds both x and y) is not drawn again but
    referenced: '↑ b (see above)'. Each child line ends with the local partial of the edge
    to its parent. Built with an explicit stack; levels below ``max_depth`` are elided.
    """
    from rich.text import Text
    from rich.tree import Tree

    symbol = symbol or out_symbol(report)
    by = _by_id(report)
    root_node = by[report.output_id]
    root = Tree(Text(tree_line(root_node, symbol)), guide_style="dim")
    shown = {root_node.id}
    # preorder walk with an explicit stack, so "see above" is true of the drawn order:
    # entries are (node, branch to draw it under, parent, local partial ∂parent/∂node, depth)
    stack = [
        (by[j], root, root_node, p, 1)
        for j, p in reversed(list(zip(root_node.inputs, root_node.local)))
    ]
    while stack:
        n, branch, parent, p, depth = stack.pop()
        via = "" if n.op == "const" else f"   via {_d(_label(parent), _label(n))} = {fmt(p)}"
        if n.id in shown:
            branch.add(Text(f"↑ {_label(n)} (see above){via}", style="italic"))
            continue
        shown.add(n.id)
        sub = branch.add(Text(tree_line(n, symbol) + via))
        if not n.inputs:
            continue
        if depth >= max_depth:
            sub.add(Text(ELIDED))
            continue
        stack.extend(
            (by[j], sub, n, q, depth + 1) for j, q in reversed(list(zip(n.inputs, n.local)))
        )
    return root
