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
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import TYPE_CHECKING

from ..compiler.execute import run_generated
from ..errors import DomainError, InputError
from ..core.program import Program

if TYPE_CHECKING:
    from typing import Any, Protocol

    class _SolveLoop(Protocol):
        """The generated ``_solve`` of :func:`_solve_function`, with its two attributes."""

        source: str
        peel: int

        def __call__(
            self, start: dict, target: float, tol: float, max_iter: int, /
        ) -> FastSolveRun | None: ...

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
    from ..core.program import suggest

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
            raise InputError(
                f"--vary {name}: '{name}' is not a variable of the program"
                + suggest(name, program.variables)
            )
        if name not in out:
            out.append(name)
    return tuple(out)


def _finite(x: object) -> bool:
    return isinstance(x, float | int) and math.isfinite(x)


def _is_overflow(err: DomainError) -> bool:
    """An overflow or NaN (non_finite) rather than an argument outside a function's domain."""
    m = err.message
    return any(s in m for s in ("overflow", "not a finite", "not finite", "range error"))


class _Evaluator:
    """One evaluation per point: the interpreted trace (every node) or the compiled function."""

    def __init__(self, program: Program, vary: tuple[str, ...], detail: bool) -> None:
        self.program = program
        self.vary = vary
        self.detail = detail
        graph = program.graph
        self.shown = [(v, graph.names[v]) for v in graph.variables]
        self.shown += [(n, graph.names[n]) for n in graph.assigned]
        if not detail:
            self.f = program.function(graph.variables)
            self.index = {v: i for i, v in enumerate(graph.variables)}

    def __call__(self, point: dict) -> tuple[dict, Any, dict, dict]:
        """(values, output, adjoints, partials); raises DomainError."""
        if self.detail:
            t = self.program.trace(point)
            values = {n: t.values[i] for n, i in self.shown}
            adjoints = {n: t.adjoints[i] for n, i in self.shown}
            partials = {v: adjoints[v] for v in self.vary}
            return values, t.value, adjoints, partials
        out, grads = self.f(*(point[v] for v in self.program.graph.variables))
        adjoints = {v: grads[i] for v, i in self.index.items()}
        return dict(point), out, adjoints, {v: adjoints[v] for v in self.vary}


def _fmt(x: float) -> str:
    return f"{x:.6g}"


