"""The oracle suite: every operator and function, four ways.

Reverse mode (Program.trace adjoints AND the compiled Program.value_and_grad), forward
mode (Program.forward_gradient, dual numbers), central finite differences and SymPy
(built from our graph, see tests/oracles.py) must agree at a point inside each domain.
Tolerances are documented in tests/oracles.py. A "test the tester" section proves that a
0.05 % error in one reverse rule is caught by the oracle helper and by `backprop check`.
"""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
from typer.testing import CliRunner

import backprop_cli
from backprop_cli.core import primitives
from backprop_cli.cli import app
from backprop_cli.engines.check import check
from tests.oracles import FD_RTOL, assert_four_ways, central_difference, close

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

OPERATORS = {"+", "-", "*", "/", "^", "**"}
FUNCTIONS = {
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
    "ln",
    "log",
    "log2",
    "log10",
    "sqrt",
    "abs",
    "sigmoid",
    "relu",
    "softplus",
    "pow",
    "min",
    "max",
}


def test_suite_covers_every_operator_and_function():
    import re

    texts = " ".join(text for _, text, _ in SUITE)
    called = set(re.findall(r"([a-z0-9]+)\(", texts))
    assert FUNCTIONS <= called, FUNCTIONS - called
    assert all(op in texts for op in OPERATORS)
    assert "log(x, " in texts  # two-argument log
    assert len(SUITE) >= 30
    ops = {n.op for _, text, _ in SUITE for n in backprop_cli.compile(text).nodes}
    assert ops >= set(primitives.TABLE) | {"var", "const"}, set(primitives.TABLE) - ops


@pytest.mark.parametrize("text, at", [pytest.param(t, a, id=i) for i, t, a in SUITE])
def test_four_ways(text, at):
    assert_four_ways(text, at)


@pytest.mark.parametrize("text, at", [pytest.param(t, a, id=i) for i, t, a in SUITE])
def test_compiled_equals_interpreted_on_arrays(text, at):
    """Issue 6: the compiled path equals the interpreted path — numpy arrays of points too."""
    program = backprop_cli.compile(text)
    rng = np.random.default_rng(20240601)
    # five points: the suite point and four small perturbations of it (same domain)
    arrays = {k: v + np.concatenate([[0.0], rng.uniform(-0.01, 0.01, 4)]) for k, v in at.items()}
    t = program.trace(arrays)
    value, grads = program.function()(*[arrays[k] for k in program.variables])
    np.testing.assert_allclose(value, t.value, rtol=1e-12, atol=0)
    for k, g in zip(program.variables, grads):
        ref = np.broadcast_to(t.adjoints[program.graph.names[k]], (5,))
        np.testing.assert_allclose(np.broadcast_to(g, (5,)), ref, rtol=1e-12, atol=1e-15)
    # and each array element equals the scalar compiled result
    f = program.function()
    for p in range(5):
        sv, sg = f(*[float(arrays[k][p]) for k in program.variables])
        assert close(sv, float(np.broadcast_to(value, (5,))[p]), 1e-13, 1e-300)
        for k, a, b in zip(program.variables, sg, grads):
            assert close(a, float(np.broadcast_to(b, (5,))[p]), 1e-12, 1e-15), k


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


@pytest.mark.parametrize("text, at, value, grad", [pytest.param(*h, id=h[0]) for h in HAND])
def test_hand_computed(text, at, value, grad):
    p = backprop_cli.compile(text)
    v, g = p.value_and_grad(at)
    assert v == pytest.approx(value, rel=1e-12)
    assert g == pytest.approx(grad, rel=1e-12)
    assert p.forward_gradient(at) == pytest.approx(grad, rel=1e-12)


