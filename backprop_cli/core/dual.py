"""Forward mode: dual numbers with their own derivative rules.

A :class:`Dual` ``v + d·ε`` (ε² = 0) carries a value and a tangent. The rules below are
written independently of ``primitives.TABLE`` (often in a different but equivalent form,
e.g. tan' = 1/cos² here against 1 + tan² there), so that forward mode agreeing with the
reverse sweep is a real check. Components may themselves be duals: nesting gives exact
second derivatives (forward over forward), used for curvature and Newton steps.

Non-differentiable points follow the same documented convention as reverse mode (the
mean of the one-sided derivatives). Domain errors are not re-checked here: callers run
the checked forward pass (``graph.forward``) first.
"""

from __future__ import annotations

import math
from typing import Callable

from .graph import Graph, needed_by


class Dual:
    __slots__ = ("v", "d")
    __array_ufunc__ = None  # numpy defers to our reflected operators

    def __init__(self, v, d):
        self.v = v
        self.d = d

    def __repr__(self) -> str:
        return f"Dual({self.v!r}, {self.d!r})"

    # arithmetic: the sum, product and quotient rules
    def __add__(self, o):
        if isinstance(o, Dual):
            return Dual(self.v + o.v, self.d + o.d)
        return Dual(self.v + o, self.d)

    __radd__ = __add__

    def __sub__(self, o):
        if isinstance(o, Dual):
            return Dual(self.v - o.v, self.d - o.d)
        return Dual(self.v - o, self.d)

    def __rsub__(self, o):
        return Dual(o - self.v, -self.d)

    def __mul__(self, o):
        if isinstance(o, Dual):
            return Dual(self.v * o.v, self.d * o.v + self.v * o.d)
        return Dual(self.v * o, self.d * o)

    __rmul__ = __mul__

    def __truediv__(self, o):
        if isinstance(o, Dual):
            q = self.v / o.v
            return Dual(q, (self.d - q * o.d) / o.v)
        return Dual(self.v / o, self.d / o)

    def __rtruediv__(self, o):
        q = o / self.v
        return Dual(q, -q * self.d / self.v)

    def __neg__(self):
        return Dual(-self.v, -self.d)


def primal(x):
    """The innermost value of a (possibly nested) dual."""
    while isinstance(x, Dual):
        x = x.v
    return x


def _is_scalar(x) -> bool:
    return isinstance(x, float | int)


def _np():
    import numpy as np

    return np


def _base(math_name: str, np_name: str) -> Callable:
    mf = getattr(math, math_name)

    def f(x):
        if _is_scalar(x):
            return mf(x)
        return getattr(_np(), np_name)(x)

    return f


_sin, _cos, _tan = _base("sin", "sin"), _base("cos", "cos"), _base("tan", "tan")
_asin, _acos, _atan = _base("asin", "arcsin"), _base("acos", "arccos"), _base("atan", "arctan")
_sinh, _cosh, _tanh = _base("sinh", "sinh"), _base("cosh", "cosh"), _base("tanh", "tanh")
_exp, _log, _sqrt = _base("exp", "exp"), _base("log", "log"), _base("sqrt", "sqrt")


def _select(cond, a, b):
    """Elementwise choice that looks through dual components."""
    if isinstance(a, Dual) or isinstance(b, Dual):
        a = a if isinstance(a, Dual) else Dual(a, 0.0)
        b = b if isinstance(b, Dual) else Dual(b, 0.0)
        return Dual(_select(cond, a.v, b.v), _select(cond, a.d, b.d))
    if _is_scalar(cond) or isinstance(cond, bool):
        return a if cond else b
    return _np().where(cond, a, b)


def _unary(value: Callable, slope: Callable) -> Callable:
    """Lift f with f'(v) = slope(v, f(v)) to duals; plain values pass straight through."""

    def f(x):
        if isinstance(x, Dual):
            fx = f(x.v)
            return Dual(fx, slope(x.v, fx) * x.d)
        return value(x)

    return f


