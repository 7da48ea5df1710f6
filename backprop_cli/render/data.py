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


# -- `backprop data` ---------------------------------------------------------------------
DATA_SCHEMA = "backprop.data/1"


def wrote_line(rows: int, output: str) -> str:
    """'wrote 200 rows to points.csv' (markup-safe, control characters made visible)."""
    from ..errors import escape_controls

    return f"wrote {rows} rows to {escape(escape_controls(output))}"


def unused_line(dataset, binding) -> str | None:
    """The one line (plain text, for stderr) naming the columns that feed no variable, or None."""
    from ..errors import escape_controls

    unused = binding.unused
    if not unused:
        return None
    if len(unused) == 1:
        text = (
            f"note: column {unused[0]} of {dataset.file} is not used by the program "
            f"(bind it with --column VARIABLE={unused[0]})"
        )
    else:
        text = (
            f"note: columns {', '.join(unused)} of {dataset.file} are not used by the program "
            "(bind one with --column VARIABLE=COLUMN)"
        )
    return escape_controls(text)


def emit_data_document(spec, output: str | None, stream=None) -> None:
    """`data --json`: one document; the rows themselves (the numbers as written to the CSV)
    when there is no file — written block by block, so memory does not grow with --n."""
    import json
    import sys

    from ..data import column_values
    from . import jsonout

    doc = {
        "schema": DATA_SCHEMA,
        "status": "ok",
        "kind": spec.kind,
        "rows": spec.n,
        "seed": spec.seed,
        "noise": spec.sigma,
        "params": dict(spec.params),
        "columns": ["x", "y"],
        "file": output,
    }
    if output is not None:
        jsonout.emit(doc, stream)
        return
    stream = stream or sys.stdout
    write = stream.write
    closers = ["}\n"]
    try:
        write(jsonout.dumps(doc)[:-1] + ', "data": {')
        closers.append("}")
        for k, name in enumerate(("x", "y")):
            write((", " if k else "") + json.dumps(name) + ": [")
            closers.append("]")
            first = True
            for values in column_values(spec, name):
                if values:
                    write(("" if first else ", ") + json.dumps(values)[1:-1])
                    first = False
            write(closers.pop())
        write(closers.pop())
        write(closers.pop())
    except BaseException as exc:
        if isinstance(exc, BrokenPipeError):
            raise
        try:  # close the open arrays: stdout still holds one valid document
            while len(closers) > 1:
                write(closers.pop())
            note = jsonout._error_note(exc)
            write(", " + json.dumps("stream_error") + ": " + jsonout.dumps(note) + "}\n")
            stream.flush()
        except Exception:
            pass
        jsonout.EMITTED += 1
        try:
            exc.json_document_closed = True  # type: ignore[attr-defined]  # for the CLI boundary
        except AttributeError:
            pass
        raise
    jsonout.EMITTED += 1
    stream.flush()
