"""Statements in any order (parser._check_names): sorted topologically when every name is
assigned once, stable where the dependencies allow; cycles refused with the cycle named
and a caret on one of its assignments; a name assigned twice keeps the statement-order rules.
"""

from __future__ import annotations

import pytest

import backprop_cli as bp
from backprop_cli import limits
from backprop_cli.errors import ParseError
from backprop_cli.lang.parser import parse
from backprop_cli.lang.syntax import Assign

LESSON = "x = 2*w + b; y = b + 1; z = x*y"


def order(text: str) -> list[str]:
    return [s.target if isinstance(s, Assign) else "<expr>" for s in parse(text).statements]


def shape(program) -> list[tuple]:
    """A graph without its spans: what every node computes, from what, under which name."""
    return [(n.op, n.inputs, n.name, n.value) for n in program.nodes]


@pytest.mark.parametrize(
    "text",
    [
        "z = x*y; x = 2*w + b; y = b + 1",
        "x = 2*w + b; z = x*y; y = b + 1",
        "z = x*y\nx = 2*w + b\ny = b + 1\n",
    ],
)
def test_the_lesson_z_first_compiles_to_the_lessons_graph(text):
    program, lesson = bp.compile(text), bp.compile(LESSON)
    assert shape(program) == shape(lesson)
    assert program.variables == ("w", "b") and program.named == ("x", "y", "z")
    assert program.output_name == "z"
    assert program.value_and_grad({"w": 3, "b": 4}) == (50.0, {"w": 10.0, "b": 15.0})
    trace = program.trace({"w": 3, "b": 4})
    assert trace.values == [2.0, 3.0, 6.0, 4.0, 10.0, 1.0, 5.0, 50.0]
    assert [trace.adjoints[program.graph.names[n]] for n in ("w", "b", "x", "y", "z")] == [
        10.0, 15.0, 5.0, 10.0, 1.0,
    ]  # fmt: skip


@pytest.mark.parametrize("text", ["z = x*y; y = b + 1; x = 2*w + b", "y = b + 1; z = x*y; x = 2*w + b"])
def test_y_before_x_keeps_that_order_and_the_lessons_numbers(text):
    program = bp.compile(text)
    assert program.named == ("y", "x", "z") and program.variables == ("b", "w")
    assert program.output_name == "z"
    assert program.value_and_grad({"w": 3, "b": 4}) == (50.0, {"w": 10.0, "b": 15.0})


def test_sort_is_stable_source_order_wherever_dependencies_allow():
    # ready at the start: a (1), d (2); b needs a; c needs a and b
    assert order("c = a + b; a = 1; d = 4; b = a*2") == ["a", "d", "b", "c"]
    assert order("b = a*2; a = 1; z = 5") == ["a", "b", "z"]
    assert order("y = x + 1; x = w; y*2") == ["x", "y", "<expr>"]
    # a program already in order keeps it, whatever else it holds
    assert order("a = 1; q = 3; b = a*2; c = a + b") == ["a", "q", "b", "c"]


def test_long_out_of_order_chain_is_sorted_without_recursion():
    n = 3000
    stmts = [f"t{i} = t{i - 1} + {i}" for i in range(n, 0, -1)] + ["t0 = w"]
    program = bp.compile("; ".join(stmts))
    assert program.output_name == f"t{n}"
    assert program.value_and_grad({"w": 1.0}) == (1.0 + n * (n + 1) / 2, {"w": 1.0})


def error(text: str) -> ParseError:
    with pytest.raises(ParseError) as info:
        parse(text)
    return info.value


def test_two_cycle_names_it_with_a_caret_on_its_first_assignment():
    err = error("a = b + 1; b = a*2")
    assert err.message == (
        "'a' and 'b' are defined in terms of each other (a cycle): a uses b, b uses a"
    )
    assert err.caret_lines() == ["a = b + 1; b = a*2", "^^^^^^^^^"]


def test_cycle_reached_from_outside_names_only_the_cycle():
    err = error("out = c*2; q = 1; a = b + 1; b = c*2; c = a")
    assert err.message == (
        "'a', 'b' and 'c' are defined in terms of each other (a cycle): "
        "a uses b, b uses c, c uses a"
    )
    assert err.caret_lines() == ["out = c*2; q = 1; a = b + 1; b = c*2; c = a", "                  ^^^^^^^^^"]


def test_long_cycle_message_stays_short():
    n = 50
    text = "; ".join(f"t{i} = t{(i + 1) % n} + 1" for i in range(n))
    err = error(text)
    assert err.message.startswith("50 names are defined in terms of each other (a cycle): t0 uses t1,")
    assert err.message.endswith("t4 uses t5, … (45 more)")
    assert err.span.start == 0


def test_self_use_is_refused_with_todays_message_while_a_forward_use_is_sorted():
    assert order("y = x + 1; x = w") == ["x", "y"]
    err = error("x = x + 1")
    assert err.message == "'x' is used before it is assigned; its assignment is on line 1"
    assert "cannot be used in its own definition" in err.hint


@pytest.mark.parametrize(
    "text, once, sorted_once, message",
    [
        ("x = 1; x = 2; z = y; y = 3", "x = 1; z = y; y = 3", ["x", "y", "z"],
         "'x' is assigned twice; it was first assigned on line 1"),
        ("y = x; x = 1; x = 2", "y = x; x = 1", ["x", "y"],
         "'x' is used before it is assigned; its assignment is on line 1"),
        ("a = b; b = 1; c = 2; c = 3", "a = b; b = 1; c = 2", ["b", "a", "c"],
         "'b' is used before it is assigned; its assignment is on line 1"),
    ],
)  # fmt: skip
def test_a_name_assigned_twice_keeps_the_statement_order_rules(text, once, sorted_once, message):
    # the program with every name assigned once is sorted ...
    assert order(once) == sorted_once
    # ... and with a second assignment it is refused as before, in statement order
    assert error(text).message == message


def test_statement_limit_counts_out_of_order_programs(monkeypatch):
    assert order("c = b; b = a; a = 1") == ["a", "b", "c"]
    monkeypatch.setattr(limits, "MAX_STATEMENTS", 2)
    with pytest.raises(bp.errors.LimitError):
        parse("c = b; b = a; a = 1")
