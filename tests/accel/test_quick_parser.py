"""The quick parser (parser._parse_quick) against the careful one (parser._Parser).

The careful recursive-descent parser is the reference and the only one that words
errors. The quick one writes the flat form (syntax.flatten) directly and may decline any
text (None), but whatever it accepts must be exactly the flattened careful tree — same
nodes in the same order, same spans — and it must decline every text the careful
parser (with its name checks) refuses. The graph built from the flat form is the graph
built from the tree.
"""

from __future__ import annotations

import pytest
from hypothesis import given, note
from hypothesis import strategies as st

from backprop_cli import limits
from backprop_cli.core.graph import build
from backprop_cli.errors import BackpropError
from backprop_cli.lang import parser, syntax
from backprop_cli.lang.lexer import prepare_source
from backprop_cli.lang.parser import parse, parse_flat


def careful(text: str):
    """("ok", flat entries) or ("error", message, span) from the careful parser alone."""
    try:
        program = parser.parse(text)
    except BackpropError as err:
        return ("error", str(err), getattr(err, "span", None))
    return ("ok", syntax.flatten(program).entries)


def agree(text: str) -> bool:
    """Check the contract on one text; True when the quick parser accepted it."""
    quick = parser._parse_quick(prepare_source(text))
    want = careful(text)
    if quick is None:
        return False
    assert want[0] == "ok", (text, want)
    assert tuple(quick) == want[1], text
    return True


# -- goldens: the precedence traps and the tricky corners, all accepted and equal ----------
ACCEPTED = [
    "-3^2", "2^3^2", "2^-1", "1/2/4", "2w", "1/2w", "x^2 w", "-2w", "2^-3w", "2sin(x)",
    "3pi", "2(b+1)", "2 (b + 1)", "a - -b", "a * -b ^ c", "--a", "+a", "-(a)^2", "(a)^2",
    "a^-b^c", "2**3", "2 ** -x", "x = 2*w + b; y = b + 1; z = x*y",
    "x = 2*w + b\ny = b + 1\nz = x*y\n", ";;x + 1;;", "  x + 1  \t", "x\r\n",
    "log(x, 2)", "pow(x, y) + min(a, max(b, c))", "sin(cos(tan(x)))", "((((x))))",
    "y = (a + b)", "e^x", "pi*r^2", "1e3x", ".5x", "3.5e-2 * x", "t1 = sin(x9); t2 = t1 / (x0^2 + 1); t2",
    "x*y*z/w", "a+b-c+d", "w = 3", "f = x; f",
]  # fmt: skip


@pytest.mark.parametrize("text", ACCEPTED)
def test_quick_accepts_and_equals_careful(text):
    assert agree(text), f"the quick parser declined {text!r}"


# -- every refusal of the careful parser is declined by the quick one ------------------------
DECLINED = [
    "", ";", "2 3", "a b", "(a)(b)", "0x1", "1.2.3", "1_0", "1j", "2e", "x = ", "= x",
    "a = b = c", "sin", "sin()", "sin(x, y)", "foo(x)", "pi(2)", "sin = 3", "pi = 3",
    "x; y", "(x", "x)", "f(x,)", "sin(,x)", "x,", "if = 1", "__a", "nan", "Inf + 1",
    "x // y", "x == y", "x := 1", "\u0430 + 1", "x $ y", "x # c", "2 + * 3", "1e999", "1" * 401, "x^", "-", "sin(*x)", "log(x=1)",
    "x = 1; (x) = 2", "a.b", "x[0]", "x**", "2 ** ** 3",
]  # fmt: skip


@pytest.mark.parametrize("text", DECLINED)
def test_quick_declines_what_careful_refuses(text):
    assert careful(text)[0] == "error", text
    assert parser._parse_quick(prepare_source(text)) is None


#: syntactically fine, refused by the careful parser's name checks: declined too
NAME_REFUSED = [
    "x = x + 1", "a = 1; a = 2", "y = 2*y", "a = b + 1; b = a*2", "y = x; x = 1; x = 2"
]


def test_parse_flat_gives_careful_errors():
    """parse_flat() words every error exactly as the careful parser."""
    for text in DECLINED + NAME_REFUSED:
        assert parser._parse_quick(prepare_source(text)) is None, text
        want = careful(text)
        assert want[0] == "error", text
        with pytest.raises(BackpropError) as info:
            parser.parse_flat(text)
        assert (str(info.value), getattr(info.value, "span", None)) == want[1:], text


def test_parse_flat_of_declined_valid_text_is_the_flattened_tree():
    """Greek names, and nesting past the quick parser's bound, take the careful path."""
    deep = "a" + "+b*(c" * 100 + "+x" + ")" * 100  # 300 waiting operators; careful depth 100
    for text in ["λ = 2; λ*x", deep]:
        assert parser._parse_quick(prepare_source(text)) is None
        got = parser.parse_flat(text)
        assert got.entries == syntax.flatten(parser.parse(text)).entries
        assert got.source == text


