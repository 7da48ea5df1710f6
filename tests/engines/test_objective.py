"""The mean (or summed) objective over a data set (engines/objective.py): its gradient is
the average of the per-sample gradients (and SymPy's), by hand on a line, the same in
blocks, and a domain error names the data row.
"""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from backprop_cli import compile as compile_program
from backprop_cli.cli import app
from backprop_cli.data import bind, load
from backprop_cli.engines import objective as objective_module
from backprop_cli.engines.objective import Objective, reduced_hessian
from backprop_cli.errors import DomainError

ENV = {"COLUMNS": "120", "NO_COLOR": "1"}
LINE = "(w*x + b - y)^2"


def invoke(*args):
    return CliRunner().invoke(app, list(args), env=ENV)


def write(tmp_path, text: str, name: str = "d.csv") -> str:
    p = tmp_path / name
    p.write_text(text)
    return str(p)


# -- the objective ---------------------------------------------------------------------
SMALL = "x,t\n0.5,1\n-1,0.25\n2,3\n1.5,-0.5\n"


def test_mean_gradient_is_average_of_per_sample_gradients_and_matches_sympy(tmp_path):
    sp = pytest.importorskip("sympy")
    path = write(tmp_path, SMALL)
    text = "sigmoid(w*x + b)*c - t"
    program = compile_program(f"r = {text}; loss = r^2 + 0.1*w^2")
    d = load(path)
    binding = bind(program, d, {"t": "t"})
    assert binding.columns == {"x": "x", "t": "t"} and binding.parameters == ("w", "b", "c")
    obj = Objective(program, d, binding)
    at = {"w": 0.7, "b": -0.3, "c": 1.5}
    ev = obj.evaluate(at)
    ps = obj.per_sample(at)
    for p in ("w", "b", "c"):
        assert ev.gradient[p] == pytest.approx(float(np.mean(ps.gradients[p])), rel=1e-14)
    assert ev.value == pytest.approx(float(np.mean(ps.values)), rel=1e-14)
    # SymPy: the mean of the per-row expressions, differentiated symbolically
    w, b, c = sp.symbols("w b c")
    rows = [(0.5, 1), (-1, 0.25), (2, 3), (1.5, -0.5)]
    sig = lambda z: 1 / (1 + sp.exp(-z))  # noqa: E731
    L = sum((sig(w * x + b) * c - t) ** 2 + sp.Rational(1, 10) * w**2 for x, t in rows) / len(rows)
    subs = {w: sp.Rational(7, 10), b: sp.Rational(-3, 10), c: sp.Rational(3, 2)}
    assert ev.value == pytest.approx(float(L.subs(subs).evalf(30)), rel=1e-12)
    for sym, name in ((w, "w"), (b, "b"), (c, "c")):
        assert ev.gradient[name] == pytest.approx(
            float(sp.diff(L, sym).subs(subs).evalf(30)), rel=1e-12
        )
    # reduce=sum is n times the mean; the Hessian is exact too
    tot = Objective(program, d, binding, "sum").evaluate(at)
    assert tot.value == pytest.approx(4 * ev.value, rel=1e-14)
    H = reduced_hessian(obj, at)
    assert H[0][1] == pytest.approx(float(sp.diff(L, w, b).subs(subs).evalf(30)), rel=1e-10)


def test_linear_gradient_by_hand(tmp_path):
    # rows (x, y): (0, 3), (1, 5), (2, 7.1), (-1, 0.9); at w = b = 1 residuals r = w·x + b − y
    path = write(tmp_path, "x,y\n0,3\n1,5\n2,7.1\n-1,0.9\n")
    program = compile_program(LINE)
    d = load(path)
    ev = Objective(program, d, bind(program, d)).evaluate({"w": 1.0, "b": 1.0})
    r = np.array([-2.0, -3.0, -4.1, -0.9])
    x = np.array([0.0, 1.0, 2.0, -1.0])
    assert ev.value == pytest.approx(np.mean(r**2), rel=1e-14)  # 7.655
    assert ev.gradient["w"] == pytest.approx(np.mean(2 * r * x), rel=1e-14)  # -5.15
    assert ev.gradient["b"] == pytest.approx(np.mean(2 * r), rel=1e-14)  # -5.0
    assert ev.value == pytest.approx(7.655) and ev.gradient["w"] == pytest.approx(-5.15)


def test_blocks_give_the_same_answer(monkeypatch, points):
    program = compile_program(LINE)
    d = load(points)
    obj = Objective(program, d, bind(program, d))
    at = {"w": 0.3, "b": -0.2}
    whole = obj.evaluate(at)
    monkeypatch.setattr(objective_module, "BLOCK", 7)
    blocked = obj.evaluate(at)
    assert blocked.value == pytest.approx(whole.value, rel=1e-13)
    for p in at:
        assert blocked.gradient[p] == pytest.approx(whole.gradient[p], rel=1e-13)


def test_domain_error_names_the_data_row(monkeypatch, tmp_path):
    path = write(tmp_path, "x\n1\n2\n3\n-4\n5\n")
    program = compile_program("ln(w*x)")
    d = load(path)
    obj = Objective(program, d, bind(program, d))
    monkeypatch.setattr(objective_module, "BLOCK", 2)
    with pytest.raises(DomainError) as exc:
        obj.evaluate({"w": 1.0})
    assert "(data row 4)" in exc.value.message
    with pytest.raises(DomainError) as exc:
        obj.evaluate({"w": 1.0}, np.array([4, 3, 0]))
    assert "(data row 4)" in exc.value.message
    r = invoke("grad", "ln(w*x)", "--data", path, "--at", "w=1")
    assert r.exit_code == 1 and "data row 4" in r.stderr
