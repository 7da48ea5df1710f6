"""Independent oracles for gradients: central finite differences and SymPy.

SymPy is a test-only oracle. It never sees user text: :func:`to_sympy` walks OUR graph
(nodes in creation order, which is topological) and builds one SymPy object per node
from the node's op — so it checks the evaluator's derivative rules, not our parser
against SymPy's.

Finite differences (documented step and tolerance):
  central difference  (f(v+h) − f(v−h)) / 2h  with  h = FD_STEP · max(1, |v|),
  FD_STEP = 1e-6 ≈ cbrt(machine ε)/6: truncation error h²·f'''/6 and rounding ε·|f|/h
  are both ~1e-11 relative for the well-scaled suite points, so we demand agreement to
  FD_RTOL = 1e-6 relative (or FD_ATOL = 1e-7 absolute when the partial is near 0).
Reverse vs forward vs SymPy are exact methods: AD_RTOL = 1e-10.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import backprop_cli
from backprop_cli.core.graph import forward

FD_STEP = 1e-6
FD_RTOL = 1e-6
FD_ATOL = 1e-7
AD_RTOL = 1e-10
AD_ATOL = 1e-12


def to_sympy(program, output: int | None = None):
    """(sympy expression of the output, {variable name: sympy Symbol}) built from the graph."""
    import sympy as sp

    symbols = {v: sp.Symbol(v, real=True) for v in program.variables}
    built: list = [None] * len(program.nodes)
    for node in program.nodes:
        a = [built[i] for i in node.inputs]
        op = node.op
        if op == "var":
            e = symbols[node.name]
        elif op == "const":
            v = float(node.value)
            e = sp.Integer(int(v)) if v.is_integer() and abs(v) < 2**53 else sp.Float(v, 30)
        elif op == "add":
            e = a[0] + a[1]
        elif op == "sub":
            e = a[0] - a[1]
        elif op == "mul":
            e = a[0] * a[1]
        elif op == "div":
            e = a[0] / a[1]
        elif op in ("pow", "powc"):
            e = sp.Pow(a[0], a[1])
        elif op == "neg":
            e = -a[0]
        elif op == "id":
            e = a[0]
        elif op in ("ln", "log"):
            e = sp.log(a[0])
        elif op == "log2":
            e = sp.log(a[0], 2)
        elif op == "log10":
            e = sp.log(a[0], 10)
        elif op == "logb":
            e = sp.log(a[0]) / sp.log(a[1])
        elif op == "abs":
            e = sp.Abs(a[0])
        elif op == "sigmoid":
            e = 1 / (1 + sp.exp(-a[0]))
        elif op == "relu":
            e = sp.Max(a[0], 0)
        elif op == "softplus":
            e = sp.log(1 + sp.exp(a[0]))
        elif op == "min":
            e = sp.Min(a[0], a[1])
        elif op == "max":
            e = sp.Max(a[0], a[1])
        elif op in (
            "sin",
            "cos",
            "tan",
            "asin",
            "acos",
            "atan",
            "sinh",
            "cosh",
            "tanh",
            "exp",
            "sqrt",
        ):
            e = getattr(sp, op)(a[0])
        else:  # a new primitive must be taught to the oracle
            raise AssertionError(f"oracle does not know op {op!r}")
        built[node.id] = e
    out = program.output if output is None else output
    return built[out], symbols


def sympy_value_and_grad(program, at: dict[str, float]) -> tuple[float, dict[str, float]]:
    import sympy as sp

    expr, symbols = to_sympy(program)
    subs = {symbols[k]: sp.Float(v, 30) for k, v in at.items()}
    value = float(expr.evalf(30, subs=subs))
    grad = {k: float(sp.diff(expr, s).evalf(30, subs=subs)) for k, s in symbols.items()}
    return value, grad


def central_difference(program, at: dict[str, float], name: str, step: float = FD_STEP) -> float:
    """(f(v+h) − f(v−h)) / 2h through the interpreter's checked forward pass."""
    h = step * max(1.0, abs(at[name]))
    up = forward(program.graph, dict(at, **{name: at[name] + h}), output=program.output)[0]
    down = forward(program.graph, dict(at, **{name: at[name] - h}), output=program.output)[0]
    return (up[program.output] - down[program.output]) / (2 * h)


def close(a: float, b: float, rtol: float, atol: float) -> bool:
    return (
        math.isfinite(a)
        and math.isfinite(b)
        and abs(a - b) <= max(atol, rtol * max(abs(a), abs(b)))
    )


@dataclass
class FourWays:
    text: str
    at: dict
    value: float
    reverse: dict  # trace adjoints
    compiled: dict  # value_and_grad (compiled straight-line code)
    compiled_value: float
    forward: dict  # dual numbers
    fd: dict  # central differences
    sympy: dict
    sympy_value: float


def four_ways(text: str, at: dict[str, float], use_sympy: bool = True) -> FourWays:
    program = backprop_cli.compile(text)
    t = program.trace(at)
    reverse = {v: t.adjoints[i] for v, i in zip(program.graph.variables, program.graph.var_ids)}
    cval, compiled = program.value_and_grad(at)
    fwd = program.forward_gradient(at)
    fd = {v: central_difference(program, at, v) for v in program.variables}
    sval, sgrad = sympy_value_and_grad(program, at) if use_sympy else (t.value, dict(reverse))
    return FourWays(text, at, t.value, reverse, compiled, cval, fwd, fd, sgrad, sval)


def assert_four_ways(text: str, at: dict[str, float], use_sympy: bool = True) -> FourWays:
    """Reverse (trace and compiled) == forward == SymPy (exact tolerance) == central differences."""
    r = four_ways(text, at, use_sympy)
    problems = []
    if not close(r.value, r.sympy_value, AD_RTOL, AD_ATOL):
        problems.append(f"value: ours {r.value!r} vs sympy {r.sympy_value!r}")
    if not close(r.value, r.compiled_value, AD_RTOL, AD_ATOL):
        problems.append(f"value: trace {r.value!r} vs compiled {r.compiled_value!r}")
    for v in r.reverse:
        rev = r.reverse[v]
        for what, other, rtol, atol in (
            ("compiled", r.compiled[v], AD_RTOL, AD_ATOL),
            ("forward", r.forward[v], AD_RTOL, AD_ATOL),
            ("sympy", r.sympy[v], AD_RTOL, AD_ATOL),
            ("central difference", r.fd[v], FD_RTOL, FD_ATOL),
        ):
            if not close(rev, other, rtol, atol):
                problems.append(f"∂/∂{v}: reverse {rev!r} vs {what} {other!r}")
    assert not problems, f"{text} at {at}: " + "; ".join(problems)
    return r


def strict_json(text: str):
    """json.loads that refuses NaN/Infinity tokens (the CLI's JSON must be strict)."""

    def bad(token):
        raise ValueError(f"non-strict JSON token {token}")

    return json.loads(text, parse_constant=bad)