def _where(point: dict) -> str:
    return ", ".join(f"{k} = {_fmt(v)}" for k, v in point.items())


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
    if split not in SPLITS:
        raise InputError(f"split '{split}': use even or gradient")
    if gradient not in GRADIENTS:
        raise InputError(f"gradient '{gradient}': use refresh or freeze")
    if not (tol > 0 and math.isfinite(tol)):
        raise InputError("tol must be a positive finite number")
    if max_iter < 1:
        raise InputError("max_iter must be at least 1")
    if not math.isfinite(target):
        raise InputError("target must be a finite number")
    vary = check_vary(program, vary)
    evaluate = _Evaluator(program, vary, detail)
    from .gradient import output_symbol

    out_name = output_symbol(program)
    point = {v: float(start[v]) for v in program.variables}
    k = len(vary)

    def result(
        status: str, message: str, row: Iteration | None, updates: int, **extra: Any
    ) -> SolveResult:
        return SolveResult(
            status=status,
            message=message,
            values=dict(row.values) if row is not None else dict(point),
            output=row.output if row is not None else None,
            error=row.error if row is not None else None,
            updates=updates,
            iterations=updates + 1 if row is not None else 0,
            gradient=gradient,
            split=split,
            **extra,
        )

    def failed(
        err: DomainError, where: dict, it: int, row: Iteration | None, attempted: dict | None = None
    ) -> SolveResult:
        status = "non_finite" if _is_overflow(err) else "domain_error"
        node = program.label(err.node) if err.node is not None else None
        what = (
            "a value overflowed or became NaN"
            if status == "non_finite"
            else "a node left its domain"
        )
        msg = f"{what} at iteration {it} ({_where(where)}): {err.message}"
        return result(
            status, msg, row, it - 1 if row is not None else 0,
            node=node, attempted=attempted, error_detail=err.to_json(),
        )  # fmt: skip

    # -- row 0 ---------------------------------------------------------------------
    try:
        values, output, adjoints, partials = evaluate(point)
    except DomainError as err:
        yield failed(err, point, 0, None)
        return

    frozen: dict | None = None
    first_error: float | None = None
    history: list[tuple[float, ...]] = []  # points (varied variables) by row
    errors: list[float] = []
    matched_prev: set[int] = set()  # cycle lengths the previous point matched
    it = 0
    while True:
        error = output - target
        deltas = {n: (error / a if a != 0 else None) for n, a in adjoints.items()}
        if first_error is None:
            first_error = abs(error)
            start_scale = max([1.0] + [abs(point[v]) for v in vary])
        history.append(tuple(point[v] for v in vary))
        errors.append(abs(error))

        here = (it, values, output, error, partials)  # this row's forward and backward numbers

        def row(
            steps: dict | None,
            factors: dict,
            here: tuple = here,
            adjoints: dict = adjoints,
            deltas: dict = deltas,
        ) -> Iteration:
            it_, values_, output_, error_, partials_ = here
            return Iteration(
                it_, values_, output_, error_, partials_, factors, adjoints, deltas, steps
            )

        def stop(
            status: str,
            message: str,
            factors: dict | None = None,
            it: int = it,
            row: Callable[[dict | None, dict], Iteration] = row,
            **extra: Any,
        ) -> tuple[Iteration, SolveResult]:
            r = row(None, factors if factors is not None else {})
            return r, result(status, message, r, it, **extra)

        if gradient == "freeze" and frozen is None:
            frozen = dict(partials)
        factors = dict(partials) if gradient == "refresh" else dict(frozen)  # type: ignore[arg-type]  # frozen: set above

        ending = None
        if not _finite(output) or not _finite(error):
            ending = stop(
                "non_finite",
                f"the output {out_name} is not finite at iteration {it} ({_where(point)})",
            )
        elif abs(error) < tol:
            ending = stop(
                "converged",
                f"|error| = {_fmt(abs(error))} < tol {_fmt(tol)} after {it} update{'s' if it != 1 else ''}: "
                f"{out_name} = {_fmt(output)} (target {_fmt(target)})",
                factors,
            )
        else:
            ending = _check_run(
                it, errors, first_error, history, matched_prev, start_scale, stop, factors
            )
        if ending is None:
            bad = [v for v in vary if not _finite(factors[v])]
            if bad:
                v = bad[0]
                ending = stop(
                    "non_finite",
                    f"∂{out_name}/∂{v} is not finite at iteration {it} ({_where(point)})",
                    factors,
                    variable=v,
                )
        if ending is None:
            zero = [v for v in vary if factors[v] == 0]
            if zero and (split == "even" or len(zero) == k):
                v = zero[0]
                which = "the frozen partial" if gradient == "freeze" else "the partial"
                ending = stop(
                    "zero_gradient",
                    f"{which} ∂{out_name}/∂{v} is 0 at iteration {it} ({_where(point)}): "
                    f"cannot step {v}"
                    + (" (every varied partial is 0)" if len(zero) > 1 else "")
                    + (
                        "; vary fewer variables (--vary) or use --split gradient"
                        if split == "even" and len(zero) < k
                        else ""
                    ),
                    factors,
                    variable=v,
                )
        if ending is None and it >= max_iter:
            ending = stop(
                "max_iterations",
                f"no convergence within --max-iter {max_iter} updates: |error| = {_fmt(abs(error))} "
                f"≥ tol {_fmt(tol)}",
                factors,
            )
        if ending is not None:
            r, res = ending
            yield r
            yield res
            return

        # -- the update ----------------------------------------------------------------
        if split == "even" or k == 1:
            steps = {v: (error / k) / factors[v] for v in vary}
        else:
            norm2 = math.fsum(factors[v] * factors[v] for v in vary)
            steps = {v: error * factors[v] / norm2 for v in vary}
        nxt = dict(point)
        for v in vary:
            nxt[v] = point[v] - steps[v]
        bad = [v for v in vary if not (_finite(steps[v]) and _finite(nxt[v]))]
        if bad:
            v = bad[0]
            r, res = stop(
                "non_finite",
                f"the step for {v} is not finite at iteration {it} ({_where(point)}): "
                f"error {_fmt(error)} / factor {_fmt(factors[v])}",
                factors,
                variable=v,
                attempted={"steps": steps, "values": nxt},
            )
            yield r
            yield res
            return
        try:
            values2, output2, adjoints2, partials2 = evaluate(nxt)
        except DomainError as err:
            r = row(None, factors)
            yield r
            yield failed(err, nxt, it + 1, r, attempted={"steps": steps, "values": nxt})
            return
        yield row(steps, factors)
        point, values, output, adjoints, partials = nxt, values2, output2, adjoints2, partials2
        it += 1


def _close(a: tuple, b: tuple) -> bool:
    return all(abs(x - y) <= CYCLE_RTOL * max(1.0, abs(x), abs(y)) for x, y in zip(a, b))


def _dist(a: tuple, b: tuple) -> float:
    return max((abs(x - y) for x, y in zip(a, b)), default=0.0)


