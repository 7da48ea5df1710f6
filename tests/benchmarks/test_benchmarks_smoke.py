"""Keeps benchmarks/run.py from rotting: a `--quick` run with tiny counts must finish and print
every workload's rows. No timing is asserted (the machine is shared and noisy); what is
asserted is what the script checks before timing — backprop's numbers equal the
hand-written ones — plus the shape of the generated W3 program."""

from __future__ import annotations

import importlib.util
import math
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("backprop_benchmarks_run", os.path.join(ROOT, "benchmarks", "run.py"))
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # dataclasses look their module up while the class is built
    try:
        spec.loader.exec_module(mod)
        yield mod
    finally:
        sys.modules.pop(spec.name, None)


def test_quick_run_prints_every_workload(bench, capsys):
    assert bench.main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert "QUICK" in out
    for label in ("| W1 |", "| W2 |", "| W3 (1000 ops) |", "| W4 ", "| W5 ", "| W6 ", "| CLI start-up |"):
        assert label in out, label
    for path in ("program.function() (fast path)", "value_and_grad(dict)", "program.trace (interpreter)"):
        assert out.count(path) >= 4, path
    # every table line has the same number of cells
    lines = [x for x in out.splitlines() if x.startswith("|")]
    assert len({x.count("|") for x in lines}) == 1


def test_generated_w3_program_has_1000_operations_and_10_variables(bench):
    import backprop_cli

    g = bench.generate()
    p = backprop_cli.compile(g.text)
    assert len(p.variables) == 10
    assert sum(1 for n in p.nodes if n.op not in ("var", "const", "id")) == 1000 == g.ops
    ops = {n.op for n in p.nodes}
    assert {"add", "sub", "mul", "div", "sin", "exp"} <= ops
    # the hand-written code the benchmark times agrees with the interpreter (an independent path)
    ns = {"sin": math.sin, "cos": math.cos, "exp": math.exp, "log": math.log}
    exec(bench.hand_written_source(g), ns)
    value, grads = ns["hand"](*(g.point[v] for v in g.variables))
    t = p.trace(g.point)
    assert math.isclose(value, t.value, rel_tol=1e-9)
    for v, gv in zip(g.variables, grads):
        assert math.isclose(gv, t.adjoints[p.graph.names[v]], rel_tol=1e-7, abs_tol=1e-12), v
    assert bench.generate().text == g.text  # seeded: the same program every run


def test_hand_written_baselines_are_right(bench):
    # W1 at (3, 4): z = 50, ∂z/∂w = 2(b+1) = 10, ∂z/∂b = (2w+b) + (b+1) = 15
    assert bench.hand_w1(3.0, 4.0) == (50.0, (10.0, 15.0))
    assert bench.simplified_w1(3.0, 4.0) == (50.0, (10.0, 15.0))
    # W2 at 2: sqrt(ln 4); derivative 1/(x sqrt(ln x²)) = 1/(2 sqrt(ln 4))
    v, (d,) = bench.hand_w2(2.0)
    assert math.isclose(v, math.sqrt(math.log(4.0)))
    assert math.isclose(d, 1.0 / (2.0 * math.sqrt(math.log(4.0))))
    # W5: (6 + b)(b + 1) = 60 → b² + 7b − 54 = 0 → b = (−7 + √265)/2
    assert math.isclose(bench.hand_solve(3.0, 4.0, 60.0), (-7 + math.sqrt(265)) / 2, rel_tol=1e-12)
    # W6: x_{k+1} − 1 = (1 − 2η)(x_k − 1); the loss is taken at the last point stepped from
    assert bench.W6 == "(x - 1)^2 + 0.001"
    x, loss = bench.hand_descend(0.0, 50)
    assert math.isclose(x, 1 - (1 - 2 * bench.W6_ETA) ** 50, rel_tol=1e-12)
    assert math.isclose(loss, (1 - 2 * bench.W6_ETA) ** 98 + 0.001, rel_tol=1e-9)
