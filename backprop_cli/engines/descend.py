"""Gradient descent on a program's output: iteration records and an honest final status.

Row k of a run is the point x_k with its loss and gradient; row 0 is the start, the last
row is where the run stopped (no step). At each row the checks run in this order:

1. ``converged``  — every |∂loss/∂v| < tol (a stationary start converges with 0 steps);
2. ``converged``  — loss < until_loss, when given;
3. ``unbounded_below`` — loss ≤ −1e12·max(1, |loss₀|): the loss falls without bound (there
   is no minimum to find; a smaller η cannot help);
   ``diverged``   — loss ≥ 1e12·max(1, |loss₀|) (growing without bound), or a step made
   the point or the loss non-finite (an overflow);
4. at checkpoint rows (4, 8, 16, …, 512, then every 1024th):
   ``diverged``    — max |v| > 1e12·max(1, max |v₀|);
   ``oscillating`` — the iterates cycle: for a period p in 2…8 the last p points repeat the
   p before them to within 1e-6 of the distance travelled per step (an exact flip x ↔ −x is
   found at row 4; a converging spiral of momentum shrinks each turn and is not a cycle;
   a crawl with tiny steps is not a cycle either — it ends in max_iterations);
   ``converged``   — for a memoryless update (sgd, newton): the last step left the point
   exactly where it was (the gradient is too small to move it: a fixed point of the update);
5. ``max_iterations`` — k = max_iter steps taken without any of the above.

A run that converged on its gradient has its point classified from the exact second
derivatives (:func:`classify_point`): a minimum, a saddle, a maximum, or flat (the
curvature vanishes there or nearby: an inflection or a plateau, not a confirmed minimum).

A step into a point outside the domain ends the run with ``domain_error`` (which node,
which value; the trace so far is kept, the last row has no loss). ``newton`` meeting
curvature it cannot use ends with ``nonpositive_curvature``.

Speed: the loop calls the compiled ``Program.function``; rows store raw floats and the
records are built lazily. For ``sgd`` the whole update loop between checkpoints is
generated around the compiled body (see :func:`_chunk_function`; for polynomial and
rational losses a pass that starts inside a proven box skips the loss test, see
:func:`_proof_box`); the plain loop is the reference and tests check that both agree exactly.

No printing here: renderers turn :class:`Descent` into tables and JSON.
"""

from __future__ import annotations

import math
import re
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .. import interrupt
from ..compiler.execute import run_generated
from ..errors import DomainError
from ..limits import MAX_SWEEP
from ..core.program import Program
from .optimizers import SGD, CurvatureError, Optimizer, make

if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any, NoReturn, Protocol

    import numpy as np

    from ..compiler.codegen import Body
    from ..core.graph import Graph

    class _Chunk(Protocol):
        """A generated sgd loop (:func:`_generate_chunk`) with its attributes."""

        source: str
        unroll: int
        boxed: bool
        box: Callable[[tuple, float, float, float], tuple | None]  # set by _Loops._get

        def __call__(self, *args: Any) -> int: ...

DEFAULT_TOL = 1e-5
DEFAULT_MAX_ITER = 10_000
GROWTH = 1e12  # "without bound": this many times the starting scale
CYCLE_RTOL = 1e-6  # a cycle returns within this fraction of the distance travelled per step
MAX_PERIOD = 8
STATUSES = (
    "converged",
    "interrupted",
    "unbounded_below",
    "diverged",
    "oscillating",
    "max_iterations",
    "domain_error",
    "nonpositive_curvature",
)


EARLY_CHECKPOINTS = (4, 8, 16, 32, 64, 128, 256, 512)
CHECK_EVERY = 1024
#: the generated sgd loop runs at most this many rows past the checkpoints it crosses
SPAN = 8 * CHECK_EVERY
#: from this row on the generated sgd loop looks for a box that makes its loss test
#: provably true (:func:`_proof_box`; shorter runs do not pay for the search)
BOX_FROM = 128
NO_BOX = (math.inf, -math.inf)  # a pass never starts inside it: every row is tested


def is_checkpoint(k: int) -> bool:
    """Rows where the cycle and point-size checks run: 4, 8, 16, …, 512, then every 1024th."""
    return k in EARLY_CHECKPOINTS or (k > 0 and k % CHECK_EVERY == 0)