def _check_run(
    it: int,
    errors: list[float],
    first_error: float,
    history: list[tuple[float, ...]],
    matched_prev: set[int],
    start_scale: float,
    stop: Callable[..., tuple[Iteration, SolveResult]],
    factors: dict,
) -> tuple[Iteration, SolveResult] | None:
    """diverged / oscillating checks for the current (not converged) row, or None."""
    e = errors[-1]
    if e > DIVERGE_FACTOR * max(1.0, first_error):
        return stop(
            "diverged",
            f"the error grew without bound: |error| = {_fmt(e)} at iteration {it}, "
            f"over {DIVERGE_FACTOR:.0e} × the starting |error| {_fmt(first_error)}",
            factors,
        )
    if len(errors) > GROWTH_WINDOW:
        window = errors[-GROWTH_WINDOW - 1 :]
        if all(b > a for a, b in pairwise(window)) and window[-1] >= GROWTH_FACTOR * window[0]:
            return stop(
                "diverged",
                f"the error grew at each of the last {GROWTH_WINDOW} updates, from "
                f"{_fmt(window[0])} to {_fmt(window[-1])} (iteration {it})",
                factors,
            )
    sizes = [max((abs(x) for x in p), default=0.0) for p in history[-RUNAWAY_WINDOW - 1 :]]
    if (
        len(sizes) == RUNAWAY_WINDOW + 1
        and sizes[-1] > DIVERGE_FACTOR * start_scale
        and all(b > a for a, b in pairwise(sizes))
    ):
        return stop(
            "diverged",
            f"the iterates ran away: the largest varied |value| grew to {_fmt(sizes[-1])} by "
            f"iteration {it} (started at {_fmt(start_scale)})",
            factors,
        )
    # oscillation: the current point is back at a point L rows ago (and did move meanwhile)
    cur = history[-1]
    matched = set()
    if len(history) >= 2 and not _close(cur, history[-2]):
        excursion = _dist(cur, history[-2])
        for L in range(2, MAX_CYCLE + 1):
            if (
                len(history) > L
                and _close(cur, history[-1 - L])
                and _dist(cur, history[-1 - L]) <= CYCLE_RETURN * excursion
            ):
                matched.add(L)
    confirmed = sorted(matched & matched_prev)
    matched_prev.clear()
    matched_prev.update(matched)
    if confirmed:
        L = confirmed[0]
        return stop(
            "oscillating",
            f"the iterates cycle with period {L}: iteration {it} is back at iteration {it - L}'s "
            f"point, and iteration {it - 1} at iteration {it - 1 - L}'s — no progress toward the target",
            factors,
        )
    return None


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
) -> SolveRun | FastSolveRun:
    """Run :func:`iterate` to the end and collect the rows and the result.

    ``detail=False`` goes through :func:`solve_fast` (the generated loop; the same rows and
    result, the rows built on first access)."""
    if not detail:
        return solve_fast(
            program, start, target, vary, split=split, gradient=gradient, tol=tol, max_iter=max_iter
        )
    return _solve_reference(program, start, target, vary, split, gradient, tol, max_iter, detail)


def _solve_reference(
    program: Program,
    start: dict,
    target: float,
    vary: Sequence[str] | None,
    split: str,
    gradient: str,
    tol: float,
    max_iter: int,
    detail: bool,
) -> SolveRun:
    vary = check_vary(program, vary)
    rows: list[Iteration] = []
    res: SolveResult | None = None
    for rec in iterate(
        program,
        start,
        target,
        vary,
        split=split,
        gradient=gradient,
        tol=tol,
        max_iter=max_iter,
        detail=detail,
    ):
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


# -- the generated Newton loop (solve_fast) ---------------------------------------------
#
# For one (vary, split, gradient) the whole iteration is generated around the compiled
# body (codegen.emit): raw floats in locals, no records, no dicts. It only ever finishes a
# run that ends ``converged`` with none of the other checks able to fire on the way; on
# anything else (a domain error or exception, a non-finite value, partial, error or step,
# a zero partial, max_iter, and any row where the divergence or cycle checks *might* fire —
# conservative necessary conditions of those checks, see below) it returns None and
# :func:`solve_fast` re-runs the reference loop from the start, so statuses, messages and
# rows are the reference's. The records of a fast run are built lazily (on first access
# of ``.iterations``) by that same reference run.
#
# Necessary conditions used (if none holds at a row, _check_run returns None there):
# * diverged (error):   |error| > 1e12·max(1, |first error|) — tested exactly;
# * diverged (growth):  needs 10 strict increases, so row ≥ 10 and |error| > previous |error|;
# * diverged (runaway): the largest varied |value| > 1e12·start scale — any varied |v| over it;
# * oscillating:        needs the point at row r to match the one L rows back and the row
#   before to match its own L-back point, so 2 ≤ L ≤ min(8, r − 1) and r ≥ 3; a match needs
#   max|cur − P| ≤ 1e-3·max|cur − prev|, hence |cur₀ − P₀| ≤ 1e-3·Σ|cur − prev|.
#   One varied variable: if x₁, …, x_r (rows 1 … r) are monotone (weakly, as floats), no
#   L-back point matches at row r: for x_{r−L} ≤ x_{r−1} ≤ x_r the exact differences obey
#   x_r − x_{r−L} ≥ x_r − x_{r−1} ≥ 0 and rounding to nearest is monotone, so
#   fl(|x_r − x_{r−L}|) ≥ fl(|x_r − x_{r−1}|) = excursion, which is > 0 (a match needs the
#   point to have moved) and so > 1e-3·excursion. The unrolled rows test that chain first
#   (a few float comparisons) and only when it fails the |cur₀ − P₀| condition above.
#
# Finiteness, deferred to the converged exit (unrolled rows only). The reference stops on
# a non-finite output, error, partial (of any variable: its evaluation requires them all
# finite), guard or step; the generated rows add each row's partials and guards to one
# running sum ``_c`` (row 0 also its error) and test ``_c`` and the varied variables once,
# at the exit that returns a converged run (and once before the ``while`` loop, whose rows
# test at once). This is exact:
# * a float sum is non-finite as soon as one term is (inf + finite = inf, inf − inf = NaN,
#   NaN absorbs), so a finite ``_c`` at the exit proves every term of every row finite (a
#   sum of finite terms that overflows is only a false alarm: the reference runs);
# * a non-finite step leaves a non-finite variable (x − ±inf = ∓inf, x − NaN = NaN) and a
#   non-finite variable stays non-finite whatever is subtracted from it (inf − s is ±inf or
#   NaN), so finite variables at the exit prove every step finite;
# * rows 1 … see their error only through the tests ``_e < tol``, ``_e > −tol`` and the
#   error bound: an error of NaN passes none of the exit tests, ±inf fails the bound unless
#   the bound is inf itself, and in every such case the step makes the variable non-finite
#   (or raises) — caught as above;
# * an unrecorded non-finite value can only cost time, never an answer: the row's other
#   tests are comparisons (False for NaN), every exception returns None, and the unrolled
#   rows are at most 9.
#
# Polynomial bodies need no finiteness work in rows 1 … at all. When every line that moves
# with the varied variables is built from + − ·, unary minus and constant integer powers,
# :func:`_polynomial_bound` proves at generation time that all of them (partials of fixed
# variables included) are finite whenever every name they read from outside — the varied
# variables and the values fixed in row 0 — is within ±A (A = 1e100 … 1e12, the largest
# that keeps every bound ≤ 1e300). Row 0 tests the fixed values once; rows 1 … test
# −A ≤ x ≤ A (NaN fails it) inside the runaway pre-test below, the exit tests it for the
# last row, and the rows compute only the lines the error and the step read (the partial
# of ``w`` when only ``b`` varies is never computed after row 0).
#
# The reference's two bounds, 1e12·max(1, |first error|) and 1e12·max(1, largest starting
# |varied|), are never below 1e12 (a product with a factor ≥ 1 rounds to at least 1e12):
# the rows compare the error and the variables with the constant 1e12 and compute the exact
# bound only past it.


