"""Renderers for `solve`: the iteration table and summary for people, JSON / JSON Lines for programs.

All of them read the same engine records (backprop_cli.engines.solve).
"""

from __future__ import annotations

from ..engines.solve import Iteration, SolveResult, SolveRun
from .numbers import fmt

SOLVE_SCHEMA = "backprop.solve/1"


def rule_text(gradient: str, split: str, k: int, out: str) -> str:
    g = (
        f"refresh (Newton: ∂{out}/∂v recomputed at every iteration)"
        if gradient == "refresh"
        else f"freeze (the first iteration's ∂{out}/∂v reused throughout)"
    )
    if k == 1:
        return g
    s = (
        f"split even (each of the {k} varied variables absorbs error/{k} through its own partial)"
        if split == "even"
        else "split gradient (least-norm step: v ← v − error·g_v/Σg²)"
    )
    return f"{g}; {s}"


def convention(out: str) -> str:
    return (
        f"Δn = error/(∂{out}/∂n), applied as n ← n − Δn, with error = {out} − target "
        f"(the lesson writes Δ{out} = target − {out}: the same numbers, opposite sign)"
    )


# -- JSON ------------------------------------------------------------------------------
def iteration_record(row: Iteration) -> dict:
    return {
        "iteration": row.iteration,
        "values": dict(row.values),
        "output": row.output,
        "error": row.error,
        "partials": dict(row.partials),
        "factors": dict(row.factors),
        "adjoints": dict(row.adjoints),
        "deltas": dict(row.deltas),
        "steps": dict(row.steps) if row.steps is not None else None,
    }


def result_record(res: SolveResult) -> dict:
    return {
        "status": res.status,
        "values": dict(res.values),
        "output": res.output,
        "error": res.error,
        "updates": res.updates,
        "iterations": res.iterations,
    }


def setup_fields(run: SolveRun, defaulted=(), output_symbol: str | None = None) -> dict:
    """The run's configuration: everything known before the first iteration."""
    return {
        "schema": SOLVE_SCHEMA,
        "expression": run.expression,
        "output": run.output_name,
        "target": run.target,
        "vary": list(run.vary),
        "at": dict(run.start),
        "defaulted": list(defaulted),
        "gradient": run.gradient,
        "split": run.split,
        "tol": run.tol,
        "max_iter": run.max_iter,
        "rule": rule_text(run.gradient, run.split, len(run.vary), output_symbol or run.output_name),
    }


def outcome_fields(res: SolveResult) -> dict:
    """How the run ended: status, message, result and the failure's details."""
    doc = {"status": res.status, "message": res.message, "result": result_record(res)}
    if res.variable is not None:
        doc["variable"] = res.variable
    if res.node is not None:
        doc["node"] = res.node
    if res.attempted is not None:
        doc["attempted"] = {
            "steps": dict(res.attempted["steps"]),
            "values": dict(res.attempted["values"]),
        }
    if res.error_detail is not None:
        doc["error"] = dict(res.error_detail)
    return doc


def header(run: SolveRun, defaulted=(), output_symbol: str | None = None) -> dict:
    """Everything about the run except the rows (also the JSONL summary line)."""
    setup = setup_fields(run, defaulted, output_symbol)
    outcome = outcome_fields(run.result)
    return {
        "schema": setup.pop("schema"),
        "status": outcome.pop("status"),
        "message": outcome.pop("message"),
        **setup,
        **outcome,
    }


def solve_document(run: SolveRun, defaulted=(), output_symbol: str | None = None) -> dict:
    doc = header(run, defaulted, output_symbol)
    doc["iterations"] = [iteration_record(r) for r in run.iterations]
    return doc


