"""The quick parser's tokens (accel.parse.quick_tokens, one findall) against the lexer
(lang.lexer.scan), and the quick parser against the careful one on lexer-level text.

quick_tokens skips what it cannot read and does not check names or numbers; the quick
parser makes up for both (the tokens must cover the text; refused names and numbers are
declined). So: whenever the quick tokens cover a text, they are scan's tokens, or scan
refuses the text and the quick parser declines it. Both are called directly, so these
tests run the same with BACKPROP_REFERENCE=1.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st

from backprop_cli.accel import parse as quick_parse
from backprop_cli.accel.parse import quick_tokens, try_parse
from backprop_cli.errors import BackpropError, LimitError, ParseError
from backprop_cli.lang import parser, syntax
from backprop_cli.lang.lexer import prepare_source, scan

ALPHABET = "0123456789.eEjJxXbBoO_ \t\r\n+-*/^(),;=:wzα$µ\u2212"


def covering_tokens(text: str) -> list[tuple[str, int, int]] | None:
    """``(token text, start, end)`` of the quick tokens, or None when they skip a character
    (the test the quick parser makes: the last token ends where the text does, bar
    trailing blanks)."""
    out, pos = [], 0
    for blanks, tok in quick_tokens(text):
        start = pos + len(blanks)
        pos = start + len(tok)
        out.append((tok, start, pos))
    return out if pos == len(text.rstrip(" \t\r")) else None


def scanned(text: str) -> list[tuple[str, int, int]] | None:
    """``(token text, start, end)`` of the lexer's tokens (no eof), or None: refused."""
    try:
        return [(t.text, t.start, t.end) for t in scan(text) if t.kind != "eof"]
    except (ParseError, LimitError):
        return None


def check(text: str) -> None:
    """The contract on one text, at the token level and at the parser's."""
    text = prepare_source(text)
    quick = covering_tokens(text)
    lexed = scanned(text)
    if quick is not None and lexed is not None:
        assert quick == lexed, text
    flat = try_parse(text)
    if flat is None:
        return
    assert quick is not None and lexed is not None, text  # accepted: covered and lexed
    try:
        want = syntax.flatten(parser.parse(text)).entries
    except BackpropError as err:  # pragma: no cover - the failure being tested for
        raise AssertionError(f"accepted {text!r}, which the careful parser refuses: {err}")
    assert flat.entries == want, text


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=24))
def test_quick_tokens_are_the_lexers(text):
    note(repr(text))
    check(text)


EDGES = [
    "2w", "1e5x", "0x1f", "0b1", "0o7", "0X1", "00x", "10b", "0.5b", "1_000", "2j", "2e",
    "2e+", "1.5.3", "x.y", "a**b", "a//b", "a==b", "a:=b", "x\u03b1 + 1", "1e999", "9" * 400,
    "3.", ".5e-3", "__x", "nan", "Inf", "lambda", "x\r\n\ty", "  ", "", "a = b; c\n",
    "x $ y", "x\u2212y", "µ", "\ufeffx + 1",
]  # fmt: skip


@pytest.mark.parametrize("text", EDGES)
def test_quick_tokens_are_the_lexers_on_edges(text):
    check(text)


@pytest.mark.parametrize("text", ["0x1f", "0b1", "0O7", "x $ y", "a\u03b1", "1_0", "2j"])
def test_what_the_lexer_reads_differently_is_not_covered(text):
    """A radix prefix, an unknown character, a Greek letter, a suspicious number: the
    quick tokens skip a character, so the quick parser declines."""
    assert covering_tokens(text) is None
    assert try_parse(text) is None


def test_the_token_comparison_can_fail(monkeypatch):
    """check() compares for real: quick tokens that read '2w' as one name are caught."""
    check("2w")
    monkeypatch.setattr(quick_parse, "_QUICK", re.compile(r"([ \t\r]*+)([0-9A-Za-z_]+|[-+*/^()])"))
    assert covering_tokens("2w") == [("2w", 0, 2)]
    with pytest.raises(AssertionError):
        check("2w")
