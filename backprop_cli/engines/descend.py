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

Whether a row stops at checks 1–3 is decided by two predicates, :func:`gradient_converged`
and :func:`loss_in_range`; which status it then gets, by :meth:`_Run.check` alone.

A run that converged on its gradient has its point classified from the exact second
derivatives (:func:`classify_point`): a minimum, a saddle, a maximum, or flat (the
curvature vanishes there or nearby: an inflection or a plateau, not a confirmed minimum).

A step into a point outside the domain ends the run with ``domain_error`` (which node,
which value; the trace so far is kept, the last row has no loss). ``newton`` meeting
curvature it cannot use ends with ``nonpositive_curvature``.

Speed: the loop calls the compiled ``Program.function``; rows store raw floats and the
records are built lazily. For ``sgd`` the program's accelerators may run the rows between
checkpoints (``program.accel.try_sgd_loop``, see :class:`backprop_cli.core.seam.SgdLoop`):
such a loop writes its checks 1–3 from the source of the two predicates above, hands every
row that stops back to the plain loop here, and this loop runs check 4 on the points it
recorded. The plain loop is the reference; ``fast=False`` (or ``BACKPROP_REFERENCE=1``)
runs it alone.

No printing here: renderers turn :class:`Descent` into tables and JSON.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .. import interrupt
from ..core.program import Program
from ..errors import DomainError
from .optimizers import SGD, CurvatureError, Optimizer, make

