"""The oracle suite's programs (tests/oracles/test_oracle_suite.py), shared with the
emitter's reference corpus (tests/accel/test_emitter_reference.py).

SUITE: (id, program text, point) covering every operator and function; HAND: programs with
hand-computed values and gradients (domain.md and the precedence rules).
"""

from __future__ import annotations

import math

# (id, program text, point). Points lie inside each function's domain, away from kinks.
SUITE = [
    ("lesson-inline", "(w*2+b)*(b+1)", {"w": 3.0, "b": 4.0}),
    ("lesson-named-fanout", "x = 2*w + b; y = b + 1; z = x*y", {"w": 3.0, "b": 4.0}),
    ("add-sub-div", "x - y/z + 1", {"x": 1.5, "y": 2.0, "z": -0.7}),
    ("unary-minus-binds-looser-than-pow", "-x^2 + 3", {"x": 1.3}),
    ("unary-plus-and-double-minus", "+x - -y", {"x": 0.4, "y": -2.0}),
    ("pow-caret-constant", "x^3 - x^-2", {"x": 1.2}),
    ("pow-star-star", "x**2.5 * y**2", {"x": 1.4, "y": -0.6}),
    ("pow-right-assoc", "2^3^2 * x", {"x": 0.25}),
    ("pow-varying-exponent", "x^y", {"x": 1.7, "y": 2.3}),
    ("pow-constant-base", "2^x + e^x", {"x": 0.7}),
    ("pow-function-constant", "pow(x, 2.5)", {"x": 1.4}),
    ("pow-function-varying", "pow(x, y)", {"x": 0.8, "y": -1.3}),
    ("implicit-mult", "2w + 3b", {"w": 0.5, "b": -1.5}),
    ("implicit-mult-paren", "2(b+1)*w", {"w": 3.0, "b": 4.0}),
    ("sin-cos", "sin(x)*cos(y)", {"x": 0.9, "y": -0.3}),
    ("tan", "tan(x)", {"x": 0.4}),
    ("asin", "asin(x)", {"x": 0.3}),
    ("acos", "acos(x)", {"x": -0.6}),
    ("atan", "atan(x*y)", {"x": 2.5, "y": 0.7}),
    ("sinh-cosh", "sinh(x) / cosh(y)", {"x": 0.8, "y": 1.1}),
    ("tanh", "tanh(2x)", {"x": 0.35}),
    ("exp", "exp(-x^2/2)/sqrt(2*pi)", {"x": 0.6}),
    ("ln", "ln(x^2 + y)", {"x": 1.3, "y": 0.2}),
    ("log-natural", "log(x)", {"x": 2.7}),
    ("log-base-varying", "log(x, b)", {"x": 8.0, "b": 2.0}),
    ("log-base-constant", "log(x, 3)", {"x": 5.0}),
    ("log2", "log2(x)", {"x": 3.0}),
    ("log10", "log10(x*y)", {"x": 3.0, "y": 7.0}),
    ("sqrt", "sqrt(x)", {"x": 2.25}),
    ("sqrt-ln-W2", "sqrt(ln(x^2))", {"x": 2.0}),
    ("abs-negative", "abs(x)", {"x": -1.3}),
    ("abs-positive", "abs(x*y)", {"x": 1.3, "y": 2.0}),
    ("sigmoid", "sigmoid(x)", {"x": 0.7}),
    ("relu-positive", "relu(x)", {"x": 0.8}),
    ("relu-negative", "relu(x) + x", {"x": -0.8}),
    ("softplus", "softplus(x)", {"x": -0.4}),
    ("min", "min(x, y)", {"x": 1.0, "y": 2.0}),
    ("max", "max(x, y^2)", {"x": 1.0, "y": 1.5}),
    ("constants", "pi*x + e", {"x": 1.1}),
    ("alias", "x = w; y = x*x", {"w": 3.0}),
    (
        "program-fanout",
        "a = x*y; b = a + sin(a); c = a*b + b/a",
        {"x": 0.7, "y": 1.9},
    ),
    (
        "program-newlines",
        "h = tanh(w*x + b)\nloss = (h - 0.5)^2\nreg = 0.01*w^2\ntotal = loss + reg",
        {"w": 0.3, "x": 1.5, "b": -0.2},
    ),
    ("nested", "tanh(sigmoid(x)*softplus(y))", {"x": 0.3, "y": -1.2}),
    ("varying-exponent-expr", "(x^2+1)^(y/3)", {"x": 0.9, "y": 2.4}),
]


HAND = [
    # hand-computed values and gradients (domain.md and the precedence rules)
    ("(w*2+b)*(b+1)", {"w": 3.0, "b": 4.0}, 50.0, {"w": 10.0, "b": 15.0}),
    ("x = 2*w + b; y = b + 1; z = x*y", {"w": 3.0, "b": 4.0}, 50.0, {"w": 10.0, "b": 15.0}),
    ("-x^2", {"x": 3.0}, -9.0, {"x": -6.0}),
    ("2^3^2*x", {"x": 1.0}, 512.0, {"x": 512.0}),
    ("x^-1", {"x": 2.0}, 0.5, {"x": -0.25}),
    ("(x - 1)^2 + 0.001", {"x": 0.1}, 0.811, {"x": -1.8}),
    ("(x - 1)^2 + 0.001", {"x": 1.5}, 0.251, {"x": 1.0}),
    ("x^x", {"x": 1.0}, 1.0, {"x": 1.0}),
    ("log(x, 2)", {"x": 8.0}, 3.0, {"x": 1 / (8 * math.log(2))}),
]
