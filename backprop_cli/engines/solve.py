"""The solve engine: drive a program's output to a target by varying input variables.

Each iteration is a forward pass (every variable, named node and the output), the error
``output − target``, a backward pass (∂output/∂n for every variable and named node) and,
unless the run stops there, one update of the varied variables:

* one varied variable ``v``:   ``v ← v − error / (∂out/∂v)``;
* several, ``split="even"``:     each of the k varied variables absorbs ``error/k`` through
  its own partial, ``v ← v − (error/k) / (∂out/∂v)`` (the lesson's rule);
* several, ``split="gradient"``: the least-norm step ``v ← v − error · g_v / Σ g²``.

``gradient="refresh"`` recomputes the partials at every point (Newton's method);
``gradient="freeze"`` reuses the first iteration's partials throughout (the lesson's hand
computation). The factor actually used is recorded in every row.

Per-node quantity: ``Δn = error / (∂out/∂n)`` — what n alone would have to be *reduced* by
to cancel the error to first order (``n ← n − Δn``); None when ∂out/∂n = 0.

Stopping (``SolveResult.status``):

* ``converged``      |error| < tol (a start within tol converges with 0 updates);
* ``zero_gradient``  a partial the update divides by is 0 (split gradient: all are 0);
* ``domain_error``   a node left its domain (the node and value are named);
* ``non_finite``     a value, partial or step overflowed or became NaN;
* ``diverged``       the error ran away: |error| > 1e12·max(1, |first error|), or |error|
  grew at each of the last 10 updates and by a factor ≥ 10 over them; or the iterates ran
  away: the largest |variable| is over 1e12·max(1, largest starting |variable|) and grew
  at each of the last 3 updates;
* ``oscillating``    the iterates revisit earlier points: the current point matches the
  point L rows back (2 ≤ L ≤ 8, each coordinate within 1e-9·max(1, |value|), and closer to
  it than 1e-3 × the distance to the previous point — a see-saw that is still converging
  is not a cycle) but not the previous one, and the previous point matched its own L-back
  point too — a cycle seen twice, caught after about two turns of it (an attracting cycle
  approached gradually is caught once the iterates sit on it to that tolerance);
* ``max_iterations`` ``max_iter`` updates were taken without converging.

The rows returned always end where the run stopped: the last row's ``steps`` is None.
When a step leads to a point that cannot be evaluated (domain_error / non_finite after at
least one update), that step is reported in ``SolveResult.attempted`` together with the
point it led to. Iteration records are yielded one evaluation late so this holds while
streaming too. Nothing here prints.

Each rule is written once. :func:`newton` is the iteration, on raw numbers: the update, and
the two checks of a step (finite; the point it leads to can be evaluated); :class:`Policy`
holds every check of a row and every message. :func:`iterate` turns newton's rows into
records as they come. ``solve(..., detail=False)`` lets ``program.accel.try_solve`` answer
(core/seam.py): the same newton and policy, the records built only when they are read.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from math import isfinite
from operator import sub
from typing import TYPE_CHECKING, NamedTuple

from ..core.program import Program
from ..errors import DomainError, InputError
from ..lang.syntax import cheap_init
from .gradient import output_symbol

if TYPE_CHECKING:
    from typing import Any

STATUSES = (
    "converged",
    "zero_gradient",
    "domain_error",
    "non_finite",
    "diverged",
    "oscillating",
    "max_iterations",
)
SPLITS = ("even", "gradient")
GRADIENTS = ("refresh", "freeze")

#: divergence thresholds (see the module docstring)
DIVERGE_FACTOR = 1e12
GROWTH_WINDOW = 10
GROWTH_FACTOR = 10.0
RUNAWAY_WINDOW = 3
#: cycle detection: longest cycle looked for and the matching tolerance
MAX_CYCLE = 8
CYCLE_RTOL = 1e-9
#: ... and the return must be much closer than the excursion (excludes slow see-saw convergence)
CYCLE_RETURN = 1e-3


@cheap_init  # (records built per row: the slots filled directly)
@dataclass(frozen=True, slots=True)
class Iteration:
    """One row: forward values, error, backward partials, and the step taken from here."""

    iteration: int
    values: dict  # every variable and named node -> value (variables first)
    output: float
    error: float  # output − target
    partials: dict  # varied v -> ∂out/∂v at this point
    factors: dict  # varied v -> the partial the update divided by (refresh: = partials)
    adjoints: dict  # every variable and named node -> ∂out/∂n
    deltas: dict  # every variable and named node -> error/(∂out/∂n), None when that is 0
    steps: dict | None  # varied v -> Δ applied (v ← v − Δ); None on the last row


@cheap_init  # (records built per row: the slots filled directly)
@dataclass(frozen=True, slots=True)
class SolveResult:
    """How the run ended."""

    status: str
    message: str
    values: dict  # the last evaluated point (or the start, if it could not be evaluated)
    output: float | None
    error: float | None
    updates: int  # steps taken to reach the last row
    iterations: int  # rows computed
    gradient: str
    split: str
    variable: str | None = None  # zero_gradient: the variable whose partial is 0
    node: str | None = None  # domain_error / non_finite: the node that failed
    attempted: dict | None = None  # {"steps": {...}, "values": {...}} of a step that failed
    error_detail: dict | None = None  # the DomainError as JSON, when there was one


@dataclass(frozen=True, slots=True)
class SolveRun:
    """Everything a renderer needs: the setup, the rows and the result."""

    expression: str
    output_name: str
    target: float
    vary: tuple[str, ...]
    start: dict
    gradient: str
    split: str
    tol: float
    max_iter: int
    iterations: tuple[Iteration, ...]
    result: SolveResult
    variables: tuple[str, ...] = field(default=())
    named: tuple[str, ...] = field(default=())


def check_vary(program: Program, vary: Sequence[str] | None) -> tuple[str, ...]:
    """The varied names (default: every input variable), each an input variable, no repeats."""
    if not vary:
        return tuple(program.variables)
    out: list[str] = []
    for name in vary:
        if name not in program.variables:
            if name in program.named:
                raise InputError(
                    f"--vary {name}: '{name}' is computed by the program, not an input variable; "
                    f"input variables: {', '.join(program.variables)}"
                )
            from ..core.program import suggest

            raise InputError(
                f"--vary {name}: '{name}' is not a variable of the program"
                + suggest(name, program.variables)
            )
        if name not in out:
            out.append(name)
    return tuple(out)


def _is_overflow(err: DomainError) -> bool:
    """An overflow or NaN (non_finite) rather than an argument outside a function's domain."""
    m = err.message
    return any(s in m for s in ("overflow", "not a finite", "not finite", "range error"))


