"""The careful parser: golden S-expressions, every error with its caret, hostile input,
limits, big inputs and properties. These tests are the language's spec. ``sexpr`` prints a
tree the way the pratt-parsing goldens do: ``1+2*3`` is ``(+ 1 (* 2 3))``.

The quick parser against this one is in tests/accel/test_quick_parser.py.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backprop_cli import limits
from backprop_cli.errors import LimitError, ParseError, Span
from backprop_cli.lang import parser
from backprop_cli.lang.lexer import prepare_source
from backprop_cli.lang.parser import parse
from backprop_cli.lang.syntax import Assign, Binary, Call, Const, Name, Num, Unary

# A quick profile by default; PARSER_EXAMPLES=5000 for a thorough run.
FAST = settings(
    max_examples=int(os.environ.get("PARSER_EXAMPLES", "200")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def sexpr(node) -> str:
    """Compact S-expression of a node or statement; implicit products print as ``*.``."""
    if isinstance(node, Num):
        v = node.value
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)
    if isinstance(node, (Name, Const)):
        return node.name
    if isinstance(node, Unary):
        return f"({node.op} {sexpr(node.operand)})"
    if isinstance(node, Binary):
        op = "*." if node.implicit else node.op
        return f"({op} {sexpr(node.left)} {sexpr(node.right)})"
    if isinstance(node, Call):
        return "(" + " ".join([node.func, *(sexpr(a) for a in node.args)]) + ")"
    if isinstance(node, Assign):
        return f"(= {node.target} {sexpr(node.expr)})"
    raise TypeError(node)


def sx(text: str) -> str:
    return " ; ".join(sexpr(s) for s in parse(text).statements)


def nodes(program):
    """Every expression node of a program, iteratively."""
    stack = [s.expr if isinstance(s, Assign) else s for s in program.statements]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, Binary):
            stack += [node.left, node.right]
        elif isinstance(node, Unary):
            stack.append(node.operand)
        elif isinstance(node, Call):
            stack += list(node.args)


def fail(text: str, kind=ParseError):
    with pytest.raises(kind) as info:
        parse(text)
    assert type(info.value) is kind
    return info.value


# --------------------------------------------------------------------------- goldens

GOLDEN = [
    ("1+2*3", "(+ 1 (* 2 3))"),
    ("1*2+3", "(+ (* 1 2) 3)"),
    ("-3^2", "(- (^ 3 2))"),
    ("2^3^2", "(^ 2 (^ 3 2))"),
    ("2^-1", "(^ 2 (- 1))"),
    ("2^-3^2", "(^ 2 (- (^ 3 2)))"),
    ("1/2/4", "(/ (/ 1 2) 4)"),
    ("1-2-3", "(- (- 1 2) 3)"),
    ("2w + 3b", "(+ (*. 2 w) (*. 3 b))"),
    ("2(b+1)", "(*. 2 (+ b 1))"),
    ("2 sin(x)", "(*. 2 (sin x))"),
    ("3pi", "(*. 3 pi)"),
    ("1/2w", "(*. (/ 1 2) w)"),
    ("2w^2", "(*. 2 (^ w 2))"),
    ("-2w", "(*. (- 2) w)"),
    ("2exp(x)", "(*. 2 (exp x))"),
    ("2eta", "(*. 2 eta)"),
    ("2e3x", "(*. 2000 x)"),
    ("a**b", "(^ a b)"),
    ("a**b**c", "(^ a (^ b c))"),
    ("--x", "(- (- x))"),
    ("+x", "(+ x)"),
    ("x - -y", "(- x (- y))"),
    ("((x))", "x"),
    ("x = 2*w + b; y = b + 1; z = x*y", "(= x (+ (* 2 w) b)) ; (= y (+ b 1)) ; (= z (* x y))"),
    ("log(x, 2)", "(log x 2)"),
    ("pow(x, y) + min(a, b)", "(+ (pow x y) (min a b))"),
    ("pi*e", "(* pi e)"),
    ("θ^2", "(^ θ 2)"),
    ("η*λ + x_1", "(+ (* η λ) x_1)"),
    (".5 + 0.5 + 5. + 1e-3 + 2E+5", "(+ (+ (+ (+ 0.5 0.5) 5) 0.001) 200000)"),
    ("\ufeffx + 1", "(+ x 1)"),
    ("a = 1\r\nb = a\r\n", "(= a 1) ; (= b a)"),
    (";;\n a = 1;;\n\n a*2 ;\n", "(= a 1) ; (* a 2)"),
    ("a = 1; b = 2", "(= a 1) ; (= b 2)"),
]


@pytest.mark.parametrize("text, expected", GOLDEN)
def test_golden(text, expected):
    assert sx(text) == expected


def test_power_binds_tighter_than_unary_minus_and_implicit_flag():
    tree = parse("-3^2").statements[0]
    assert isinstance(tree, Unary) and tree.op == "-"
    product = parse("2w").statements[0]
    assert isinstance(product, Binary) and product.implicit and product.op == "*"
    assert not parse("2*w").statements[0].implicit


def test_number_values_are_floats():
    assert parse("3").statements[0].value == 3.0
    assert isinstance(parse("3").statements[0].value, float)
    assert parse("1e-3").statements[0].value == 1e-3


def test_spans_are_subexpressions():
    src = "(a+b)*c + -sin(x)^2"
    program = parse(src)
    top = program.statements[0]
    assert src[top.span.start : top.span.end] == src
    left = top.left  # (a+b)*c includes the parentheses
    assert src[left.span.start : left.span.end] == "(a+b)*c"
    assert src[left.left.span.start : left.left.span.end] == "a+b"  # no Paren node
    neg = top.right
    assert src[neg.span.start : neg.span.end] == "-sin(x)^2"
    call = neg.operand.left
    assert src[call.span.start : call.span.end] == "sin(x)"
    assert src[call.name_span.start : call.name_span.end] == "sin"


def test_assign_spans_and_bom_stripped():
    program = parse("\ufeffy = 2*x")
    stmt = program.statements[0]
    assert program.source == "y = 2*x"
    assert stmt.target_span == Span(0, 1) and stmt.span == Span(0, 7)


# --------------------------------------------------------------------------- errors

# (source, message, caret line 1, caret line 2) -- the two lines err.caret_lines() draws.
ERRORS = [
    # number literals
    ("2j", "invalid number literal '2j': complex numbers are not supported", "2j", "^^"),
    ("3 + 2J", "invalid number literal '2J': complex numbers are not supported", "3 + 2J", "    ^^"),
    ("0x1F", "invalid number literal '0x1F': hexadecimal literals are not supported", "0x1F", "^^^^"),
    ("0b101", "invalid number literal '0b101': binary literals are not supported", "0b101", "^^^^^"),
    ("0o7", "invalid number literal '0o7': octal literals are not supported", "0o7", "^^^"),
    ("1e", "invalid number literal '1e': a bare exponent; did you mean 1*e?", "1e", "^^"),
    ("2e + 1", "invalid number literal '2e': a bare exponent; did you mean 2*e?", "2e + 1", "^^"),
    ("x*2E", "invalid number literal '2E': a bare exponent; did you mean 2*E?", "x*2E", "  ^^"),
    ("2e+", "invalid number literal '2e+': a bare exponent; did you mean 2*e?", "2e+", "^^^"),
    ("1.2.3", "invalid number literal '1.2.3': a number has at most one '.'", "1.2.3", "^^^^^"),
    ("1_000", "invalid number literal '1_000': '_' digit separators are not supported",
     "1_000", "^^^^^"),
    ("9" * 400, "number too large for float64", None, None),
    ("1e999", "number too large for float64", "1e999", "^^^^^"),
    # names and functions
    ("sine(x)", "unknown function 'sine'; did you mean 'sin'?", "sine(x)", "^^^^"),
    ("Sin(x)", "unknown function 'Sin'; did you mean 'sin'?", "Sin(x)", "^^^"),
    ("1 + f(x)", "unknown function 'f'", "1 + f(x)", "    ^"),
    ("pi(2)", "'pi' is a constant, not a function", "pi(2)", "^^"),
    ("sin + 1", "sin is a function; call it as sin(...)", "sin + 1", "^^^"),
    ("pow(x)", "pow takes 2 arguments, got 1", "pow(x)", "^^^^^^"),
    ("log(x, 2, 3)", "log takes 1 or 2 arguments, got 3", "log(x, 2, 3)", "^^^^^^^^^^^^"),
    ("sin()", "sin takes 1 argument, got 0", "sin()", "^^^^^"),
    ("log(x,)", "empty argument in the call to log", "log(x,)", "      ^"),
    ("log(,x)", "empty argument in the call to log", "log(,x)", "    ^"),
    ("log(x=1)", "keyword arguments are not supported", "log(x=1)", "    ^^"),
    ("max(*a)", "starred arguments are not supported", "max(*a)", "    ^"),
    ("lambda", "'lambda' is a reserved word", "lambda", "^^^^^^"),
    ("x + True", "'True' is a reserved word", "x + True", "    ^^^^"),
    ("None", "'None' is a reserved word", "None", "^^^^"),
    ("nan", "'nan' is not a number you can write; non-finite values are not allowed", "nan", "^^^"),
    ("2*Inf", "'Inf' is not a number you can write; non-finite values are not allowed",
     "2*Inf", "  ^^^"),
    ("__import__", "names starting with '__' are not allowed", "__import__", "^^^^^^^^^^"),
    # characters
    ("x $ 2", "unexpected character '$'", "x $ 2", "  ^"),
    ("x + 'a'", "string literals are not supported", "x + 'a'", "    ^"),
    ('"a"', "string literals are not supported", '"a"', "^"),
    ("x.y", "attribute access is not supported", "x.y", " ^"),
    ("a[0]", "unexpected character '['", "a[0]", " ^"),
    ("x == 1", "'==' is not supported; comparisons are not part of the language", "x == 1", "  ^^"),
    ("(x := 1)", "':=' is not supported", "(x := 1)", "   ^^"),
    ("x // 2", "'//' is not supported", "x // 2", "  ^^"),
    ("xх", "Cyrillic letter 'х' looks like Latin 'x'", "xх", " ^"),
    ("2 + ｘ", "fullwidth/compatibility character 'ｘ' (U+FF58); did you mean 'x'?", "2 + ｘ", "    ^"),
    ("µ*2", "micro sign 'µ' (U+00B5); did you mean the Greek letter 'μ' (U+03BC)?", "µ*2", "^"),
    ("x²", "superscript '²' (U+00B2); did you mean '^2'?", "x²", " ^"),
    ("x − 1", "'−' (U+2212 MINUS SIGN) is not ASCII; did you mean '-'?", "x − 1", "  ^"),
    ("x – 1", "'–' (U+2013 EN DASH) is not ASCII; did you mean '-'?", "x – 1", "  ^"),
    ("2×x", "'×' (U+00D7 MULTIPLICATION SIGN) is not ASCII; did you mean '*'?", "2×x", " ^"),
    ("2÷x", "'÷' (U+00F7 DIVISION SIGN) is not ASCII; did you mean '/'?", "2÷x", " ^"),
    ("x\u200b+1", "invisible character U+200B (ZERO WIDTH SPACE)", "x?+1", " ^"),
    ("x\u202e+1", "invisible character U+202E (RIGHT-TO-LEFT OVERRIDE)", "x?+1", " ^"),
    ("x+\ufeff1", "invisible character U+FEFF (ZERO WIDTH NO-BREAK SPACE)", "x+?1", "  ^"),
    ("x\a", "control character U+0007", "x?", " ^"),
    ("x\x00", "control character U+0000", "x?", " ^"),
    ("٣", "non-ASCII digit '٣' (U+0663 ARABIC-INDIC DIGIT THREE); did you mean '3'?", "٣", "^"),
    ("日", "letters of the CJK script are not allowed in names ('日', U+65E5)", "日", "^"),
    ("é", "non-ASCII letter 'é' (U+00E9) is not allowed in names", "é", "^"),
    ("x\u00a0+ 1",
     "unusual space character U+00A0 (NO-BREAK SPACE); use an ordinary space or newline",
     "x\u00a0+ 1", " ^"),
    ("ϑ", "fullwidth/compatibility character 'ϑ' (U+03D1); did you mean 'θ'?", "ϑ", "^"),
    ("x¨", "fullwidth/compatibility character '¨' (U+00A8 DIAERESIS) is not allowed", "x¨", " ^"),
    ("xʹ", "modifier letter 'ʹ' (U+02B9 MODIFIER LETTER PRIME) is not allowed in names",
     "xʹ", " ^"),
    ("e\u0301", "combining mark U+0301 (COMBINING ACUTE ACCENT) is not allowed",
     "e\u0301", " ^"),
    ("x\u200f+1", "invisible character U+200F (RIGHT-TO-LEFT MARK)", "x?+1", " ^"),
    # structure
    ("2*(3+", "unexpected end of input: expected an expression after '+'", "2*(3+", "     ^"),
    ("x =", "unexpected end of input: expected an expression after '='", "x =", "   ^"),
    ("2*(3", "unclosed '(': expected ')' before the end of input", "2*(3", "  ^"),
    ("sin(x", "unclosed '(' of the call to sin: expected ')' before the end of input",
     "sin(x", "   ^"),
    ("x)", "unmatched ')'", "x)", " ^"),
    (")", "unmatched ')'", ")", "^"),
    ("()", "empty parentheses '()'", "()", "^^"),
    ("(1;2)", "expected ')' to close the '(' at column 1, found ';'", "(1;2)", "  ^"),
    ("(1, 2)", "expected ')' to close the '(' at column 1, found ','", "(1, 2)", "  ^"),
    ("1, 2", "unexpected ','", "1, 2", " ^"),
    ("2 3", "missing operator between '2' and '3'", "2 3", "  ^"),
    ("a b", "missing operator between 'a' and 'b'", "a b", "  ^"),
    ("(a)(b)", "missing operator between ')' and '('", "(a)(b)", "   ^"),
    ("2(a)(b)", "missing operator between ')' and '('", "2(a)(b)", "    ^"),
    ("(a 2)", "missing operator between 'a' and '2'", "(a 2)", "   ^"),
    ("x * / y", "expected an expression after '*', found '/'", "x * / y", "    ^"),
    ("*x", "expected an expression, found '*'", "*x", "^"),
    ("", "empty expression", "", "^"),
    (" \n ;\t", "empty expression", " ; ", "   ^"),  # end of input, on the last line
    # statements
    ("a = b = c", "a statement can assign only one name; '=' appears twice", "a = b = c", "      ^"),
    ("2 = x", "cannot assign to '2': the left side of '=' must be a name", "2 = x", "^"),
    ("x + 1 = 3", "cannot assign to 'x + 1': the left side of '=' must be a name",
     "x + 1 = 3", "^^^^^"),
    ("(x) = 3", "cannot assign to '(x)': the left side of '=' must be a name", "(x) = 3", "^^^"),
    ("= 3", "expected an expression, found '='", "= 3", "^"),
    ("sin = 1", "cannot assign to 'sin': it is a built-in function", "sin = 1", "^^^"),
    ("pi = 3", "cannot assign to 'pi': it is a built-in constant", "pi = 3", "^^"),
    ("e = 1", "cannot assign to 'e': it is a built-in constant", "e = 1", "^"),
    ("x = 1; x = 2", "'x' is assigned twice; it was first assigned on line 1", "x = 1; x = 2", "       ^"),
    # statements may come in any order (they are sorted); a cycle is refused at its first
    # assignment (with a name assigned twice, the statement order is the rule as before:
    # tests/lang/test_statement_order.py)
    ("a = b + 1; b = a*2", "'a' and 'b' are defined in terms of each other (a cycle): a uses b, b uses a",
     "a = b + 1; b = a*2", "^^^^^^^^^"),
    ("x = x + 1", "'x' is used before it is assigned; its assignment is on line 1", "x = x + 1", "    ^"),
    ("x+1; y = 2", "only the last statement can be a bare expression; did you mean 'name = ...'?",
     "x+1; y = 2", "^^^"),
    ("log(x = 1)", "keyword arguments are not supported", "log(x = 1)", "    ^^^"),
    ("(x = 1)", "'=' is not allowed inside parentheses; assignments are statements",
     "(x = 1)", "   ^"),
]  # fmt: skip


@pytest.mark.parametrize("text, message, line, caret", ERRORS)
def test_error_message_and_caret(text, message, line, caret):
    err = fail(text)
    assert err.message == message
    assert err.source == text.removeprefix("\ufeff")
    assert 0 <= err.span.start <= err.span.end <= len(err.source)
    if line is not None:
        assert err.caret_lines() == [line, caret]


def test_rendered_bare_exponent_with_hint():
    assert fail("2e + 1").render() == (
        "error: invalid number literal '2e': a bare exponent; did you mean 2*e?\n"
        "  2e + 1\n"
        "  ^^\n"
        "hint: an exponent needs digits, as in 2e3; for 2 times the constant e write 2*e"
    )


def test_rendered_end_of_input_caret_one_past_the_end():
    err = fail("2*(3+")
    assert err.span == Span(5, 5)
    assert err.render() == (
        "error: unexpected end of input: expected an expression after '+'\n"
        "  2*(3+\n"
        "       ^\n"
        "hint: the '(' at column 3 is still open"
    )


def test_rendered_multiline_use_before_assign_when_a_name_is_assigned_twice():
    # with every name assigned once it is a valid program, sorted ...
    assert [s.target for s in parse("y = 2*x\nx = 1").statements] == ["x", "y"]
    # ... and with a name assigned twice, the statement order is the rule as before
    err = fail("y = 2*x\nx = 1\nx = 2")
    assert err.render() == (
        "error: 'x' is used before it is assigned; its assignment is on line 2 (line 1, column 7)\n"
        "  y = 2*x\n"
        "        ^\n"
        "hint: move 'x = ...' before its first use"
    )


def test_rendered_multiline_cycle():
    err = fail("q = 1\na = b + 1\nb = a*2")
    assert err.render() == (
        "error: 'a' and 'b' are defined in terms of each other (a cycle): a uses b, b uses a "
        "(line 2, column 1)\n"
        "  a = b + 1\n"
        "  ^^^^^^^^^\n"
        "hint: a name must be computable from the inputs and the other names without itself"
    )


def test_rendered_double_assignment_on_second_line():
    err = fail("a = 1\nb = a\na = 2")
    assert err.message == "'a' is assigned twice; it was first assigned on line 1"
    assert err.location() == (3, 1)
    assert err.caret_lines() == ["a = 2", "^"]


def test_bom_is_stripped_before_spans():
    err = fail("\ufeffx $ 2")
    assert err.source == "x $ 2" and err.span == Span(2, 3)


def test_newline_inside_parentheses_is_a_separator():
    err = fail("(1 +\n 2)")
    assert err.message == "expected an expression after '+', found a line break"


# --------------------------------------------------------------------------- hostile input

HOSTILE = [
    "__import__('os').system('ls')",
    "().__class__.__bases__[0]",
    "(1).__class__",
    "x.__class__",
    "lambda: 1",
    "[x for x in y]",
    "{x: 1}",
    'f"{x}"',
    "(x := 1)",
    "f(*a)",
    "f(x=1)",
    "f(**k)",
    "x; import os",
    'exec("1")',
    "eval('1')",
    "1 if x else 2",
    "x and y",
    "not x",
    "x @ y",
    "x % 2",
    "x << 1",
    "a[1:2]",
    "print(1)",
    "open('/etc/passwd').read()",
    "__builtins__",
    "globals()",
    "x\\\n+1",
    "#comment",
    "x; y",
    "2x x",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_payloads_end_in_parse_error(text):
    with pytest.raises((ParseError, LimitError)) as info:
        parse(text)
    err = info.value
    assert err.source == text and 0 <= err.span.start <= err.span.end <= len(text)
    assert err.caret_lines()[1].strip().startswith("^")


def test_power_tower_parses_without_evaluating():
    # Parsing never evaluates: 9**9**9**9**9 is just a tree.
    assert sx("9**9**9") == "(^ 9 (^ 9 9))"


# --------------------------------------------------------------------------- limits


def test_depth_256_parses_and_257_fails():
    assert sx("(" * 256 + "1" + ")" * 256) == "1"
    err = fail("(" * 257 + "1" + ")" * 257, LimitError)
    assert err.span == Span(256, 257)
    assert "nests deeper than 256 levels" in err.message
    assert sx("-" * 256 + "x").count("(-") == 256
    fail("-" * 257 + "x", LimitError)
    fail("sin(" * 257 + "x" + ")" * 257, LimitError)
    fail("^".join(["x"] * 258), LimitError)
    parse("^".join(["x"] * 257))


def test_deep_nesting_fails_fast():
    for text in ("(" * 100_000 + "1" + ")" * 100_000, "-" * 10_000 + "1", "2^-" * 10_000 + "1"):
        err = fail(text, LimitError)
        assert "nests deeper than 256 levels" in err.message
        assert err.span.end <= 2 * 256 + 3


def test_recursion_limit_is_restored():
    import sys

    before = sys.getrecursionlimit()
    parse("(" * 256 + "1" + ")" * 256)
    fail("(" * 300, LimitError)
    assert sys.getrecursionlimit() == before


def test_long_literal():
    long = "1." + "0" * 500 + "1"
    err = fail(long, LimitError)
    assert err.message == f"number literal is {len(long)} characters long; the limit is 400"
    assert err.span == Span(0, len(long))
    parse("1." + "0" * 397)  # exactly 400 characters


def test_huge_literal_overflows():
    err = fail("9" * 5000)
    assert err.message == "number too large for float64"
    fail("x + " + "9" * 400)


def test_too_long_source():
    err = fail("x" * 1_200_000, LimitError)
    assert err.message == "expression is 1200000 characters long; the limit is 1000000"
    assert err.span.start == 1_000_000
    assert len("".join(err.caret_lines())) < 400  # the caret window stays small


def test_node_limit():
    err = fail("x+" * 100_001 + "x", LimitError)
    assert err.message == "expression has more than 200000 syntax nodes; the limit is 200000"


def test_node_limit_is_read_at_call_time(monkeypatch):
    monkeypatch.setattr(limits, "MAX_NODES", 5)
    parse("a+b+c")  # 5 nodes
    fail("a+b+c+d", LimitError)


def test_statement_limit(monkeypatch):
    monkeypatch.setattr(limits, "MAX_STATEMENTS", 3)
    parse("a = 1; b = 2; c = a*b")
    err = fail("a = 1; b = 2; c = 3; d = 4", LimitError)
    assert err.message == "program has more than 3 statements; the limit is 3"
    assert err.span == Span(21, 22)


# --------------------------------------------------------------------------- big inputs


def test_5000_term_sum():
    program = parse("+".join(["x"] * 5000))
    assert sum(1 for n in nodes(program) if isinstance(n, Name)) == 5000


def test_10000_operation_chain():
    parts = ["*1.0001", "+0.5*x", "-x/3", "-0.25"]
    text = "x" + "".join(parts[i % 4] for i in range(10_000))
    program = parse(text)
    top = program.statements[0]
    assert top.span == Span(0, len(text))


def test_2000_statement_program():
    lines = ["v0 = x"] + [f"v{i} = v{i - 1}*1.5 + w" for i in range(1, 2000)] + ["v1999"]
    program = parse("\n".join(lines))
    assert len(program.statements) == 2001


# --------------------------------------------------------------------------- properties


def _check_error(text: str) -> None:
    try:
        program = parse(text)
    except (ParseError, LimitError) as err:
        src = text.removeprefix("\ufeff")
        assert err.source == src
        assert err.span is not None and 0 <= err.span.start <= err.span.end <= len(src)
        err.render()
        err.to_json()
    else:
        for node in nodes(program):
            assert 0 <= node.span.start < node.span.end <= len(program.source)


@FAST
@given(st.text(max_size=60))
def test_random_text_never_crashes(text):
    _check_error(text)


@FAST
@given(st.text(alphabet="0123456789.eEjx_+-*/^(),;=\n pi", max_size=40))
def test_random_ascii_soup_never_crashes(text):
    _check_error(text)


TOKENS = [
    "x", "y", "θ", "pi", "e", "sin", "log", "pow", "f", "2", "0.5", ".5", "1e3", "2e", "0x", "2j",
    "+", "-", "*", "/", "^", "**", "(", ")", ",", "=", ";", "\n", " ", "'", ".", "[", ":=", "==",
    "lambda", "nan", "__x", "х", "ｘ", "\u200b", "−", "²", "\ufeff",
]  # fmt: skip


@FAST
@given(st.lists(st.sampled_from(TOKENS), max_size=25), st.sampled_from(["", " "]))
def test_token_soup_never_crashes(tokens, joiner):
    _check_error(joiner.join(tokens))


LEAVES = ["x", "y", "w", "θ", "pi", "e", "2", "0.5", ".5", "1e-3", "3"]


def _expressions():
    def grow(children):
        binop = st.sampled_from(["+", "-", "*", "/", "^", "**"])
        return st.one_of(
            st.tuples(children, binop, children).map(lambda t: f"({t[0]}){t[1]}({t[2]})"),
            st.tuples(children, binop, children).map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
            st.tuples(st.sampled_from(["-", "+"]), children).map(lambda t: f"{t[0]}{t[1]}"),
            st.tuples(st.sampled_from(["sin", "exp", "sqrt"]), children).map(
                lambda t: f"{t[0]}({t[1]})"
            ),
            st.tuples(st.sampled_from(["log", "pow", "min", "max"]), children, children).map(
                lambda t: f"{t[0]}({t[1]}, {t[2]})"
            ),
            st.tuples(st.sampled_from(["2", "3.5"]), children).map(lambda t: f"{t[0]}({t[1]})"),
        )

    return st.recursive(st.sampled_from(LEAVES), grow, max_leaves=20)


def _same_shape(a, b) -> bool:
    return sexpr(a) == sexpr(b)


@FAST
@given(_expressions())
def test_generated_expressions_parse_and_spans_reparse(text):
    program = parse(text)
    source = program.source
    for node in nodes(program):
        piece = source[node.span.start : node.span.end]
        # Each node's span is its own subexpression: re-parsing it gives the same tree.
        assert _same_shape(parse(piece).statements[0], node), (piece, sexpr(node))


@FAST
@given(st.lists(_expressions(), min_size=1, max_size=4))
def test_generated_programs_parse(exprs):
    lines = [f"v{i} = {e}" for i, e in enumerate(exprs)]
    program = parse("\n".join(lines) + "\nv0")
    assert len(program.statements) == len(exprs) + 1

# -- the one precedence table (parser.PRECEDENCE) and the careful grammar read from it ----
# The goldens above hold the table's meaning; here: the careful parser really reads its
# levels from the table, and a table the recursive-descent grammar cannot follow is
# refused. (The quick parser reads the same table: tests/accel/test_quick_parser.py.)


def parsed(text: str, table=parser.PRECEDENCE) -> str:
    """The S-expression of *text*'s one statement, parsed with the grammar of *table*."""
    reader = parser._Parser(prepare_source(text), parser.grammar(table))
    (statement,) = reader.program().statements
    return sexpr(statement)