_NAME = re.compile(r"\b[avg][0-9]+\b")


def _split_invariant(lines: list[str], varied: set[str]) -> tuple[list[str], list[str], set[str]]:
    """Split ``name = expr`` lines into those that read no varied input (directly or through
    an earlier line) and the rest; returns (invariant, variant, variant names)."""
    variant_names = set(varied)
    inv: list[str] = []
    var: list[str] = []
    for ln in lines:
        name, expr = ln.split(" = ", 1)
        if name in variant_names or any(u in variant_names for u in _NAME.findall(expr)):
            variant_names.add(name)
            var.append(ln)
        else:
            inv.append(ln)
    return inv, var, variant_names


#: magnitude bounds of the polynomial certificate (see _polynomial_bound)
BOUND_LIMIT = 1e300
BOUND_CHOICES = (1e100, 1e50, 1e25, DIVERGE_FACTOR)


def _polynomial_bound(lines: list[str], a: float) -> tuple[set[str], set[str]] | None:
    """Prove every value of ``lines`` finite when every name they read from outside them
    has |value| ≤ ``a``: None, or (the outside names, the names defined).

    Each line must be a polynomial — ``+ - *``, unary minus, ``**`` a constant integer
    power, float constants, names. Then |x ± y| ≤ |x| + |y|, |x·y| ≤ |x|·|y|, |x^n| ≤ |x|^n
    give a bound of every line's exact value in terms of ``a``; computed here in floats and
    required ≤ 1e300, the true bound (within a relative (1 + 2^-52) per operation of the
    one computed) and the rounded values the loop computes (each rounding adds as much) stay
    far below the largest float, so no row can overflow — nor produce a NaN, which needs an
    inf (inf − inf, 0·inf) when nothing divides.
    """
    import ast

    bound: dict[str, float] = {}
    outside: set[str] = set()

    def b(node: ast.AST) -> float:
        if isinstance(node, ast.Name):
            if node.id in bound:
                return bound[node.id]
            outside.add(node.id)
            return a
        if isinstance(node, ast.Constant) and type(node.value) in (float, int):
            return abs(float(node.value))  # type: ignore[arg-type]  # a float or an int (tested)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            return b(node.operand)
        if isinstance(node, ast.BinOp):
            if isinstance(node.op, ast.Add | ast.Sub):
                return b(node.left) + b(node.right)
            if isinstance(node.op, ast.Mult):
                return b(node.left) * b(node.right)
            if isinstance(node.op, ast.Pow) and isinstance(node.right, ast.Constant):
                n: Any = node.right.value  # any constant: tested next
                if type(n) in (float, int) and float(n).is_integer() and 0 <= n <= 64:
                    return b(node.left) ** int(n)
        raise ValueError  # anything else: no certificate

    for ln in lines:
        name, expr = ln.split(" = ", 1)
        try:
            got = b(ast.parse(expr, mode="eval").body)
        except (ValueError, OverflowError, SyntaxError):
            return None
        if not got <= BOUND_LIMIT:
            return None
        bound[name] = got
    return outside, set(bound)


