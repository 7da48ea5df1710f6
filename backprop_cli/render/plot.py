"""Plots of descend and solve runs, drawn from their JSON documents (the stable contract)
and, for curves and contours, evaluated through the program the engine ran (given by the
command; nothing is compiled here).

* :func:`plot_descend` — ``backprop.descend/1``: one variable: the curve, the iterates
  numbered, the tangent at each and the chord to the next; two: contours and the path;
  more: each variable's path. Always a panel with the loss per iteration (log scale).
* :func:`plot_sweep` — ``backprop.descend-sweep/1``: loss per iteration for every η;
  diverging runs clipped at the top of the axis and marked.
* :func:`plot_solve` — ``backprop.solve/1``: one varied variable: the output against it,
  the target line and each Newton step as the tangent from (v_k, z_k) down to the target;
  several: each variable's path. Always a panel with |error| per iteration (log scale).

matplotlib is imported inside the functions (Agg canvas, no pyplot, no global state) and
files are deterministic: fixed size and DPI, no dates or software versions in the
metadata, a fixed SVG hash salt — the same document gives byte-identical files.
Every iterate marker carries a gid ``iterate-<k>`` (visible as an id in SVG).
"""

from __future__ import annotations

import math
import os

from typing import TYPE_CHECKING

from ..errors import BackpropError, InputError, OutputError
from .numbers import fmt

if TYPE_CHECKING:
    from ..core.program import Program

FORMATS = ("png", "svg", "pdf")
FIGSIZE = (11.0, 4.6)  # inches
DPI = 100
MAX_MARKED = 100  # iterates drawn as individual (gid-carrying) markers; the rest as a path
MAX_NUMBERED = 10  # iterates numbered
MAX_TANGENTS = 6  # iterates drawn with their tangent and the chord to the next
GRID = 400  # points on a 1-D curve
GRID_2D = 120  # points per side of a contour grid
FAILED = (
    "diverged",
    "oscillating",
    "max_iterations",
    "domain_error",
    "zero_gradient",
    "non_finite",
)


# -- shared pieces ---------------------------------------------------------------------------
def plot_format(path: str, option: str = "--plot") -> str:
    """'png' / 'svg' / 'pdf' from the file name, or an InputError (exit 2). Check before running."""
    suffix = os.path.splitext(str(path))[1].lower().lstrip(".")
    if suffix not in FORMATS:
        raise InputError(
            f"{option} '{path}': unknown picture type '{('.' + suffix) if suffix else '(none)'}'; "
            "use a file name ending in .png, .svg or .pdf"
        )
    return suffix


def _num(x) -> float:
    """A JSON number (None = non-finite) as a float (nan for None)."""
    return float("nan") if x is None else float(x)


def _finite(xs) -> list[float]:
    return [x for x in xs if x is not None and math.isfinite(x)]


def _status_note(doc: dict) -> str:
    status = doc.get("status") or "unknown"
    if status == "converged":
        return "converged"
    return status.replace("_", " ").upper()


def _short(text: str, n: int = 70) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"


def _figure(ncols: int, ratios=None):
    from matplotlib.figure import Figure

    fig = Figure(figsize=FIGSIZE, dpi=DPI)  # fixed margins: stable, and faster than a layout engine
    grid = {"left": 0.07, "right": 0.985, "bottom": 0.115, "top": 0.855, "wspace": 0.2}
    if ratios:
        grid["width_ratios"] = ratios
    axes = fig.subplots(1, ncols, gridspec_kw=grid, squeeze=False)
    return fig, list(axes[0])


