"""The lexer's one-regex fast path gives exactly the tokens (and errors) of its careful path."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backprop_cli.errors import LimitError, ParseError
from backprop_cli.lang import lexer

ALPHABET = "0123456789.eEjJxXbBoO_ \t\r\n+-*/^(),;=:wzα$µ\u2212"


def _run(text: str):
    try:
        return [(t.kind, t.text, t.start, t.end, t.value) for t in lexer.tokenize(text)]
    except (ParseError, LimitError) as err:
        return (type(err).__name__, str(err), err.span)


def _both(text: str, monkeypatch) -> tuple:
    fast = _run(text)
    with monkeypatch.context() as m:
        m.setattr(lexer, "_FAST", re.compile(r"(?!)"))  # never matches: careful path only
        careful = _run(text)
    return fast, careful


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=24))
def test_fast_path_equals_careful_path(text):
    with pytest.MonkeyPatch.context() as mp:
        fast, careful = _both(text, mp)
    assert fast == careful


@pytest.mark.parametrize(
    "text",
    ["2w", "1e5x", "0x1f", "0b1", "0o7", "1_000", "2j", "2e", "2e+", "1.5.3", "x.y", "a**b", "a//b",
     "a==b", "a:=b", "x\u03b1 + 1", "1e999", "9" * 400, "3.", ".5e-3", "__x", "nan", "Inf", "lambda",
     "x\r\n\ty", "  ", "", "a = b; c\n"],
)  # fmt: skip
def test_fast_path_equals_careful_path_on_edges(text, monkeypatch):
    fast, careful = _both(text, monkeypatch)
    assert fast == careful