def _needed(lines: list[str], wanted: list[str]) -> list[str]:
    """The lines that ``wanted`` expressions read, directly or through other lines."""
    need = {u for w in wanted for u in _NAME.findall(w)}
    keep: list[str] = []
    for ln in reversed(lines):
        name, expr = ln.split(" = ", 1)
        if name in need:
            keep.append(ln)
            need.update(_NAME.findall(expr))
    return keep[::-1]


def _solve_function(
    program: Program, vary: tuple[str, ...], split: str, gradient: str, peel: int | None = None
) -> _SolveLoop:
    """Generated ``_solve(start, target, tol, max_iter)`` -> the :class:`FastSolveRun` of a
    converged run, or None (the caller then runs the reference).

    Rows 0 … P−1 are unrolled (P = 9 for small bodies: every history check on locals),
    later rows run in a ``while`` loop with the cycle history in a list. The caller calls it
    only with ``max_iter ≥ P`` (``fn.peel``; the ``peel=1`` loop otherwise), so the
    unrolled rows test no iteration count. A zero factor raises ZeroDivisionError in the
    step (caught: None). The unrolled rows test finiteness once, at the exit (see the
    comment above this function).

    Lines of the body that read no varied variable (``w * 2`` when only ``b`` varies) run
    once, in row 0; their values, and the guards and partials among them, are tested with
    row 0's and do not change, so later rows neither recompute nor re-test them.
    """
    from ..compiler.codegen import emit, scalar_helpers

    names = tuple(program.variables)
    body = emit(program.graph, names, program.output, indent="")
    n, k = len(names), len(vary)
    col = {v: i for i, v in enumerate(names)}
    xs = [f"a{col[v]}" for v in vary]
    gs = [body.grads[col[v]] for v in vary]
    value = (
        body.value
        if body.value.replace("_", "a").replace(".", "a").isalnum()
        else f"({body.value})"
    )
    fs = [f"_f{j}" for j in range(k)] if gradient == "freeze" else gs
    if split == "even" or k == 1:
        steps = [f"_e / {f}" if k == 1 else f"(_e / {k}) / {f}" for f in fs]
        norm = []
    else:
        steps = [f"_e * {f} / _nn" for f in fs]  # not _n2: _n<i> are the variables' names
        norm = [f"_nn = _fsum(({', '.join(f'{f} * {f}' for f in fs)},))"]
    if peel is None:
        peel = 9 if len(body.lines) <= 30 else 3
    invariant, variant, variant_names = _split_invariant(body.lines, set(xs))

    def moving(expr: str) -> bool:
        return any(u in variant_names for u in _NAME.findall(expr))

    later = [e for e in [*body.grads, *body.guards] if moving(e)]
    # the polynomial certificate: a bound A on |varied| and on every outside value the
    # moving lines read proves all their values finite (rows 1 … of the unrolled loop then
    # compute only what the error and the step need, and test |x| ≤ A instead)
    cert, outside = None, []
    for a_max in BOUND_CHOICES if variant else ():
        got = _polynomial_bound(variant, a_max)
        if got is not None:
            cert, outside = repr(a_max), sorted(got[0] - set(xs))
            break
    rows_lines, row_value, row_steps = variant, value, steps
    if cert is not None:
        rows_lines = _needed(variant, [value, *(gs if gradient == "refresh" else [])])
        # a line read once — the output by the error, a partial by the step — is folded
        # into its reader (the same float operations, one name fewer)
        defs = {ln.split(" = ", 1)[0]: ln for ln in rows_lines}

        def read_once(name: str, *also: str) -> bool:
            reads = [u for ln in rows_lines for u in _NAME.findall(ln.split(" = ", 1)[1])]
            reads += [u for e in also for u in _NAME.findall(e)]
            return name in defs and name not in reads

        if read_once(value, *gs):
            rows_lines = [ln for ln in rows_lines if ln is not defs[value]]
            row_value = "(" + defs[value].split(" = ", 1)[1] + ")"
        if k == 1 and gradient == "refresh" and gs[0] != value and read_once(gs[0], value):
            rows_lines = [ln for ln in rows_lines if ln is not defs[gs[0]]]
            row_steps = [f"_e / ({defs[gs[0]].split(' = ', 1)[1]})"]

    def within(names: list[str], a: str) -> str:
        return " and ".join(f"{x} <= {a} and {x} >= -{a}" for x in names)
    # the reference's bounds: 1e12·max(1, |first error|) and 1e12·max(1, |start v| for v varied)
    error_bound = f"({DIVERGE_FACTOR!r} * (_e0 if _e0 > 1.0 else -_e0 if _e0 < -1.0 else 1.0))"
    # where the start values of the varied variables are kept (the others never change)
    start_of = {x: ("_r0" if j == 0 else f"_z{j}") for j, x in enumerate(xs)}
    start_point = [start_of.get(f"a{i}", f"a{i}") for i in range(n)]
    end_point = [f"a{i}" for i in range(n)]

    def found(row: str, value: str = value) -> list[str]:
        # the run, its raw tuple: target, tol, max_iter, updates, output, error, start point,
        # last point
        return [
            "_run = _FastSolveRun()",
            "_run._setup = _setup",
            f"_run._raw = (_target, _tol, _maxit, {row}, {value}, _e, {', '.join(start_point + end_point)})",
            "return _run",
        ]

    def exit_deferred(row: str) -> list[str]:
        return [
            f"_c = _c + {' + '.join(xs)}",
            "if _c - _c == 0.0:",
            *["    " + ln for ln in found(row)],
            "return None",
        ]

    def exit_certified(row: str) -> list[str]:
        return [
            f"if {within(xs, cert)} and _c - _c == 0.0:",  # type: ignore[arg-type]  # cert: not None here
            *["    " + ln for ln in found(row, row_value)],
            "return None",
        ]

    def unrolled_row(r: int) -> list[str]:
        if r == 0:
            out = [*body.lines, f"_e = {value} - _target", f"_c = {' + '.join([*body.grads, *body.guards, '_e'])}"]
        else:
            out = [*rows_lines, f"_e = {row_value} - _target"]
            if later and cert is None:
                out.append(f"_c = _c + {' + '.join(later)}")
        # |e| < tol, then the error bound |e| ≤ 1e12·max(1, |e₀|) (none in row 0), tested
        # exactly only past 1e12, which it is never below
        done = exit_deferred if r == 0 or cert is None else exit_certified
        out += ["if _e < _tol:", "    if _e > _ntol:", *["        " + ln for ln in done(str(r))]]
        if r:
            out += [
                f"    if _e < -{DIVERGE_FACTOR!r} and _e < -{error_bound}:",
                "        return None",
                f"elif _e > {DIVERGE_FACTOR!r} and _e > {error_bound}:",
                "    return None",
            ]
        return out

    def step(steps: list[str] = steps) -> list[str]:
        return [*norm, ", ".join(xs) + " = " + ", ".join(f"{x} - {s}" for x, s in zip(xs, steps))]

    def cycle(prev0: str, olds: list[str]) -> list[str]:
        exc = " + ".join(
            [f"abs({xs[0]} - {prev0})"] + [f"abs({x} - _p{j})" for j, x in enumerate(xs) if j]
        )
        return [f"_q = {CYCLE_RETURN!r} * ({exc})"] + (
            [f"if {' or '.join(f'abs({xs[0]} - {o}) <= _q' for o in olds)}:", "    return None"]
            if olds
            else []
        )

    def unrolled_cycle(r: int) -> list[str]:
        old = cycle(f"_r{r - 1}", [f"_r{r - L}" for L in range(2, min(MAX_CYCLE, r - 1) + 1)])
        if k != 1:
            return old
        chain = [f"_r{i}" for i in range(1, r)] + [xs[0]]
        pairs = list(zip(chain, chain[1:]))
        # x₁ … x_r monotone: no L-back match at row r (see above); the direction is that of
        # the first pair (x₁ = x₂ counts as decreasing, which is then tested)
        up = " and ".join(f"{a} <= {b}" for a, b in pairs[1:])
        down = " and ".join(f"{a} >= {b}" for a, b in pairs[1:])
        a, b = pairs[0]
        return [
            f"if {a} < {b}:",
            f"    if not ({up}):",
            *["        " + ln for ln in old],
            f"elif not ({down}):",
            *["    " + ln for ln in old],
        ]

    runaway = " or ".join(f"{x} > _ps or {x} < _nps" for x in xs)
    # the runaway bound is never below 1e12: compute it only past that
    maybe_runaway = " or ".join(f"{x} > {DIVERGE_FACTOR!r} or {x} < -{DIVERGE_FACTOR!r}" for x in xs)
    bounds = [
        f"_dl = {error_bound}",
        "_ndl = -_dl",
        "_ps = 1.0",
        *[f"_ps = {s} if {s} > _ps else -{s} if -{s} > _ps else _ps" for s in start_of.values()],
        f"_ps = {DIVERGE_FACTOR!r} * _ps",
        "_nps = -_ps",
    ]
    src = ["def _solve(_start, _target, _tol, _maxit):"]
    for i in range(n):
        src += [
            f"    a{i} = _start[_n{i}]",
            f"    if a{i}.__class__ is not _float:",
            f"        a{i} = _float(a{i})",
        ]
    src += [
        # tol = inf would converge at once (the reference refuses it); tol ≤ 0 never
        # converges, so the unrolled rows need not refuse it: the loop below does
        "    if not _tol < _inf:",
        "        return None",
        "    _ntol = -_tol",
        "    _r0 = " + xs[0],
        *[f"    _z{j} = _p{j} = {x}" for j, x in enumerate(xs) if j],
        "    try:",
    ]
    body_src = unrolled_row(0)
    if cert is not None and outside:  # the certificate's bound on what the moving lines read
        body_src += [f"if not ({within(outside, cert)}):", "    return None"]
    body_src += ["_e0 = _e"]
    if gradient == "freeze":
        body_src += [f"{f} = {g}" for f, g in zip(fs, gs)]
    body_src += step()
    for r in range(1, peel):
        body_src += unrolled_row(r)
        exact_runaway = [*bounds, f"if {runaway}:", "    return None"] if r >= 3 else []
        if cert is not None:  # |x| ≤ A (NaN fails it), then runaway past 1e12 (rows ≥ 3)
            body_src += [
                f"if not ({within(xs, repr(DIVERGE_FACTOR))}):",
                f"    if not ({within(xs, cert)}):",
                "        return None",
                *["    " + ln for ln in exact_runaway],
            ]
        elif r >= 3:  # runaway and cycles need four rows
            body_src += [f"if {maybe_runaway}:", *["    " + ln for ln in exact_runaway]]
        if r >= 3:
            body_src += unrolled_cycle(r)
        body_src += [f"_r{r} = {xs[0]}", *[f"_p{j} = {x}" for j, x in enumerate(xs) if j]]
        body_src += step(row_steps)
    # the unrolled rows' deferred test, then the loop tests every row at once
    check = [*later, *xs]
    body_src += [
        *bounds,
        f"_c = _c + {' + '.join(xs)}",
        "if _c - _c != 0.0:",
        "    return None",
        "if not _tol > 0.0:",
        "    return None",
        "_a = abs(_e)",
        f"_h = [{', '.join(f'_r{r}' for r in range(max(0, peel - 8), peel))}]",
        "_ha = _h.append",
        f"_it = {peel - 1}",
        "while True:",
        "    _it += 1",
        *["    " + ln for ln in variant],
        f"    _e = {value} - _target",
        f"    _c = {' + '.join(check)}",
        "    if _c - _c != 0.0:",
        "        return None",
        "    if _ntol < _e < _tol:",
        *["        " + ln for ln in found("_it")],
        "    if _it >= _maxit:",
        "        return None",
        "    _b = abs(_e)",
        f"    if not _b <= _dl or (_b > _a and _it >= {GROWTH_WINDOW}) or {runaway}:",
        "        return None",
        "    _a = _b",
        *["    " + ln for ln in cycle("_h[-1]", [])],
        "    for _o in _h[-8:-1]:",
        f"        if abs({xs[0]} - _o) <= _q:",
        "            return None",
        f"    _ha({xs[0]})",
        *[f"    _p{j} = {x}" for j, x in enumerate(xs) if j],
        *["    " + ln for ln in step()],
    ]
    src += ["        " + ln for ln in body_src]
    src += ["    except Exception:", "        return None"]
    text = "\n".join(src) + "\n"
    ns = scalar_helpers()
    ns.update(_float=float, _inf=math.inf, _fsum=math.fsum, _FastSolveRun=FastSolveRun)
    ns.update(_setup=(program, vary, split, gradient))
    ns.update({f"_n{i}": name for i, name in enumerate(names)})  # names as constants, never source
    run_generated(text, ns, "solve")
    fn = ns["_solve"]
    fn.source = text
    fn.peel = peel
    return fn