def _save(fig, path: str) -> None:
    import matplotlib

    kind = plot_format(path)
    metadata = {"png": {"Software": None}, "svg": {"Date": None}, "pdf": {"CreationDate": None}}[
        kind
    ]
    import warnings

    import numpy as np

    # Drawing (ticks and scales, computed while saving) meets the run's extreme values:
    # numpy's overflow warnings there are matplotlib's own business and say nothing the
    # run has not reported, so they are silenced; a range it cannot draw at all is an
    # output error naming the file, not a bug.
    with matplotlib.rc_context(
        {"svg.hashsalt": "backprop", "svg.fonttype": "path", "pdf.compression": 6}
    ), warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            fig.savefig(path, format=kind, dpi=DPI, metadata=metadata)
        except OSError as exc:
            raise OutputError(f"cannot write '{path}': {exc.strerror or exc}") from None
        except (ArithmeticError, ValueError) as exc:
            raise OutputError(
                f"cannot draw '{path}': the values span a range matplotlib cannot draw ({exc})"
            ) from None


def _evaluate(program, names: list[str], fixed: dict, grids: list):
    """Output of the program over numpy grids for ``names`` (others fixed); nan where undefined."""
    import numpy as np

    order = list(program.variables)
    shape = np.broadcast(*grids).shape
    args = []
    for v in order:
        if v in names:
            args.append(np.broadcast_to(np.asarray(grids[names.index(v)], dtype=float), shape))
        else:
            args.append(np.full(shape, float(fixed.get(v, 1.0))))
    try:
        with np.errstate(all="ignore"):
            value, _ = program.array_function(order)(*args)
        return np.where(np.isfinite(value), value, np.nan) * np.ones(shape)
    except BackpropError:  # some grid point is outside the domain: go point by point
        f = program.function(order)
        out = np.full(shape, np.nan)
        flat = [a.ravel() for a in args]
        for i in range(out.size):
            try:
                y, _ = f(*(float(a[i]) for a in flat))
            except (BackpropError, ArithmeticError, ValueError):
                continue
            if math.isfinite(y):
                out.flat[i] = y
        return out


def _span(values: list[float], pad: float = 0.15) -> tuple[float, float]:
    """A range covering the values with a margin (never empty)."""
    vals = _finite(values)
    if not vals:
        return -1.0, 1.0
    lo, hi = min(vals), max(vals)
    width = hi - lo
    if width <= 1e-12 * max(1.0, abs(lo), abs(hi)):
        width = max(1.0, abs(lo) * 0.5)
        return lo - width, hi + width
    return lo - pad * width, hi + pad * width


def _log_panel(ax, ys: list, label: str, *, tol: float | None = None, color="C0") -> None:
    """Per-iteration values on a log axis (symlog when some are ≤ 0); non-finite ones marked."""
    its = list(range(len(ys)))
    vals = [_num(y) for y in ys]
    finite = _finite(vals)
    positive = all(v > 0 for v in finite)
    ax.plot(its, vals, "-o", color=color, markersize=3, linewidth=1.2, label=label)
    if finite:
        if positive:
            ax.set_yscale("log")
            lo, hi = min(finite), max(finite)
            if hi < lo * 1.5:  # (nearly) constant: show a decade around it, not a sliver
                # (kept inside the floats: near 1e308 or 5e-324 the factor 3 would leave them)
                bottom = lo / 3.0 if lo / 3.0 > 0.0 else lo
                top = hi * 3.0 if math.isfinite(hi * 3.0) else hi
                if top > bottom:
                    ax.set_ylim(bottom, top)
        else:
            small = min((abs(v) for v in finite if v != 0), default=1.0)
            ax.set_yscale("symlog", linthresh=max(small, 1e-12))
    _integer_ticks(ax)
    bad = [i for i, v in enumerate(vals) if not math.isfinite(v)]
    if bad and finite:
        top = max(finite)
        ax.plot(bad, [top] * len(bad), "x", color="red", markersize=8, label="not finite")
    if tol is not None and positive and tol > 0:
        ax.axhline(tol, color="gray", linestyle=":", linewidth=1, label=f"tolerance {fmt(tol)}")
    ax.set_xlabel("iteration")
    ax.set_ylabel(label + (" (log scale)" if positive else " (symlog scale)"))
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="best", fontsize=8)


