"""engines/walk.py: the steps of a pass, every number read from the Program's trace."""

from __future__ import annotations

import pytest

import backprop_cli
from backprop_cli.engines.walk import BackwardStep, ForwardStep, walk
from backprop_cli.errors import InputError

LESSON = "x = 2*w + b; y = b + 1; z = x*y"
AT = {"w": 3.0, "b": 4.0}


def lesson():
    program = backprop_cli.compile(LESSON)
    return program, walk(program, AT)


def test_lesson_forward_then_backward_in_pass_order():
    _, w = lesson()
    assert [w.label(s.node) for s in w.forward] == ["w", "2*w", "b", "x", "y", "z"]
    assert [w.label(s.node) for s in w.backward] == ["z", "y", "x", "b", "2*w", "w"]
    # every forward step comes before every backward step
    kinds = [type(s) for s in w.steps]
    assert kinds == [ForwardStep] * 6 + [BackwardStep] * 6


def test_lesson_numbers_are_the_domain_tables():
    # domain.md §1: values 3, 4, 10, 5, 50; adjoints 10, 15, 5, 10, 1
    _, w = lesson()
    values = {w.label(s.node): s.value for s in w.forward}
    assert values == {"w": 3.0, "2*w": 6.0, "b": 4.0, "x": 10.0, "y": 5.0, "z": 50.0}
    adjoints = {w.label(s.node): s.adjoint for s in w.backward}
    assert adjoints == {"z": 1.0, "y": 10.0, "x": 5.0, "b": 15.0, "2*w": 5.0, "w": 10.0}
    b = next(s for s in w.backward if w.label(s.node) == "b")
    # b feeds x and y: two paths, 5·1 + 10·1
    assert [(w.label(t.consumer), t.adjoint, t.local) for t in b.line.terms] == [
        ("x", 5.0, 1.0),
        ("y", 10.0, 1.0),
    ]


@pytest.mark.parametrize(
    "text, at",
    [
        (LESSON, AT),
        ("h = sin(u)*v; g = h/(u + 2); z = exp(g) - h^2", {"u": 0.7, "v": -1.3}),
        ("a = x*x; b = a*x + a", {"x": 2.0}),
    ],
)
def test_every_number_is_the_trace(text, at):
    program = backprop_cli.compile(text)
    trace = program.trace(at)
    w = walk(program, at)
    for s in w.forward:
        assert s.value == trace.values[s.node]
        assert s.operand_values == tuple(trace.values[i] for i in s.operands)
    for s in w.backward:
        assert s.adjoint == trace.adjoints[s.node]
        if s.line is not None:
            assert s.line.total == trace.adjoints[s.node]
    # every computed node is visited once each way; constants never
    computed = {n.id for n in program.nodes if not n.constant}
    assert {s.node for s in w.forward} == computed == {s.node for s in w.backward}


def test_a_walk_fails_when_the_trace_is_wrong():
    # the check above can fail: a walk of another point differs from this trace
    program = backprop_cli.compile(LESSON)
    other = walk(program, {"w": 3.0, "b": 5.0})
    trace = program.trace(AT)
    assert any(s.adjoint != trace.adjoints[s.node] for s in other.backward)


def test_an_input_alone_is_one_step_each_way():
    w = walk(backprop_cli.compile("x"), {"x": 2.0})
    assert [type(s) for s in w.steps] == [ForwardStep, BackwardStep]
    assert w.backward[0].seed and w.backward[0].adjoint == 1.0


def test_array_values_are_refused():
    import numpy as np

    program = backprop_cli.compile("z = x*y")
    with pytest.raises(InputError, match="scalar values"):
        walk(program, {"x": np.array([1.0, 2.0]), "y": 3.0})


def test_walk_at_a_solve_row_backpropagates_to_its_partials():
    # solve --step walks every row at its point: the walk's adjoints are the row's partials
    from backprop_cli.engines.solve import solve

    program = backprop_cli.compile(LESSON)
    run = solve(program, AT, 60.0, ["b"], gradient="freeze")
    for row in run.iterations:
        w = walk(program, {v: row.values[v] for v in program.variables})
        adjoints = {w.label(s.node): s.adjoint for s in w.backward}
        assert adjoints["b"] == pytest.approx(row.partials["b"], rel=1e-12)
        assert w.forward[-1].value == pytest.approx(row.output, rel=1e-12)