def test_the_table_is_tightest_first():
    assert [assoc for _, assoc in parser.PRECEDENCE] == ["right", "prefix", "left", "left"]
    assert parser.IMPLICIT in parser.PRECEDENCE[2][0]
    levels = parser.grammar()
    assert levels.power == ("^",) and levels.signs == ("+", "-")
    assert levels.chains == (("+", "-"), ("*", "/"))  # loosest first


@pytest.mark.parametrize(
    "text, default, swapped",
    [
        ("1+2*3", "(+ 1 (* 2 3))", "(* (+ 1 2) 3)"),
        ("a*b-c", "(- (* a b) c)", "(* a (- b c))"),
        ("2w+1", "(+ (*. 2 w) 1)", "(*. 2 (+ w 1))"),
        ("-a^2*b", "(* (- (^ a 2)) b)", "(* (- (^ a 2)) b)"),
    ],
)
def test_the_careful_parser_reads_its_levels_from_the_table(text, default, swapped):
    """Swap the two left rows ('+' tighter than '*') and the careful parse follows."""
    table = (parser.PRECEDENCE[0], parser.PRECEDENCE[1], parser.PRECEDENCE[3], parser.PRECEDENCE[2])
    assert parsed(text) == default
    assert parsed(text, table) == swapped


def test_a_second_power_operator_keeps_its_own_symbol():
    """The right-associative row may hold several operators; each Binary keeps the one
    written before its right operand."""
    table = ((("^", "/"), "right"),) + parser.PRECEDENCE[1:]
    assert parsed("a^b/-c^d", table) == "(^ a (/ b (- (^ c d))))"
    reader = parser._Parser("2^-3", parser.grammar(table))
    (tree,) = reader.program().statements
    assert isinstance(tree, Binary) and isinstance(tree.right, Unary)
    assert isinstance(tree.right.operand, Num)


@pytest.mark.parametrize(
    "table",
    [
        parser.PRECEDENCE[1:],  # no right-associative row
        parser.PRECEDENCE[:2],  # no left-associative row
        (parser.PRECEDENCE[1], parser.PRECEDENCE[0]) + parser.PRECEDENCE[2:],  # signs first
        parser.PRECEDENCE[:3] + ((("+", "-"), "right"),),  # a right row below the signs
    ],
)
def test_a_table_the_grammar_cannot_follow_is_refused(table):
    with pytest.raises(ValueError, match="'right', 'prefix', then 'left' rows"):
        parser.grammar(table)