class FastSolveRun:
    """A :class:`SolveRun` of a converged fast run: same attributes, records built lazily.

    ``iterations`` re-runs the reference loop (``detail=False``) on first access, so the
    rows are the reference's by construction; ``result`` is built (once) from the raw floats
    the generated loop returned (tests check it equals the reference's). The generated loop
    fills the two slots directly (no ``__init__``: that was most of a fast run's overhead):
    ``_setup`` = (program, varied, split, gradient) and ``_raw`` = (target, tol, max_iter,
    updates, output, error, *start point, *last point), points in ``program.variables``
    order.
    """

    __slots__ = ("_setup", "_raw", "_result", "_cache")
    _setup: tuple[Program, tuple[str, ...], str, str]
    _raw: tuple[Any, ...]  # floats, and ints for max_iter and updates
    _result: SolveResult
    _cache: SolveRun

    program = property(lambda self: self._setup[0])
    vary = property(lambda self: self._setup[1])
    split = property(lambda self: self._setup[2])
    gradient = property(lambda self: self._setup[3])
    target = property(lambda self: self._raw[0])
    tol = property(lambda self: self._raw[1])
    max_iter = property(lambda self: self._raw[2])

    @property
    def expression(self) -> str:
        return self.program.source

    @property
    def output_name(self) -> str:
        return self.program.output_name

    @property
    def variables(self) -> tuple[str, ...]:
        return tuple(self.program.variables)

    @property
    def named(self) -> tuple[str, ...]:
        return tuple(self.program.named)

    @property
    def start(self) -> dict:
        names = self.program.variables
        return dict(zip(names, self._raw[6 : 6 + len(names)]))

    @property
    def result(self) -> SolveResult:
        try:
            return self._result
        except AttributeError:
            pass
        from .gradient import output_symbol

        names = self.program.variables
        target, tol, _, updates, output, error = self._raw[:6]
        self._result = SolveResult(
            status="converged",
            message=f"|error| = {_fmt(abs(error))} < tol {_fmt(tol)} after {updates} "
            f"update{'s' if updates != 1 else ''}: {output_symbol(self.program)} = {_fmt(output)} "
            f"(target {_fmt(target)})",
            values=dict(zip(names, self._raw[6 + len(names) :])),
            output=output,
            error=error,
            updates=updates,
            iterations=updates + 1,
            gradient=self.gradient,
            split=self.split,
        )
        return self._result

    @property
    def iterations(self) -> tuple[Iteration, ...]:
        try:
            return self._cache.iterations
        except AttributeError:
            pass
        self._cache = _solve_reference(
            self.program, self.start, self.target, self.vary, self.split, self.gradient,
            self.tol, self.max_iter, False,
        )  # fmt: skip
        return self._cache.iterations