def emit_streaming(run: SolveRun, records, defaulted=(), output_symbol: str | None = None):
    """``--json`` while the run goes: the setup, then each row as the engine yields it
    (never all held), then the outcome. ``run``: the setup (its rows and result unused);
    ``records``: the engine's iterate() generator. Returns the SolveResult."""
    from .jsonout import Rows, emit_stream

    end: list[SolveResult] = []

    def rows():
        for rec in records:
            if isinstance(rec, Iteration):
                yield iteration_record(rec)
            else:
                end.append(rec)

    doc = setup_fields(run, defaulted, output_symbol)
    doc["iterations"] = Rows(rows())
    emit_stream(doc, tail=lambda: outcome_fields(end[-1]))
    return end[-1]


def jsonl_iteration(row: Iteration) -> dict:
    return {"record": "iteration", **iteration_record(row)}


def jsonl_summary(run: SolveRun, defaulted=(), output_symbol: str | None = None) -> dict:
    return {"record": "summary", **header(run, defaulted, output_symbol)}


# -- the table -------------------------------------------------------------------------
def _columns(run: SolveRun, out: str) -> list[tuple[str, str, list[str]]]:
    """(group, header, cells) for every column after '#', in the issue's order."""
    named = [n for n in run.named if n != out]
    rows = run.iterations
    shown_named = [n for n in named if rows and n in rows[0].values]
    varied = list(run.vary)
    freeze = run.gradient == "freeze"
    delta_names = list(run.variables) + shown_named + ([out] if out in run.named else [])
    att = run.result.attempted
    cols: list[tuple[str, str, list[str]]] = []
    for v in run.variables:
        cols.append(("forward", v + ("*" if v in varied else ""), [fmt(r.values[v]) for r in rows]))
    for n in shown_named:
        cols.append(("forward", n, [fmt(r.values.get(n)) for r in rows]))
    cols.append(("forward", out, [fmt(r.output) for r in rows]))
    cols.append(("error", "error", [fmt(r.error) for r in rows]))
    for v in varied:
        cols.append(("update", f"∂{out}/∂{v}", [fmt(r.partials.get(v)) for r in rows]))
        if freeze:
            cols.append(("update", f"∂{out}/∂{v} used", [fmt(r.factors.get(v)) for r in rows]))
    for n in delta_names:
        cols.append(("delta", f"Δ{n}", [fmt(r.deltas.get(n)) for r in rows]))
    for v in varied:
        cells = []
        for i, r in enumerate(rows):
            if r.steps is not None:
                cells.append(fmt(r.steps[v]))
            elif i == len(rows) - 1 and att is not None:
                cells.append(fmt(att["steps"][v]) + " ✗")
            else:
                cells.append("—")
        cols.append(("step", f"step {v}", cells))
    return cols


#: ways to share the columns out over tables, tried in order until every table fits
_LAYOUTS = (
    (("forward", "error", "update", "delta", "step"),),
    (("forward", "error"), ("error", "update", "delta", "step")),
    (("forward", "error"), ("error", "update", "step"), ("error", "delta")),
)
_SUBTITLES = {
    ("error", "update", "delta", "step"): "backward pass — {convention}",
    ("error", "update", "step"): "backward pass: partials and steps (v ← v − step)",
    ("error", "delta"): "backward pass: per-node {convention}",
}


def _width(cols, n_rows: int) -> int:
    """The table's natural width: cells, '#', borders and padding (3 per column, plus 1)."""
    total = len(str(max(0, n_rows - 1))) + 3 + 1
    for _, header, cells in cols:
        total += max([len(header)] + [len(c) for c in cells]) + 3
    return total