if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

    from ..core.seam import SgdLoop

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
#: an accelerated sgd loop runs at most this many rows past the checkpoints it crosses
SPAN = 8 * CHECK_EVERY


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
        """Row k (0 ≤ k < len(self); a negative k counts from the end), built on demand."""
        if k < 0:
            k += len(self)
        return self.block(k, k + 1)[0]

    def block(self, a: int, b: int) -> list[IterationRecord]:
        """Rows a … b−1 as records: :meth:`columns`, row by row."""
        cols = self.columns(a, b)
        n = len(self) - 1
        failed = self.result.loss is None  # the last row has no loss, no gradient
        curvature = cols.curvature or [None] * len(cols.losses)
        bound = cols.stability_bound or [None] * len(cols.losses)
        out = []
        for j, loss in enumerate(cols.losses):
            k = a + j
            at = {v: xs[j] for v, xs in zip(self.names, cols.values)}
            grad = None if k == n and failed else _row(self.names, cols.gradients, j)
            step = None if k == n else _row(self.names, cols.steps, j)
            out.append(IterationRecord(k, at, loss, grad, step, curvature[j], bound[j]))
        return out

    def columns(self, a: int, b: int) -> RowColumns:
        """Rows a … b−1 column by column: the one place a row's numbers are put together
        (:meth:`record` and :meth:`block` read them from here; a long run's JSON is written
        from the columns themselves, without an object per row).

        For one variable also the curvature: a block of :data:`BLOCK_FROM` rows or more in
        one vectorised pass — a long run's rows cost a compiled call each, not an
        interpreted second derivative each (numpy's sin/exp may round an ulp apart from
        math's: curvature is for display) — and a shorter block, or a row the pass leaves
        without a finite value, one row at a time."""
        n = len(self) - 1
        b = max(a, min(b, n + 1))
        values = [xs[a:b] for xs in self.points]
        failed = b > a and b - 1 == n and self.result.loss is None  # the last row: no loss
        c = b - 1 if failed else b  # rows a … c−1 have a loss and a gradient
        s = min(b, n)  # rows a … s−1 have a step
        losses, grads, steps = self._evaluated(a, c, s)
        pad = [None] * (b - c)
        loss_col: list[float | None] = [*losses, *pad]
        grad_cols: list[list[float | None]] = [[*g, *pad] for g in grads]
        step_cols: list[list[float | None]] = [[*d, *[None] * (b - s)] for d in steps]
        curvature = bound = None
        if len(self.names) == 1:
            curvature = [*self._curvatures(values[0][: c - a]), *pad]
            if self.optimizer == "sgd":
                bound = [2.0 / h if h is not None and h > 0 else None for h in curvature]
        return RowColumns(a, values, loss_col, grad_cols, step_cols, curvature, bound)

    def _evaluated(self, a: int, c: int, s: int) -> tuple[list, list[list], list[list]]:
        """The losses and gradients (per variable) of rows a … c−1 and the steps of rows
        a … s−1 (s ≤ c): as stored, or — a run that kept its points only, which only
        memoryless sgd does — the compiled function's values and the optimizer's steps."""
        if self.stored is not None:
            losses, grads, steps = self.stored
            return list(losses[a:c]), [list(g[a:c]) for g in grads], [list(d[a:s]) for d in steps]
        nv = len(self.names)
        rows = list(map(self._f(), *(xs[a:c] for xs in self.points)))
        losses = [loss for loss, _ in rows]
        grad_rows = [g for _, g in rows]
        grads = [[g[i] for g in grad_rows] for i in range(nv)]
        return losses, grads, self._steps(a, s, grads, grad_rows)

    def _steps(self, a: int, s: int, grads: list[list], grad_rows: list) -> list[list]:
        """The memoryless optimizer's steps from rows a … s−1, per variable, given the rows'
        gradients as columns and as rows."""
        opt = make(self.optimizer, self.eta, **self.hyper)
        points = [xs[a:s] for xs in self.points]
        if type(opt) is SGD and s - a >= BLOCK_FROM:
            # Δ = −η·g is one multiplication and a negation, exact alike elementwise in numpy:
            # the same rule, called once on the block's columns instead of once per row
            import numpy as np

            cols = [np.array(g[: s - a], dtype=float) for g in grads]
            return [d.tolist() for d in opt.step(points, cols)]
        moves = list(map(opt.step, zip(*points), grad_rows))
        return [[d[i] for d in moves] for i in range(len(grads))]

    def _curvatures(self, xs: list[float]) -> list[float | None]:
        """f'' at every x of ``xs`` (one variable): see :meth:`columns`."""
        fast = self._vectorised_curvatures(xs) if len(xs) >= BLOCK_FROM else None
        if fast is None:
            fast = [None] * len(xs)
        elif None not in fast:  # the common case: every row from the vectorised pass
            return fast
        name = self.names[0]
        return [h if h is not None else self._curvature({name: x}) for h, x in zip(fast, xs)]

    def _vectorised_curvatures(self, xs: list[float]) -> list[float | None] | None:
        """f'' at every x of ``xs`` (one variable) through numpy-valued dual numbers, None
        where it is not finite; None when the vectorised pass cannot run (a domain check
        refuses the block)."""
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
        if np.isfinite(h).all():
            return h.tolist()
        return [c if math.isfinite(c) else None for c in h.tolist()]

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
        return [*self._evaluated(0, len(self) - 1, 0)[0], self.result.loss]

    def _f(self) -> Callable[..., Any]:
        return self.program.function(self.names)

    def _curvature(self, values: dict) -> float | None:
        try:
            return float(self.program.hessian(values, self.names)[0][0])
        except (DomainError, ArithmeticError, ValueError):
            return None


def _row(names: Sequence[str], columns: list[list[float | None]], j: int) -> dict[str, float]:
    """Row j of per-variable columns (a row that has its numbers: no None)."""
    return {v: col[j] for v, col in zip(names, columns)}  # type: ignore[misc]  # no None in it


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


# -- checks 1–3: whether a row stops -----------------------------------------------------
# Defined once, here: the plain loop calls these two predicates, and an accelerated loop
# (core.seam.SgdLoop) writes its tests from their source, so a rule changed here changes
# both. Each is one ``return`` of comparisons and arithmetic over its parameters.


def gradient_converged(grad: Sequence[float], tol: float) -> bool:
    """Check 1: every |∂loss/∂v| < tol (never, for tol ≤ 0 or a NaN partial)."""
    return all(-tol < g < tol for g in grad)