def test_quick_declines_near_limits(monkeypatch):
    """Depth, statements and node counts near their limits go to the careful parser."""
    monkeypatch.setattr(limits, "MAX_DEPTH", 4)
    assert parser._parse_quick("(((((x)))))") is None  # the careful parser refuses it
    assert careful("(((((x)))))")[0] == "error"
    assert agree("((((x))))")
    # the stack is an upper bound (waiting '+' and '*' count): declined, though accepted
    assert parser._parse_quick("a + b*(c + d*(x))") is None
    assert careful("a + b*(c + d*(x))")[0] == "ok"
    monkeypatch.setattr(limits, "MAX_STATEMENTS", 2)
    assert parser._parse_quick("a = 1; b = 2; c = 3") is None
    monkeypatch.setattr(limits, "MAX_NODES", 10)
    assert parser._parse_quick("a + b + c + d + e + f") is None


def test_long_generated_program_takes_the_quick_path():
    """The benchmark's W3 shape (641 statements) is read by the quick parser."""
    stmts = [f"t{i} = sin(t{i - 1}) / (t{i - 1}^2 + 1) + {i}w" for i in range(1, 400)]
    assert agree("t0 = w; " + "; ".join(stmts))


# -- property: random token soup ---------------------------------------------------------
ATOMS = ["x", "y", "w2", "_t", "2", "0", "3.5", "1e3", ".5", "007", "sin", "log", "pow",
         "max", "pi", "e", "nan", "if", "__a", "0x", "λ"]  # fmt: skip
OPS = ["+", "-", "*", "/", "^", "**", "(", ")", ",", ";", "\n", "=", "$", "//", "=="]
SPACE = st.sampled_from(["", "", " ", "  ", "\t", "\r"])


@given(st.lists(st.tuples(st.sampled_from(ATOMS + OPS), SPACE), max_size=25))
def test_token_soup(parts):
    text = "".join(t + s for t, s in parts)
    note(repr(text))
    agree(text)


# -- property: valid programs are accepted -------------------------------------------------
def _exprs():
    leaf = st.sampled_from(["x", "y", "b", "2", "0.5", "3e-1", "pi", "e"])

    def extend(inner):
        return st.one_of(
            st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "^", "**"]), inner).map(
                lambda t: f"{t[0]} {t[1]} {t[2]}"
            ),
            inner.map(lambda a: f"({a})"),
            inner.map(lambda a: f"-{a}"),
            st.tuples(st.sampled_from(["sin", "exp", "log", "sqrt", "abs"]), inner).map(
                lambda t: f"{t[0]}({t[1]})"
            ),
            st.tuples(st.sampled_from(["pow", "min", "log"]), inner, inner).map(
                lambda t: f"{t[0]}({t[1]}, {t[2]})"
            ),
            inner.map(lambda a: f"3({a})"),
        )

    return st.recursive(leaf, extend, max_leaves=12)


@given(st.lists(_exprs(), min_size=1, max_size=4), st.sampled_from(["; ", "\n", " ;\n "]))
def test_valid_programs_are_accepted(exprs, sep):
    stmts = [f"t{i} = {e}" for i, e in enumerate(exprs[:-1])] + [exprs[-1]]
    text = sep.join(stmts)
    note(repr(text))
    assert agree(text)


@pytest.mark.parametrize("text", ["x = 2*w + b; y = b + 1; z = x*y", "y = pow(x, 2) + log(x, 3)",
                                  "-3^2 + 2w", "x = w; y = +x; z = y"])  # fmt: skip
def test_tree_and_flat_build_the_same_graph(text):
    """The quick parser's flat form (these texts take it) and the careful tree, flattened."""
    assert parser._parse_quick(prepare_source(text)) is not None
    assert build(parse(text)) == build(parse_flat(text))


#: statements out of order: valid programs the careful parser sorts; the quick one declines
OUT_OF_ORDER = [
    "z = x*y; x = 2*w + b; y = b + 1", "x = y; y = 1", "y = 2*x\nx = 1",
    "c = a + b; a = 1; d = 4; b = a*2", "y = x + 1; x = w; y*2",
]  # fmt: skip


@pytest.mark.parametrize("text", OUT_OF_ORDER)
def test_out_of_order_programs_take_the_careful_path_sorted(text):
    assert parser._parse_quick(prepare_source(text)) is None
    got = parser.parse_flat(text)
    assert got.entries == syntax.flatten(parser.parse(text)).entries
    assigned: set[str] = set()  # sorted: a name is read only after its assignment
    every = {e[1] for e in got.entries if e[0] == syntax.ASSIGN}
    for entry in got.entries:
        if entry[0] == syntax.NAME and entry[1] in every:
            assert entry[1] in assigned, (text, entry)
        elif entry[0] == syntax.ASSIGN:
            assigned.add(entry[1])
