"""Renderers for `backprop descend`: the iteration table, summary and sparkline, the sweep
table, and the strict JSON documents (backprop.descend/1, backprop.descend-sweep/1)."""

from __future__ import annotations

import math

from collections.abc import Callable, Iterator

from rich.markup import escape

from ..engines.descend import BLOCK, Descent, IterationRecord
from .jsonout import Raw, Rows
from .numbers import fmt
from .table import make_table

DESCEND_SCHEMA = "backprop.descend/1"
SWEEP_SCHEMA = "backprop.descend-sweep/1"
HEAD_ROWS = 12  # long runs: this many first rows …
TAIL_ROWS = 5  # … an elision row, and this many last rows (--all shows every row)
SPARK_WIDTH = 60


# -- JSON ------------------------------------------------------------------------------
def iteration_record(rec: IterationRecord) -> dict:
    row = {
        "iteration": rec.iteration,
        "values": rec.values,
        "loss": rec.loss,
        "gradient": rec.gradient,
        "steps": rec.steps,
    }
    if rec.curvature is not None or len(rec.values) == 1:
        row["curvature"] = rec.curvature
        row["stability_bound"] = rec.stability_bound
    return row


def setup(run: Descent) -> dict:
    """The run's configuration."""
    return {
        "schema": DESCEND_SCHEMA,
        "expression": run.program.source,
        "output": run.program.output_name,
        "variables": list(run.names),
        "optimizer": run.optimizer,
        "eta": run.eta,
        "hyperparameters": run.hyper,
        "start": run.start,
        "tol": run.tol,
        "until_loss": run.until_loss,
        "max_iter": run.max_iter,
    }


def outcome(run: Descent) -> dict:
    """How the run ended: status, message, result (and the error of a domain_error)."""
    res = run.result
    doc = {
        "status": res.status,
        "message": res.message,
        "result": {
            "values": res.values,
            "loss": res.loss,
            "iterations": res.iterations,
            "stationary_point": res.point_kind,
        },
    }
    if res.error is not None:
        doc["error"] = res.error
    return doc


def header(run: Descent) -> dict:
    """Everything but the iterations: configuration, status, message, result."""
    return {**setup(run), **outcome(run)}


def descend_document(run: Descent) -> dict:
    doc = header(run)
    doc["iterations"] = [iteration_record(r) for r in run]
    return doc


def _number(x: object) -> str:
    """A float (or None) exactly as jsonout.dumps writes it: repr, non-finite as null."""
    if x is None:
        return "null"
    if x.__class__ is int:
        return str(x)
    v = float(x)  # type: ignore[arg-type]
    return float.__repr__(v) if math.isfinite(v) else "null"


def _texts(col: list) -> list[str]:
    """:func:`_number` of every entry of a column, the finite floats written by one C-level
    repr of the list (a long run's numbers are most of its JSON)."""
    if not col:
        return []
    joined = repr(col)[1:-1]
    parts = joined.split(", ")
    if "n" in joined:  # nan, inf, None, or a non-float's repr: those one by one
        parts = [p if "n" not in p else _number(x) for p, x in zip(parts, col)]
    return parts


def json_rows(run: Descent, prefix: str = "{") -> Iterator[str]:
    """Every row's JSON text — what jsonout.dumps makes of :func:`iteration_record` — made from
    :meth:`Descent.columns` block by block (no object per row). ``prefix`` opens each object
    (JSON Lines adds its record kind)."""
    for a in range(0, len(run), BLOCK):
        pieces, width, tail = _block_pieces(run, a, prefix, "")
        for i in range(0, len(pieces), width):
            yield "".join(pieces[i : i + width])
        yield from tail


def json_blocks(run: Descent, prefix: str = "{", sep: str = ", ") -> Iterator[str]:
    """:func:`json_rows`, a block of rows at a time as one text, rows separated by ``sep``
    (written with one call each: a 10^6-row run's JSON is mostly these blocks)."""
    for a in range(0, len(run), BLOCK):
        pieces, _, tail = _block_pieces(run, a, prefix, sep)
        if tail:
            pieces.append(sep.join(tail))
        elif pieces:
            pieces[-1] = pieces[-1][: len(pieces[-1]) - len(sep)]  # no separator after the last
        yield "".join(pieces)