def _integer_ticks(ax) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _mark_iterates(ax, xs: list[float], ys: list[float], *, color="C3") -> None:
    """Each iterate (up to MAX_MARKED, plus the last) as its own marker with gid iterate-<k>."""
    n = len(xs)
    keep = list(range(min(n, MAX_MARKED)))
    if n > MAX_MARKED:
        keep.append(n - 1)
    labels: dict[tuple, list[int]] = {}  # iterates at the same place (a cycle) share one label
    for k in keep:
        if not (math.isfinite(xs[k]) and math.isfinite(ys[k])):
            continue
        (marker,) = ax.plot([xs[k]], [ys[k]], "o", color=color, markersize=5, zorder=5)
        marker.set_gid(f"iterate-{k}")
        if k < MAX_NUMBERED:
            labels.setdefault((float(f"{xs[k]:.9g}"), float(f"{ys[k]:.9g}")), []).append(k)
    for (x, y), ks in labels.items():
        ax.annotate(
            ",".join(map(str, ks)),
            (x, y),
            textcoords="offset points",
            xytext=(4, 6),
            fontsize=8,
            color=color,
            zorder=6,
        )


def _failure_mark(ax, doc: dict) -> None:
    if doc.get("status") not in (None, "converged"):
        ax.text(
            0.02, 0.97, _status_note(doc), transform=ax.transAxes, ha="left", va="top",
            color="red", fontsize=11, fontweight="bold",
        )  # fmt: skip


def _paths_panel(ax, iterations: list[dict], names: list[str]) -> None:
    """Each variable's value per iteration (runs with more variables than one picture can show)."""
    its = list(range(len(iterations)))
    for i, v in enumerate(names):
        ys = [_num(row["values"].get(v)) for row in iterations]
        (line,) = ax.plot(its, ys, "-o", markersize=3, linewidth=1.2, label=v, color=f"C{i % 10}")
        line.set_gid(f"path-{v}")
    _integer_ticks(ax)
    ax.set_xlabel("iteration")
    ax.set_ylabel("value of each variable")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best", fontsize=8)


# -- descend ---------------------------------------------------------------------------------
def _descend_variables(doc: dict) -> list[str]:
    if doc.get("start"):
        return list(doc["start"])
    its = doc.get("iterations") or []
    return list(its[0]["values"]) if its else []


def _descend_title(doc: dict) -> str:
    opt = doc.get("optimizer", "sgd")
    its = doc.get("iterations") or []
    steps = max(0, len(its) - 1)
    return (
        f"gradient descent ({opt}, η = {fmt(doc.get('eta'))}) on {_short(doc.get('expression', ''))}"
        f" — {_status_note(doc)} after {steps} step{'s' if steps != 1 else ''}"
    )


def plot_descend(doc: dict, path: str, program: Program) -> None:
    """Draw a ``backprop.descend/1`` run of ``program`` to ``path`` (.png/.svg/.pdf)."""
    plot_format(path)
    _save(descend_figure(doc, program), path)


def descend_figure(doc: dict, program: Program):
    """The matplotlib Figure for a ``backprop.descend/1`` document of a run of ``program``
    (the loss is evaluated through it for the curve or the contours)."""
    names = _descend_variables(doc)
    its = doc.get("iterations") or []
    losses = [row.get("loss") for row in its]
    if len(names) in (1, 2) and its:
        fig, (ax, axl) = _figure(2, [1.6, 1])
        if len(names) == 1:
            _descend_curve(ax, doc, names[0], program)
        else:
            _descend_contour(ax, doc, names, program)
    else:
        fig, (ax, axl) = _figure(2, [1.2, 1])
        _paths_panel(ax, its, names)
        ax.set_title("the path of each variable", fontsize=10)
    _failure_mark(ax, doc)
    _log_panel(axl, losses, "loss")
    axl.set_title("loss per iteration", fontsize=10)
    fig.suptitle(_descend_title(doc), fontsize=11)
    return fig


