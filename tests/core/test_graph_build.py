"""The graph builder (graph.build): naming, aliases, and frozen nodes.

That the quick parser's flat form builds the same graph as the careful tree is in
tests/accel/test_quick_parser.py.
"""

from __future__ import annotations

import dataclasses

import pytest

import backprop_cli
from backprop_cli.core.graph import Node


def ops(text: str) -> list[tuple]:
    g = backprop_cli.compile(text).graph
    return [(n.op, n.inputs, n.name, n.expr) for n in g.nodes]


def test_the_root_of_an_assignment_takes_the_name():
    assert ops("x = a*b") == [("var", (), "a", "a"), ("var", (), "b", "b"), ("mul", (0, 1), "x", "a*b")]
    assert ops("x = 3") == [("const", (), "x", "3")]


def test_a_root_made_before_a_unary_plus_is_named_too():
    assert ops("x = +(a*b)")[-1] == ("mul", (0, 1), "x", "a*b")
    assert ops("x = +3; y = -(+x)") == [("const", (), "x", "3"), ("neg", (0,), "y", "-(+x)")]


def test_an_already_named_root_gets_a_copy_node():
    assert ops("x = w; y = x") == [
        ("var", (), "w", "w"), ("id", (0,), "x", "w"), ("id", (1,), "y", "x"),
    ]  # fmt: skip


def test_nodes_are_frozen_nodes():
    g = backprop_cli.compile("x = 2*w + b; y = b + 1; z = x*y").graph
    for n in g.nodes:
        assert type(n) is Node
        with pytest.raises(dataclasses.FrozenInstanceError):
            n.name = "q"  # type: ignore[misc]
    assert g.nodes[2] == Node(2, "mul", (0, 1), None, "2*w", g.nodes[2].span, None, False)