def loss_in_range(value: float, lo: float, hi: float) -> bool:
    """Checks 2 and 3 pass: lo ≤ loss < hi, with hi the upper 'without bound' limit and lo
    the higher of the lower one and until_loss (a NaN loss is out of range)."""
    return lo <= value < hi


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
    loop = None
    if fast and program.accel is not None and type(opt) is SGD and names:
        loop = program.accel.try_sgd_loop(program, names, float(opt.eta), tol)
    result = ctx.run(point, loop)
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
        stored=None if loop is not None else (ctx.losses, ctx.grads, ctx.steps),
    )


def sgd_fast(program: Program, start: dict[str, float], eta: float, steps: int) -> Descent:
    """Exactly ``steps`` plain-descent steps (no gradient tolerance: tol = 0), unless the
    run diverges, cycles or leaves the domain first. The benchmark's entry point
    (benchmarks/run.py W6)."""
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
        self.lo = self.hi = math.nan  # loss_in_range's bounds, set at row 0
        self.loss0: float | None = None
        self.curv0: float | None = None

    def run(self, point: list[float], fast: SgdLoop | None) -> DescentResult:
        """The run from ``point``; with ``fast``, an accelerated loop runs the rows between
        checkpoints (and the rows keep their points only)."""
        for xs, v in zip(self.points, point):
            xs.append(v)
        try:
            return self._loop(fast)
        except KeyboardInterrupt:
            return self.interrupted(fast is None)

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

    def _loop(self, fast: SgdLoop | None) -> DescentResult:
        k = 0
        store = fast is None
        while True:
            if fast is not None and k > 0:
                # through several checkpoints at once (about as many rows again as run so
                # far, at most SPAN): their point and cycle checks run afterwards, on the
                # recorded points, and the first that fires hands its row back
                stop = min(next_checkpoint(min(2 * k, k + SPAN)), self.max_iter)
                if stop > k:
                    if self.progress is not None:
                        self.progress(k)
                    k = self._advance(fast, k, stop)
            outcome = self._row(k, store)
            if outcome is not None:
                return outcome
            k += 1

    def _advance(self, fast: SgdLoop, k: int, stop: int) -> int:
        """Rows k … stop−1 in the accelerated loop, which checks 1–3 (from the predicates)
        and hands back the first row it did not finish; then check 4 at the checkpoints it
        crossed. The row for the plain loop to evaluate next."""
        k2 = fast(self.points, self.lo, self.hi, k, stop)
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
        self.hi = self.limits.loss
        until = self.until
        self.lo = until if until is not None and until > -self.hi else -self.hi

    def check(self, k: int, value: float, grad: Sequence[float]) -> tuple | None:
        """Checks 1–5 of the module docstring at row k: None, or (status, detail)."""
        if gradient_converged(grad, self.tol):
            return ("converged", "gradient")
        if not loss_in_range(value, self.lo, self.hi):  # which: check 2 comes before 3
            if self.until is not None and value < self.until:
                return ("converged", "until")
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
    progress: Callable[[int], None] | None = None,
) -> list[Descent]:
    """One :func:`descend` run per η from the same start, in order. ``progress(k)`` sees
    the sweep's progress scaled to one run's rows (0 … max_iter). Ctrl-C ends the run it
    interrupts and then the sweep: the KeyboardInterrupt is raised again."""
    runs = []
    count = len(etas)
    for i, eta in enumerate(etas):
        tick = None
        if progress is not None:

            def tick(k: int, i: int = i) -> None:
                progress((i * max_iter + k) // count)

        run = descend(program, start, optimizer, eta, tol=tol, until_loss=until_loss,
                      max_iter=max_iter, hyper=hyper, progress=tick)  # fmt: skip
        if run.status == "interrupted":
            raise KeyboardInterrupt
        runs.append(run)
    return runs