def _descend_curve(ax, doc: dict, var: str, program) -> None:
    """The lesson's figure: f over a range covering the path, iterates, tangents, chords."""
    import numpy as np

    its = doc["iterations"]
    xs = [_num(row["values"].get(var)) for row in its]
    ys = [_num(row.get("loss")) for row in its]
    gs = [_num((row.get("gradient") or {}).get(var)) for row in its]
    lo, hi = _span(xs)
    grid = np.linspace(lo, hi, GRID)
    curve = _evaluate(program, [var], {}, [grid])
    ax.plot(grid, curve, color="C0", linewidth=1.4, alpha=0.6,
            label=f"loss = {_short(doc.get('expression', ''), 40)}")  # fmt: skip
    half = 0.1 * (hi - lo)
    for k in range(min(len(xs), MAX_TANGENTS)):
        x, y, g = xs[k], ys[k], gs[k]
        if math.isfinite(x) and math.isfinite(y) and math.isfinite(g):
            ax.plot([x - half, x + half], [y - g * half, y + g * half], color="C2", linewidth=1.6,
                    label="tangent at the iterate (slope = gradient)" if k == 0 else None)  # fmt: skip
        if k + 1 < len(xs) and all(math.isfinite(t) for t in (x, y, xs[k + 1], ys[k + 1])):
            ax.plot([x, xs[k + 1]], [y, ys[k + 1]], color="C1", linestyle="--", linewidth=1.6,
                    label="chord to the next iterate" if k == 0 else None)  # fmt: skip
    _mark_iterates(ax, xs, ys)
    finite_curve = curve[np.isfinite(curve)]
    if finite_curve.size:
        ylo, yhi = _span(list(finite_curve) + _finite(ys), pad=0.08)
        ax.set_ylim(ylo, yhi)
    ax.set_xlim(lo, hi)
    ax.set_xlabel(var)
    ax.set_ylabel(f"loss({var})")
    ax.set_title(
        f"iterates on the curve (first {min(len(xs), MAX_NUMBERED)} numbered)", fontsize=10
    )
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper right", fontsize=8)


def _descend_contour(ax, doc: dict, names: list[str], program) -> None:
    import numpy as np

    its = doc["iterations"]
    xs = [_num(row["values"].get(names[0])) for row in its]
    ys = [_num(row["values"].get(names[1])) for row in its]
    (xlo, xhi), (ylo, yhi) = _span(xs), _span(ys)
    gx, gy = np.meshgrid(np.linspace(xlo, xhi, GRID_2D), np.linspace(ylo, yhi, GRID_2D))
    z = _evaluate(program, names, {}, [gx, gy])
    finite = z[np.isfinite(z)]
    if finite.size > 1:
        levels = np.unique(np.quantile(finite, np.linspace(0.0, 1.0, 16)))
        if levels.size > 1:
            cs = ax.contour(
                gx, gy, np.ma.masked_invalid(z), levels=levels, cmap="viridis", linewidths=0.8
            )
            ax.clabel(cs, fontsize=7, fmt=lambda v: fmt(v, 3))
    ax.plot(xs, ys, "-", color="C3", linewidth=1, label="path of the iterates")
    _mark_iterates(ax, xs, ys)
    ax.set_xlim(xlo, xhi)
    ax.set_ylim(ylo, yhi)
    ax.set_xlabel(names[0])
    ax.set_ylabel(names[1])
    ax.set_title(
        f"contours of the loss and the path (first {min(len(xs), MAX_NUMBERED)} numbered)",
        fontsize=10,
    )
    ax.legend(loc="upper right", fontsize=8)


# -- sweep -----------------------------------------------------------------------------------
def plot_sweep(doc: dict, path: str) -> None:
    """Draw a ``backprop.descend-sweep/1`` document: loss per iteration for every η on one axis."""
    plot_format(path)
    _save(sweep_figure(doc), path)