def _block_pieces(run: Descent, a: int, prefix: str, sep: str) -> tuple[list[str], int, list[str]]:
    """Rows a … a+BLOCK−1 as JSON text: the rows with a gradient and a step as ``width``
    pieces each (constants and number texts interleaved column by column, no string per
    row; each row's last piece ``"}" + sep``), then the rows without (the run's last row)
    as whole texts."""
    from .jsonout import dumps

    cols = run.columns(a, a + BLOCK)
    m = len(cols.losses)
    full = m
    while full and (cols.steps[0][full - 1] is None or cols.gradients[0][full - 1] is None):
        full -= 1  # only the run's last row lacks its step (and, failed, its gradient)
    keys = [dumps(name) + ": " for name in run.names]
    one = len(run.names) == 1
    values = [_texts(col) for col in cols.values]
    losses = _texts(cols.losses)
    if one:
        curv = _texts(cols.curvature) if cols.curvature is not None else ["null"] * m
        bound = _texts(cols.stability_bound) if cols.stability_bound is not None else ["null"] * m
    grads = [_texts(col) for col in cols.gradients]
    steps = [_texts(col) for col in cols.steps]

    def fields(j: int | None) -> list:
        """Row j's text as constants and number texts; j None: every full row's, the
        numbers as columns."""
        at = slice(None, full) if j is None else j

        def obj(columns: list[list[str]], absent: list) -> list:
            if j is not None and absent[j] is None:
                return ["null"]
            out: list = []
            for i, (key, col) in enumerate(zip(keys, columns)):
                out += ["{" if i == 0 else ", ", key, col[at]]
            return out + ["}"]

        k = list(map(str, range(a, a + full))) if j is None else str(a + j)
        out = [prefix + '"iteration": ', k, ', "values": ', *obj(values, cols.values[0])]
        out += [', "loss": ', losses[at], ', "gradient": ', *obj(grads, cols.gradients[0])]
        out += [', "steps": ', *obj(steps, cols.steps[0])]
        if one:
            out += [', "curvature": ', curv[at], ', "stability_bound": ', bound[at]]
        return out + ["}"]

    template = _merged(fields(None) + [sep])
    width = len(template)
    pieces: list[str] = [""] * (width * full)
    for i, item in enumerate(template):
        pieces[i::width] = item if isinstance(item, list) else [item] * full
    tail = ["".join(_merged(fields(j))) for j in range(full, m)]
    return pieces, width, tail


def _merged(parts: list) -> list:
    """Adjacent constant strings joined into one (columns, lists, stay as they are)."""
    out: list = []
    for p in parts:
        if isinstance(p, str) and out and isinstance(out[-1], str):
            out[-1] += p
        else:
            out.append(p)
    return out


def streamed_document(run: Descent) -> tuple[dict, Callable[[], dict]]:
    """The same document for jsonout.emit_stream: the setup, the iterations as Rows (built
    one at a time while written: memory of one row), and the outcome as the tail — after
    the rows, so a run cut short (Ctrl-C) ends with its own status instead."""
    doc = setup(run)
    # a block of rows is one element of the stream: its text holds them, comma-separated
    doc["iterations"] = Rows(Raw(block) for block in json_blocks(run))
    return doc, lambda: outcome(run)


def sweep_document(runs: list[Descent], stream: bool = False) -> dict:
    """The backprop.descend-sweep/1 document; ``stream=True``: every run's rows as
    jsonout.Rows (see :func:`streamed_document`)."""

    def run_doc(run: Descent) -> dict:
        if not stream:
            return descend_document(run)
        doc, tail = streamed_document(run)
        return {**doc, **tail()}

    docs = (run_doc(r) for r in runs)
    return {
        "schema": SWEEP_SCHEMA,
        "expression": runs[0].program.source if runs else None,
        "optimizer": runs[0].optimizer if runs else None,
        "etas": [r.eta for r in runs],
        "statuses": [r.status for r in runs],
        "runs": Rows(docs) if stream else list(docs),
    }


def jsonl_iteration(rec: IterationRecord) -> dict:
    return {"record": "iteration", **iteration_record(rec)}


def jsonl_iterations(run: Descent) -> Iterator[Raw]:
    """Every row as its JSON Lines record's text (:func:`jsonl_iteration`, written
    directly), a block of lines at a time."""
    for block in json_blocks(run, '{"record": "iteration", ', "\n"):
        yield Raw(block)


def jsonl_summary(run: Descent) -> dict:
    return {"record": "summary", **header(run)}


# -- tables ----------------------------------------------------------------------------
def _rows_to_show(n: int, show_all: bool) -> list[int | None]:
    """Row indices to print; None marks the elision."""
    if show_all or n <= HEAD_ROWS + TAIL_ROWS + 1:
        return list(range(n))
    return list(range(HEAD_ROWS)) + [None] + list(range(n - TAIL_ROWS, n))


Column = tuple[str, list[str]]  # (header, one cell per shown row)


