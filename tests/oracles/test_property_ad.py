"""Property tests: random programs inside every function's domain must differentiate alike.

A grammar builds program TEXT (so the parser is in the loop) out of statements
``t0 = …; t1 = …`` whose expressions use the variables x, y, z and earlier names
(fan-out). Each function is fed an argument that keeps it in its domain:
ln/log/log2/log10/sqrt get ``(a)^2 + 0.5``, the base of log ``(a)^2 + 2``, asin/acos get
``tanh(a)*0.9``, division is by ``(a)^2 + 1``, tan gets ``tanh(a)``, exp/sinh/cosh get
``tanh(a)*3`` and a varying exponent gets a positive base ``(a)^2 + 0.5``.

Properties: reverse == forward (tight), compiled == interpreted (values and gradients,
scalars and numpy arrays), reverse == central differences (looser; skipped within 1e-3
of a kink) — and arbitrary programs fail only with a BackpropError.
Profiles: see tests/conftest.py (HYPOTHESIS_PROFILE=thorough for many more examples).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, note
from hypothesis import strategies as st

import backprop_cli
from backprop_cli.errors import BackpropError, DomainError
from backprop_cli.core.graph import forward
from tests.helpers.oracles import close

VARS = ("x", "y", "z")

UNARY_SAFE = ("sin", "cos", "atan", "tanh", "sigmoid", "softplus", "abs", "relu")


def _wrap(kind: str, a: str, b: str) -> str:
    """One grammar production with arguments a, b (already expressions)."""
    return {
        "add": f"{a} + {b}",
        "sub": f"{a} - {b}",
        "mul": f"({a}) * ({b})",
        "implicit": f"2({a})",
        "neg": f"-({a})",
        "div": f"({a}) / (({b})^2 + 1)",
        "powc2": f"({a})^2",
        "powc3": f"({a})**3",
        "powcneg": f"(({a})^2 + 0.5)^-1.5",
        "powfrac": f"pow(({a})^2 + 1, 0.5)",
        "powvar": f"(({a})^2 + 0.5)^(tanh({b}))",
        "ln": f"ln(({a})^2 + 0.5)",
        "log": f"log(({a})^2 + 0.5)",
        "logb": f"log(({a})^2 + 0.5, ({b})^2 + 2)",
        "log2": f"log2(({a})^2 + 0.5)",
        "log10": f"log10(({a})^2 + 0.5)",
        "sqrt": f"sqrt(({a})^2 + 0.5)",
        "asin": f"asin(tanh({a})*0.9)",
        "acos": f"acos(tanh({a})*0.9)",
        "tan": f"tan(tanh({a}))",
        "exp": f"exp(tanh({a})*3)",
        "sinh": f"sinh(tanh({a})*3)",
        "cosh": f"cosh(tanh({a})*3)",
        "min": f"min({a}, {b})",
        "max": f"max({a}, {b})",
        **{f: f"{f}({a})" for f in UNARY_SAFE},
    }[kind]


KINDS = (
    "add sub mul implicit neg div powc2 powc3 powcneg powfrac powvar ln log logb log2 log10 "
    "sqrt asin acos tan exp sinh cosh min max".split()
    + list(UNARY_SAFE)
)
NUMBERS = ("2", "0.5", "3", "1.5", "pi", "e")


@st.composite
def expression(draw, names: tuple[str, ...], budget: int = 4) -> str:
    """An expression over ``names`` with at most ``budget`` productions."""
    if budget <= 0 or draw(st.integers(0, 3)) == 0:
        if draw(st.integers(0, 4)) == 0:
            return draw(st.sampled_from(NUMBERS))
        return draw(st.sampled_from(names))
    kind = draw(st.sampled_from(KINDS))
    a = draw(expression(names, budget - 1))
    b = draw(expression(names, budget - 2))
    return _wrap(kind, a, b)


@st.composite
def programs(draw) -> str:
    n = draw(st.integers(1, 4))
    names = VARS
    stmts = []
    for k in range(n):
        stmts.append(f"t{k} = {draw(expression(names))}")
        names = (*names, f"t{k}")
    sep = draw(st.sampled_from(["; ", "\n"]))
    return sep.join(stmts)


points = st.fixed_dictionaries({v: st.floats(-2.0, 2.0, allow_nan=False) for v in VARS})


def _grad(program, at) -> tuple[float, dict]:
    t = program.trace(at)
    return t.value, {v: t.adjoints[i] for v, i in zip(program.variables, program.graph.var_ids)}


def _point(program, at):
    return {v: at[v] for v in program.variables}


@given(programs(), points)
def test_reverse_equals_forward(text, at):
    note(text)
    p = backprop_cli.compile(text)
    at = _point(p, at)
    try:
        _, rev = _grad(p, at)
    except DomainError:
        assume(False)
    fwd = p.forward_gradient(at)
    for v in p.variables:
        scale = max(1.0, abs(rev[v]))
        assert abs(rev[v] - fwd[v]) <= 1e-9 * scale, (v, rev[v], fwd[v])


@given(programs(), points)
def test_compiled_equals_interpreted_scalars(text, at):
    note(text)
    p = backprop_cli.compile(text)
    at = _point(p, at)
    try:
        value, rev = _grad(p, at)
    except DomainError:
        with pytest.raises(DomainError):
            p.function()(*at.values())
        return
    cv, cg = p.function()(*at.values())
    assert close(cv, value, 1e-12, 1e-12), (cv, value)
    for v, g in zip(p.variables, cg):
        assert close(g, rev[v], 1e-9, 1e-9 * max(1.0, abs(rev[v]))), (v, g, rev[v])
    # the dict API sits on the same code
    assert p.value_and_grad(at) == (cv, dict(zip(p.variables, cg)))


@given(programs(), st.lists(points, min_size=3, max_size=3))
def test_compiled_equals_interpreted_arrays(text, pts):
    note(text)
    p = backprop_cli.compile(text)
    arrays = {v: np.array([pt[v] for pt in pts]) for v in p.variables}
    try:
        t = p.trace(arrays)
    except DomainError:
        with pytest.raises(DomainError):
            p.function()(*arrays.values())
        return
    value, grads = p.function()(*arrays.values())
    shape = (3,)
    np.testing.assert_allclose(
        np.broadcast_to(value, shape), np.broadcast_to(t.value, shape), rtol=1e-12, atol=1e-12
    )
    for v, g in zip(p.variables, grads):
        ref = np.broadcast_to(t.adjoints[p.graph.names[v]], shape)
        np.testing.assert_allclose(
            np.broadcast_to(g, shape),
            ref,
            rtol=1e-9,
            atol=1e-9 * max(1.0, float(np.max(np.abs(ref)))),
        )
    # each element equals the scalar evaluation at that point
    f = p.function()
    for k in range(3):
        try:
            sv, sg = f(*[float(a[k]) for a in arrays.values()])
        except DomainError:  # pragma: no cover - arrays passed, so every point is in the domain
            pytest.fail("scalar point failed where the array passed")
        # math (scalar) and numpy (array) may differ in the last ulp of pow/exp; an
        # ill-conditioned composition such as sin(exp(3.3)**3) magnifies that to ~1e-11
        assert close(sv, float(np.broadcast_to(value, shape)[k]), 1e-9, 1e-9)


def _kink_gap(p, at) -> float:
    """Distance of the nearest abs/relu/min/max argument from its kink."""
    vals, _ = forward(p.graph, at, output=p.output)
    gap = math.inf
    for n in p.nodes:
        if vals[n.id] is None or n.op not in ("abs", "relu", "min", "max"):
            continue
        a = [vals[i] for i in n.inputs]
        gap = min(gap, abs(a[0]) if n.op in ("abs", "relu") else abs(a[0] - a[1]))
    return gap


@given(programs(), points)
def test_reverse_equals_central_differences(text, at):
    """Central differences with h = 1e-6·max(1,|v|): agreement to 1e-4 relative (or 1e-6·scale)."""
    note(text)
    p = backprop_cli.compile(text)
    at = _point(p, at)
    try:
        value, rev = _grad(p, at)
    except DomainError:
        assume(False)
    assume(_kink_gap(p, at) > 1e-3)
    for v in p.variables:
        h = 1e-6 * max(1.0, abs(at[v]))

        def central(step: float) -> float:
            up = forward(p.graph, dict(at, **{v: at[v] + step}), output=p.output)[0][p.output]
            down = forward(p.graph, dict(at, **{v: at[v] - step}), output=p.output)[0][p.output]
            return (up - down) / (2 * step)

        try:
            fd, fd2 = central(h), central(h / 2)
        except DomainError:
            continue
        # Richardson: the h² truncation error cancels; |fd − fd2| measures what is left of
        # it (a steep, fast-turning function such as sin(t³) with t ~ 64^tanh(2+x) has a
        # large third derivative). A wrong rule moves both differences away from rev[v]
        # alike, so it still fails.
        extrapolated = (4 * fd2 - fd) / 3
        # rounding error of the difference: ~ eps·|f|/h
        atol = 1e-6 * max(1.0, abs(value)) + 1e-6 * max(1.0, abs(rev[v]))
        tol = max(atol, 1e-4 * abs(rev[v]), 0.1 * abs(fd - fd2))
        assert abs(extrapolated - rev[v]) <= tol, (v, rev[v], fd, fd2)


# ----------------------------------------------------------- anything goes: never crash
RAW_FUNCS = (
    "sin cos tan asin acos atan sinh cosh tanh exp ln log log2 log10 sqrt abs sigmoid "
    "relu softplus".split()
)


@st.composite
def raw_expression(draw, budget: int = 4) -> str:
    if budget <= 0 or draw(st.integers(0, 3)) == 0:
        return draw(
            st.sampled_from(("x", "y", "0", "1", "-1", "2", "0.5", "1e308", "1e-308", "pi"))
        )
    a = draw(raw_expression(budget - 1))
    b = draw(raw_expression(budget - 2))
    k = draw(st.integers(0, 5))
    if k == 0:
        return f"({a}) {draw(st.sampled_from(['+', '-', '*', '/', '^', '**']))} ({b})"
    if k == 1:
        return f"{draw(st.sampled_from(['pow', 'log', 'min', 'max']))}({a}, {b})"
    if k == 2:
        return f"-({a})"
    return f"{draw(st.sampled_from(RAW_FUNCS))}({a})"


raw_values = st.one_of(
    st.sampled_from([0.0, -0.0, 1.0, -1.0, 2.0, 1e308, -1e308, 1e-308, 5e-324, 710.0]),
    st.floats(-1e6, 1e6, allow_nan=False),
)


def _outcome(run):
    try:
        return ("ok", run())
    except BackpropError as err:
        return ("error", type(err).__name__)


@given(raw_expression(), st.fixed_dictionaries({"x": raw_values, "y": raw_values}))
def test_anything_fails_only_with_backprop_errors(text, at):
    note(text)
    p = backprop_cli.compile(text)
    at = {v: at[v] for v in p.variables}
    traced = _outcome(lambda: _grad(p, at))
    compiled = _outcome(lambda: p.value_and_grad(at))
    forward_mode = _outcome(lambda: p.forward_gradient(at))
    arrays = _outcome(lambda: p.function()(*[np.array([v, 0.5]) for v in at.values()]))
    hess = _outcome(lambda: p.hessian(at))
    for o in (traced, compiled, forward_mode, arrays, hess):
        assert o[0] in ("ok", "error")
        if o[0] == "error":
            assert o[1] == "DomainError"
    # the compiled code and the interpreter reach the same verdict, always
    assert traced[0] == compiled[0], (traced, compiled)
    # forward mode computes other intermediates (tangents, not adjoints): at subnormal or
    # near-overflow inputs or constants one may overflow where the other does not (x/x at
    # 5e-324, whose local partial 1/x is inf; x*pow(1e308, x)*1e308 at 0, whose tangent
    # ln(1e308)·1e308 is inf). Elsewhere the verdicts must match.
    moderate = "1e308" not in text and "1e-308" not in text
    if moderate and all(v == 0 or 1e-100 < abs(v) < 1e100 for v in at.values()):
        assert traced[0] == forward_mode[0], (traced, forward_mode)