def _sq(x):
    return x * x


# annotated: the slopes' lambdas read some of these before they are defined
sin: Callable = _unary(_sin, lambda v, fv: cos(v))
cos: Callable = _unary(_cos, lambda v, fv: -sin(v))
tan = _unary(_tan, lambda v, fv: 1.0 / _sq(cos(v)))
asin = _unary(_asin, lambda v, fv: 1.0 / sqrt(1.0 - _sq(v)))
acos = _unary(_acos, lambda v, fv: -1.0 / sqrt(1.0 - _sq(v)))
atan = _unary(_atan, lambda v, fv: 1.0 / (1.0 + _sq(v)))
sinh = _unary(_sinh, lambda v, fv: cosh(v))
cosh: Callable = _unary(_cosh, lambda v, fv: sinh(v))
# sech² as (1 - tanh)(1 + tanh): 1/cosh² would overflow (OverflowError) for |v| > 710
tanh = _unary(_tanh, lambda v, fv: (1.0 - fv) * (1.0 + fv))
exp = _unary(_exp, lambda v, fv: fv)
ln = _unary(_log, lambda v, fv: 1.0 / v)
log2 = _unary(lambda x: _log(x) / math.log(2.0), lambda v, fv: 1.0 / (v * math.log(2.0)))
log10 = _unary(lambda x: _log(x) / math.log(10.0), lambda v, fv: 1.0 / (v * math.log(10.0)))
sqrt: Callable = _unary(_sqrt, lambda v, fv: 0.5 / fv)


def _sign(x):
    p = primal(x)
    if _is_scalar(p):
        return 1.0 if p > 0 else (-1.0 if p < 0 else 0.0)
    return _np().sign(p)


def _kink(x, left: float, right: float):
    """Derivative of a piecewise-linear function with a kink at 0: mean of the sides at 0."""
    p = primal(x)
    if _is_scalar(p):
        return right if p > 0 else (left if p < 0 else 0.5 * (left + right))
    np = _np()
    return np.where(p > 0, right, np.where(p < 0, left, 0.5 * (left + right)))


def abs_(x):
    if isinstance(x, Dual):
        return Dual(abs_(x.v), _sign(x.v) * x.d)
    return abs(x) if _is_scalar(x) else _np().abs(x)


def relu(x):
    if isinstance(x, Dual):
        return Dual(relu(x.v), _kink(x.v, 0.0, 1.0) * x.d)
    p = x
    return (p if p > 0 else 0.0) if _is_scalar(p) else _np().maximum(p, 0.0)


def sigmoid(x):
    # σ(x) = e^x / (1 + e^x) = 1 / (1 + e^-x), written so neither side overflows
    if isinstance(x, Dual):
        s = sigmoid(x.v)
        return Dual(s, s * (1.0 - s) * x.d)
    if _is_scalar(x):
        return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))
    np = _np()
    t = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0, t) / (1.0 + t)


def softplus(x):
    # ln(1 + e^x); its derivative is σ(x)
    if isinstance(x, Dual):
        return Dual(softplus(x.v), sigmoid(x.v) * x.d)
    if _is_scalar(x):
        return max(x, 0.0) + math.log1p(math.exp(-abs(x)))
    np = _np()
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def _minmax(a, b, take_a: Callable):
    """min/max: the tangent of the chosen side; at a tie, the mean of both tangents."""
    pa, pb = primal(a), primal(b)
    if not isinstance(a, Dual) and not isinstance(b, Dual):
        if _is_scalar(pa) and _is_scalar(pb):
            return a if (take_a(pa, pb) or pa == pb) else b
        return _np().where(take_a(pa, pb), a, b)
    A = a if isinstance(a, Dual) else Dual(a, 0.0)
    B = b if isinstance(b, Dual) else Dual(b, 0.0)
    chosen = _select(take_a(pa, pb), A.d, B.d)
    d = _select(pa == pb, 0.5 * (A.d + B.d), chosen)
    return Dual(_minmax(A.v, B.v, take_a), d)


