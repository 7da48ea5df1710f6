"""The table of operations: one row per primitive.

Each row holds, side by side, what a reviewer needs to check one operation:

* ``value(M, *x)`` — the value rule, written against a math namespace ``M`` that is
  either :data:`SCALAR` (``math``, for Python floats) or the numpy namespace (arrays);
* ``partials(M, out, *x)`` — the local partials ∂out/∂xᵢ (read by the reverse sweep);
* ``domain`` — (predicate, message) pairs; a predicate true anywhere is a domain error;
* ``code`` / ``dcode`` — templates the straight-line compiler (``codegen``) emits for the
  value and the partials; ``{0}``, ``{1}`` name the inputs, ``{out}`` the node itself.

Forward mode (``dual``) deliberately does NOT read this table: it has its own rules, so
"forward equals reverse" is a real check.

Non-differentiable points follow one convention: the derivative there is the mean of
the one-sided derivatives — abs'(0) = 0, relu'(0) = 0.5, and at a tie min/max pass 0.5
to each argument. Points where a one-sided derivative is infinite (sqrt at 0,
asin/acos at ±1, 0^y with 0 < y < 1) are domain errors: the gradient does not exist.
0^0 = 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Callable

LN2 = math.log(2.0)
LN10 = math.log(10.0)


def _where_s(cond, a, b):
    return a if cond else b


def _sigmoid_s(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def _softplus_s(x: float) -> float:
    return math.log1p(math.exp(-abs(x))) + (x if x > 0 else 0.0)


def _sign_s(x: float) -> float:
    return 1.0 if x > 0 else (-1.0 if x < 0 else 0.0)


def _step_s(x: float) -> float:
    """d relu / dx with relu'(0) = 0.5."""
    return 1.0 if x > 0 else (0.0 if x < 0 else 0.5)


def _less_s(a: float, b: float) -> float:
    """∂min(a, b)/∂a: 1 when a < b, 0.5 on a tie, else 0."""
    return 1.0 if a < b else (0.5 if a == b else 0.0)


def _pow_s(x: float, y: float) -> float:
    """x^y on floats, never complex: a negative base needs an integer exponent."""
    return math.pow(x, y)


def _pow_dx_s(x: float, y: float) -> float:
    if y == 0.0:
        return 0.0
    if y == 1.0:
        return 1.0
    return y * math.pow(x, y - 1.0)


def _pow_dy_s(x: float, y: float, out: float) -> float:
    return out * math.log(x) if x > 0 else 0.0


#: The scalar namespace: Python floats through ``math``.
SCALAR = SimpleNamespace(
    sin=math.sin, cos=math.cos, tan=math.tan,
    asin=math.asin, acos=math.acos, atan=math.atan,
    sinh=math.sinh, cosh=math.cosh, tanh=math.tanh,
    exp=math.exp, log=math.log, log2=math.log2, log10=math.log10, sqrt=math.sqrt,
    fabs=math.fabs, sign=_sign_s, step=_step_s, less=_less_s,
    sigmoid=_sigmoid_s, softplus=_softplus_s,
    pow=_pow_s, pow_dx=_pow_dx_s, pow_dy=_pow_dy_s,
    minimum=min, maximum=max, where=_where_s, isfinite=math.isfinite,
)  # fmt: skip

_ARRAY: SimpleNamespace | None = None