def _fmt(x: float) -> str:
    return f"{x:.6g}"


def _close(a: tuple, b: tuple) -> bool:
    """Every coordinate within CYCLE_RTOL·max(1, |value|) (NaN: not close)."""
    for x, y in zip(a, b):
        if not abs(x - y) <= CYCLE_RTOL * max(1.0, abs(x), abs(y)):
            return False
    return True


def _dist(a: tuple, b: tuple) -> float:
    """The largest coordinate difference (0 without coordinates)."""
    if len(a) == 1:  # (the same number, sooner)
        return abs(a[0] - b[0])
    return max(map(abs, map(sub, a, b))) if a else 0.0


def _size(p: tuple) -> float:
    """The largest |coordinate| (0 without coordinates)."""
    if len(p) == 1:  # (the same number, sooner)
        return abs(p[0])
    return max(map(abs, p)) if p else 0.0


class Stop(NamedTuple):
    """How a run ends, as :class:`Policy` decides it: the status and its message, the
    updates taken, and what the result names besides (``variable``, ``node``,
    ``attempted``, ``error_detail``)."""

    status: str
    message: str
    updates: int
    extra: dict
    row: bool = True  # the run has a last row (False: the start could not be evaluated)
    factors: bool = True  # that row shows its factors (False: its output is not finite)


#: a raw row of :func:`newton`: (iteration, varied values, evaluation, error, factors, steps),
#: steps None on the last row. The evaluation is ``(output, gradient)``, or ``(output,
#: gradient, values, adjoints)`` with every named node (``detail=True``); the gradient is
#: in :attr:`Policy.order` (the varied variables first), factors and steps in ``vary`` order.
RawRow = tuple

_NO_CYCLE: frozenset[int] = frozenset()