def _col_width(col: Column) -> int:
    """A column's natural width in a Rich table: its widest cell or header, 2 of padding and
    1 of border."""
    from rich.cells import cell_len
    from rich.text import Text

    header, cells = col  # the header is plain text (make_table escapes it); cells are markup
    return max([cell_len(header)] + [Text.from_markup(c).cell_len for c in cells]) + 3


def fit_tables(
    title: str,
    key: list[Column],
    groups: list[tuple[str, list[Column]]],
    width: int | None,
    caption: str | None = None,
) -> list:
    """The columns as one table if it fits ``width`` (the console's), else as several, each
    led by the ``key`` columns (k, epoch, ...) and holding whole ``groups`` (point and loss,
    gradient, step, ...) where they fit, single columns where a group alone does not. Folding
    a number over two lines ('-4.44089' / 'e-16') is left as the last resort for a column
    that alone is wider than the screen: one that reads like another number is worse than a
    second table (cli.md §8)."""
    budget = None if width is None else width - 1 - sum(_col_width(c) for c in key)
    parts: list[tuple[list[str], list[Column]]] = []
    current: tuple[list[str], list[Column]] = ([], [])

    def fits(cols: list[Column]) -> bool:
        return budget is None or sum(_col_width(c) for c in cols) <= budget

    for label, cols in groups:
        if not cols:
            continue
        if fits(current[1] + cols):
            current[0].append(label)
            current[1].extend(cols)
            continue
        if current[1]:
            parts.append(current)
        current = ([label], list(cols))
        if not fits(cols):  # the group alone is too wide: its columns one by one
            current = ([label], [])
            for col in cols:
                if current[1] and not fits(current[1] + [col]):
                    parts.append(current)
                    current = ([label], [])
                current[1].append(col)
    if current[1]:
        parts.append(current)

    tables = []
    for i, (labels, cols) in enumerate(parts):
        what = ", ".join(dict.fromkeys(labels))
        if len(parts) == 1:
            head = title
        elif i == 0:
            head = f"{title} — {what}"
        else:
            head = f"… {what} (same rows)"
        table = make_table(head, [(h, "right") for h, _ in key + cols])
        for r in range(len(key[0][1])):
            table.add_row(*[c[1][r] for c in key + cols])
        tables.append(table)
    if caption and tables:
        tables[-1].caption = caption
    return tables


def descend_tables(run: Descent, show_all: bool = False, width: int | None = None) -> list:
    """One row per iteration: point, loss, gradient, step; for one variable f'' (and 2/f''
    for plain descent). Split into several tables (same rows) when one would not fit
    ``width``."""
    names = run.names
    one = len(names) == 1
    shown = _rows_to_show(len(run), show_all)
    recs = [None if k is None else run.record(k) for k in shown]

    def col(header: str, cell) -> Column:
        return header, ["⋮" if r is None else cell(r) for r in recs]

    key = [col("k", lambda r: str(r.iteration))]
    point = [col(v, lambda r, v=v: fmt(r.values[v])) for v in names]
    point.append(col("loss", lambda r: fmt(r.loss)))
    grad = [
        col(f"∂loss/∂{v}", lambda r, v=v: fmt(r.gradient[v]) if r.gradient else "—") for v in names
    ]
    steps = [
        col(f"step {v}" if not one else "step", lambda r, v=v: fmt(r.steps[v]) if r.steps else "—")
        for v in names
    ]
    groups = [("point and loss", point), ("gradient", grad), ("step", steps)]
    if one:
        curv = [col("f''", lambda r: fmt(r.curvature))]
        if run.optimizer == "sgd":
            curv.append(col("2/f''", lambda r: fmt(r.stability_bound)))
        groups.append(("curvature", curv))
    eta = fmt(run.eta)
    hyper = "".join(f", {k} = {fmt(v)}" for k, v in run.hyper.items())
    title = f"{run.optimizer} on {run.program.source} (η = {eta}{hyper})"
    hidden = len(run) - HEAD_ROWS - TAIL_ROWS
    caption = f"{hidden} rows not shown (⋮); --all shows every row" if None in shown else None
    return fit_tables(title, key, groups, width, caption)


#: --all past this many rows: a plain table written row by row (bounded memory)
STREAM_FROM = 10_000
#: its column width: the widest number fmt() writes at 6 significant digits ("-1.23457e-308")
STREAM_WIDTH = 13


