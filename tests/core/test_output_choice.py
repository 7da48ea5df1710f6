"""Which node is the output (graph.build / graph.output_of): --of if given; else the last
statement if nothing reads it; else the one assigned name nothing reads; otherwise an
error listing the candidates.
"""

from __future__ import annotations

import pytest

import backprop_cli as bp
from backprop_cli.core.graph import build
from backprop_cli.errors import InputError, ParseError
from backprop_cli.lang.parser import parse_flat


def test_last_statement_read_by_another_gives_the_one_unread_name():
    p = bp.compile("z = x*y; x = 2*w + b; y = b + 1")
    assert p.output_name == "z"
    assert p.value_and_grad({"w": 3, "b": 4}) == (50.0, {"w": 10.0, "b": 15.0})


def test_last_statement_nobody_reads_is_the_output_even_with_other_unread_names():
    p = bp.compile("z = x*y; x = 2*w + b; y = b + 1; d = 2*b")
    assert p.output_name == "d"
    assert p.value_and_grad({"w": 3, "b": 4}) == (8.0, {"w": 0.0, "b": 2.0})


def test_bare_last_expression_is_the_output():
    p = bp.compile("y = x + 1; x = w; y*2")
    assert p.output_name == "y*2"
    assert p.value_and_grad({"w": 3}) == (8.0, {"w": 2.0})


def test_several_unread_names_is_an_error_listing_them():
    text = "a = x + 1; b = x*2; x = w"
    with pytest.raises(ParseError) as info:
        bp.compile(text)
    err = info.value
    assert err.message == (
        "cannot tell which node is the output: 'x', assigned last, is read by another "
        "statement, and 2 assigned names are read by none: a, b"
    )
    assert err.caret_lines() == [text, "                    ^"]
    assert err.hint == "choose one with --of NAME (e.g. --of a), or end the program with it"


def test_of_chooses_among_several_unread_names():
    text = "a = x + 1; b = x*2; x = w"
    assert bp.compile(text, output="b").value_and_grad({"w": 3}) == (6.0, {"w": 2.0})
    assert bp.compile(text, output="a").value_and_grad({"w": 3}) == (4.0, {"w": 1.0})
    assert bp.compile(text, output="x").value_and_grad({"w": 3}) == (3.0, {"w": 1.0})
    with pytest.raises(InputError, match="no node of that name"):
        bp.compile(text, output="q")


def test_build_takes_the_name_of_would_choose():
    flat = parse_flat("a = x + 1; b = x*2; x = w")
    with pytest.raises(ParseError):
        build(flat)
    g = build(flat, output="b")
    assert g.assigned == ("x", "a", "b") and g.variables == ("w",)
