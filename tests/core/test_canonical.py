"""graph.canonical: one string per computation, the same up to the order of the operands
of + and * and the names of intermediates — how `solve` recognises the lesson's graph.
"""

from __future__ import annotations

import pytest

import backprop_cli as bp
from backprop_cli.core.graph import canonical

LESSON_FORM = "mul(add(1.0,b),add(b,mul(2.0,w)))"


def form(text: str, output: str | None = None) -> str | None:
    p = bp.compile(text, output)
    return canonical(p.graph, p.output)


@pytest.mark.parametrize(
    "text",
    [
        "x = 2*w + b; y = b + 1; z = x*y",
        "(w*2+b)*(b+1)",
        "(2*w+b)*(b+1)",
        "(b+1)*(b+2*w)",
        "(2w + b)*(1 + b)",
        "z = x*y; x = 2*w + b; y = b + 1",
        "x = 2*w + b; y = b + 1; z = x*y; out = z",
        "p = w*2; q = b + p; r = 1 + b; q*r",
    ],
)
def test_the_lessons_graph_in_every_spelling(text):
    assert form(text) == LESSON_FORM


@pytest.mark.parametrize(
    "text",
    [
        "(2*w+b)*(b+2)",  # another constant
        "(2*b+w)*(w+1)",  # the variables swapped
        "(2*w+b)*(b+1) + 0",
        "(2*w+b)*(b-(-1))",
        "(2*w+b)/(1/(b+1))",
        "(w+w+b)*(b+1)",  # 2w written as a sum: another graph
        "(2*u+b)*(b+1)",
    ],
)
def test_other_graphs_differ(text):
    assert form(text) != LESSON_FORM


def test_output_of_the_graph_counts():
    assert form("x = 2*w + b; y = b + 1; z = x*y", output="x") == "add(b,mul(2.0,w))"


def test_forms_past_the_limit_are_none():
    doubling = "x0 = w; " + "; ".join(f"x{i} = x{i - 1}*x{i - 1}" for i in range(1, 30))
    assert form(doubling) is None
    p = bp.compile("(2*w+b)*(b+1)")
    assert canonical(p.graph, p.output, limit=10) is None
