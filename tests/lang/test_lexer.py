"""The lexer: tokens and their spans, every character accounted for (a token or a pointed
error), Token/Span value semantics, and scan's one-regex path for common tokens against its
character-by-character path. The accelerator's quick tokens against this lexer are in
tests/accel/test_quick_lexer.py.
"""

from __future__ import annotations

import os
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backprop_cli.errors import LimitError, ParseError, Span
from backprop_cli.lang import lexer
from backprop_cli.lang.lexer import tokenize
from backprop_cli.lang.parser import parse

# A quick profile by default; PARSER_EXAMPLES=5000 for a thorough run.
FAST = settings(
    max_examples=int(os.environ.get("PARSER_EXAMPLES", "200")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def test_tokenize():
    toks = tokenize("\ufeff2w ** -x;")
    assert [(t.kind, t.text) for t in toks] == [
        ("num", "2"), ("name", "w"), ("^", "**"), ("-", "-"), ("name", "x"), ("sep", ";"), ("eof", ""),
    ]  # fmt: skip
    assert toks[0].value == 2.0 and toks[0].span == Span(0, 1)
    assert toks[-1].span == Span(9, 9)


def _tokens_cover(text: str) -> None:
    """The lexer never skips a character: token texts rebuild the text minus blanks."""
    try:
        toks = tokenize(text)
    except (ParseError, LimitError):
        return
    src = text.removeprefix("\ufeff")
    assert "".join(t.text for t in toks) == "".join(c for c in src if c not in " \t\r")
    for tok in toks:
        assert src[tok.span.start : tok.span.end] == tok.text


@FAST
@given(st.text(max_size=40))
def test_lexer_never_skips_a_character(text):
    _tokens_cover(text)


def test_every_character_up_to_u3000_is_a_token_or_a_pointed_error():
    for code in range(0x3000):
        text = f"x{chr(code)}1"
        _tokens_cover(text)
        try:
            parse(text)
        except (ParseError, LimitError) as err:
            assert err.span is not None and err.span.start <= 3
            assert not err.message.startswith("unexpected character U+") or code >= 0x80


def test_token_span_equality_and_repr():
    a, b = lexer.tokenize("x")[0], lexer.tokenize(" x")[0]
    assert a.span.start == 0 and b.span.start == 1 and a != b
    assert a == lexer.Token("name", "x", 0, 1) and hash(a) == hash(lexer.Token("name", "x", 0, 1))
    assert repr(a) == "Token(kind='name', text='x', span=Span(start=0, end=1), value=None)"


# -- scan's one-regex path (_FAST) gives exactly the tokens and errors of its careful path --
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


def test_the_path_comparison_can_fail(monkeypatch):
    """_both really runs two paths: a fast path that reads '2w' as one name is caught."""
    monkeypatch.setattr(lexer, "_FAST", re.compile(r"[ \t\r]*+(?P<name>[0-9a-z]+)"))
    with monkeypatch.context() as mp:
        fast, careful = _both("2w", mp)
    assert fast != careful