def sweep_figure(doc: dict):
    """The matplotlib Figure for a ``backprop.descend-sweep/1`` document."""
    runs = doc.get("runs") or []
    fig, (ax,) = _figure(1)
    ceiling = _sweep_ceiling(runs)
    clipped = [_sweep_run(ax, i, run, ceiling) for i, run in enumerate(runs)]
    everything = _finite([_num(row.get("loss")) for r in runs for row in r.get("iterations") or []])
    positive = bool(everything) and all(v > 0 for v in everything)
    if positive:
        ax.set_yscale("log")
    elif everything:
        ax.set_yscale(
            "symlog", linthresh=max(min((abs(v) for v in everything if v), default=1.0), 1e-12)
        )
    if any(clipped):
        ax.axhline(ceiling, color="red", linestyle=":", linewidth=1)
        ax.text(0.99, 0.99, f"▲ clipped at {fmt(ceiling)}: loss grew beyond this (or was not finite)",
                transform=ax.transAxes, ha="right", va="top", fontsize=8, color="red")  # fmt: skip
    _integer_ticks(ax)
    ax.set_xlabel("iteration")
    ax.set_ylabel("loss" + (" (log scale)" if positive else ""))
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    expr = runs[0].get("expression", "") if runs else doc.get("expression", "")
    opt = runs[0].get("optimizer", "sgd") if runs else ""
    fig.suptitle(
        f"learning-rate sweep ({opt}) on {_short(expr)}: loss per iteration for each η", fontsize=11
    )
    return fig


def _sweep_ceiling(runs: list[dict]) -> float:
    """The top of the sweep's axis: 100 × the largest loss of the runs that did not diverge
    (or of the starting losses); a loss above it is clipped."""
    starts = _finite([_num(r["iterations"][0].get("loss")) for r in runs if r.get("iterations")])
    calm = [
        _num(row.get("loss"))
        for r in runs
        if r.get("status") != "diverged"
        for row in r.get("iterations") or []
    ]
    calm = _finite(calm) or starts
    top = max(calm) if calm else 1.0
    return top * 100 if top > 0 else (abs(top) + 1) * 100


def _sweep_run(ax, i: int, run: dict, ceiling: float) -> bool:
    """Run ``i``'s losses up to the first one past the ceiling (or not finite), which is marked
    ▲ at the ceiling; whether it was clipped."""
    losses = [_num(row.get("loss")) for row in run.get("iterations") or []]
    shown, cut = [], None
    for k, v in enumerate(losses):
        if not math.isfinite(v) or v > ceiling:
            cut = k
            break
        shown.append(v)
    status = run.get("status", "unknown")
    steps = max(0, len(losses) - 1)
    label = f"η = {fmt(run.get('eta'))}: {status.replace('_', ' ')} ({steps} steps)"
    color = f"C{i % 10}"
    (line,) = ax.plot(range(len(shown)), shown, "-", color=color, linewidth=1.4, label=label)
    line.set_gid(f"run-{i}")
    if cut is None:
        return False
    (mark,) = ax.plot([cut], [ceiling], "^", color=color, markersize=9, markeredgecolor="black")
    mark.set_gid(f"clipped-{i}")
    if shown:
        ax.plot([len(shown) - 1, cut], [shown[-1], ceiling], ":", color=color, linewidth=1)
    return True


# -- solve -----------------------------------------------------------------------------------
def _solve_title(doc: dict) -> str:
    vary = ", ".join(doc.get("vary") or [])
    updates = (doc.get("result") or {}).get("updates")
    if updates is None:
        updates = max(0, len(doc.get("iterations") or []) - 1)
    rule = f"gradient {doc.get('gradient', 'refresh')}"
    if len(doc.get("vary") or []) > 1:
        rule += f", split {doc.get('split', 'even')}"
    expr = _short(doc.get("expression", ""), 50)
    out = doc.get("output") or expr
    goal = f"{_short(out, 30)} = {fmt(doc.get('target'))}" + (
        f" in {expr}" if out != doc.get("expression") else ""
    )
    return (
        f"solve {goal} by varying {vary} ({rule})"
        f" — {_status_note(doc)} after {updates} update{'s' if updates != 1 else ''}"
    )


