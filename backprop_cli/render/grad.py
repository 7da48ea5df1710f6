"""Renderers for `grad` and `check`: Rich tables for people, strict JSON for programs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .numbers import fmt

if TYPE_CHECKING:  # `grad --json` loads neither Rich nor the check engine (start-up time)
    from ..engines.check import CheckReport
    from ..engines.gradient import GradReport

GRAD_SCHEMA = "backprop.grad/1"
CHECK_SCHEMA = "backprop.check/1"


def _label(report: GradReport, i: int) -> str:
    return report.labels[i]


def _wrap(s: str) -> str:
    """Bracket a compound subexpression so ∂(w*2+b) reads unambiguously."""
    return s if s.replace("_", "a").isalnum() else f"({s})"


def _d(num: str, den: str) -> str:
    return f"∂{_wrap(num)}/∂{_wrap(den)}"


def grad_tables(report: GradReport, out_symbol: str, width: int | None = None) -> list:
    """The node table (evaluation order) and the gradient table. Given the console ``width``,
    a node table too wide for it continues in further tables led by '#' and the node, so that
    no number is folded over two lines."""
    from rich.markup import escape

    from .fit import tables
    from .table import make_table

    columns = [("#", "right", False), ("node", "left", True), ("op", "left", True),
               ("value", "right", False), ("local partials", "left", True),
               (f"∂{out_symbol}/∂node", "right", False)]  # fmt: skip
    if report.mode == "forward":
        columns += [(f"∂node/∂{v}", "right", False) for v in report.gradient]
    constants = {n.id for n in report.nodes if n.op == "const"}
    rows = []
    for n in report.nodes:
        label = _label(report, n.id)
        if n.name is not None and n.op not in ("var",) and n.expr != n.name:
            label = f"{n.name} = {n.expr}"
        locals_ = ", ".join(
            f"∂/∂{_wrap(_label(report, j))} = {fmt(p)}"
            for j, p in zip(n.inputs, n.local)
            if n.op != "const" and j not in constants
        )
        # a constant is not something to change: its ∂output/∂node (x^2 → x² ln x for the 2)
        # is true but only confuses the table; the JSON keeps the number
        adjoint = "—" if n.id in constants else fmt(n.adjoint)
        row = [str(n.id), label, n.op, fmt(n.value), locals_, adjoint]
        if report.mode == "forward":
            row += [fmt(n.tangents[v]) if n.tangents is not None else "—" for v in report.gradient]
        rows.append(row)
    out = tables(f"forward and backward pass of {out_symbol}", columns, rows, [0, 1], width)
    title = f"gradient of {out_symbol} = {fmt(report.value)} ({report.mode} mode)"
    if not report.gradient:
        from rich.text import Text

        return out + [Text(f"{title}: no input variables — {out_symbol} is a constant")]
    g = make_table(
        title, [("variable", "left"), ("value", "right"), (f"∂{out_symbol}/∂variable", "right")]
    )
    for col in g.columns[1:]:
        col.no_wrap = True
    for v, d in report.gradient.items():
        note = " (defaulted)" if v in report.defaulted else ""
        g.add_row(escape(v) + note, fmt(report.at[v]), fmt(d))
    return out + [g]


def explain_lines(report: GradReport, out_symbol: str) -> list[str]:
    """The chain rule with numbers: ∂z/∂b = ∂z/∂x·∂x/∂b + ∂z/∂y·∂y/∂b = 5·1 + 10·1 = 15."""
    lines = []

    def name(i: int) -> str:
        return out_symbol if i == report.output_id else _label(report, i)

    out_node = next((n for n in report.nodes if n.id == report.output_id), None)
    out_text = _label(report, report.output_id)
    if out_node is not None and out_node.name is not None and out_node.op != "var":
        expr = " ".join(out_node.expr.split())
        out_text = expr if len(expr) <= 40 else out_text
    if out_node is not None and out_node.op == "var":
        lines.append(f"{_d(out_symbol, out_node.name)} = 1 ({out_node.name} is the output itself)")  # type: ignore[arg-type]  # var: named
    for line in report.chain:
        me = _label(report, line.node)
        if not line.terms:
            continue
        if len(line.terms) == 1 and line.terms[0].consumer == report.output_id:
            lines.append(f"{_d(out_symbol, me)} = {fmt(line.total)}")
            continue
        uses = [t.consumer for t in line.terms]

        def local(t) -> str:
            # the output's local partial is written with its text, ∂(a*x + a)/∂a, not as
            # ∂b/∂a (that is the left-hand side); the same consumer twice (x*x) says which operand
            text = out_text if t.consumer == report.output_id else name(t.consumer)
            d = _d(text, me)
            return d + (f" (operand {t.position + 1})" if uses.count(t.consumer) > 1 else "")

        symbolic = " + ".join(
            (_d(out_symbol, name(t.consumer)) + "·" if t.consumer != report.output_id else "")
            + local(t)
            for t in line.terms
        )
        numeric = " + ".join(
            (f"{fmt(t.adjoint)}·" if t.consumer != report.output_id else "") + fmt(t.local)
            for t in line.terms
        )
        lines.append(f"{_d(out_symbol, me)} = {symbolic} = {numeric} = {fmt(line.total)}")
    shown = {n.name for n in report.nodes if n.op == "var"}
    for v in report.gradient:
        if v not in shown:
            lines.append(f"{_d(out_symbol, v)} = 0 ({out_symbol} does not depend on {v})")
    return lines


def nudge_tables(report: GradReport, out_symbol: str, width: int | None = None) -> list:
    """Predicted vs recomputed output per nudged node; continued tables (led by the node)
    when ``width`` cannot hold every column."""
    from .fit import tables

    d = report.nudges[0].delta if report.nudges else 0.0
    cols = ("node", "value", "nudged", f"∂{out_symbol}/∂node", "predicted", "actual", "difference")
    rows = [
        [n.name, fmt(n.base), fmt(n.base + n.delta), fmt(n.partial),
         fmt(n.predicted), fmt(n.actual), fmt(n.actual - n.predicted)]
        for n in report.nudges or ()
    ]  # fmt: skip
    return tables(
        f"nudge each node by {fmt(d)}: predicted vs recomputed {out_symbol}",
        [(c, "left" if c == "node" else "right", c == "node") for c in cols],
        rows,
        [0],
        width,
    )


def grad_document(report: GradReport, nodes=None) -> dict:
    """The `grad --json` document; ``nodes`` in place of the list of node objects (the
    rows :func:`emit_grad` streams)."""
    doc = {
        "schema": GRAD_SCHEMA,
        "status": "ok",
        "expression": report.expression,
        "output": report.output,
        "at": report.at,
        "defaulted": list(report.defaulted),
        "mode": report.mode,
        "value": report.value,
        "gradient": report.gradient,
        "nodes": nodes if nodes is not None else [
            {
                "id": n.id,
                "name": n.name,
                "expr": n.expr,
                "span": None if n.span is None else list(n.span),
                "op": n.op,
                "inputs": list(n.inputs),
                "value": n.value,
                "local": list(n.local),
                "adjoint": n.adjoint,
                **({"tangents": n.tangents} if n.tangents is not None else {}),
            }
            for n in report.nodes
        ],
    }  # fmt: skip
    if report.nudges is not None:
        doc["nudges"] = [
            {"name": n.name, "node": n.node, "value": n.base, "delta": n.delta, "partial": n.partial,
             "predicted": n.predicted, "actual": n.actual}
            for n in report.nudges
        ]  # fmt: skip
    return doc


def emit_grad(report: GradReport, stream=None) -> None:
    """Write :func:`grad_document` exactly as ``jsonout.emit`` would, but with the node
    objects made one at a time as text and streamed: a 100 000-node program never holds its
    whole document (nor a dict per node) in memory."""
    from .jsonout import Rows, emit_stream, text_form

    strings = [report.expression, report.output, *report.at, *report.defaulted, *report.gradient]
    ascii, breaks = text_form(strings, stream)
    rows = Rows(node_rows(report, ascii, breaks))
    emit_stream(grad_document(report, rows), stream=stream, ascii=ascii)


def node_rows(report: GradReport, ascii: bool, breaks: bool):
    """Each node object of :func:`grad_document` as the text dumps makes of it (same fields,
    same order); ``ascii`` and ``breaks`` as :func:`.jsonout.text_form` answers."""
    from .jsonout import Raw, dumps, escape_breaks, number, string_encoder

    quote = string_encoder(ascii)

    def numbers(values) -> str:
        return "[" + ", ".join([number(v, ascii) for v in values]) + "]"

    for n in report.nodes:
        text = (
            f'{{"id": {number(n.id)}, "name": {"null" if n.name is None else quote(n.name)}, '
            f'"expr": {quote(n.expr)}, "span": {"null" if n.span is None else numbers(n.span)}, '
            f'"op": {quote(n.op)}, "inputs": {numbers(n.inputs)}, '
            f'"value": {number(n.value, ascii)}, "local": {numbers(n.local)}, '
            f'"adjoint": {number(n.adjoint, ascii)}'
        )
        if n.tangents is not None:
            text += ', "tangents": ' + dumps(n.tangents, ascii)
        text += "}"
        yield Raw(escape_breaks(text) if breaks else text)


def check_tables(report: CheckReport, width: int | None = None) -> list:
    """One row per variable; split over two tables (each led by the variable) when the
    console ``width`` cannot hold every column without folding a number."""
    from .fit import tables

    cols = ("variable", "reverse", "forward", "central diff.", "|rev−fwd|", "|rev−fd|", "rel. err.", "ok")
    rows = [
        [r.variable, fmt(r.reverse, 12), fmt(r.forward, 12), fmt(r.finite_difference, 12),
         fmt(r.ad_error, 3), fmt(r.fd_abs_error, 3), fmt(r.fd_rel_error, 3), "yes" if r.ok else "NO"]
        for r in report.rows
    ]  # fmt: skip
    return tables(
        f"gradient check of {report.output} = {fmt(report.value)}: reverse vs forward vs central differences",
        [(c, "left" if c == "variable" else "right", c == "variable") for c in cols],
        rows,
        [0],
        width,
    )


def check_document(report: CheckReport) -> dict:
    from ..engines.check import AD_RTOL, FD_ATOL, FD_RTOL

    return {
        "schema": CHECK_SCHEMA,
        "status": "agree" if report.ok else "disagree",
        "expression": report.expression,
        "output": report.output,
        "at": report.at,
        "defaulted": list(report.defaulted),
        "value": report.value,
        "tolerance": {"ad_rtol": AD_RTOL, "fd_rtol": FD_RTOL, "fd_atol": FD_ATOL},
        "rows": [
            {"variable": r.variable, "reverse": r.reverse, "forward": r.forward,
             "finite_difference": r.finite_difference, "step": r.step, "ad_error": r.ad_error,
             "fd_abs_error": r.fd_abs_error, "fd_rel_error": r.fd_rel_error, "ok": r.ok, "cause": r.cause}
            for r in report.rows
        ],
    }  # fmt: skip