class Policy:
    """When a run stops, written once: the rules that end a run at a row, in their order,
    and the message of every stop (the module docstring lists them; :func:`newton` tests
    its step itself and asks for the words).

    Built from the run's options, which it checks (the InputErrors :func:`iterate`
    raises). :func:`newton` asks it about every row, on raw numbers: the varied variables'
    values as a tuple in ``vary`` order (the others never change: :attr:`fixed`). It keeps
    what the history checks need (errors, points, cycle matches): one Policy, one run.
    """

    __slots__ = (
        "program", "target", "vary", "split", "gradient", "tol", "max_iter", "names",
        "order", "out_name", "fixed", "first_error", "error_limit", "start_scale",
        "runaway_limit", "errors", "history", "matched_prev",
    )  # fmt: skip

    def __init__(
        self,
        program: Program,
        target: float,
        vary: Sequence[str] | None = None,
        split: str = "even",
        gradient: str = "refresh",
        tol: float = 1e-5,
        max_iter: int = 100,
    ) -> None:
        if split not in SPLITS:
            raise InputError(f"split '{split}': use even or gradient")
        if gradient not in GRADIENTS:
            raise InputError(f"gradient '{gradient}': use refresh or freeze")
        if not (tol > 0 and isfinite(tol)):
            raise InputError("tol must be a positive finite number")
        if max_iter < 1:
            raise InputError("max_iter must be at least 1")
        if not isfinite(target):
            raise InputError("target must be a finite number")
        self.program = program
        self.target = target
        self.vary = vary = check_vary(program, vary)
        self.split = split
        self.gradient = gradient
        self.tol = tol
        self.max_iter = max_iter
        self.names = names = program.variables
        #: the variables as the evaluation takes them: the varied ones first
        self.order = vary + tuple([v for v in names if v not in vary])
        self.out_name = output_symbol(program)
        # the run so far
        self.fixed: tuple[float, ...] = ()  # the values of the variables not varied
        self.first_error = 0.0
        self.error_limit = DIVERGE_FACTOR  # 1e12·max(1, |first error|), set at row 0
        self.start_scale = 1.0
        self.runaway_limit = DIVERGE_FACTOR  # 1e12·max(1, largest starting |varied|), row 0
        self.errors: list[float] = []  # |error| by row
        self.history: list[tuple[float, ...]] = []  # the varied values by row
        self.matched_prev: frozenset[int] = _NO_CYCLE  # cycle lengths the last point matched

    def start(self, start: dict) -> tuple[float, ...]:
        """The varied variables' starting values; the others' become :attr:`fixed`. The
        start is checked as every dict entry point checks values (``Program.point``: a
        bool, None, a string or 10**400 is refused naming the variable)."""
        checked = self.program.point(start)
        point = {v: float(checked[v]) for v in self.names}
        values = tuple(map(point.__getitem__, self.order))
        k = len(self.vary)
        self.fixed = values[k:]
        return values[:k]

    def point(self, xs: tuple[float, ...]) -> dict[str, float]:
        """Every variable's value (``program.variables`` order) where the varied ones are ``xs``."""
        values = dict(zip(self.order, xs + self.fixed))
        return {v: values[v] for v in self.names}

    def in_order(self, gradient: Sequence[float]) -> dict[str, float]:
        """A gradient in :attr:`order` as a dict in ``program.variables`` order."""
        by_name = dict(zip(self.order, gradient))
        return {v: by_name[v] for v in self.names}

    def attempted(self, steps: tuple, nxt: tuple) -> dict:
        return {"steps": dict(zip(self.vary, steps)), "values": self.point(nxt)}

    def step_not_finite(
        self, it: int, xs: tuple, error: float, factors: tuple, steps: tuple, nxt: tuple
    ) -> Stop:
        """non_finite: the first varied variable whose step, or the value it leads to, is
        not finite."""
        j = next(j for j in range(len(steps)) if not (isfinite(steps[j]) and isfinite(nxt[j])))
        v = self.vary[j]
        return self._stop(
            "non_finite",
            f"the step for {v} is not finite at iteration {it} ({self._where(xs)}): "
            f"error {_fmt(error)} / factor {_fmt(factors[j])}",
            it, variable=v, attempted=self.attempted(steps, nxt),
        )  # fmt: skip

    # -- when to stop ----------------------------------------------------------------
    def check(
        self, it: int, xs: tuple, output: float, error: float, factors: tuple
    ) -> Stop | None:
        """The Stop at this row before any update, or None: the first rule that applies,
        in this order. (Row ``it`` has ``it + 1`` rows of history, itself included.)"""
        e = abs(error)
        if it == 0:
            self.first_error = e
            self.error_limit = DIVERGE_FACTOR * max(1.0, e)
            self.start_scale = max([1.0, *map(abs, xs)])
            self.runaway_limit = DIVERGE_FACTOR * self.start_scale
        self.history.append(xs)
        self.errors.append(e)
        if not (isfinite(output) and isfinite(error)):
            return self._stop(
                "non_finite",
                f"the output {self.out_name} is not finite at iteration {it} ({self._where(xs)})",
                it, factors=False,
            )  # fmt: skip
        if e < self.tol:
            return self._stop(
                "converged",
                f"|error| = {_fmt(e)} < tol {_fmt(self.tol)} after {it} "
                f"update{'s' if it != 1 else ''}: {self.out_name} = {_fmt(output)} "
                f"(target {_fmt(self.target)})",
                it,
            )
        if e > self.error_limit:
            return self._stop(
                "diverged",
                f"the error grew without bound: |error| = {_fmt(e)} at iteration {it}, "
                f"over {DIVERGE_FACTOR:.0e} × the starting |error| {_fmt(self.first_error)}",
                it,
            )
        if it >= GROWTH_WINDOW and e > self.errors[-2]:  # (the window's last rise, first)
            stop = self._growing(it)
            if stop is not None:
                return stop
        if it >= RUNAWAY_WINDOW and _size(xs) > self.runaway_limit:
            stop = self._running_away(it)
            if stop is not None:
                return stop
        if it >= 2:  # (before, no cycle can be seen or remembered)
            stop = self._cycle(it)
            if stop is not None:
                return stop
        if not all(map(isfinite, factors)) or 0.0 in factors:
            stop = self._blocked(it, xs, factors)
            if stop is not None:
                return stop
        if it >= self.max_iter:
            return self._stop(
                "max_iterations",
                f"no convergence within --max-iter {self.max_iter} updates: |error| = "
                f"{_fmt(e)} ≥ tol {_fmt(self.tol)}",
                it,
            )
        return None

    def _growing(self, it: int) -> Stop | None:
        """diverged: |error| grew at each of the last GROWTH_WINDOW updates, and by a
        factor of at least GROWTH_FACTOR over them."""
        window = self.errors[-GROWTH_WINDOW - 1 :]
        if not (all(b > a for a, b in pairwise(window)) and window[-1] >= GROWTH_FACTOR * window[0]):
            return None
        return self._stop(
            "diverged",
            f"the error grew at each of the last {GROWTH_WINDOW} updates, from "
            f"{_fmt(window[0])} to {_fmt(window[-1])} (iteration {it})",
            it,
        )

    def _running_away(self, it: int) -> Stop | None:
        """diverged: the largest varied |value| (over the runaway limit: check tests that
        first) grew at each of the last RUNAWAY_WINDOW updates."""
        sizes = [_size(p) for p in self.history[-RUNAWAY_WINDOW - 1 :]]
        if not all(b > a for a, b in pairwise(sizes)):
            return None
        return self._stop(
            "diverged",
            f"the iterates ran away: the largest varied |value| grew to {_fmt(sizes[-1])} by "
            f"iteration {it} (started at {_fmt(self.start_scale)})",
            it,
        )

    def _cycle(self, it: int) -> Stop | None:
        """oscillating: this point is back at the point L rows ago (2 ≤ L ≤ MAX_CYCLE: within
        CYCLE_RTOL, and CYCLE_RETURN times closer to it than to the previous point, which
        it is not close to), and the previous point was back at its own L-back point too."""
        history = self.history
        cur, prev = history[-1], history[-2]
        near = CYCLE_RETURN * _dist(cur, prev)
        back = [L for L in range(2, min(MAX_CYCLE, it) + 1) if _dist(cur, history[-1 - L]) <= near]
        matched = _NO_CYCLE
        if back and not _close(cur, prev):
            matched = frozenset(L for L in back if _close(cur, history[-1 - L]))
        confirmed = matched & self.matched_prev
        self.matched_prev = matched
        if not confirmed:
            return None
        L = min(confirmed)
        return self._stop(
            "oscillating",
            f"the iterates cycle with period {L}: iteration {it} is back at iteration "
            f"{it - L}'s point, and iteration {it - 1} at iteration {it - 1 - L}'s — no "
            "progress toward the target",
            it,
        )

    def _blocked(self, it: int, xs: tuple, factors: tuple) -> Stop | None:
        """A factor the update cannot divide by: not finite, or 0 (split gradient: all 0)."""
        out = self.out_name
        for v, f in zip(self.vary, factors):
            if not isfinite(f):
                return self._stop(
                    "non_finite",
                    f"∂{out}/∂{v} is not finite at iteration {it} ({self._where(xs)})",
                    it, variable=v,
                )  # fmt: skip
        zero = [v for v, f in zip(self.vary, factors) if f == 0]
        k = len(self.vary)
        if self.split == "gradient" and len(zero) < k:
            return None
        v = zero[0]
        which = "the frozen partial" if self.gradient == "freeze" else "the partial"
        return self._stop(
            "zero_gradient",
            f"{which} ∂{out}/∂{v} is 0 at iteration {it} ({self._where(xs)}): cannot step {v}"
            + (" (every varied partial is 0)" if len(zero) > 1 else "")
            + (
                "; vary fewer variables (--vary) or use --split gradient"
                if self.split == "even" and len(zero) < k
                else ""
            ),
            it, variable=v,
        )  # fmt: skip

    def failed(
        self, err: DomainError, it: int, xs: tuple, attempted: dict | None = None
    ) -> Stop:
        """The Stop of a point that cannot be evaluated: the start (it = 0) or the one a
        step led to (it ≥ 1; ``attempted`` names the step and the point)."""
        status = "non_finite" if _is_overflow(err) else "domain_error"
        what = "a value overflowed or became NaN" if status == "non_finite" else "a node left its domain"
        return Stop(
            status,
            f"{what} at iteration {it} ({self._where(xs)}): {err.message}",
            max(it - 1, 0),
            {
                "node": self.program.label(err.node) if err.node is not None else None,
                "attempted": attempted,
                "error_detail": err.to_json(),
            },
            row=it > 0,
        )

    def _where(self, xs: tuple) -> str:
        return ", ".join(f"{k} = {_fmt(v)}" for k, v in self.point(xs).items())

    def _stop(self, status: str, message: str, it: int, factors: bool = True, **extra: Any) -> Stop:
        return Stop(status, message, it, extra, factors=factors)

    def result(self, stop: Stop, last: RawRow | None, start: tuple[float, ...]) -> SolveResult:
        """The run's result: its Stop, and the values, output and error of its last row —
        or, when it has none (``last`` None), the start and None."""
        if last is None:
            values, output, error = self.point(start), None, None
        else:
            _, xs, got, error, _, _ = last
            values = dict(got[2]) if len(got) > 2 else self.point(xs)
            output = got[0]
        return SolveResult(
            stop.status, stop.message, values, output, error, stop.updates,
            stop.updates + 1 if stop.row else 0, self.gradient, self.split, **stop.extra,
        )  # fmt: skip


