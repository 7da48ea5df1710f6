"""The quick parser (accel.parse.try_parse) against the careful one (lang.parser.parse).

The careful recursive-descent parser is the reference and the only one that words
errors. The quick one writes the flat form (syntax.flatten) directly and may decline any
text (None), but whatever it accepts must be exactly the flattened careful tree — same
nodes in the same order, same spans — and it must decline every text the careful
parser (with its name checks) refuses. The graph built from the flat form is the graph
built from the tree. Both are called directly, so these tests run the same with
BACKPROP_REFERENCE=1.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, note
from hypothesis import strategies as st

from backprop_cli import accel, limits
from backprop_cli.accel.parse import binding_powers, quick_entries, try_parse
from backprop_cli.core.graph import build
from backprop_cli.core.program import compile_program
from backprop_cli.errors import BackpropError
from backprop_cli.lang import parser, syntax
from backprop_cli.lang.lexer import prepare_source

QuickParser = Callable[[str], "syntax.Flat | None"]


def careful(text: str, levels: parser.Grammar | None = None):
    """("ok", flat entries) or ("error", message, span) from the careful parser alone
    (with the grammar read from another precedence table, when *levels* is given)."""
    try:
        if levels is None:
            program = parser.parse(text)
        else:  # the careful parser's own steps, with other levels
            reader = parser._Parser(prepare_source(text), levels)
            program = parser._check_names(reader.program(), reader.uses)
    except BackpropError as err:
        return ("error", str(err), getattr(err, "span", None))
    return ("ok", syntax.flatten(program).entries)


def agree(text: str, quick: QuickParser = try_parse, levels: parser.Grammar | None = None) -> bool:
    """Check the contract on one text; True when the quick parser accepted it."""
    source = prepare_source(text)
    got = quick(source)
    want = careful(text, levels)
    if got is None:
        return False
    assert want[0] == "ok", (text, want)
    assert got.entries == want[1], text
    assert got.source == source, text
    return True


def quick_with(table) -> QuickParser:
    """The quick parser with binding powers read from another precedence table."""
    powers = binding_powers(table)

    def quick(text: str) -> syntax.Flat | None:
        entries = quick_entries(text, powers)
        return None if entries is None else syntax.Flat(tuple(entries), text)

    return quick


# -- goldens: the precedence traps and the tricky corners, all accepted and equal ----------
ACCEPTED = [
    "-3^2", "2^3^2", "2^-1", "1/2/4", "2w", "1/2w", "x^2 w", "-2w", "2^-3w", "2sin(x)",
    "3pi", "2(b+1)", "2 (b + 1)", "a - -b", "a * -b ^ c", "--a", "+a", "-(a)^2", "(a)^2",
    "a^-b^c", "2**3", "2 ** -x", "x = 2*w + b; y = b + 1; z = x*y",
    "x = 2*w + b\ny = b + 1\nz = x*y\n", ";;x + 1;;", "  x + 1  \t", "x\r\n",
    "log(x, 2)", "pow(x, y) + min(a, max(b, c))", "sin(cos(tan(x)))", "((((x))))",
    "y = (a + b)", "e^x", "pi*r^2", "1e3x", ".5x", "3.5e-2 * x", "t1 = sin(x9); t2 = t1 / (x0^2 + 1); t2",
    "x*y*z/w", "a+b-c+d", "w = 3", "f = x; f", "00x", "0.5x", "10b", "2^3**2", "1-2+3",
    "a^b*c^d", "-a*-b", "2 pi", "log(2(x), -y)",
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
    "x = 1; (x) = 2", "a.b", "x[0]", "x**", "2 ** ** 3", "0b1", "0O7", "2 = x", "( = 1",
    "(x, y)", "max(x)", "2 .5", "x(2)", "sin x", "2if", "x = 1,", ")", "x + )",
]  # fmt: skip

#: syntactically fine, refused by the careful parser's name checks: declined too
NAME_REFUSED = ["x = x + 1", "a = 1; a = 2", "y = 2*y", "a = b + 1; b = a*2", "y = x; x = 1; x = 2"]


@pytest.mark.parametrize("text", DECLINED + NAME_REFUSED)
def test_quick_declines_what_careful_refuses(text):
    assert careful(text)[0] == "error", text
    assert try_parse(prepare_source(text)) is None


def test_compile_words_every_error_as_the_careful_parser():
    """Through the seam (the accelerators on), a declined text gets the careful error."""
    for text in DECLINED + NAME_REFUSED:
        want = careful(text)
        with pytest.raises(BackpropError) as info:
            compile_program(text, accel=accel)
        assert (str(info.value), getattr(info.value, "span", None)) == want[1:], text


#: statements out of order: valid programs the careful parser sorts; the quick one declines
OUT_OF_ORDER = [
    "z = x*y; x = 2*w + b; y = b + 1", "x = y; y = 1", "y = 2*x\nx = 1",
    "c = a + b; a = 1; d = 4*c; b = a*2", "y = x + 1; x = w; y*2",
]  # fmt: skip
#: valid, but not plain: Greek names, and nesting past the quick parser's bound
DEEP = "a" + "+b*(c" * 100 + "+x" + ")" * 100  # 300 waiting operators; careful depth 100


@pytest.mark.parametrize("text", OUT_OF_ORDER + ["λ = 2; λ*x", DEEP])
def test_declined_valid_text_compiles_through_the_careful_parser(text):
    assert careful(text)[0] == "ok"
    assert try_parse(prepare_source(text)) is None
    assert compile_program(text, accel=accel).graph == build(parser.parse(text))


def test_quick_declines_near_limits(monkeypatch):
    """Depth, statements, node counts and literal lengths near their limits go to the
    careful parser."""
    monkeypatch.setattr(limits, "MAX_DEPTH", 4)
    assert try_parse("(((((x)))))") is None  # the careful parser refuses it
    assert careful("(((((x)))))")[0] == "error"
    assert agree("((((x))))")
    assert agree("----x") and try_parse("-----x") is None
    assert agree("2^2^2^2^x") and try_parse("2^2^2^2^2^x") is None
    # the stack is an upper bound (waiting '+' and '*' count): declined, though accepted
    assert try_parse("a + b*(c + d*(x))") is None
    assert careful("a + b*(c + d*(x))")[0] == "ok"
    monkeypatch.setattr(limits, "MAX_STATEMENTS", 2)
    assert try_parse("a = 1; b = 2; c = 3") is None
    assert agree("a = 1; b = 2")
    monkeypatch.setattr(limits, "MAX_NODES", 10)
    assert try_parse("a + b + c + d + e + f") is None
    monkeypatch.setattr(limits, "MAX_LITERAL_CHARS", 3)
    assert try_parse("x*123") is not None and try_parse("x*1234") is None


def test_long_generated_program_takes_the_quick_path():
    """The benchmark's W3 shape (641 statements) is read by the quick parser."""
    stmts = [f"t{i} = sin(t{i - 1}) / (t{i - 1}^2 + 1) + {i}w" for i in range(1, 400)]
    assert agree("t0 = w; " + "; ".join(stmts))