def solve_tables(run: SolveRun, out: str, width: int = 100) -> list:
    """One row per iteration: forward columns, then backward columns (error, partials and the
    factor used, per-node Δ, steps). When one table would not fit ``width``, the same rows are
    shown as two or three tables, each led by the iteration number."""
    from rich.markup import escape

    from .fit import column_width, pack
    from .table import make_table

    cols = _columns(run, out)
    varied = ", ".join(run.vary)
    title = (
        f"solve {out} → {fmt(run.target)} by varying {varied} "
        f"(* varied; {run.gradient}, split {run.split})"
    )
    layout: tuple[tuple[str, ...], ...] = _LAYOUTS[-1]
    for candidate in _LAYOUTS:
        parts = [[c for c in cols if c[0] in groups] for groups in candidate]
        if all(_width(p, len(run.iterations)) <= width for p in parts):
            layout = candidate
            break
    pieces = []  # (groups, columns): a part still too wide goes on in further tables
    for groups in layout:
        part = [c for c in cols if c[0] in groups]
        widths = [len(str(max(0, len(run.iterations) - 1)))] + [
            column_width(h, cells) for _, h, cells in part
        ]
        key = [0] + [
            i + 1 for i, c in enumerate(part) if c[0] == "error" and groups != ("forward", "error")
        ]
        for chunk in pack(key, widths, width):
            pieces.append((groups, [part[i - 1] for i in sorted(key[1:] + chunk)]))
    tables = []
    for k, (groups, part) in enumerate(pieces):
        if len(pieces) == 1:
            head = f"{title}\n{convention(out)}"
        elif k == 0:
            head = f"{title} — forward pass"
        elif groups == ("forward", "error"):
            head = f"{title} — forward pass (continued)"
        else:
            head = (
                "backward pass (continued)"
                if pieces[k - 1][0] == groups
                else _SUBTITLES[groups].format(convention=convention(out))
            )
        table = make_table(head, [("#", "right")] + [(h, "right") for _, h, _ in part])
        for column in table.columns:
            column.no_wrap = True
        for i, r in enumerate(run.iterations):
            table.add_row(str(r.iteration), *(escape(c[2][i]) for c in part))
        tables.append(table)
    return tables


def summary_lines(run: SolveRun, out: str, defaulted=()) -> list[tuple[str, str]]:
    """(label, text) pairs for the summary under the table; text is plain (escape it)."""
    from .spark import sparkline

    res = run.result
    lines = [("status", f"{res.status}: {res.message}")]
    lines.append(("rule", rule_text(run.gradient, run.split, len(run.vary), out)))
    n = res.updates
    rows = f"{res.iterations} row{'s' if res.iterations != 1 else ''}"
    lines.append(
        ("iterations", f"{n} update{'s' if n != 1 else ''} ({rows}; --max-iter {run.max_iter})")
    )
    finals = []
    for v in run.variables:
        if v in res.values:
            note = " (varied)" if v in run.vary else ""
            note += (
                f", from {fmt(run.start[v])}"
                if v in run.vary and res.values[v] != run.start[v]
                else ""
            )
            finals.append(f"{v} = {fmt(res.values[v], 10)}{note}")
    lines.append(("final", "; ".join(finals)))
    if res.output is not None:
        lines.append(
            (
                "output",
                f"{out} = {fmt(res.output, 10)} (target {fmt(run.target)}), residual {fmt(res.error)}",
            )
        )
    if res.attempted is not None:
        steps = ", ".join(
            f"{v} ← {fmt(res.values[v])} − {fmt(res.attempted['steps'][v])} = {fmt(res.attempted['values'][v])}"
            for v in run.vary
        )
        lines.append(("failed step", steps))
    errs = [abs(r.error) for r in run.iterations]
    if errs:
        lines.append(
            (
                "|error|",
                f"{sparkline(errs, width=60)}  {fmt(errs[0], 3)} → {fmt(errs[-1], 3)} (log scale)",
            )
        )
    if defaulted:
        lines.append(("defaulted", ", ".join(defaulted) + " started at 1.0 (no --at value)"))
    return lines


def print_summary(console, run: SolveRun, out: str, defaulted=()) -> None:
    from rich.markup import escape

    lines = summary_lines(run, out, defaulted)
    width = max(len(label) for label, _ in lines)
    ok = run.result.status == "converged"
    for label, text in lines:
        style = ("green" if ok else "red") if label == "status" else "bold"
        console.print(f"[{style}]{escape(label.ljust(width))}[/{style}]  {escape(text)}")