def newton(
    policy: Policy, evaluate: Callable[..., tuple], xs: tuple[float, ...]
) -> Iterator[RawRow | Stop]:
    """The iteration and its update, on raw numbers, from the varied values ``xs``
    (``policy.start``): yield each row (:data:`RawRow`) once the point its step leads to is
    evaluated, then the :class:`Stop` (decided by ``policy.check`` or, for a step, here;
    worded by the policy either way).

    ``evaluate(*values)`` takes the variables in :attr:`Policy.order` and returns
    ``(output, gradient)`` (``program.function(order)``) or more (see :data:`RawRow`); it
    raises DomainError where the program cannot be evaluated.
    """
    fixed, target, even = policy.fixed, policy.target, policy.split == "even"
    k = len(xs)
    frozen = None  # gradient="freeze": the first row's partials, the factors of every row
    try:
        got = evaluate(*xs, *fixed)
    except DomainError as err:
        yield policy.failed(err, 0, xs)
        return
    it = 0
    while True:
        output = got[0]
        error = output - target
        if frozen is None:
            factors = got[1][:k]  # the varied variables' partials
            if policy.gradient == "freeze":
                frozen = factors
        else:
            factors = frozen
        stop = policy.check(it, xs, output, error, factors)
        if stop is None:  # the update (see the module docstring)
            if k == 1:  # (what the general case below computes for k = 1, sooner)
                steps = (error / factors[0],)
                nxt = (xs[0] - steps[0],)
                finite = isfinite(steps[0]) and isfinite(nxt[0])
            else:
                if even:
                    steps = tuple([(error / k) / f for f in factors])
                else:
                    norm2 = math.fsum([f * f for f in factors])
                    steps = tuple([error * f / norm2 for f in factors])
                nxt = tuple(map(sub, xs, steps))
                finite = all(map(isfinite, steps)) and all(map(isfinite, nxt))
            if not finite:
                stop = policy.step_not_finite(it, xs, error, factors, steps, nxt)
        if stop is not None:
            yield (it, xs, got, error, factors if stop.factors else (), None)
            yield stop
            return
        try:
            after = evaluate(*nxt, *fixed)
        except DomainError as err:
            yield (it, xs, got, error, factors, None)
            yield policy.failed(err, it + 1, nxt, policy.attempted(steps, nxt))
            return
        yield (it, xs, got, error, factors, steps)
        xs, got = nxt, after
        it += 1