def next_checkpoint(k: int) -> int:
    """The first checkpoint row ≥ k."""
    for c in EARLY_CHECKPOINTS:
        if k <= c:
            return c
    return -(-k // CHECK_EVERY) * CHECK_EVERY


#: rows built together when a run's records are iterated (JSON, JSONL, --all); blocks
#: shorter than BLOCK_FROM take each curvature by itself (no numpy import for a short run)
BLOCK = 4096
BLOCK_FROM = 64


@dataclass(frozen=True, slots=True)
class IterationRecord:
    """One row: the point, its loss and gradient, and the step taken from it (None on the
    last row). ``steps`` is the change added to each variable: x_{k+1} = x_k + step.
    For one variable also the curvature f''(x) and, for sgd, the stability bound 2/f''."""

    iteration: int
    values: dict[str, float]
    loss: float | None
    gradient: dict[str, float] | None
    steps: dict[str, float] | None
    curvature: float | None = None
    stability_bound: float | None = None


@dataclass(frozen=True, slots=True)
class RowColumns:
    """Rows ``start`` … ``start + len(losses) − 1`` of a run, column by column: per variable
    the values, gradients and steps (None on the run's last row), and the loss; for one
    variable the curvature and (sgd) the stability bound, else None."""

    start: int
    values: list[list[float]]
    losses: list[float | None]
    gradients: list[list[float | None]]
    steps: list[list[float | None]]
    curvature: list[float | None] | None
    stability_bound: list[float | None] | None


@dataclass(frozen=True, slots=True)
class DescentResult:
    status: str  # one of STATUSES
    message: str  # plain language
    values: dict[str, float]  # the last point
    loss: float | None  # its loss (None when it could not be evaluated)
    iterations: int  # steps taken (= index of the last row)
    error: dict | None = None  # domain_error: kind, message, node, label
    #: converged on the gradient: minimum | saddle | maximum | flat (classify_point); else None
    point_kind: str | None = None


@dataclass(frozen=True)
class Descent:
    """A finished run: configuration, raw rows (floats) and the result; records built lazily."""

    program: Program
    names: tuple[str, ...]
    optimizer: str
    eta: float
    hyper: dict
    start: dict[str, float]
    tol: float
    until_loss: float | None
    max_iter: int
    result: DescentResult
    points: list[list[float]]  # per variable, rows 0..n
    stored: tuple | None = None  # (losses, grads per var, steps per var) or None: recompute
    _cache: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def status(self) -> str:
        return self.result.status

    @property
    def ok(self) -> bool:
        return self.result.status == "converged"

    def __len__(self) -> int:
        return len(self.points[0]) if self.points else 1

    def record(self, k: int) -> IterationRecord:
        """Row k (0 ≤ k < len(self)), built on demand."""
        n = len(self) - 1
        if k < 0:
            k += n + 1
        return self._record(k, None)

    def block(self, a: int, b: int) -> list[IterationRecord]:
        """Rows a … b−1, their curvatures (one variable) in one vectorised pass: a long
        run's rows cost a compiled call each, not an interpreted second derivative each.
        (numpy's sin/exp may round an ulp apart from math's: curvature is for display.)"""
        b = min(b, len(self))
        curvatures: list[float | None] | None = None
        if len(self.names) == 1 and b - a >= BLOCK_FROM:
            curvatures = self._curvatures(self.points[0][a:b])
        return [self._record(k, None if curvatures is None else curvatures[k - a]) for k in range(a, b)]

    def columns(self, a: int, b: int) -> RowColumns:
        """Rows a … b−1 column by column: the same numbers as :meth:`record` gives row by
        row (curvatures as :meth:`block` computes them), without an object per row — what
        a long run's JSON is written from."""
        b = min(b, len(self))
        n = len(self) - 1
        names = self.names
        values = [xs[a:b] for xs in self.points]
        last = b - 1 == n and self.result.loss is None  # the failed last row: no loss
        c = b - 1 if last else b  # rows with a loss and gradient
        if self.stored is not None:
            losses, grads, steps = self.stored
            loss_col: list[float | None] = list(losses[a:c])
            grad_cols: list[list[float | None]] = [list(g[a:c]) for g in grads]
            step_cols: list[list[float | None]] = [list(s[a : min(b, n)]) for s in steps]
        else:
            f = self._f()
            evaluated = [f(*row) for row in zip(*(col[: c - a] for col in values))]
            loss_col = [e[0] for e in evaluated]
            grad_cols = [[e[1][i] for e in evaluated] for i in range(len(names))]
            eta = self.eta
            step_cols = [[-(eta * g) for g in col[: min(b, n) - a]] for col in grad_cols]  # type: ignore[operator]
        if last:
            loss_col.append(None)
            for col in grad_cols:
                col.append(None)
        for col in step_cols:
            col.extend([None] * (b - a - len(col)))
        curvature = bound = None
        if len(names) == 1:
            curvature = self._curvatures(values[0][: c - a]) if c - a >= BLOCK_FROM else None
            if curvature is None:
                curvature = [self._curvature({names[0]: x}) for x in values[0][: c - a]]
            curvature = curvature + [None] * (b - a - len(curvature))
            if self.optimizer == "sgd":
                bound = [2.0 / h if h is not None and h > 0 else None for h in curvature]
        return RowColumns(a, values, loss_col, grad_cols, step_cols, curvature, bound)

    def _curvatures(self, xs: list[float]) -> list[float | None] | None:
        """f'' at every x of ``xs`` (one variable) through numpy-valued dual numbers; None
        when the vectorised pass cannot run (a domain check refuses the block)."""
        import numpy as np

        from ..core import dual

        arr = np.array(xs, dtype=float)
        try:
            with np.errstate(all="ignore"):
                h = dual.hessian(self.program.graph, {self.names[0]: arr}, list(self.names),
                                 self.program.output)[0][0]  # fmt: skip
        except (DomainError, ArithmeticError, ValueError, TypeError):
            return None
        h = np.broadcast_to(np.asarray(h, dtype=float), arr.shape)
        return [float(c) if math.isfinite(c) else None for c in h.tolist()]

    def _record(self, k: int, curvature_given: float | None) -> IterationRecord:
        n = len(self) - 1
        values = {v: self.points[i][k] for i, v in enumerate(self.names)}
        last_failed = k == n and self.result.loss is None
        if last_failed:
            loss, grad = None, None
        elif self.stored is not None:
            losses, grads, _ = self.stored
            loss, grad = losses[k], [g[k] for g in grads]
        else:
            loss, g = self._f()(*[self.points[i][k] for i in range(len(self.names))])
            grad = list(g)
        steps = None
        if k < n:
            if self.stored is not None:
                steps = {v: self.stored[2][i][k] for i, v in enumerate(self.names)}
            else:  # the generated sgd loop: step = −η·g, exactly as it was added
                steps = {v: -(self.eta * grad[i]) for i, v in enumerate(self.names)}  # type: ignore[index]  # k < n: set
        curvature = bound = None
        if len(self.names) == 1 and not last_failed:
            curvature = curvature_given if curvature_given is not None else self._curvature(values)
            if self.optimizer == "sgd" and curvature is not None and curvature > 0:
                bound = 2.0 / curvature
        return IterationRecord(
            k,
            values,
            loss,
            None if grad is None else dict(zip(self.names, grad)),
            steps,
            curvature,
            bound,
        )

    def records(self) -> list[IterationRecord]:
        """Every row, in order (cached)."""
        if "records" not in self._cache:
            self._cache["records"] = list(self)
        return self._cache["records"]

    def __iter__(self) -> Iterator[IterationRecord]:
        if "records" in self._cache:
            yield from self._cache["records"]
        else:
            for a in range(0, len(self), BLOCK):
                yield from self.block(a, a + BLOCK)

    def losses(self) -> list[float | None]:
        """The loss of every row (for sparklines); the last is the result's."""
        n = len(self) - 1
        if self.stored is not None:
            out = list(self.stored[0][:n])
        else:
            f = self._f()
            out = [f(*[xs[k] for xs in self.points])[0] for k in range(n)]
        return out + [self.result.loss]

    def _f(self) -> Callable[..., Any]:
        return self.program.function(self.names)

    def _curvature(self, values: dict) -> float | None:
        try:
            return float(self.program.hessian(values, self.names)[0][0])
        except (DomainError, ArithmeticError, ValueError):
            return None


# -- checks shared by every path ---------------------------------------------------------


def _cycle_period(points: list[list[float]], k: int) -> int | None:
    """The period p (2…8) of a cycle ending at row k, or None.

    A cycle of period p: the last p points each repeat the point p rows before to within
    CYCLE_RTOL × the largest single move among the last p steps (which must be > 0)."""
    travel = 0.0
    for p in range(1, MAX_PERIOD + 1):
        if k < 2 * p - 1:
            break
        for xs in points:  # the move into row k−p+1 joins the window (NaN never does)
            m = abs(xs[k - p + 1] - xs[k - p])
            if m > travel:
                travel = m
        if p == 1 or not travel > 0.0:
            continue
        bound = CYCLE_RTOL * travel
        # row k first: it rules out almost every p without building the full test
        if (
            all(abs(xs[k] - xs[k - p]) <= bound for xs in points)
            if len(points) > 1
            else (abs(points[0][k] - points[0][k - p]) <= bound)
        ):
            if all(abs(xs[k - j] - xs[k - j - p]) <= bound for j in range(p) for xs in points):
                return p
    return None


#: optimizers whose step depends on the current point only: an unmoved point stays put
MEMORYLESS = ("sgd", "newton")
#: an eigenvalue of the Hessian counts as zero below this fraction of the largest one
FLAT_RTOL = 1e-9
POINT_WORDS = {
    "minimum": "; the point is a minimum (the second derivatives are positive definite)",
    "saddle": "; but the point is a saddle (the curvature is positive in some directions and "
    "negative in others), not a minimum",
    "maximum": "; but the point is a maximum (the curvature is negative in every direction)",
    "flat": "; but the curvature vanishes at or near the point (an inflection or a plateau): "
    "not a confirmed minimum",
}


def classify_point(
    program: Program, names: Sequence[str], point: Sequence[float], grad: Sequence[float]
) -> str | None:
    """What a stationary point is, from the exact Hessian: ``minimum`` when it is positive
    definite there and at the point reflected through the quadratic model's minimum
    (x − 2·H⁻¹g: a minimum of the model that the function's own curvature does not bear
    out, as at x ≈ 0.002 on x^3, is ``flat``), ``saddle``, ``maximum``, or ``flat`` (an
    eigenvalue ≈ 0). None when the second derivatives cannot be evaluated."""

    def eigen(at: Sequence[float]) -> tuple[list[float], list[list[float]]] | None:
        try:
            H = program.hessian(dict(zip(names, at)), list(names))
        except (DomainError, ArithmeticError, ValueError):
            return None
        rows = [[float(h) for h in row] for row in H]
        if len(rows) == 1:
            return rows[0], rows
        import numpy as np

        return [float(e) for e in np.linalg.eigvalsh(np.array(rows))], rows

    if not names:  # a constant loss: no curvature to speak of
        return None
    first = eigen(point)
    if first is None or not all(math.isfinite(e) for e in first[0]):
        return None
    lams, H = first
    zero = FLAT_RTOL * max(abs(e) for e in lams) if any(lams) else 0.0
    if all(e > zero for e in lams):
        if len(H) == 1:
            d = [grad[0] / H[0][0]]
        else:
            import numpy as np

            d = [float(v) for v in np.linalg.solve(np.array(H), np.array(grad, dtype=float))]
        beyond = eigen([x - 2.0 * di for x, di in zip(point, d)])
        if beyond is None:
            return "flat"
        return "minimum" if all(e > zero for e in beyond[0]) else "flat"
    if any(e > zero for e in lams) and any(e < -zero for e in lams):
        return "saddle"
    if all(e < -zero for e in lams):
        return "maximum"
    return "flat"


class _Limits:
    """The 'without bound' thresholds, fixed by the start."""

    def __init__(self, start: Sequence[float], loss0: float) -> None:
        self.loss = GROWTH * max(1.0, abs(loss0))
        self.point = GROWTH * max(1.0, max((abs(v) for v in start), default=0.0))


# -- the run -----------------------------------------------------------------------------


def descend(
    program: Program,
    start: dict[str, float],
    optimizer: str | Optimizer = "sgd",
    eta: float | None = None,
    *,
    tol: float = DEFAULT_TOL,
    until_loss: float | None = None,
    max_iter: int = DEFAULT_MAX_ITER,
    hyper: dict | None = None,
    fast: bool = True,
    progress: Callable[[int], None] | None = None,
) -> Descent:
    """Run descent from ``start`` (every variable of the program) and classify the outcome.

    ``optimizer`` is a name (with ``eta`` and ``hyper`` for its hyperparameters; None
    takes the defaults) or an :class:`Optimizer`. ``fast=False`` forces the plain
    reference loop. ``progress(k)`` is called now and then with the current row.
    """
    names = tuple(program.variables)
    opt = optimizer if isinstance(optimizer, Optimizer) else make(optimizer, eta, **(hyper or {}))
    start = program.point(start)  # numbers only, named in the error (the API's one check)
    point = [float(start[v]) for v in names]
    f = program.function(names)
    ctx = _Run(program, names, opt, f, tol, until_loss, max_iter, progress)
    use_chunks = fast and type(opt) is SGD and len(names) > 0
    result = ctx.run(point, _chunk_function(program, names, tol) if use_chunks else None)
    return Descent(
        program=program,
        names=names,
        optimizer=opt.name,
        eta=float(opt.eta),
        hyper=dict(opt.hyper),
        start={v: float(start[v]) for v in names},
        tol=tol,
        until_loss=until_loss,
        max_iter=max_iter,
        result=result,
        points=ctx.points,
        stored=None if use_chunks else (ctx.losses, ctx.grads, ctx.steps),
    )


def sgd_fast(program: Program, start: dict[str, float], eta: float, steps: int) -> Descent:
    """Exactly ``steps`` plain-descent steps through the generated loop (no gradient
    tolerance: tol = 0), unless the run diverges, cycles or leaves the domain first.
    The benchmark's entry point (benchmarks/run.py W6)."""
    return descend(program, start, "sgd", eta, tol=0.0, max_iter=steps)


class _Run:
    def __init__(
        self,
        program: Program,
        names: tuple[str, ...],
        opt: Optimizer,
        f: Callable[..., Any],
        tol: float,
        until: float | None,
        max_iter: int,
        progress: Callable[[int], None] | None,
    ) -> None:
        self.program, self.names, self.opt, self.f = program, names, opt, f
        self.tol, self.until, self.max_iter, self.progress = tol, until, max_iter, progress
        n = len(names)
        self.points: list[list[float]] = [[] for _ in range(n)]
        self.losses: list = []
        self.grads: list[list] = [[] for _ in range(n)]
        self.steps: list[list] = [[] for _ in range(n)]
        self.limits: _Limits | None = None
        self.loss0: float | None = None
        self.curv0: float | None = None
        self.box: tuple | None = None  # the generated sgd loop's proven box (_proof_box)
        # (None: not looked for yet; (): none found)

    def run(self, point: list[float], chunk: _Loops | None) -> DescentResult:
        for xs, v in zip(self.points, point):
            xs.append(v)
        try:
            return self._loop(chunk)
        except KeyboardInterrupt:
            return self.interrupted(chunk is None)

    def interrupted(self, store: bool) -> DescentResult:
        """Ctrl-C: the run ends at its last complete row (every list cut to it; that row's
        loss and gradient evaluated again when they were not stored yet)."""
        if store:  # a row's step is stored last: rows with a step are complete
            last = min(len(ss) for ss in self.steps) if self.steps else len(self.losses)
        else:
            last = min(len(xs) for xs in self.points) - 1
        for xs in self.points:
            del xs[last + 1 :]
        value: float | None = None
        try:
            value, grad = self.f(*[xs[last] for xs in self.points])
        except DomainError:
            grad = None
        if store:
            del self.losses[last:]
            self.losses.append(value)
            for i, gs in enumerate(self.grads):
                del gs[last:]
                gs.append(None if grad is None else grad[i])
            for ss in self.steps:
                del ss[last:]
        msg = f"interrupted by Ctrl-C after {last} step{'' if last == 1 else 's'}"
        return self._done("interrupted", msg, last, value)

    def _loop(self, chunk: _Loops | None) -> DescentResult:
        k = 0
        store = chunk is None
        while True:
            if chunk is not None and k > 0:
                # through several checkpoints at once (about as many rows again as run so
                # far, at most SPAN): their point and cycle checks run afterwards, on the
                # recorded points, and the first that fires hands its row back
                stop = min(next_checkpoint(min(2 * k, k + SPAN)), self.max_iter)
                if stop > k:
                    if self.progress is not None:
                        self.progress(k)
                    k = self._advance(chunk, k, stop)
            outcome = self._row(k, store)
            if outcome is not None:
                return outcome
            k += 1

    def _advance(self, loops: _Loops, k: int, stop: int) -> int:
        """Run rows k … stop−1 in the generated loop; the row to resume at (plain loop)."""
        lim: _Limits = self.limits  # type: ignore[assignment]  # set at row 0
        lo = -lim.loss if self.until is None else max(self.until, -lim.loss)
        # the loss cannot fall below lo: test only < hi
        chunk = loops.upper_only if loops.lower_bound >= lo else loops.two_sided
        if self.box is None and k >= BOX_FROM:
            start = tuple(xs[0] for xs in self.points)
            self.box = chunk.box(start, self.opt.eta, lo, lim.loss) or ()
        extends = [xs.extend for xs in self.points]
        point = [xs[-1] for xs in self.points]
        box = self.box or NO_BOX * len(point)
        k2 = chunk(*point, self.opt.eta, self.tol, lo, lim.loss, k, stop, *extends, *box)
        # a non-finite gradient shows up as a non-finite next point: back up one row so the
        # plain loop meets it exactly where it would have
        if k2 > k and not all(math.isfinite(xs[k2]) for xs in self.points):
            k2 -= 1
            for xs in self.points:
                del xs[k2 + 1 :]
        c = next_checkpoint(k)
        while c < k2:  # rows the loop finished: checks 1-3 passed, now check 4
            if self.progress is not None and c % CHECK_EVERY == 0:
                self.progress(c)
            if self.checkpoint(c) is not None:  # the plain loop meets it at row c
                for xs in self.points:
                    del xs[c + 1 :]
                return c
            c = next_checkpoint(c + 1)
        return k2

    def _row(self, k: int, store: bool) -> DescentResult | None:
        """Evaluate row k, check it, and (if the run goes on) take the step from it."""
        interrupt.check()  # a Ctrl-C waiting: rows up to k − 1 are complete
        point = [xs[k] for xs in self.points]
        try:
            value, grad = self.f(*point)
        except DomainError as err:
            return self.explain_error(err, k)
        if store:
            self.losses.append(value)
            for gs, g in zip(self.grads, grad):
                gs.append(g)
        if k == 0:
            self.set_start(point, value)
        verdict = self.check(k, value, grad)
        if verdict is not None:
            return self.explain(verdict, k, value, grad)
        if self.progress is not None and k % 1024 == 0:
            self.progress(k)
        H = None
        if self.opt.needs_hessian:
            try:
                H = self.program.hessian(dict(zip(self.names, point)), self.names)
            except DomainError as err:
                return self.explain_error(err, k, value)
        try:
            d = self.opt.step(point, grad, H)
        except CurvatureError as err:
            return self.explain(("nonpositive_curvature", str(err)), k, value, grad)
        for xs, s, x in zip(self.points, d, point):
            xs.append(x + s)
        if store:
            for ss, s in zip(self.steps, d):
                ss.append(s)
        return None

    def set_start(self, point: Sequence[float], value: float) -> None:
        self.limits = _Limits(point, value)
        self.loss0 = value

    def check(self, k: int, value: float, grad: Sequence[float]) -> tuple | None:
        """Checks 1–5 of the module docstring at row k: None, or (status, detail)."""
        tol = self.tol
        if all(abs(g) < tol for g in grad):
            return ("converged", "gradient")
        if self.until is not None and value < self.until:
            return ("converged", "until")
        if not (-self.limits.loss <= value < self.limits.loss):  # type: ignore[union-attr]  # set at row 0
            if value < 0:
                return ("unbounded_below", None)
            return ("diverged", "loss")
        if is_checkpoint(k):
            verdict = self.checkpoint(k)
            if verdict is not None:
                return verdict
        if k >= self.max_iter:
            return ("max_iterations", None)
        return None

    def checkpoint(self, k: int) -> tuple | None:
        """Check 4 at a checkpoint row k (on the points recorded up to row k)."""
        if max(abs(xs[k]) for xs in self.points) > self.limits.point:  # type: ignore[union-attr]  # set at row 0
            return ("diverged", "point")
        if k > 0 and self.opt.name in MEMORYLESS and all(xs[k] == xs[k - 1] for xs in self.points):
            return ("converged", "fixed")
        p = _cycle_period(self.points, k)
        if p is not None:
            return ("oscillating", p)
        return None

    # -- messages ------------------------------------------------------------------------
    def explain(self, verdict: tuple, k: int, value: float, grad: Sequence[float]) -> DescentResult:
        status, detail = verdict
        steps = f"{k} step{'' if k == 1 else 's'}"
        tol = self.tol
        if status == "converged" and detail == "gradient":
            if k == 0:
                msg = f"the start is already a stationary point (every |∂loss/∂v| < {tol:g}): no steps taken"
            else:
                msg = f"converged after {steps}: every |∂loss/∂v| < {tol:g}"
        elif status == "converged" and detail == "fixed":
            gmax = max(abs(g) for g in grad)
            msg = (
                f"converged after {steps}: the step no longer moves the point (the largest "
                f"|∂loss/∂v| is {gmax:.3g}, too small to change it)"
            )
        elif status == "converged":
            msg = f"converged after {steps}: the loss {value:.6g} < --until-loss {self.until:g}"
        elif status == "unbounded_below":
            msg = (
                f"unbounded_below: the loss fell without bound to {value:.6g} after {steps} (it "
                f"started at {self.loss0:.6g}): it has no minimum in this direction, so no η "
                "can find one"
            )
        elif status == "diverged" and detail == "loss":
            msg = (
                f"diverged: the loss grew without bound to {value:.6g} after {steps} "
                f"(it started at {self.loss0:.6g}){self._eta_hint()}"
            )
        elif status == "diverged":
            point = [xs[k] for xs in self.points]
            i = max(range(len(point)), key=lambda j: abs(point[j]))
            msg = (
                f"diverged: the point grew without bound ({self.names[i]} = {point[i]:.6g}) after {steps}"
                + self._eta_hint()
            )
        elif status == "oscillating":
            p = detail
            cycle = "; ".join(self._show_point(k - p + 1 + j) for j in range(p))
            msg = (
                f"oscillating: the iterates cycle with period {p} ({cycle}; …) instead of settling"
                + self._eta_hint()
            )
        elif status == "max_iterations":
            gmax = max(abs(g) for g in grad)
            move = self._last_move(k)
            msg = (
                f"did not converge within --max-iter {self.max_iter} steps: the largest |∂loss/∂v| is "
                f"still {gmax:.6g} (tolerance {tol:g}); the last step moved {move:.3g}"
                + (" — η may be too small" if move < 1e-4 * max(1.0, gmax) else "")
            )
        else:  # nonpositive_curvature
            msg = (
                f"newton cannot step from {self._show_point(k)}: {detail}; the Newton step would head "
                "for a maximum or saddle, or does not exist — start nearer a minimum or use another optimizer"
            )
        kind = None
        if status == "converged" and detail != "until":
            point = [xs[k] for xs in self.points]
            kind = classify_point(self.program, self.names, point, grad)
            if kind is not None:
                msg += POINT_WORDS[kind]
        return self._done(status, msg, k, value, point_kind=kind)

    def explain_error(self, err: DomainError, k: int, value: float | None = None) -> DescentResult:
        """A DomainError at row k: an overflow after some steps is divergence; else domain_error."""
        point = [xs[k] for xs in self.points]
        overflow = k > 0 and (
            not all(math.isfinite(x) for x in point)
            or any(w in err.message for w in ("overflow", "range error", "not a finite number"))
        )
        error = err.to_json()
        if err.node is not None:
            error["label"] = self.program.label(err.node)
        if overflow:
            before = self._loss_at(k - 1)
            if before is not None and before < min(0.0, self.loss0 or 0.0):
                msg = (
                    f"unbounded_below: the loss fell to {before:.6g} and kept falling until the "
                    f"values overflowed after {k} step{'' if k == 1 else 's'} ({err.message}): it "
                    "has no minimum in this direction, so no η can find one"
                )
                return self._done("unbounded_below", msg, k, value, error)
            msg = f"diverged: after {k} step{'' if k == 1 else 's'} the values overflowed ({err.message}){self._eta_hint()}"
            return self._done("diverged", msg, k, value, error)
        at = "the start" if k == 0 else f"step {k}"
        msg = f"domain error at {at} ({self._show_point(k)}): {err.message}"
        return self._done("domain_error", msg, k, value, error)

    def _loss_at(self, k: int) -> float | None:
        """The loss at row k (already evaluated once; None if it cannot be)."""
        try:
            value = self.f(*[xs[k] for xs in self.points])[0]
        except DomainError:
            return None
        return float(value) if math.isfinite(value) else None

    def _done(
        self,
        status: str,
        message: str,
        k: int,
        value: float | None,
        error: dict | None = None,
        point_kind: str | None = None,
    ) -> DescentResult:
        values = {v: xs[k] for v, xs in zip(self.names, self.points)}
        return DescentResult(status, message, values, value, k, error, point_kind)

    def _show_point(self, k: int) -> str:
        return ", ".join(f"{v} = {xs[k]:.6g}" for v, xs in zip(self.names, self.points))

    def _last_move(self, k: int) -> float:
        if k == 0:
            return 0.0
        return max(abs(xs[k] - xs[k - 1]) for xs in self.points)

    def _eta_hint(self) -> str:
        """For plain descent in one variable: η against the stability bound 2/f''(x₀)."""
        eta = self.opt.eta
        if self.opt.name == "sgd" and len(self.names) == 1:
            if self.curv0 is None:
                try:
                    x0 = {self.names[0]: self.points[0][0]}
                    self.curv0 = float(self.program.hessian(x0, self.names)[0][0])
                except (DomainError, ArithmeticError, ValueError):
                    self.curv0 = math.nan
            h = self.curv0
            if h > 0:
                bound = 2.0 / h
                if math.isclose(eta, bound, rel_tol=1e-9):
                    rel = "equals"
                    why = "each step lands as far on the other side of the minimum"
                elif eta > bound:
                    rel = "exceeds"
                    why = "each step overshoots the minimum by more than it started from"
                else:
                    rel = "is below"
                    why = "the curvature changes along the way"
                return (
                    f"; η = {eta:g} {rel} the stability bound 2/f'' = {bound:.6g} at the start: {why} "
                    "— try a smaller --eta"
                )
        return "; the steps are too large — try a smaller --eta"


# -- the generated sgd loop --------------------------------------------------------------

_CHUNKS: weakref.WeakKeyDictionary[Program, dict] = weakref.WeakKeyDictionary()
#: rows per pass of the generated loop (the new points are recorded with one extend per
#: pass): 16 for small bodies; longer bodies take 8 or 4 (the code grows with the square
#: of the unrolling through the early exits, and CPython's compile time grows with it)
UNROLL = 16


def _chunk_function(program: Program, names: Sequence[str], tol: float = 1.0) -> _Loops:
    """The generated sgd loops of a program (cached on it), each
    ``_chunk(a0.., eta, tol, lo, hi, k0, stop, extend0.., u0, v0, ..) -> k``.

    Runs rows k0 … stop−1 of plain descent with checks 1–3 of the module docstring (the
    compiled body inlined, single-use temporaries folded into their consumers, one step
    ``a ← a − η·g`` per row, the new points recorded with one ``extend`` per
    pass of :data:`UNROLL` (or fewer, for long bodies) rows) and returns the first row it did not finish: ``stop``, or a row
    for the plain loop to look at (converged, loss out of bounds, or an exception to be
    explained by the interpreter). The plain loop evaluates and checks that row exactly,
    then resumes here.

    Variants: with ``tol == 0`` the gradient test |g| < tol can never hold and is left
    out; ``upper_only`` (for a loss bounded below by lo) tests only loss < hi. For a body
    of +, −, ×, ÷ only, each pass first tests whether its start lies in a box
    ``(u0, v0, …)`` proven by :func:`_proof_box` (found once per run, from row
    :data:`BOX_FROM`): then no row of the pass can fail the loss test, and the pass runs
    without it and without the statements only the loss needs; otherwise (and with
    :data:`NO_BOX`) the pass is tested row by row as before.
    """
    cache = _CHUNKS.setdefault(program, {})
    key = (tuple(names), tol == 0.0)
    if key not in cache:
        from ..compiler.codegen import emit

        body = emit(program.graph, names, program.output, indent="")
        cache[key] = _Loops(
            body, len(names), key[1], loss_lower_bound(program.graph, program.output)
        )
    return cache[key]


class _Loops:
    """One body's generated loops, each compiled on first use (a run needs one of the two:
    compiling one costs more than a short run). Holds no reference to the program (the
    cache is keyed weakly by it)."""

    def __init__(self, body: Body, n: int, tol_zero: bool, lower_bound: float) -> None:
        self.body, self.n, self.tol_zero, self.lower_bound = body, n, tol_zero, lower_bound
        self.prove = _interval_function(body, n)
        self._built: dict[bool, _Chunk] = {}

    def _get(self, upper_only: bool) -> _Chunk:
        if upper_only not in self._built:
            fn = _generate_chunk(self.body, self.n, self.tol_zero, upper_only, self.prove)
            fn.box = _box_finder(self.prove if fn.boxed else None, fn.unroll)
            self._built[upper_only] = fn
        return self._built[upper_only]

    @property
    def two_sided(self) -> _Chunk:
        """The loop testing lo ≤ loss < hi."""
        return self._get(False)

    @property
    def upper_only(self) -> _Chunk:
        """The loop testing only loss < hi (the two-sided one when the loss has no known
        lower bound)."""
        return self._get(self.lower_bound > -math.inf)


def _box_finder(
    prove: Callable[..., Any] | None, rows: int
) -> Callable[[tuple, float, float, float], tuple | None]:
    """``box(center, eta, lo, hi)``: :func:`_proof_box` for one generated loop, remembered
    per argument tuple (a run from the same start with the same η proves the same box)."""
    boxes: dict = {}

    def box(center: tuple, eta: float, lo: float, hi: float) -> tuple | None:
        k = (center, eta, lo, hi)
        if k not in boxes:
            if len(boxes) >= 256:
                boxes.clear()
            boxes[k] = None if prove is None else _proof_box(prove, rows, center, eta, lo, hi)
        return boxes[k]

    return box


def loss_lower_bound(graph: Graph, output: int) -> float:
    """A float ≤ every float evaluation of the output node (−inf when none is known).

    Interval propagation over the graph with the same float operations the generated code
    runs on the interval ends: rounding to nearest is monotone, so each end bounds every
    evaluation inside (x·x ≥ 0 and c + (x·x) ≥ c exactly, also after rounding). A NaN end
    (inf − inf, 0·inf) makes the interval unbounded. Only ops whose bounds are obvious are
    followed; every other op is (−inf, inf)."""
    inf = math.inf
    lo: list[float] = []
    hi: list[float] = []
    for node in graph.nodes[: output + 1]:
        op, ins = node.op, node.inputs
        a = b = (-inf, inf)
        if op == "const":
            r = (float(node.value), float(node.value))  # type: ignore[arg-type]  # a const has a value
        elif op == "add":
            a, b = (lo[ins[0]], hi[ins[0]]), (lo[ins[1]], hi[ins[1]])
            r = (a[0] + b[0], a[1] + b[1])
        elif op == "sub":
            a, b = (lo[ins[0]], hi[ins[0]]), (lo[ins[1]], hi[ins[1]])
            r = (a[0] - b[1], a[1] - b[0])
        elif op == "neg":
            r = (-hi[ins[0]], -lo[ins[0]])
        elif op == "mul" and ins[0] == ins[1]:
            r = (0.0, inf)
        elif op == "mul" and lo[ins[0]] >= 0.0 and lo[ins[1]] >= 0.0:
            r = (lo[ins[0]] * lo[ins[1]], hi[ins[0]] * hi[ins[1]])
        elif (
            op == "powc" and graph.nodes[ins[1]].op == "const" and _even(graph.nodes[ins[1]].value)  # type: ignore[arg-type]  # a const
        ):
            r = (0.0, inf)
        elif op in ("exp", "sqrt", "abs"):
            r = (0.0, inf)
        else:
            r = (-inf, inf)
        rl, rh = r
        lo.append(-inf if rl != rl else rl)
        hi.append(inf if rh != rh else rh)
    return lo[output] if graph.nodes else -inf


def _even(c: float) -> bool:
    c = float(c)
    return c.is_integer() and c % 2.0 == 0.0 and c > 0.0


class _Unproven(Exception):
    """An interval end is not finite (or a division by an interval holding 0): no proof."""


class _Iv:
    """Floats lo ≤ hi, both finite, bounding every float evaluation of an expression over
    a box. The ends are computed with the same IEEE operation (+, −, ×, ÷) the generated
    code runs: each is correctly rounded, and rounding to nearest is monotone, so the
    rounded result over the box lies between the rounded results at the corners (exact x·y
    and x/y, with y of one sign, take their extremes at corners). Finite bounds on every
    statement also mean no statement of the body makes inf or NaN or raises. The same
    object times itself is a square (the body multiplies one float by itself, and fl(x·x)
    grows with |x|: an object is shared only where the body shares the float). Anything else
    (``**``, ``_exp`` and the other helpers: libm need not be monotone) has no method here
    and fails, which means "no proof"."""

    __slots__ = ("lo", "hi")

    def __init__(self, lo: float, hi: float) -> None:
        if not (-math.inf < lo <= hi < math.inf):  # also NaN
            raise _Unproven
        self.lo, self.hi = lo, hi

    def __add__(self, o: _Iv | float) -> _Iv:
        o = _iv(o)
        return _Iv(self.lo + o.lo, self.hi + o.hi)

    __radd__ = __add__

    def __sub__(self, o: _Iv | float) -> _Iv:
        o = _iv(o)
        return _Iv(self.lo - o.hi, self.hi - o.lo)

    def __rsub__(self, o: float) -> _Iv:
        return _iv(o) - self

    def __mul__(self, o: _Iv | float) -> _Iv:
        if o is self:  # one name times itself (v2 * v2): the same float squared, ≥ 0
            a, b = abs(self.lo), abs(self.hi)
            low = 0.0 if self.lo <= 0.0 <= self.hi else min(a, b)
            return _Iv(low * low, max(a, b) * max(a, b))
        o = _iv(o)
        p = (self.lo * o.lo, self.lo * o.hi, self.hi * o.lo, self.hi * o.hi)
        return _Iv(min(p), max(p))

    __rmul__ = __mul__

    def __truediv__(self, o: _Iv | float) -> _Iv:
        o = _iv(o)
        if not (o.lo > 0.0 or o.hi < 0.0):
            raise _Unproven
        p = (self.lo / o.lo, self.lo / o.hi, self.hi / o.lo, self.hi / o.hi)
        return _Iv(min(p), max(p))

    def __rtruediv__(self, o: float) -> _Iv:
        return _iv(o) / self

    def __neg__(self) -> _Iv:
        return _Iv(-self.hi, -self.lo)

    def __pos__(self) -> _Iv:
        return self

    def _no_branch(self, *_: object) -> NoReturn:
        """A comparison or truth test has no single answer over a box: no proof."""
        raise TypeError("an interval has no truth value")

    __bool__ = __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = _no_branch
    __hash__ = None  # type: ignore[assignment]


def _iv(o: object) -> _Iv:
    if isinstance(o, _Iv):
        return o
    if type(o) is float or type(o) is int:
        return _Iv(o, o)
    raise _Unproven


def _interval_function(body: Body, n: int) -> Callable[..., Any] | None:
    """The emitted body as ``f(a0..) -> (loss, (grads..))`` over :class:`_Iv`, or None
    when it calls a helper (no builtins: it fails by name) or uses an operation
    :class:`_Iv` has no method for; such a body never gets a box."""
    params = ", ".join(f"a{i}" for i in range(n))
    src = "\n".join(
        [f"def _ivf({params}):", *[f"    {ln}" for ln in body.lines],
         f"    return {body.value}, ({', '.join(body.grads)},)"]
    )  # fmt: skip
    ns: dict = {"__builtins__": {}}
    run_generated(src, ns, "interval")
    f = ns["_ivf"]
    try:  # a helper (NameError) or an operation _Iv lacks (TypeError) fails at any point
        f(*[_Iv(1.0, 1.0)] * n)
    except (NameError, TypeError):
        return None
    except Exception:  # depends on the point (1/(x - 1) at 1): may work elsewhere
        pass
    return f


def _proof_box(
    prove: Callable[..., Any],
    rows: int,
    center: tuple[float, ...],
    eta: float,
    lo: float,
    hi: float,
) -> tuple | None:
    """Per variable (u, v) such that a pass of ``rows`` rows of the generated loop that
    starts with every a_i in [u_i, v_i] passes the loss test lo ≤ loss < hi at every row
    (so that pass needs no loss test), or None.

    The proof, for a box B around ``center`` (radius 2^m · max(1, |c|), the largest m
    found to work): the interval evaluation gives every float loss over B in [L, H] with
    lo ≤ L, H < hi (all statements finite), and every gradient g_i in [−M_i, M_i]. Then
    |fl(η·g_i)| ≤ S_i = fl(|η|·M_i), and a step a ← fl(a − fl(η·g)) from a ≥ d lands at
    ≥ fl(d − S) (monotone rounding; likewise ≤ fl(e + S) from a ≤ e). Starting in [u, v],
    row j's point lies in [d_j, e_j] with d_0 = u, d_{j+1} = fl(d_j − S), e likewise
    upwards, as long as the points so far lie in B; the check below computes d and e for
    rows − 1 steps and requires them inside B, so all ``rows`` rows are in B."""
    if any(not math.isfinite(c) for c in center):
        return None

    def attempt(m: int) -> tuple | None:
        try:
            box = []
            for c in center:
                r = math.ldexp(max(1.0, abs(c)), m)
                box.append(_Iv(c - r, c + r))
            value, grads = prove(*box)
            value = _iv(value)
            if not (value.lo >= lo and value.hi < hi):
                return None
            out: list[float] = []
            for c, b, g in zip(center, box, grads):
                g = _iv(g)
                step = abs(eta) * max(abs(g.lo), abs(g.hi))
                u, v = b.lo + rows * step, b.hi - rows * step
                d, e = u, v
                for _ in range(rows - 1):
                    d, e = d - step, e + step
                if not (b.lo <= d and e <= b.hi and u <= c <= v):
                    return None
                out += [u, v]
            return tuple(out)
        except (_Unproven, ArithmeticError, TypeError, NameError):
            return None

    # a box too small is left by the steps, one too large breaks the loss bound (or holds
    # a pole): start from the radius that holds a pass of the steps taken at the center,
    # gallop up while the box works, then bisect to the largest m that works
    try:
        _, grads = prove(*[_Iv(c, c) for c in center])
        need = [2.0 * rows * abs(eta) * abs(_iv(g).lo) / max(1.0, abs(c))
                for c, g in zip(center, grads)]  # fmt: skip
    except (_Unproven, ArithmeticError, TypeError, NameError):
        return None
    if not all(math.isfinite(x) for x in need):
        return None
    m = max(-40, max((math.frexp(x)[1] for x in need if x > 0.0), default=-40))
    tried: dict[int, tuple | None] = {}

    def works(m: int) -> tuple | None:
        if m not in tried:
            tried[m] = attempt(m) if m <= 60 else None
        return tried[m]

    for _ in range(5):  # the gradient grows away from the center: a few radii more
        if works(m) is not None:
            break
        m += 1
    else:
        return None
    step = 1
    while works(m + step) is not None:
        m, step = m + step, 2 * step
    top = m + step  # the first m above that failed
    while top - m > 1:
        mid = (m + top) // 2
        if works(mid) is not None:
            m = mid
        else:
            top = mid
    return works(m)


def _live_lines(lines: list[str], reads: list[str]) -> list[str]:
    """``lines`` without the statements whose name nothing in ``reads`` or a later kept
    statement reads (``name = expr`` statements of the generated body)."""
    need: set[str] = set()
    for t in reads:
        need.update(re.findall(r"\b[A-Za-z_]\w*\b", t))
    out: list[str] = []
    for ln in reversed(lines):
        name, expr = ln.split(" = ", 1)
        if name.strip() in need:
            out.append(ln)
            need.update(re.findall(r"\b[A-Za-z_]\w*\b", expr))
    return out[::-1]


def _generate_chunk(
    body: Body, n: int, tol_zero: bool, upper_only: bool, prove: Callable[..., Any] | None
) -> _Chunk:
    """One of :func:`_chunk_function`'s loops for the emitted ``body``; ``upper_only``
    tests the loss only against hi (for losses that cannot fall below lo); with ``prove``
    (:func:`_interval_function`) each pass may run untested inside a proven box."""
    from ..compiler.codegen import inline_single_use, scalar_helpers

    xs = [f"a{i}" for i in range(n)]
    with_tol = not tol_zero
    keep = [body.value, *body.guards] + (body.grads if with_tol else [])
    # gradients: used as they are (a name, a literal) or, when the test needs them, named
    grads = [
        g if g.replace("_", "a").replace(".", "a").replace("-", "a").isalnum() else f"({g})"
        for g in body.grads
    ]
    value = (
        body.value
        if body.value.replace("_", "a").replace(".", "a").isalnum()
        else f"({body.value})"
    )
    checks = []
    if with_tol:
        checks.append(" and ".join(f"_ntol < {g} < _tol" for g in grads))
    checks.append(f"not ({value} < _hi)" if upper_only else f"not (_lo <= {value} < _hi)")
    # simultaneous: a gradient may be another variable itself (∂(x·y)/∂x = y)
    update = ", ".join(xs) + " = " + ", ".join(f"a{i} - _eta * {g}" for i, g in enumerate(grads))

    # the update is the last statement: a gradient used only there is folded into it
    raw_update = update
    *lines, update = inline_single_use([*body.lines, update], keep)
    # the loss read only by the bound test is computed inside it (no name to store)
    if value.isidentifier() and lines and lines[-1].startswith(value + " = "):
        expr = lines[-1][len(value) + 3 :]
        word = re.compile(rf"\b{value}\b")
        if not any(word.search(t) for t in [*lines[:-1], update, *checks[:-1]]):
            lines.pop()
            checks[-1] = word.sub(lambda m: f"({expr})", checks[-1], count=1)
    unroll = UNROLL if len(lines) <= 16 else 8 if len(lines) <= 64 else 4
    # rows of a pass that starts inside the proven box (see :func:`_proof_box`): no loss
    # test, and the statements only the loss read are left out. No try either: the body
    # is +, −, ×, ÷ of floats, which raise nothing but ZeroDivisionError, and the box
    # proves every divisor nonzero (and every statement finite), so no row raises
    live = _live_lines(body.lines, [raw_update, *checks[:-1]])
    *boxed, boxed_update = inline_single_use([*live, raw_update], body.grads if with_tol else [])

    def row(ind: str, fail: list[str], tested: bool = True) -> list[str]:
        """One row: evaluate, check (``fail`` on a stop), step."""
        if not tested:
            out = [f"{ind}{ln}" for ln in boxed]
            for c in checks[:-1]:
                out += [f"{ind}if {c}:", *[f"{ind}    {f}" for f in fail]]
            return [*out, f"{ind}{boxed_update}"]
        body_lines, row_checks, step = lines, checks, update
        out = [f"{ind}try:", *[f"{ind}    {ln}" for ln in body_lines]]
        for c in row_checks:
            out += [f"{ind}    if {c}:", *[f"{ind}        {f}" for f in fail]]
        out += [f"{ind}    {step}", f"{ind}except Exception:", *[f"{ind}    {f}" for f in fail]]
        return out

    def record(ind: str, j: int) -> list[str]:
        """Hand the first j points of this pass to the lists."""
        if j == 0:
            return []
        return [f"{ind}_ex{i}(({', '.join(f'_r{i}_{m}' for m in range(j))},))" for i in range(n)]

    box = [f"_u{i}, _v{i}" for i in range(n)]
    src = [
        f"def _chunk({', '.join(xs)}, _eta, _tol, _lo, _hi, _k0, _stop, {', '.join(f'_ex{i}' for i in range(n))}, {', '.join(box)}):",
        "    _ntol = -_tol",
        "    _k = _k0",
        f"    _end = _stop - {unroll - 1}",
        "    while _k < _end:",
    ]
    # a body a box can be proven for: its passes untested inside the box (not for long
    # bodies: there the loss test is a small part of a row, and compiling the second pass
    # would cost more than it saves)
    boxed_pass = prove is not None and len(lines) <= 64
    if boxed_pass:
        src.append("        if " + " and ".join(f"_u{i} <= a{i} <= _v{i}" for i in range(n)) + ":")
    for tested in (False, True) if boxed_pass else (True,):
        ind = "            " if boxed_pass else "        "
        if tested and boxed_pass:
            src.append("        else:")
        for j in range(unroll):
            fail = [*record("", j), f"return _k + {j}" if j else "return _k"]
            src += row(ind, fail, tested)
            src += [f"{ind}_r{i}_{j} = a{i}" for i in range(n)]
    src += record("        ", unroll)
    src += [f"        _k += {unroll}", "    while _k < _stop:"]
    src += row("        ", ["return _k"])
    src += [f"        _ex{i}((a{i},))" for i in range(n)]
    src += ["        _k += 1", "    return _k"]
    text = "\n".join(src) + "\n"
    ns = scalar_helpers()
    run_generated(text, ns, "descend")
    fn = ns["_chunk"]
    fn.source = text
    fn.unroll = unroll
    fn.boxed = boxed_pass
    return fn


# -- learning-rate sweeps ----------------------------------------------------------------


def sweep(
    program: Program,
    start: dict[str, float],
    optimizer: str,
    etas: Sequence[float],
    *,
    tol: float = DEFAULT_TOL,
    until_loss: float | None = None,
    max_iter: int = DEFAULT_MAX_ITER,
    hyper: dict | None = None,
    vectorized: bool = True,
    progress: Callable[[int], None] | None = None,
) -> list[Descent]:
    """One run per η from the same start, each classified exactly as :func:`descend` would.

    ``vectorized`` runs them together: every variable is a numpy array over the runs, one
    compiled call per row evaluates all the running ones, per-run checks are masks. A run
    whose evaluation fails (or is not finite) is re-evaluated alone by the scalar compiled
    function, which names the node. ``newton`` always runs one η at a time.
    """
    hyper = hyper or {}
    if not vectorized or optimizer == "newton" or not program.variables:
        return [
            descend(
                program,
                start,
                optimizer,
                eta,
                tol=tol,
                until_loss=until_loss,
                max_iter=max_iter,
                hyper=hyper,
            )
            for eta in etas
        ]
    return _sweep_vectorized(
        program, start, optimizer, list(etas), hyper, tol, until_loss, max_iter, progress
    )


def _sweep_vectorized(
    program: Program,
    start: dict[str, float],
    name: str,
    etas: list[float],
    hyper: dict,
    tol: float,
    until: float | None,
    max_iter: int,
    progress: Callable[[int], None] | None,
) -> list[Descent]:
    import numpy as np

    names = tuple(program.variables)
    R, nv = len(etas), len(names)
    f = program.function(names)
    af = program.array_function(names)
    opt = make(name, np.asarray(etas, dtype=float), **hyper)
    start = program.point(start)
    x0 = [float(start[v]) for v in names]
    x = [np.full(R, v) for v in x0]
    X = [[xv.copy()] for xv in x]  # per variable, per row: values over runs
    L: list = []
    G: list[list] = [[] for _ in names]
    S: list[list] = [[] for _ in names]
    active = np.ones(R, dtype=bool)
    ends: list = [None] * R  # per run: (row, verdict) or (row, DomainError)
    loss_limit = point_limit = None
    for k in range(max_iter + 1):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        if progress is not None and k % 256 == 0:
            progress(k)
        loss = np.full(R, np.nan)
        g = [np.zeros(R) for _ in names]
        try:
            val, grads = af(*[xv[idx] for xv in x])
            loss[idx] = val
            for i in range(nv):
                g[i][idx] = grads[i]
            finite = np.isfinite(loss[idx])
            for i in range(nv):
                finite &= np.isfinite(g[i][idx]) & np.isfinite(x[i][idx])
            bad = idx[~finite]
        except DomainError:
            bad = idx
        for r in bad:  # the scalar reference explains (or answers)
            try:
                val, grads = f(*[float(xv[r]) for xv in x])
            except DomainError as err:
                ends[r] = (k, err)
                active[r] = False
                continue
            loss[r] = val
            for i in range(nv):
                g[i][r] = grads[i]
        L.append(loss)
        for i in range(nv):
            G[i].append(g[i])
        if k == 0:
            if not active.any():
                break
            r0 = int(np.flatnonzero(active)[0])
            lim = _Limits(x0, float(loss[r0]))
            loss_limit, point_limit = lim.loss, lim.point

        def finish(mask: np.ndarray, verdict: tuple, k: int = k) -> None:
            for r in np.flatnonzero(mask):
                ends[r] = (k, verdict)
            active[mask] = False

        with np.errstate(all="ignore"):
            absg = [np.abs(gi) for gi in g]
            conv = active.copy()
            for a in absg:
                conv &= a < tol
            finish(conv, ("converged", "gradient"))
            if until is not None:
                finish(active & (loss < until), ("converged", "until"))
            # (loss_limit and point_limit: set at row 0)
            finish(active & (loss < -loss_limit), ("unbounded_below", None))  # type: ignore[operator]
            finish(active & ~((-loss_limit <= loss) & (loss < loss_limit)), ("diverged", "loss"))  # type: ignore[operator]
            if is_checkpoint(k):
                big = np.zeros(R)
                for xv in x:
                    big = np.maximum(big, np.abs(xv))
                finish(active & (big > point_limit), ("diverged", "point"))  # type: ignore[operator]
                if k > 0 and opt.name in MEMORYLESS:
                    same = active.copy()
                    for Xv in X:
                        same &= Xv[k] == Xv[k - 1]
                    finish(same, ("converged", "fixed"))
                periods = _cycle_periods(X, k, R)
                for p in range(2, MAX_PERIOD + 1):
                    finish(active & (periods == p), ("oscillating", p))
            if k >= max_iter:
                finish(active.copy(), ("max_iterations", None))
            if not active.any():
                break
            d = opt.step(x, g)
            for i in range(nv):
                di = np.broadcast_to(np.asarray(d[i], dtype=float), (R,))
                S[i].append(di.copy())
                x[i] = np.where(active, x[i] + di, x[i])
                X[i].append(x[i].copy())
    return [_sweep_run(program, names, name, etas[r], hyper, start, tol, until, max_iter, X, L, G, S, ends[r], r)
            for r in range(R)]  # fmt: skip


def _cycle_periods(X: list[list[np.ndarray]], k: int, R: int) -> np.ndarray:
    """Vectorised :func:`_cycle_period`: per run the period found at row k, or 0."""
    import numpy as np

    found = np.zeros(R, dtype=int)
    travel = np.zeros(R)
    for p in range(1, MAX_PERIOD + 1):
        if k < 2 * p - 1:
            break
        for xs in X:
            travel = np.maximum(travel, np.abs(xs[k - p + 1] - xs[k - p]))
        if p == 1:
            continue
        bound = CYCLE_RTOL * travel
        ok = travel > 0.0
        for j in range(p):
            for xs in X:
                ok &= np.abs(xs[k - j] - xs[k - j - p]) <= bound
        found[ok & (found == 0)] = p
    return found


def _sweep_run(
    program: Program,
    names: tuple[str, ...],
    name: str,
    eta: float,
    hyper: dict,
    start: dict[str, float],
    tol: float,
    until: float | None,
    max_iter: int,
    X: list[list[np.ndarray]],
    L: list[np.ndarray],
    G: list[list[np.ndarray]],
    S: list[list[np.ndarray]],
    end: tuple[int, Any],
    r: int,
) -> Descent:
    """One run of a vectorised sweep as a :class:`Descent`, explained like a single run."""
    k, verdict = end
    nv = len(names)
    opt = make(name, float(eta), **hyper)
    ctx = _Run(program, names, opt, None, tol, until, max_iter, None)  # type: ignore[arg-type]  # explains only
    ctx.points = [[float(X[i][j][r]) for j in range(k + 1)] for i in range(nv)]
    ctx.losses = [float(L[j][r]) for j in range(min(k + 1, len(L)))]
    ctx.grads = [[float(G[i][j][r]) for j in range(min(k + 1, len(G[i])))] for i in range(nv)]
    ctx.steps = [[float(S[i][j][r]) for j in range(k)] for i in range(nv)]
    if L and math.isfinite(L[0][r]):
        ctx.set_start([xs[0] for xs in ctx.points], float(L[0][r]))
    if isinstance(verdict, DomainError):
        result = ctx.explain_error(verdict, k)
    else:
        result = ctx.explain(verdict, k, ctx.losses[k], [gs[k] for gs in ctx.grads])
    return Descent(
        program=program,
        names=names,
        optimizer=opt.name,
        eta=float(eta),
        hyper=dict(opt.hyper),
        start={v: float(start[v]) for v in names},
        tol=tol,
        until_loss=until,
        max_iter=max_iter,
        result=result,
        points=ctx.points,
        stored=(ctx.losses, ctx.grads, ctx.steps),
    )


def eta_values(text: str) -> list[float]:
    """``0.1`` · ``0.1,0.2,0.4`` (a list) · ``0.01:1.0:50`` (start:stop:count, evenly spaced,
    both ends included). Raises ValueError with a plain message; values are not validated
    for sign or finiteness here (the command does that)."""
    text = text.strip()
    if ":" in text:
        parts = text.split(":")
        if len(parts) != 3:
            raise ValueError(f"'{text}': a range is START:STOP:COUNT, e.g. 0.01:1.0:50")
        lo, hi = float(parts[0]), float(parts[1])
        try:
            count = int(parts[2])
        except ValueError:
            raise ValueError(
                f"'{text}': the COUNT of START:STOP:COUNT must be a whole number"
            ) from None
        if count < 1:
            raise ValueError(f"'{text}': the COUNT of START:STOP:COUNT must be at least 1")
        if count > MAX_SWEEP:
            raise ValueError(f"'{text}': a sweep runs at most {MAX_SWEEP} learning rates")
        if count == 1:
            return [lo]
        values = [lo + (hi - lo) * i / (count - 1) for i in range(count)]
        values[-1] = hi  # exactly the given end, not a rounding of it
        return values
    parts = text.split(",")
    if len(parts) > MAX_SWEEP:
        raise ValueError(f"a sweep runs at most {MAX_SWEEP} learning rates (got {len(parts)})")
    return [float(t) for t in parts]