CONVENTIONS = [
    # documented kink convention: the mean of the one-sided derivatives; 0^0 = 1
    ("abs'(0) = 0", "abs(x)", {"x": 0.0}, 0.0, {"x": 0.0}),
    ("relu'(0) = 0.5", "relu(x)", {"x": 0.0}, 0.0, {"x": 0.5}),
    ("min tie 0.5 each", "min(x, y)", {"x": 2.0, "y": 2.0}, 2.0, {"x": 0.5, "y": 0.5}),
    ("max tie 0.5 each", "max(x, y)", {"x": -1.0, "y": -1.0}, -1.0, {"x": 0.5, "y": 0.5}),
    ("max(x,x) = x", "max(x, x)", {"x": 3.0}, 3.0, {"x": 1.0}),
    ("0^0 = 1", "x^0", {"x": 0.0}, 1.0, {"x": 0.0}),
    ("x^1 at 0", "x^1", {"x": 0.0}, 0.0, {"x": 1.0}),
    ("x^1.5 at 0", "x^1.5", {"x": 0.0}, 0.0, {"x": 0.0}),
    ("x^2 negative base", "x^2", {"x": -3.0}, 9.0, {"x": -6.0}),
    ("x^3 negative base", "x^3", {"x": -2.0}, -8.0, {"x": 12.0}),
]


@pytest.mark.parametrize(
    "text, at, value, grad", [pytest.param(*c[1:], id=c[0]) for c in CONVENTIONS]
)
def test_conventions_same_in_every_path(text, at, value, grad):
    p = backprop_cli.compile(text)
    t = p.trace(at)
    assert t.value == value
    assert {v: t.adjoints[i] for v, i in zip(p.variables, p.graph.var_ids)} == grad
    assert p.value_and_grad(at) == (value, grad)
    assert p.forward_gradient(at) == grad
    arrays = {k: np.array([v, v]) for k, v in at.items()}
    av, ag = p.function()(*arrays.values())
    assert np.all(av == value)
    for k, g in zip(p.variables, ag):
        assert np.all(np.asarray(g) == grad[k])


INFINITE_SLOPES = [
    ("sqrt at 0", "sqrt(x)", {"x": 0.0}),
    ("asin at 1", "asin(x)", {"x": 1.0}),
    ("acos at -1", "acos(x)", {"x": -1.0}),
    ("x^0.5 at 0", "x^0.5", {"x": 0.0}),
    ("ln at 0", "ln(x)", {"x": 0.0}),
    ("division by zero", "1/x", {"x": 0.0}),
    ("0^negative", "x^-1", {"x": 0.0}),
    ("negative^fraction", "x^0.5", {"x": -4.0}),
    ("varying exponent at base 0", "x^y", {"x": 0.0, "y": 2.0}),
    ("log base 1", "log(x, b)", {"x": 2.0, "b": 1.0}),
    ("exp overflow", "exp(x)", {"x": 1000.0}),
    ("partial overflows", "1/x", {"x": 1e-200}),
    ("adjoint overflows", "1e300*sin(1e300*x)", {"x": 1e-300}),
]


@pytest.mark.parametrize("text, at", [pytest.param(c[1], c[2], id=c[0]) for c in INFINITE_SLOPES])
def test_domain_errors_in_every_path(text, at):
    from backprop_cli.errors import DomainError

    p = backprop_cli.compile(text)
    for name, run in (
        ("trace", lambda: p.trace(at)),
        ("value_and_grad", lambda: p.value_and_grad(at)),
        ("forward_gradient", lambda: p.forward_gradient(at)),
        ("arrays", lambda: p.function()(*[np.array([1.5, v]) for v in at.values()])),
    ):
        with pytest.raises(DomainError):
            run()
            pytest.fail(f"{name} did not raise")


def test_dead_and_later_statements_are_not_evaluated():
    """A statement the output does not use cannot fail it (interpreter == compiled)."""
    p = backprop_cli.compile("y = x + 1; z = ln(x)", output="y")
    assert p.trace({"x": -1.0}).value == 0.0
    assert p.value_and_grad({"x": -1.0}) == (0.0, {"x": 1.0})
    assert p.forward_gradient({"x": -1.0}) == {"x": 1.0}
    assert check(p, {"x": -1.0}).ok
    q = backprop_cli.compile("unused = sqrt(x); out = 2*x")
    assert q.trace({"x": -1.0}).value == -2.0
    assert q.value_and_grad({"x": -1.0}) == (-2.0, {"x": 2.0})


