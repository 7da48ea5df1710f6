"""The objective over a data set: the mean (or sum) of the program's output over samples.

One compiled, vectorised call per batch: data columns go in as numpy arrays, parameters
as scalars that broadcast against them; the per-sample partials of the parameters are
reduced with the same mean/sum. No Python loop over rows.

The program is compiled with the data columns treated as constants, so the generated
reverse sweep computes adjoints only for what leads to a parameter — a least-squares
step then costs about what a hand-written numpy step costs (benchmarks/data_step.py).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ..data import Binding, Dataset
from ..errors import DomainError, InputError
from ..core.program import Program

if TYPE_CHECKING:
    from ..core.graph import Graph

REDUCTIONS = ("mean", "sum")
BLOCK = 1 << 16  # rows per compiled call when a batch is swept in blocks (cache-sized temporaries)


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The objective and its gradient with respect to the parameters."""

    value: float
    gradient: dict[str, float]
    rows: int  # samples in the batch


@dataclass(frozen=True)
class PerSample:
    """The program's output and its partials for every sample (numpy arrays of length rows)."""

    values: object
    gradients: dict  # parameter -> array


def data_graph(program: Program, data_vars) -> Graph:
    """The program's graph with the data variables (and what depends on them alone) constant.

    Only the reverse sweep reads ``constant``: it stops propagating adjoints into those
    nodes, so no per-sample partial of a data column is computed.
    """
    graph = program.graph
    data_vars = set(data_vars)
    nodes = []
    const: list[bool] = []
    for n in graph.nodes:
        if n.op == "var":
            c = n.name in data_vars
        elif n.op == "const":
            c = True
        else:
            c = all(const[i] for i in n.inputs)
        const.append(c)
        nodes.append(n if n.constant == c else replace(n, constant=c))
    return replace(graph, nodes=tuple(nodes))


class Objective:
    """``reduce`` over samples of the program's output; value and gradient per batch."""

    def __init__(
        self, program: Program, dataset: Dataset, binding: Binding, reduce: str = "mean"
    ) -> None:
        if reduce not in REDUCTIONS:
            raise InputError(f"--reduce '{reduce}': use mean or sum")
        self.program = program
        self.dataset = dataset
        self.binding = binding
        self.reduce = reduce
        self.data_vars = tuple(binding.columns)
        self.parameters = binding.parameters
        self.key = self.data_vars + self.parameters
        self._columns = tuple(dataset.columns[binding.columns[v]] for v in self.data_vars)
        self._f = self._compile()

    @property
    def rows(self) -> int:
        return self.dataset.rows

    def _compile(self):
        from ..compiler.codegen import build_functions
        from ..core.program import _require_finite

        program, key = self.program, self.key

        def diagnose(values: tuple):
            """The interpreter explains a failure (or, on a false alarm, answers)."""
            t = program.trace(dict(zip(key, values)))
            _require_finite(program, t, self.parameters)
            return t.value, tuple(t.adjoints[program.graph.names[n]] for n in key)

        _, array_f, _ = build_functions(
            data_graph(program, self.data_vars), key, diagnose, program.output,
            accel=program.accel,
        )
        return array_f

    def columns(self, rows=None) -> tuple:
        """The bound columns, whole or at the given row indices (a slice or an index array)."""
        if rows is None:
            return self._columns
        return tuple(c[rows] for c in self._columns)

    def _call(self, params: dict, rows, block=None):
        """One compiled call on the batch ``rows`` (or on its rows ``block`` = (lo, hi))."""
        cols = self.columns(rows)
        if block is not None:
            cols = tuple(c[block[0] : block[1]] for c in cols)
        args = (*cols, *(float(params[p]) for p in self.parameters))
        try:
            return self._f(*args)
        except DomainError as err:
            raise _with_row(err, rows, block[0] if block else 0) from None

    def evaluate(self, params: dict, rows=None) -> Evaluation:
        """The objective over the batch ``rows`` (default: every sample) and its gradient.

        A large batch is swept in blocks of :data:`BLOCK` rows — one compiled call each, the
        block sums added up — so every temporary stays in the CPU cache (about twice as
        fast as one call over a million rows, whose temporaries all stay alive in memory).
        """
        import numpy as np

        n = self.rows if rows is None else _batch_len(rows, self.rows)
        if rows is not None and not isinstance(rows, slice):
            rows = np.asarray(rows)
        k = len(self.data_vars)
        total = 0.0
        sums = [0.0] * len(self.parameters)
        with np.errstate(all="ignore"):
            for lo in range(0, n, BLOCK):
                hi = min(lo + BLOCK, n)
                value, grads = self._call(params, rows, (lo, hi) if n > BLOCK else None)
                total += _reduce(value, hi - lo, "sum")
                for j, g in enumerate(grads[k:]):
                    sums[j] += _reduce(g, hi - lo, "sum")
        if self.reduce == "mean":
            total /= n
            sums = [g / n for g in sums]
        gradient = dict(zip(self.parameters, sums))
        if not math.isfinite(total):
            raise DomainError(
                f"the {self.reduce} of `{self.program.output_name}` over the samples overflows"
            )
        for p, g in gradient.items():
            if not math.isfinite(g):
                raise DomainError(
                    f"the {self.reduce} of ∂{self.program.output_name}/∂{p} over the samples overflows"
                )
        return Evaluation(total, gradient, n)

    def per_sample(self, params: dict, rows=None) -> PerSample:
        """Every sample's output and partials with respect to the parameters."""
        import numpy as np

        n = self.rows if rows is None else _batch_len(rows, self.rows)
        value, grads = self._call(params, rows)
        k = len(self.data_vars)
        shape = (n,)
        return PerSample(
            np.broadcast_to(np.asarray(value, dtype=float), shape),
            {
                p: np.broadcast_to(np.asarray(g, dtype=float), shape)
                for p, g in zip(self.parameters, grads[k:])
            },
        )