def record(policy: Policy, row: RawRow) -> Iteration:
    """The :class:`Iteration` of a raw row of :func:`newton`."""
    it, xs, got, error, factors, steps = row
    if len(got) > 2:  # interpreted: every named node too
        values, adjoints = got[2], got[3]
    else:
        values, adjoints = policy.point(xs), policy.in_order(got[1])
    vary = policy.vary
    return Iteration(
        iteration=it,
        values=values,
        output=got[0],
        error=error,
        partials={v: adjoints[v] for v in vary},
        factors=dict(zip(vary, factors)),
        adjoints=adjoints,
        deltas={n: (error / a if a != 0 else None) for n, a in adjoints.items()},
        steps=None if steps is None else dict(zip(vary, steps)),
    )


def evaluator(program: Program, order: Sequence[str], detail: bool) -> Callable[..., tuple]:
    """:func:`newton`'s ``evaluate`` for variables in ``order``: the compiled function, or
    (``detail``) the interpreter, which also gives every named node's value and ∂output/∂n."""
    if not detail:
        return program.function(order)
    graph = program.graph
    shown = [(v, graph.names[v]) for v in graph.variables]
    shown += [(n, graph.names[n]) for n in graph.assigned]

    def evaluate(*values: float) -> tuple:
        t = program.trace(dict(zip(order, values)))
        adjoints = {n: t.adjoints[i] for n, i in shown}
        gradient = tuple(adjoints[v] for v in order)
        return t.value, gradient, {n: t.values[i] for n, i in shown}, adjoints

    return evaluate


