"""The picture of a fit to data (`descend --data ... --plot FILE`).

Left: the samples (input column against target column) and the fitted model's curve at the
start, at a few intermediate epochs and at the end. Right: the loss on the whole data set
per epoch (log scale).

The model curve is a node of the program that depends on one data column (the input) and
the parameters but not on the other column (the target): the last *named* such node when
there is one (name it: ``pred = w*x + b; (pred - y)^2``), else the node combined directly
with the target (``w*x + b`` in ``(w*x + b - y)^2``). Without two bound columns, or
without such a node, the left panel shows the samples of the data only.

matplotlib is imported lazily; figures are written through render/plot.py's deterministic
saver (fixed size and DPI, no dates or versions in the metadata).
"""

from __future__ import annotations

import math

MAX_POINTS = 5000  # samples drawn; a larger data set is thinned evenly (deterministic)
GRID = 300
SNAPSHOTS = 5  # curves drawn: start, a few intermediate epochs, end


def _dependencies(graph) -> list[set]:
    deps: list[set] = []
    for n in graph.nodes:
        if n.op == "var":
            deps.append({n.name})
        else:
            s: set = set()
            for i in n.inputs:
                s |= deps[i]
            deps.append(s)
    return deps


def model_node(program, columns: dict[str, str], parameters) -> tuple[int, str, str] | None:
    """(node id, input variable, target variable) of the model curve, or None."""
    if len(columns) != 2:
        return None
    graph = program.graph
    deps = _dependencies(graph)
    params = set(parameters)
    ids_of = graph.names
    found = []
    for target in columns:
        (inp,) = [v for v in columns if v != target]
        ok = [
            n.id
            for n in graph.nodes[: program.output + 1]
            if n.op not in ("var", "const") and inp in deps[n.id] and target not in deps[n.id]
            and deps[n.id] & params
        ]  # fmt: skip
        named = [i for i in ok if graph.nodes[i].name is not None]
        if named:
            found.append((0, named[-1], inp, target))
            continue
        tid = ids_of[target]
        siblings = [i for n in graph.nodes if tid in n.inputs for i in n.inputs if i in ok]
        if siblings:
            found.append((1, siblings[-1], inp, target))
    if not found:
        return None
    _, node, inp, target = min(found, key=lambda f: f[0])
    return node, inp, target


def _curve(program, node: int, inp: str, grid, values: dict):
    """The model node's value along the grid (NaN where it cannot be computed)."""
    import numpy as np

    from ..errors import DomainError
    from ..core.program import Program

    sub = Program(program.graph, node)
    point = {v: 0.0 for v in program.variables}
    point.update(values)
    point[inp] = grid
    try:
        value = sub.trace(point).value
        return np.broadcast_to(np.asarray(value, dtype=float), grid.shape)
    except DomainError:
        out = np.full(grid.shape, np.nan)
        for i, g in enumerate(grid):
            point[inp] = float(g)
            try:
                out[i] = float(sub.trace(point).value)
            except DomainError:
                pass
        return out


def snapshot_epochs(n_epochs: int, k: int = SNAPSHOTS) -> list[int]:
    """Epochs whose curves are drawn: 0, roughly geometric intermediate ones, the last."""
    if n_epochs <= k - 1:
        return list(range(n_epochs + 1))
    picks = {0, n_epochs}
    for j in range(1, k - 1):
        picks.add(int(round(n_epochs ** (j / (k - 1)))))
    return sorted(picks)


def plot_fit(
    path: str, program, dataset, binding, result, title: str = "", reduce: str = "mean"
) -> None:
    """Write the fit picture of a TrainResult to ``path`` (.png, .svg or .pdf)."""
    fig = fit_figure(program, dataset, binding, result, title, reduce)
    from .plot import _save

    _save(fig, path)


def fit_figure(program, dataset, binding, result, title: str = "", reduce: str = "mean"):
    import numpy as np

    from .numbers import fmt
    from .plot import _figure, _log_panel

    fig, (ax, lx) = _figure(2, [1.4, 1.0])
    found = model_node(program, binding.columns, binding.parameters)
    cols = binding.columns
    stride = max(1, math.ceil(dataset.rows / MAX_POINTS))
    if found is not None:
        node, inp, target = found
        xs = dataset.columns[cols[inp]][::stride]
        ys = dataset.columns[cols[target]][::stride]
        ax.scatter(
            xs, ys, s=8, color="0.45", alpha=0.6, label=f"samples ({dataset.rows})", zorder=2
        )
        lo, hi = float(np.min(xs)), float(np.max(xs))
        pad = 0.05 * (hi - lo or 1.0)
        grid = np.linspace(lo - pad, hi + pad, GRID)
        epochs = snapshot_epochs(len(result.epoch_values) - 1)
        cmap = _cmap()
        for j, e in enumerate(epochs):
            last = e == epochs[-1]
            values = result.epoch_values[e] if not last else result.values
            color = "C3" if last else cmap(0.25 + 0.6 * j / max(1, len(epochs) - 1))
            label = ("end" if last else f"epoch {e}") + ": " + ", ".join(
                f"{p} = {fmt(v, 4)}" for p, v in values.items()
            )  # fmt: skip
            line = ax.plot(
                grid, _curve(program, node, inp, grid, values), color=color,
                linewidth=2.2 if last else 1.2, linestyle="-" if last else "--", label=label,
                zorder=3,
            )[0]  # fmt: skip
            line.set_gid(f"epoch-{e}")
        ax.set_xlabel(f"{inp} (column {cols[inp]})" if cols[inp] != inp else inp)
        ax.set_ylabel(f"{target} (column {cols[target]})" if cols[target] != target else target)
        ax.set_title(f"model {program.label(node)}", fontsize=10)
    else:
        names = list(cols)
        first = dataset.columns[cols[names[0]]][::stride]
        ax.plot(np.arange(first.size) * stride + 1, first, ".", color="0.45", markersize=3)
        ax.set_xlabel("data row")
        ax.set_ylabel(names[0])
        ax.set_title("samples (no single-input model curve to draw)", fontsize=10)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best", fontsize=7)
    _log_panel(lx, list(result.epoch_losses), f"{reduce} loss (whole data set)")
    lx.set_xlabel("epoch")
    status = result.status.replace("_", " ")
    fig.suptitle(
        (title + " — " if title else "") + f"{status} after {result.epochs} epochs, "
        f"{result.iterations} updates, batch size {result.batch_size}",
        fontsize=10,
    )
    return fig


def _cmap():
    from matplotlib import colormaps

    return colormaps["Blues"]
