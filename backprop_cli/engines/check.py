"""Gradient check three ways: reverse mode, forward mode, central finite differences.

Tolerances (documented in README and --help):
* reverse vs forward must agree to a relative error of 1e-9 (both are exact up to rounding);
* finite differences must agree with reverse mode to a relative error of 1e-5, or an
  absolute error of 1e-6 when the partial is near 0. The step is h = 1e-5 · max(1, |v|),
  about the cube root of machine epsilon, where the central difference error (h² f''' + ε/h)
  is smallest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import DomainError
from ..core.graph import forward
from ..core.program import Program

if TYPE_CHECKING:
    from collections.abc import Iterable

AD_RTOL = 1e-9
FD_RTOL = 1e-5
FD_ATOL = 1e-6
KINKS = ("abs", "relu", "min", "max")


@dataclass(frozen=True, slots=True)
class CheckRow:
    variable: str
    reverse: float
    forward: float
    finite_difference: float | None
    step: float
    ad_error: float  # |reverse - forward|
    fd_abs_error: float | None  # |reverse - fd|
    fd_rel_error: float | None
    ok: bool
    cause: str | None  # why they disagree, when they do


@dataclass(frozen=True, slots=True)
class CheckReport:
    expression: str
    output: str
    at: dict[str, float]
    defaulted: tuple[str, ...]
    value: float
    rows: tuple[CheckRow, ...]

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.rows)


def _rel(a: float, b: float) -> float:
    scale = max(abs(a), abs(b))
    return 0.0 if scale == 0 else abs(a - b) / scale


def _near_kink(program: Program, values: dict, name: str, h: float) -> str | None:
    """A kink (abs/relu at 0, a min/max tie) within a few steps of the point?"""
    trace_vals, _ = forward(program.graph, values, output=program.output)
    for node in program.nodes:
        if node.op not in KINKS or trace_vals[node.id] is None:
            continue
        args = [trace_vals[i] for i in node.inputs]
        gap = abs(args[0]) if node.op in ("abs", "relu") else abs(args[0] - args[1])
        if gap <= 10 * h * max(1.0, abs(values[name])):
            return f"a kink: `{program.label(node.id)}` is {'at' if gap == 0 else 'near'} its non-differentiable point"
    return None


def check(program: Program, values: dict[str, float], defaulted: Iterable[str] = ()) -> CheckReport:
    trace = program.trace(values)
    graph = program.graph
    reverse = {v: trace.adjoints[i] for v, i in zip(graph.variables, graph.var_ids)}
    fwd = program.forward_gradient(values)
    rows = []
    for name in program.variables:
        x = values[name]
        h = 1e-5 * max(1.0, abs(x))
        fd = None
        cause = None
        try:
            up = dict(values, **{name: x + h})
            down = dict(values, **{name: x - h})
            f_up = forward(graph, up, output=program.output)[0][program.output]
            f_down = forward(graph, down, output=program.output)[0][program.output]
            fd = (f_up - f_down) / (2 * h)
        except DomainError as err:
            cause = f"a domain boundary: a step of ±{h:.3g} in {name} leaves the domain ({err.message})"
        r, f = reverse[name], fwd[name]
        ad_err = abs(r - f)
        ok = _rel(r, f) <= AD_RTOL or ad_err <= 1e-12
        if not ok:
            cause = "reverse and forward mode disagree: a derivative rule is wrong"
        fd_abs = fd_rel = None
        if fd is not None and math.isfinite(fd):
            fd_abs = abs(r - fd)
            fd_rel = _rel(r, fd)
            if not (fd_rel <= FD_RTOL or fd_abs <= FD_ATOL):
                ok = False
                cause = cause or _near_kink(program, values, name, h) or (
                    f"the finite-difference step (h = {h:.3g}) is too coarse or too fine for this "
                    "function here (strong curvature or cancellation), or a derivative rule is wrong"
                )
        elif fd is not None:
            ok = False
            cause = cause or "the finite difference is not finite"
        else:
            ok = False
        rows.append(CheckRow(name, r, f, fd, h, ad_err, fd_abs, fd_rel, ok, cause))
    return CheckReport(program.source, program.output_name, dict(values), tuple(defaulted), trace.value, tuple(rows))