def streamed_table(run: Descent) -> Iterator[str]:
    """--all for a long run: the table as plain lines — title, header, rule, then one line
    per row, built block by block as they are written (a 10^6-row run never holds its rows
    or a Rich table of them). Every column is STREAM_WIDTH wide (or its header's width):
    the widths cannot be known before the rows are. Lines are not folded to the screen."""
    names = run.names
    one = len(names) == 1
    heads = ["k", *names, "loss", *(f"∂loss/∂{v}" for v in names)]
    heads += ["step"] if one else [f"step {v}" for v in names]
    if one:
        heads += ["f''"] + (["2/f''"] if run.optimizer == "sgd" else [])
    widths = [max(len(h), STREAM_WIDTH) for h in heads]
    widths[0] = max(len(str(len(run) - 1)), 1)
    hyper = "".join(f", {k} = {fmt(v)}" for k, v in run.hyper.items())
    yield f"{run.optimizer} on {run.program.source} (η = {fmt(run.eta)}{hyper}): every row"
    yield " ".join(h.rjust(w) for h, w in zip(heads, widths))
    yield " ".join("─" * w for w in widths)
    for a in range(0, len(run), BLOCK):
        for r in run.block(a, a + BLOCK):
            cells = [str(r.iteration), *(fmt(r.values[v]) for v in names), fmt(r.loss)]
            cells += [fmt(r.gradient[v]) if r.gradient else "—" for v in names]
            cells += [fmt(r.steps[v]) if r.steps else "—" for v in names]
            if one:
                cells.append(fmt(r.curvature))
                if run.optimizer == "sgd":
                    cells.append(fmt(r.stability_bound))
            yield " ".join(c.rjust(w) for c, w in zip(cells, widths))


STATUS_STYLE = {"converged": "green"}


def summary_lines(run: Descent) -> list[str]:
    """Rich-markup lines: the status and message, the result, and the loss sparkline."""
    from .spark import scale_words, sparkline

    res = run.result
    style = STATUS_STYLE.get(res.status, "red")
    msg = res.message
    if msg.startswith(res.status):
        msg = msg[len(res.status) :].lstrip(": ")
    lines = [f"[{style}]{res.status}[/{style}]: {escape(msg)}"]
    point = ", ".join(f"{v} = {fmt(x)}" for v, x in res.values.items())
    steps = f"{res.iterations} step{'s' if res.iterations != 1 else ''}"
    lines.append(f"result: {escape(point)}, loss = {fmt(res.loss)} after {steps}")
    losses = run.losses()
    note = "" if len(losses) <= SPARK_WIDTH else f", last {SPARK_WIDTH} of {len(losses)}"
    shown = losses[-SPARK_WIDTH:]
    lines.append(
        f"loss per iteration ({scale_words(shown)}{note}): {sparkline(shown, log=True)}"
    )
    if len(run.names) == 1 and run.optimizer == "sgd":
        first = run.record(0)
        if first.stability_bound is not None:
            bound = first.stability_bound
            rel = "below" if run.eta < bound else ("at" if run.eta == bound else "above")
            lines.append(
                f"stability: η = {fmt(run.eta)} is {rel} the bound 2/f'' = {fmt(bound)} (at the start); "
                "below it descent settles, at it the point flips side to side, above it it grows"
            )
    return lines


def sweep_tables(runs: list[Descent], width: int | None = None) -> list:
    """One row per η: status, iterations, final point, final loss; split into several tables
    (same rows, each led by η) when one would not fit ``width``."""
    names = runs[0].names if runs else ()
    opt = runs[0].optimizer if runs else ""
    title = (
        f"learning-rate sweep: {opt} on {runs[0].program.source}" if runs else "learning-rate sweep"
    )

    def status(r: Descent) -> str:
        style = STATUS_STYLE.get(r.result.status, "red")
        return f"[{style}]{r.result.status}[/{style}]"

    key = [("η", [fmt(r.eta) for r in runs])]
    groups = [
        ("status", [("status", [status(r) for r in runs]),
                    ("iterations", [str(r.result.iterations) for r in runs])]),
        ("final point", [(f"final {v}", [fmt(r.result.values[v]) for r in runs]) for v in names]),
        ("final loss", [("final loss", [fmt(r.result.loss) for r in runs])]),
    ]  # fmt: skip
    tables = fit_tables(title, key, groups, width)
    for t in tables:  # status reads better left-aligned
        for c in t.columns:
            if c.header == "status":
                c.justify = "left"
    return tables


def sweep_summary(runs: list[Descent]) -> str:
    counts: dict[str, int] = {}
    for r in runs:
        counts[r.status] = counts.get(r.status, 0) + 1
    parts = ", ".join(f"{n} {s}" for s, n in counts.items())
    return f"{len(runs)} run{'s' if len(runs) != 1 else ''} classified: {parts}"