def iterate(
    program: Program,
    start: dict,
    target: float,
    vary: Sequence[str] | None = None,
    *,
    split: str = "even",
    gradient: str = "refresh",
    tol: float = 1e-5,
    max_iter: int = 100,
    detail: bool = True,
) -> Iterator[Iteration | SolveResult]:
    """Yield each :class:`Iteration` as it is settled, then one :class:`SolveResult`.

    ``detail=False`` evaluates through the compiled fast path: rows then carry only the
    input variables (no named nodes), which is all the iteration itself needs.
    """
    policy = Policy(program, target, vary, split, gradient, tol, max_iter)
    xs = policy.start(start)
    last = None
    for got in newton(policy, evaluator(program, policy.order, detail), xs):
        if isinstance(got, Stop):
            yield policy.result(got, last, xs)
            return
        yield record(policy, got)
        last = got


def solve(
    program: Program,
    start: dict,
    target: float,
    vary: Sequence[str] | None = None,
    *,
    split: str = "even",
    gradient: str = "refresh",
    tol: float = 1e-5,
    max_iter: int = 100,
    detail: bool = True,
) -> SolveRun:
    """Run :func:`iterate` to the end and collect the rows and the result.

    ``detail=False`` lets ``program.accel.try_solve`` answer when there are accelerators:
    the same loop and policy, the same rows and result, the rows built on first access."""
    vary = check_vary(program, vary)
    if not detail and program.accel is not None:
        run = program.accel.try_solve(
            Policy(program, target, vary, split, gradient, tol, max_iter), start
        )
        if run is not None:
            return run
    rows: list[Iteration] = []
    res: SolveResult | None = None
    for rec in iterate(
        program, start, target, vary,
        split=split, gradient=gradient, tol=tol, max_iter=max_iter, detail=detail,
    ):  # fmt: skip
        if isinstance(rec, Iteration):
            rows.append(rec)
        else:
            res = rec
    assert res is not None
    return make_run(program, start, target, vary, split, gradient, tol, max_iter, rows, res)


def make_run(
    program: Program,
    start: dict,
    target: float,
    vary: Sequence[str],
    split: str,
    gradient: str,
    tol: float,
    max_iter: int,
    rows: Sequence[Iteration],
    res: SolveResult,
) -> SolveRun:
    return SolveRun(
        expression=program.source,
        output_name=program.output_name,
        target=target,
        vary=tuple(vary),
        start={v: float(start[v]) for v in program.variables},
        gradient=gradient,
        split=split,
        tol=tol,
        max_iter=max_iter,
        iterations=tuple(rows),
        result=res,
        variables=tuple(program.variables),
        named=tuple(program.named),
    )
