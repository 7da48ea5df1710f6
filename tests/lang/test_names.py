"""Names the language knows and reserves: the built-in function vocabulary
(lang/names.py) offered by the unknown-function hint, and the reserved words
(lexer.RESERVED_WORDS) covering this Python's keywords.
"""

from __future__ import annotations

import pytest

from backprop_cli.errors import ParseError
from backprop_cli.lang.parser import parse


def fail(text: str, kind=ParseError):
    with pytest.raises(kind) as info:
        parse(text)
    assert type(info.value) is kind
    return info.value


def test_unknown_function_without_close_match_hints_multiplication():
    err = fail("q(x+1)")
    assert err.message == "unknown function 'q'"
    assert err.hint.startswith("to multiply, write q*(...); functions are sin, cos")


def test_reserved_words_cover_this_pythons_keywords():
    import keyword

    from backprop_cli.lang.lexer import RESERVED_WORDS

    assert set(keyword.kwlist) | set(keyword.softkwlist) <= RESERVED_WORDS
    for word in ("_", "match", "type", "async", "await"):
        assert fail(word).message == f"'{word}' is a reserved word"