def array_namespace() -> SimpleNamespace:
    """The numpy namespace with the same attribute names as :data:`SCALAR` (imported lazily)."""
    global _ARRAY
    if _ARRAY is None:
        import numpy as np

        def sigmoid(x):
            z = np.exp(-np.abs(x))
            return np.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))

        def softplus(x):
            return np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0.0)

        def step(x):
            return np.where(x > 0, 1.0, np.where(x < 0, 0.0, 0.5))

        def less(a, b):
            return np.where(a < b, 1.0, np.where(a == b, 0.5, 0.0))

        def pow_(x, y):
            return np.power(np.asarray(x, dtype=float), y)

        def pow_dx(x, y):
            x = np.asarray(x, dtype=float)
            safe = np.where(y == 0.0, 1.0, x)
            return np.where(y == 0.0, 0.0, np.where(y == 1.0, 1.0, y * np.power(safe, y - 1.0)))

        def pow_dy(x, y, out):
            x = np.asarray(x, dtype=float)
            return np.where(x > 0, out * np.log(np.where(x > 0, x, 1.0)), 0.0)

        _ARRAY = SimpleNamespace(
            sin=np.sin, cos=np.cos, tan=np.tan,
            asin=np.arcsin, acos=np.arccos, atan=np.arctan,
            sinh=np.sinh, cosh=np.cosh, tanh=np.tanh,
            exp=np.exp, log=np.log, log2=np.log2, log10=np.log10, sqrt=np.sqrt,
            fabs=np.abs, sign=np.sign, step=step, less=less,
            sigmoid=sigmoid, softplus=softplus,
            pow=pow_, pow_dx=pow_dx, pow_dy=pow_dy,
            minimum=np.minimum, maximum=np.maximum, where=np.where, isfinite=np.isfinite,
        )  # fmt: skip
    return _ARRAY


def _not_integer(y):
    """True where y is not integer-valued (floats or arrays)."""
    if isinstance(y, float | int):
        return not float(y).is_integer()
    import numpy as np

    return np.not_equal(np.mod(y, 1.0), 0.0)


def slope(predicate: Callable) -> Callable:
    """Mark a domain predicate that is about the derivative only (an infinite slope).

    The value is defined there (sqrt(0) = 0), so a constant subexpression — whose
    derivative is never needed — is not refused for it; a node that depends on a variable is.
    """
    predicate.slope_only = True  # type: ignore[attr-defined]  # a mark on the function object
    return predicate


@dataclass(frozen=True, slots=True)
class Primitive:
    op: str
    arity: int
    symbol: str  # how the table shows it: "+", "sin", ...
    value: Callable
    partials: Callable
    code: str
    dcode: tuple[str, ...]
    domain: tuple[tuple[Callable, str], ...] = field(default=())
    infix: bool = False


def _row(op, arity, symbol, value, partials, code, dcode, domain=(), infix=False):
    return Primitive(op, arity, symbol, value, partials, code, tuple(dcode), tuple(domain), infix)


