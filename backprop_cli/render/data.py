"""Renderers for data-driven commands: `grad --data` tables and JSON, the data block of descend."""

from __future__ import annotations

from rich.markup import escape

from .numbers import fmt
from .table import make_table

PER_SAMPLE_AUTO = (
    100  # grad --data --json includes per-sample values by itself up to this many rows
)


def data_block(dataset, binding) -> dict:
    return {"file": dataset.file, "rows": dataset.rows, "columns": dict(binding.columns)}


def binding_line(dataset, binding, reduce: str, output: str) -> str:
    cols = ", ".join(f"{v} ← column {c}" if v != c else v for v, c in binding.columns.items())
    params = ", ".join(binding.parameters) or "none"
    return (
        f"{reduce} of {output} over {dataset.rows} sample{'s' if dataset.rows != 1 else ''} of "
        f"{dataset.file}; data: {cols}; parameters: {params}"
    )


def grad_tables(report) -> list:
    """The objective and its gradient; with per-sample values, one row per sample too."""
    symbol = report.output
    t = make_table(
        f"{report.reduce} loss = {fmt(report.value)}",
        [
            ("parameter", "left"),
            ("value", "right"),
            (f"∂{report.reduce}({symbol})/∂parameter", "right"),
        ],
    )
    for p, g in report.gradient.items():
        note = " (defaulted)" if p in report.defaulted else ""
        t.add_row(escape(p) + note, fmt(report.at[p]), fmt(g))
    tables = [t]
    if report.per_sample is not None:
        ps = report.per_sample
        cols = [("row", "right")] + [(v, "right") for v in report.binding.columns]
        cols += [(symbol, "right")] + [(f"∂{symbol}/∂{p}", "right") for p in ps.gradients]
        s = make_table("per sample", cols)
        data = [report.dataset.columns[c] for c in report.binding.columns.values()]
        for i in range(report.dataset.rows):
            s.add_row(
                str(i + 1), *(fmt(float(c[i])) for c in data), fmt(float(ps.values[i])),
                *(fmt(float(g[i])) for g in ps.gradients.values()),
            )  # fmt: skip
        tables.append(s)
    return tables


def grad_document(report, schema: str) -> dict:
    doc = {
        "schema": schema,
        "status": "ok",
        "expression": report.expression,
        "output": report.output,
        "at": report.at,
        "defaulted": list(report.defaulted),
        "mode": "reverse",
        "value": report.value,
        "gradient": report.gradient,
        "nodes": [],
        "reduce": report.reduce,
        "data": data_block(report.dataset, report.binding),
        "per_sample": None,
    }
    if report.per_sample is not None:
        doc["per_sample"] = {
            "output": report.per_sample.values,
            "gradient": dict(report.per_sample.gradients),
        }
    return doc