def test_forward_mode_tanh_far_out():
    """tanh' in forward mode must not overflow where tanh itself is fine (was 1/cosh²)."""
    p = backprop_cli.compile("tanh(x)")
    assert p.forward_gradient({"x": 1000.0}) == {"x": 0.0}
    assert p.hessian({"x": 1000.0}) == [[0.0]]


# ---------------------------------------------------------------- test the tester
def _wrong_sin(monkeypatch, factor=1.0005):
    """Make the reverse table's sin rule 0.05 % wrong (interpreter AND compiler templates)."""
    row = primitives.TABLE["sin"]
    bad = dataclasses.replace(
        row,
        partials=lambda M, o, a: (M.cos(a) * factor,),
        dcode=(f"_cos({{0}}) * {factor!r}",),
    )
    monkeypatch.setitem(primitives.TABLE, "sin", bad)


def test_oracle_helper_fails_on_a_wrong_rule(monkeypatch):
    assert_four_ways("sin(x)*y", {"x": 0.7, "y": 2.0})  # right before the patch
    _wrong_sin(monkeypatch)
    with pytest.raises(AssertionError, match="∂/∂x: reverse"):
        assert_four_ways("sin(x)*y", {"x": 0.7, "y": 2.0})


def test_forward_mode_does_not_read_the_reverse_table(monkeypatch):
    _wrong_sin(monkeypatch)
    p = backprop_cli.compile("sin(x)*y")
    at = {"x": 0.7, "y": 2.0}
    fwd = p.forward_gradient(at)["x"]
    assert fwd == pytest.approx(2.0 * math.cos(0.7), rel=1e-15)  # still right
    rev = p.value_and_grad(at)[1]["x"]
    assert rev == pytest.approx(2.0 * math.cos(0.7) * 1.0005, rel=1e-15)  # the patch took
    # the error is far below what a sloppy FD tolerance would notice, far above ours
    fd = central_difference(p, at, "x")
    assert abs(rev - fd) / abs(fd) > 100 * FD_RTOL


def test_check_engine_catches_a_wrong_rule(monkeypatch):
    _wrong_sin(monkeypatch)
    p = backprop_cli.compile("sin(x)*y")
    report = check(p, {"x": 0.7, "y": 2.0})
    assert not report.ok
    rows = {r.variable: r for r in report.rows}
    assert not rows["x"].ok and rows["y"].ok
    assert "derivative rule" in rows["x"].cause
    assert rows["x"].forward == pytest.approx(2.0 * math.cos(0.7), rel=1e-15)


def test_check_cli_catches_a_wrong_rule(monkeypatch):
    _wrong_sin(monkeypatch)
    runner = CliRunner()
    r = runner.invoke(app, ["check", "sin(x)*y", "--at", "x=0.7,y=2"])
    assert r.exit_code == 1, r.output
    assert "x:" in r.stderr and "derivative rule is wrong" in r.stderr
    assert "y:" not in r.stderr
    rj = runner.invoke(app, ["check", "sin(x)*y", "--at", "x=0.7,y=2", "--json"])
    assert rj.exit_code == 1
    doc = json.loads(rj.stdout, parse_constant=_no_constants)
    assert doc["status"] == "disagree"
    bad = [row for row in doc["rows"] if not row["ok"]]
    assert [row["variable"] for row in bad] == ["x"]


def test_check_passes_without_the_patch():
    r = CliRunner().invoke(app, ["check", "sin(x)*y", "--at", "x=0.7,y=2"])
    assert r.exit_code == 0, r.output


def _no_constants(token):
    raise ValueError(f"non-strict JSON token {token}")