def plot_solve(doc: dict, path: str, program: Program) -> None:
    """Draw a ``backprop.solve/1`` run of ``program`` to ``path`` (.png/.svg/.pdf)."""
    plot_format(path)
    _save(solve_figure(doc, program), path)


def solve_figure(doc: dict, program: Program):
    """The matplotlib Figure for a ``backprop.solve/1`` document of a run of ``program``
    (the output is evaluated through it for the curve)."""
    vary = list(doc.get("vary") or [])
    its = doc.get("iterations") or []
    errors = [None if row.get("error") is None else abs(row["error"]) for row in its]
    if len(vary) == 1 and its:
        fig, (ax, axe) = _figure(2, [1.6, 1])
        _solve_curve(ax, doc, vary[0], program)
    else:
        fig, (ax, axe) = _figure(2, [1.2, 1])
        _paths_panel(ax, its, vary)
        ax.set_title("the path of each varied variable", fontsize=10)
    _failure_mark(ax, doc)
    _log_panel(axe, errors, "|error|", tol=doc.get("tol"), color="C3")
    axe.set_title("|output − target| per iteration", fontsize=10)
    fig.suptitle(_solve_title(doc), fontsize=11)
    return fig


def _solve_curve(ax, doc: dict, var: str, program) -> None:
    """Output against the varied variable, the target, each Newton step down to the target."""
    import numpy as np

    its = doc["iterations"]
    target = float(doc["target"])
    out_name = doc.get("output") or "output"
    xs = [_num(row["values"].get(var)) for row in its]
    zs = [_num(row.get("output")) for row in its]
    fixed = {v: _num(x) for v, x in its[0]["values"].items() if v in program.variables and v != var}
    lo, hi = _span(xs)
    grid = np.linspace(lo, hi, GRID)
    curve = _evaluate(program, [var], fixed, [grid])
    others = ", ".join(f"{v} = {fmt(x)}" for v, x in fixed.items())
    ax.plot(grid, curve, color="C0", linewidth=1.6,
            label=f"{_short(out_name, 30)} as a function of {var}" + (f" ({others})" if others else ""))  # fmt: skip
    ax.axhline(target, color="gray", linestyle="--", linewidth=1, label=f"target {fmt(target)}")
    frozen = doc.get("gradient") == "freeze"
    step_label = (
        "step along the first iteration's slope (frozen) down to the target"
        if frozen
        else "Newton step: tangent down to the target"
    )
    for k in range(min(len(xs) - 1, MAX_MARKED)):
        x, z, nx = xs[k], zs[k], xs[k + 1]
        if not all(math.isfinite(t) for t in (x, z, nx)):
            continue
        ax.plot([x, nx], [z, target], color="C2", linewidth=1,
                label=step_label if k == 0 else None)  # fmt: skip
        if math.isfinite(zs[k + 1]):
            ax.plot([nx, nx], [target, zs[k + 1]], color="C1", linestyle=":", linewidth=1,
                    label="forward pass at the new value" if k == 0 else None)  # fmt: skip
    _mark_iterates(ax, xs, zs)
    finite_curve = curve[np.isfinite(curve)]
    ylo, yhi = _span(list(finite_curve) + _finite(zs) + [target], pad=0.08)
    ax.set_ylim(ylo, yhi)
    ax.set_xlim(lo, hi)
    ax.set_xlabel(var)
    ax.set_ylabel(f"{_short(out_name, 30)}")
    ax.set_title(
        f"{'frozen-slope' if frozen else 'Newton'} steps toward the target"
        f" (first {min(len(xs), MAX_NUMBERED)} numbered)",
        fontsize=10,
    )
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best", fontsize=8)