def minimum(a, b):
    return _minmax(a, b, lambda x, y: x < y)


def maximum(a, b):
    return _minmax(a, b, lambda x, y: x > y)


def power(a, b):
    """a^b: the power rule for a constant exponent, the general rule otherwise."""
    pa, pb = primal(a), primal(b)
    if isinstance(b, Dual):
        # d(a^b) = b a^(b-1) da + a^b ln(a) db; only called where a > 0 (checked upstream)
        return exp(b * ln(a))
    if isinstance(a, Dual):
        if _is_scalar(pb) and pb == 0.0:
            return Dual(power(a.v, b), 0.0 * a.d)
        return Dual(power(a.v, b), b * power(a.v, b - 1.0) * a.d)
    if _is_scalar(pa) and _is_scalar(pb):
        return math.pow(pa, pb)
    return _np().power(pa, pb)


def logb(a, b):
    return ln(a) / ln(b)


#: op -> forward rule (its own table; compare primitives.TABLE for the reverse rules)
RULES: dict[str, Callable] = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "pow": power,
    "powc": power,
    "neg": lambda a: -a,
    "id": lambda a: a,
    "sin": sin, "cos": cos, "tan": tan, "asin": asin, "acos": acos, "atan": atan,
    "sinh": sinh, "cosh": cosh, "tanh": tanh, "exp": exp, "ln": ln, "log": ln, "log2": log2,
    "log10": log10, "logb": logb, "sqrt": sqrt, "abs": abs_, "sigmoid": sigmoid,
    "relu": relu, "softplus": softplus, "min": minimum, "max": maximum,
}  # fmt: skip


def evaluate(graph: Graph, values: dict, output: int | None = None) -> list:
    """Evaluate the nodes the output needs on (possibly dual) inputs (others stay None)."""
    vals: list = [None] * len(graph.nodes)
    needed = needed_by(graph, output)
    for node in graph.nodes:
        if not needed[node.id]:
            continue
        if node.op == "var":
            v = values[node.name]
            vals[node.id] = float(v) if isinstance(v, int) else v
        elif node.op == "const":
            vals[node.id] = node.value
        else:
            vals[node.id] = RULES[node.op](*[vals[i] for i in node.inputs])
    return vals


def tangent(x):
    return x.d if isinstance(x, Dual) else 0.0


def jvp(graph: Graph, values: dict, seed: str, output: int | None = None) -> list:
    """One forward pass seeded on one variable: ∂node/∂seed for every node the output needs."""
    point = dict(values)
    point[seed] = Dual(values[seed], 1.0)
    return [tangent(v) for v in evaluate(graph, point, output)]


def gradient(graph: Graph, values: dict, output: int | None = None) -> dict:
    """∂output/∂v for every variable: one forward pass per input variable."""
    out = graph.output if output is None else output
    return {name: jvp(graph, values, name, out)[out] for name in graph.variables}


def hessian(graph: Graph, values: dict, names, output: int | None = None) -> list[list]:
    """Second partials ∂²output/∂vᵢ∂vⱼ by nested duals (forward over forward), exact."""
    out = graph.output if output is None else output
    n = len(names)
    h = [[0.0] * n for _ in range(n)]
    for i in range(n):
        for j in range(i, n):
            point = dict(values)
            if i == j:
                point[names[i]] = Dual(Dual(values[names[i]], 1.0), Dual(1.0, 0.0))
            else:
                point[names[i]] = Dual(Dual(values[names[i]], 0.0), Dual(1.0, 0.0))
                point[names[j]] = Dual(Dual(values[names[j]], 1.0), Dual(0.0, 0.0))
            r = evaluate(graph, point, out)[out]
            second = r.d.d if isinstance(r, Dual) and isinstance(r.d, Dual) else 0.0
            h[i][j] = h[j][i] = second
    return h