def _batch_len(rows, total: int) -> int:
    if isinstance(rows, slice):
        return len(range(*rows.indices(total)))
    return len(rows)


def _reduce(x, n: int, how: str) -> float:
    """mean/sum over n samples of an array — or of a scalar that stands for n equal samples."""
    if getattr(x, "ndim", 0) == 0:
        x = float(x)
        return x if how == "mean" else x * n
    s = float(x.sum())
    return s / n if how == "mean" else s


_POINT = re.compile(r" \(at point (\d+)\)$")


def _with_row(err: DomainError, rows, offset: int = 0) -> DomainError:
    """Name the data row (1-based) where a batch evaluation left the domain."""
    m = _POINT.search(err.message)
    if not m:
        return err
    k = int(m.group(1)) + offset
    if rows is None:
        row = k
    elif isinstance(rows, slice):
        row = (rows.start or 0) + k * (rows.step or 1)
    else:
        row = int(rows[k])
    message = err.message[: m.start()] + f" (data row {row + 1})"
    return DomainError(message, err.source, err.span, hint=err.hint, node=err.node, value=err.value)


@dataclass(frozen=True)
class DataGradReport:
    """`grad --data`: the reduced objective at the parameters, its gradient, per-sample values."""

    expression: str
    output: str
    at: dict[str, float]
    defaulted: tuple[str, ...]
    reduce: str
    value: float
    gradient: dict[str, float]
    dataset: Dataset
    binding: Binding
    per_sample: PerSample | None


def data_gradient_report(
    program: Program, dataset: Dataset, binding: Binding, at: dict, defaulted=(), reduce: str = "mean",
    per_sample: bool = False,
) -> DataGradReport:  # fmt: skip
    objective = Objective(program, dataset, binding, reduce)
    ev = objective.evaluate(at)
    ps = objective.per_sample(at) if per_sample else None
    return DataGradReport(
        program.source, program.output_name, dict(at), tuple(defaulted), reduce, ev.value, ev.gradient,
        dataset, binding, ps,
    )  # fmt: skip


def reduced_hessian(objective: Objective, params: dict, rows=None) -> list[list[float]]:
    """Exact second partials of the objective w.r.t. the parameters (nested dual numbers,
    vectorised over the batch), reduced like the objective."""
    import numpy as np

    n = objective.rows if rows is None else _batch_len(rows, objective.rows)
    point = dict(zip(objective.data_vars, objective.columns(rows)))
    point.update({p: float(params[p]) for p in objective.parameters})
    try:
        H = objective.program.hessian(point, list(objective.parameters))
    except DomainError as err:
        raise _with_row(err, rows) from None
    with np.errstate(all="ignore"):
        return [
            [_reduce(np.asarray(h, dtype=float), n, objective.reduce) for h in row] for row in H
        ]