def solve_fast(
    program: Program,
    start: dict,
    target: float,
    vary: Sequence[str] | None = None,
    *,
    split: str = "even",
    gradient: str = "refresh",
    tol: float = 1e-5,
    max_iter: int = 100,
) -> SolveRun | FastSolveRun:
    """:func:`solve` with ``detail=False`` through the generated Newton loop (cached on the
    program per vary/split/gradient); any run that does not simply converge is the
    reference's, re-run from the start."""
    fn = None
    try:
        # the last setup used: the same objects again -> no key to build, no checks to redo
        v, s, g, peel, loop = program._loops["solve"]
        if v is vary and s is split and g is gradient and max_iter >= peel:
            fn = loop
            run = fn(start, target, tol, max_iter)
            if run is not None:
                return run
    except (KeyError, TypeError, ValueError):  # the reference raises (or explains) it
        pass
    if fn is not None:  # the generated loop gave up: the reference decides
        return _solve_reference(program, start, target, vary, split, gradient, tol, max_iter, False)
    return _solve_setup(program, start, target, vary, split, gradient, tol, max_iter)


def _loop_for(
    program: Program, vary: Sequence[str] | None, split: str, gradient: str, max_iter: int
) -> _SolveLoop | None:
    """The generated loop for a setup (found or generated, cached on the program), or None
    when there is none to run — an unknown split or gradient, a bad ``vary``, nothing
    varied, max_iter not an int ≥ 1 — and the reference must answer (or word the error)."""
    if split not in SPLITS or gradient not in GRADIENTS:
        return None
    loops = program._loops
    try:
        key = ("solve", vary, split, gradient)
        loop = loops.get(key)
    except TypeError:  # an unhashable vary (a list)
        key = ("solve", tuple(vary), split, gradient)  # type: ignore[arg-type]  # a list, not None
        loop = loops.get(key)
    if loop is None:
        try:
            varied = check_vary(program, vary)
        except InputError:  # the reference words it, after its own earlier checks
            return None
        fn = _solve_function(program, varied, split, gradient) if varied else None
        loop = [fn, (program, varied, split, gradient), None]
        loops[key] = loop
    fn, setup = loop[0], loop[1]
    if fn is not None and key[1] is vary:  # a hashable vary: remember it for solve_fast
        loops["solve"] = (vary, split, gradient, fn.peel, fn)
    if fn is None or not (isinstance(max_iter, int) and max_iter >= 1):
        return None
    if max_iter < fn.peel:  # the unrolled rows assume max_iter >= peel
        fn = loop[2]
        if fn is None:
            fn = loop[2] = _solve_function(program, setup[1], split, gradient, peel=1)
    return fn


