"""The syntax tree's value types (lang/syntax.py)."""

from __future__ import annotations


def test_make_span_is_a_span():
    from backprop_cli.errors import Span
    from backprop_cli.lang.syntax import make_span

    # make_span fills the slots without Span.__init__: only valid while __init__ does nothing more
    assert not hasattr(Span, "__post_init__")
    s = make_span(3, 7)
    assert s == Span(3, 7) and hash(s) == hash(Span(3, 7)) and repr(s) == "Span(start=3, end=7)"
    assert type(s) is Span
