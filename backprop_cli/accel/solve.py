"""``solve(..., detail=False)`` without its records: the engine's own loop and policy on raw
numbers, the records built only when they are read.

:func:`try_solve` runs :func:`backprop_cli.engines.solve.newton` — the iteration and every
stopping rule, as the reference runs them — over the compiled ``program.function()``, and
keeps the raw rows it yields. The :class:`LazySolveRun` it returns is a
:class:`~backprop_cli.engines.solve.SolveRun` whose setup is read from the run's
:class:`~backprop_cli.engines.solve.Policy`, whose ``result`` is the engine's
``Policy.result`` and whose ``iterations`` the engine's ``record`` builds on first access,
so they are the reference's by construction (tests/accel/test_solve_fast.py compares them).
What it saves is the reference's per-row work that nobody may read: six dicts and a record
a row.
"""

from __future__ import annotations

from dataclasses import fields

from ..engines.solve import Iteration, Policy, SolveResult, SolveRun, Stop, newton, record


def try_solve(policy: Policy, start: dict) -> SolveRun:
    """The run of ``policy``'s setup from ``start``, as ``solve(..., detail=False)`` returns it."""
    xs = policy.start(start)
    rows = list(newton(policy, policy.program.function(policy.order), xs))
    stop: Stop = rows.pop()  # type: ignore[assignment]  # newton's last item: the Stop
    result = policy.result(stop, rows[-1] if rows else None, xs)
    run = object.__new__(LazySolveRun)
    _set(run, "_raw", (policy, xs, rows))
    _set(run, "_result", result)
    return run


#: fills a slot of the frozen record (its own ``__setattr__`` refuses)
_set = object.__setattr__


class LazySolveRun(SolveRun):
    """A :class:`SolveRun` read from the raw run: the setup from its policy, the rows built
    on first access (then kept)."""

    __slots__ = ("_raw", "_result", "_iterations")
    #: the run's policy, the varied variables' starting values and its raw rows
    _raw: tuple[Policy, tuple[float, ...], list[tuple]]
    _result: SolveResult
    _iterations: tuple[Iteration, ...]

    @property
    def iterations(self) -> tuple[Iteration, ...]:
        try:
            return self._iterations
        except AttributeError:
            policy, _, rows = self._raw
            _set(self, "_iterations", tuple(record(policy, row) for row in rows))
            return self._iterations

    @property
    def result(self) -> SolveResult:
        return self._result

    @property
    def expression(self) -> str:
        return self._raw[0].program.source

    @property
    def output_name(self) -> str:
        return self._raw[0].program.output_name

    @property
    def target(self) -> float:
        return self._raw[0].target

    @property
    def vary(self) -> tuple[str, ...]:
        return self._raw[0].vary

    @property
    def start(self) -> dict:
        return self._raw[0].point(self._raw[1])

    @property
    def gradient(self) -> str:
        return self._raw[0].gradient

    @property
    def split(self) -> str:
        return self._raw[0].split

    @property
    def tol(self) -> float:
        return self._raw[0].tol

    @property
    def max_iter(self) -> int:
        return self._raw[0].max_iter

    @property
    def variables(self) -> tuple[str, ...]:
        return tuple(self._raw[0].program.variables)

    @property
    def named(self) -> tuple[str, ...]:
        return tuple(self._raw[0].program.named)

    def __reduce__(self) -> tuple:
        """Copied or pickled: a plain SolveRun with the same fields."""
        return SolveRun, tuple(getattr(self, f.name) for f in fields(SolveRun))