def _solve_setup(
    program: Program,
    start: dict,
    target: float,
    vary: Sequence[str] | None,
    split: str,
    gradient: str,
    tol: float,
    max_iter: int,
) -> SolveRun | FastSolveRun:
    """:func:`solve_fast` for a setup other than the last one: find (or generate) its loop."""
    fn = _loop_for(program, vary, split, gradient, max_iter)
    run = None
    try:
        if fn is not None:
            run = fn(start, target, tol, max_iter)
    except (KeyError, TypeError, ValueError):  # the reference raises (or explains) it
        run = None
    if run is not None:
        return run
    return _solve_reference(program, start, target, vary, split, gradient, tol, max_iter, False)


def solver(
    program: Program,
    vary: Sequence[str] | None = None,
    *,
    split: str = "even",
    gradient: str = "refresh",
    tol: float = 1e-5,
    max_iter: int = 100,
) -> Callable[[dict, float], SolveRun | FastSolveRun]:
    """One solve setup compiled once: ``run(start, target)`` returns exactly what
    ``solve(program, start, target, vary, split=…, gradient=…, tol=…, max_iter=…,
    detail=False)`` returns, for any start and target.

    What :func:`solve_fast` does on every call — find the setup's generated loop, check
    the setup — is done here once, so a call is the generated loop itself plus one frame
    (as ``program.function()`` is to ``value_and_grad``). For many starts or targets of one
    problem (a sweep), and the benchmark's W5 fast path. Errors (a bad vary, tol,
    max_iter, start or target) are the reference's, raised at the call: any run the
    generated loop does not finish is the reference's.
    """
    fn = _loop_for(program, vary, split, gradient, max_iter)
    reference = _solve_reference

    if fn is None:

        def run(start: dict, target: float) -> SolveRun | FastSolveRun:
            return reference(program, start, target, vary, split, gradient, tol, max_iter, False)

        return run

    # (the `run` above was returned: this one is the other branch's)
    def run(start: dict, target: float) -> SolveRun | FastSolveRun:  # type: ignore[no-redef]
        try:
            got = fn(start, target, tol, max_iter)
            if got is not None:
                return got
        except (KeyError, TypeError, ValueError):  # the reference raises (or explains) it
            pass
        return reference(program, start, target, vary, split, gradient, tol, max_iter, False)

    return run