@pytest.mark.parametrize("text", ["x = 2*w + b; y = b + 1; z = x*y", "y = pow(x, 2) + log(x, 3)",
                                  "-3^2 + 2w", "x = w; y = +x; z = y"])  # fmt: skip
def test_tree_and_flat_build_the_same_graph(text):
    """The quick parser's flat form and the careful tree give one graph."""
    flat = try_parse(prepare_source(text))
    assert flat is not None
    assert build(parser.parse(text)) == build(flat)


# -- the one precedence table ------------------------------------------------------------
#: '+' and '-' bind tighter than '*' and '/'; '^' groups from the left
SWAPPED = (
    (("^",), "left"),
    (("+", "-"), "prefix"),
    (("+", "-"), "left"),
    (("*", "/"), "left"),
)
#: the table with '^' left-associative only (keeps the careful grammar's shape)
LEFT_POWER = ((("^",), "left"),) + parser.PRECEDENCE[1:]


@pytest.mark.parametrize(
    "table, text",
    [(SWAPPED, "1 + 2*3"), (SWAPPED, "a*b - c"), (SWAPPED, "2w + 1"), (LEFT_POWER, "2^3^2")],
)
def test_the_comparison_catches_a_wrong_precedence(table, text):
    """The comparison can fail: a quick parser whose binding powers come from a wrong
    table is caught by the same helper on a text where the table matters."""
    assert agree(text)  # the right powers pass
    with pytest.raises(AssertionError):
        agree(text, quick=quick_with(table))


def test_both_parsers_read_the_one_table():
    """A table with '+' tighter than '*' changes both parsers the same way: the careful
    grammar (lang.parser.grammar) and the quick binding powers come from one definition."""
    swapped = (parser.PRECEDENCE[0], parser.PRECEDENCE[1], parser.PRECEDENCE[3],
               parser.PRECEDENCE[2])  # fmt: skip
    levels = parser.grammar(swapped)
    for text in ["1 + 2*3", "a*b - c/d", "2w + 1", "-a^2 * b + c", "x = 1 + 2*w; x - x/3"]:
        assert agree(text, quick=quick_with(swapped), levels=levels)
    assert careful("1 + 2*3", levels) != careful("1 + 2*3")
    # (1 + 2) * 3 in post-order: 1 2 + 3 *
    ops = [e[1] for e in careful("1 + 2*3", levels)[1] if e[0] == syntax.BINARY]
    assert ops == ["+", "*"]


def test_binding_powers_of_the_table():
    """Rows numbered loosest first; a right-associative row's floor is one above it."""
    powers = binding_powers()
    assert powers.binary["+"][:2] == powers.binary["-"][:2] == (1, 1)
    assert powers.binary["*"][:2] == powers.binary["/"][:2] == (2, 2)
    assert powers.sign == 3 and powers.signs == {"+", "-"}
    assert powers.binary["^"][:2] == powers.binary["**"][:2] == (4, 5)
    assert powers.implicit == (2, 2, "*", True)


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