# Domain predicates are written with comparisons only, so they work on floats and arrays alike.
# Messages are formatted with the input expressions as {0}, {1}.
TABLE: dict[str, Primitive] = {p.op: p for p in (
    # op       arity symbol  value rule                         local partials ∂out/∂xᵢ                    code template           partial templates
    _row("add", 2, "+",  lambda M, a, b: a + b,               lambda M, o, a, b: (1.0, 1.0),              "{0} + {1}",            ("1", "1"), infix=True),
    _row("sub", 2, "-",  lambda M, a, b: a - b,               lambda M, o, a, b: (1.0, -1.0),             "{0} - {1}",            ("1", "-1"), infix=True),
    _row("mul", 2, "*",  lambda M, a, b: a * b,               lambda M, o, a, b: (b, a),                  "{0} * {1}",            ("{1}", "{0}"), infix=True),
    _row("div", 2, "/",  lambda M, a, b: a / b,               lambda M, o, a, b: (1.0 / b, -o / b),       "{0} / {1}",            ("1.0 / {1}", "-{out} / {1}"),
         [(lambda a, b: b == 0, "division by zero: the denominator {1}")], infix=True),
    # x^y with an exponent that depends on a variable: needs x > 0 (or x = 0 with y > 0 held fixed)
    _row("pow", 2, "^",  lambda M, a, b: M.pow(a, b),         lambda M, o, a, b: (M.pow_dx(a, b), M.pow_dy(a, b, o)),
         "_pow({0}, {1})", ("_pow_dx({0}, {1})", "_pow_dy({0}, {1}, {out})"),
         [(lambda a, b: a < 0, "a power with a varying exponent needs a positive base: {0}"),
          (lambda a, b: a == 0, "a power with a varying exponent is not differentiable at base 0: {0}")], infix=True),
    # x^c with a constant exponent c
    _row("powc", 2, "^", lambda M, a, b: M.pow(a, b),         lambda M, o, a, b: (M.pow_dx(a, b), M.pow_dy(a, b, o)),
         "_pow({0}, {1})", ("_pow_dx({0}, {1})", "_pow_dy({0}, {1}, {out})"),
         [(lambda a, b: (a < 0) & _not_integer(b), "a negative base to a non-integer power is not a real number: {0}, exponent {1}"),
          (lambda a, b: (a == 0) & (b < 0), "0 to a negative power divides by zero: {0}, exponent {1}"),
          (slope(lambda a, b: (a == 0) & (b > 0) & (b < 1)), "a power below 1 is not differentiable at base 0 (infinite slope): {0}, exponent {1}")], infix=True),
    _row("neg", 1, "-",  lambda M, a: -a,                     lambda M, o, a: (-1.0,),                    "-{0}",                 ("-1",)),
    _row("id", 1, "=",   lambda M, a: a,                      lambda M, o, a: (1.0,),                     "{0}",                  ("1",)),
    _row("sin", 1, "sin", lambda M, a: M.sin(a),              lambda M, o, a: (M.cos(a),),                "_sin({0})",            ("_cos({0})",)),
    _row("cos", 1, "cos", lambda M, a: M.cos(a),              lambda M, o, a: (-M.sin(a),),               "_cos({0})",            ("-_sin({0})",)),
    _row("tan", 1, "tan", lambda M, a: M.tan(a),              lambda M, o, a: (1.0 + o * o,),             "_tan({0})",            ("1.0 + {out} * {out}",)),
    _row("asin", 1, "asin", lambda M, a: M.asin(a),           lambda M, o, a: (1.0 / M.sqrt(1.0 - a * a),), "_asin({0})",         ("1.0 / _sqrt(1.0 - {0} * {0})",),
         [(lambda a: (a < -1) | (a > 1), "asin needs an argument in [-1, 1]: {0}"),
          (slope(lambda a: (a == -1) | (a == 1)), "asin is not differentiable at ±1 (infinite slope): {0}")]),
    _row("acos", 1, "acos", lambda M, a: M.acos(a),           lambda M, o, a: (-1.0 / M.sqrt(1.0 - a * a),), "_acos({0})",        ("-1.0 / _sqrt(1.0 - {0} * {0})",),
         [(lambda a: (a < -1) | (a > 1), "acos needs an argument in [-1, 1]: {0}"),
          (slope(lambda a: (a == -1) | (a == 1)), "acos is not differentiable at ±1 (infinite slope): {0}")]),
    _row("atan", 1, "atan", lambda M, a: M.atan(a),           lambda M, o, a: (1.0 / (1.0 + a * a),),     "_atan({0})",           ("1.0 / (1.0 + {0} * {0})",)),
    _row("sinh", 1, "sinh", lambda M, a: M.sinh(a),           lambda M, o, a: (M.cosh(a),),               "_sinh({0})",           ("_cosh({0})",)),
    _row("cosh", 1, "cosh", lambda M, a: M.cosh(a),           lambda M, o, a: (M.sinh(a),),               "_cosh({0})",           ("_sinh({0})",)),
    _row("tanh", 1, "tanh", lambda M, a: M.tanh(a),           lambda M, o, a: (1.0 - o * o,),             "_tanh({0})",           ("1.0 - {out} * {out}",)),
    _row("exp", 1, "exp", lambda M, a: M.exp(a),              lambda M, o, a: (o,),                       "_exp({0})",            ("{out}",)),
    _row("ln", 1, "ln",   lambda M, a: M.log(a),              lambda M, o, a: (1.0 / a,),                 "_log({0})",            ("1.0 / {0}",),
         [(lambda a: a <= 0, "ln needs a positive argument: {0}")]),
    # log(x) is the natural logarithm too; its own row so messages name what the user wrote
    _row("log", 1, "log", lambda M, a: M.log(a),              lambda M, o, a: (1.0 / a,),                 "_log({0})",            ("1.0 / {0}",),
         [(lambda a: a <= 0, "log needs a positive argument: {0}")]),
    _row("log2", 1, "log2", lambda M, a: M.log2(a),           lambda M, o, a: (1.0 / (a * LN2),),         "_log2({0})",           ("1.0 / ({0} * _LN2)",),
         [(lambda a: a <= 0, "log2 needs a positive argument: {0}")]),
    _row("log10", 1, "log10", lambda M, a: M.log10(a),        lambda M, o, a: (1.0 / (a * LN10),),        "_log10({0})",          ("1.0 / ({0} * _LN10)",),
         [(lambda a: a <= 0, "log10 needs a positive argument: {0}")]),
    _row("logb", 2, "log", lambda M, a, b: M.log(a) / M.log(b),
         lambda M, o, a, b: (1.0 / (a * M.log(b)), -o / (b * M.log(b))),
         "_log({0}) / _log({1})", ("1.0 / ({0} * _log({1}))", "-{out} / ({1} * _log({1}))"),
         [(lambda a, b: a <= 0, "log needs a positive argument: {0}"),
          (lambda a, b: b <= 0, "the base of log must be positive: {1}"),
          (lambda a, b: b == 1, "the base of log cannot be 1: {1}")]),
    _row("sqrt", 1, "sqrt", lambda M, a: M.sqrt(a),           lambda M, o, a: (0.5 / o,),                 "_sqrt({0})",           ("0.5 / {out}",),
         [(lambda a: a < 0, "sqrt needs a non-negative argument: {0}"),
          (slope(lambda a: a == 0), "sqrt is not differentiable at 0 (infinite slope): {0}")]),
    _row("abs", 1, "abs", lambda M, a: M.fabs(a),             lambda M, o, a: (M.sign(a),),               "_fabs({0})",           ("_sign({0})",)),
    _row("sigmoid", 1, "sigmoid", lambda M, a: M.sigmoid(a),  lambda M, o, a: (o * (1.0 - o),),           "_sigmoid({0})",        ("{out} * (1.0 - {out})",)),
    _row("relu", 1, "relu", lambda M, a: M.maximum(a, 0.0),   lambda M, o, a: (M.step(a),),               "_maximum({0}, 0.0)",   ("_step({0})",)),
    _row("softplus", 1, "softplus", lambda M, a: M.softplus(a), lambda M, o, a: (M.sigmoid(a),),          "_softplus({0})",       ("_sigmoid({0})",)),
    _row("min", 2, "min", lambda M, a, b: M.minimum(a, b),    lambda M, o, a, b: (M.less(a, b), M.less(b, a)),
         "_minimum({0}, {1})", ("_less({0}, {1})", "_less({1}, {0})")),
    _row("max", 2, "max", lambda M, a, b: M.maximum(a, b),    lambda M, o, a, b: (M.less(b, a), M.less(a, b)),
         "_maximum({0}, {1})", ("_less({1}, {0})", "_less({0}, {1})")),
)}  # fmt: skip

#: function name in the language -> op in the graph (``pow`` and ``log`` are resolved by arity)
FUNCTION_OPS: dict[str, str] = {
    **{name: name for name in (
        "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh",
        "exp", "ln", "log2", "log10", "sqrt", "abs", "sigmoid", "relu", "softplus", "min", "max",
    )},
    "log": "log",
}  # fmt: skip

BINARY_OPS: dict[str, str] = {"+": "add", "-": "sub", "*": "mul", "/": "div", "^": "pow"}


def namespace_for(values) -> SimpleNamespace:
    """SCALAR when every value is a plain number, else the numpy namespace."""
    for v in values:
        if not isinstance(v, float | int):
            return array_namespace()
    return SCALAR
