"""Hostile input, by category (issue 7). Every case asserts the outcome (exit code and JSON
status), the substance of the message, and a wall-time bound; nothing is ever executed.

Categories: code injection and sandbox escapes · resource exhaustion (and the real work the
limits must admit) · unicode tricks · escaping of echoed text · numeric edges · option values.
"""

from __future__ import annotations

import builtins
import json
import math
import time

import pytest
from typer.testing import CliRunner

from backprop_cli import limits
from backprop_cli.cli import app
from tests.oracles import strict_json as strict

ENV = {"COLUMNS": "120", "NO_COLOR": "1"}
BOUND = 2.0  # seconds per case: generous for a loaded 2-core machine


def invoke(argv, input=None, bound=BOUND):
    t0 = time.perf_counter()
    result = CliRunner().invoke(app, argv, env=ENV, input=input)
    elapsed = time.perf_counter() - t0
    assert elapsed < bound, f"{argv[:3]} took {elapsed:.2f}s (bound {bound}s)"
    out = result.stdout + result.stderr
    assert "Traceback" not in out
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def grad_json(expr: str, *extra, input=None, bound=BOUND):
    """`backprop grad --json ... -- EXPR` -> (exit code, document, stderr)."""
    r = invoke(["grad", "--json", "--quiet", *extra, "--", expr], input=input, bound=bound)
    return r.exit_code, strict(r.stdout), r.stderr


# == code injection and sandbox escapes =========================================================

INJECTION = [
    # (payload, message substance) — all refused by the lexer/parser, exit 2
    ("__import__('os').system('id')", "names starting with '__' are not allowed"),
    ("__builtins__", "names starting with '__' are not allowed"),
    ("__class__", "names starting with '__' are not allowed"),
    ("x.__class__.__bases__", "attribute access is not supported"),
    ("().__class__.__bases__[0].__subclasses__()", "empty parentheses '()'"),
    ("sin.__globals__", "attribute access is not supported"),
    ("x.real", "attribute access is not supported"),
    ("sympy.sin(x)", "attribute access is not supported"),
    ("x[0]", "unexpected character '['"),
    ("{1: 2}", "unexpected character '{'"),
    ("lambda: 1", "'lambda' is a reserved word"),
    ("(lambda x: x)(1)", "'lambda' is a reserved word"),
    ("[x for x in y]", "unexpected character '['"),
    ("sum(x for x in y)", "unknown function 'sum'"),
    ("f'{x}'", "string literals are not supported"),
    ("'abc'", "string literals are not supported"),
    ('"abc"', "string literals are not supported"),
    ("b'\\x00'", "string literals are not supported"),
    ("(y := 3)", "':=' is not supported"),
    ("sin(*x)", "starred arguments are not supported"),
    ("sin(**x)", "starred arguments are not supported"),
    ("pow(x=1, y=2)", "keyword arguments are not supported"),
    ("x; import os", "'import' is a reserved word"),
    ("import os", "'import' is a reserved word"),
    ("x = 1; exec('1')", "unknown function 'exec'"),
    ("eval('1')", "unknown function 'eval'"),
    ("open('/etc/passwd')", "unknown function 'open'"),
    ("getattr(x, 'y')", "unknown function 'getattr'"),
    ("globals()", "unknown function 'globals'"),
    ("x if y else z", "'if' is a reserved word"),
    ("x == y", "'==' is not supported"),
    ("not x", "'not' is a reserved word"),
    ("None", "'None' is a reserved word"),
    ("True + 1", "'True' is a reserved word"),
    ("x # comment", "unexpected character '#'"),
    ("x\\\ny", "unexpected character '\\'"),
    ("x @ y", "unexpected character '@'"),
    ("x % y", "unexpected character '%'"),
    ("x // y", "'//' is not supported"),
    ("sin = 3; sin", "cannot assign to 'sin': it is a built-in function"),
    ("pi = 3", "cannot assign to 'pi': it is a built-in constant"),
    ("nan", "non-finite values are not allowed"),
    ("Infinity * 0", "non-finite values are not allowed"),
]


class _Spy:
    """Records the text handed to eval/exec/compile while a payload is handled.

    Typer itself evaluates the commands' type annotations ('Optional[str]'); what must never
    happen is the user's text (or any part of it) reaching them.
    """

    def __init__(self, monkeypatch):
        self.sources: list[str] = []
        self.baseline: set[str] = set()
        for name in ("eval", "exec", "compile"):
            original = getattr(builtins, name)

            def spy(*args, _original=original, **kwargs):
                if args:
                    self.sources.append(args[0] if isinstance(args[0], str) else repr(args[0]))
                return _original(*args, **kwargs)

            monkeypatch.setattr(builtins, name, spy)

    def saw(self, payload: str) -> list[str]:
        pieces = {payload} | {
            p for p in payload.replace("(", " ").replace(")", " ").split() if len(p) > 3
        }
        fresh = [s for s in self.sources if s not in self.baseline]
        return [s for s in fresh if any(p in s for p in pieces)]


@pytest.mark.parametrize("payload, substance", INJECTION, ids=[p for p, _ in INJECTION])
def test_injection_refused_before_any_evaluation(payload, substance, monkeypatch):
    spy = _Spy(monkeypatch)
    grad_json("x", "--at", "x=1")  # what Typer evaluates on every run (its annotations)
    spy.baseline = set(spy.sources)
    code, doc, err = grad_json(payload)
    assert code == 2
    assert doc["status"] == "parse_error" and doc["schema"] == "backprop.grad/1"
    assert substance in doc["message"]
    assert err.startswith("error: ") and substance in err
    assert spy.saw(payload) == []  # user text never reaches eval/exec/compile


PWN = "/tmp/backprop_hostile_pwned"
FILE_PAYLOADS = [
    f"__import__('os').system('touch {PWN}')",
    f"open('{PWN}', 'w')",
    f"exec(\"open('{PWN}','w')\")",
    f"x; __import__('pathlib').Path('{PWN}').touch()",
    f"().__class__.__base__.__subclasses__()[0]('{PWN}')",
]


@pytest.mark.parametrize("payload", FILE_PAYLOADS)
@pytest.mark.parametrize(
    "where",
    ["expr", "stdin", "at-name", "at-value", "of", "solve", "descend", "check", "graph"],
)
def test_payloads_that_would_create_a_file_do_not(payload, where, tmp_path):
    import os

    if os.path.exists(PWN):
        os.remove(PWN)
    argv = {
        "expr": ["grad", "--", payload],  # --json goes in after the command name
        "stdin": ["grad", "-"],
        "at-name": ["grad", "x", "--at", f"{payload}=1"],
        "at-value": ["grad", "x", "--at", f"x={payload}"],
        "of": ["grad", "x = 1; y = x", "--of", payload],
        "solve": ["solve", "--target", "1", "--", payload],
        "descend": ["descend", "--", payload],
        "check": ["check", "--", payload],
        "graph": ["graph", "--", payload],
    }[where]
    argv = [argv[0], "--json", *argv[1:]]
    r = invoke(argv, input=payload if where == "stdin" else None)
    assert r.exit_code == 2
    assert strict(r.stdout)["status"] in ("parse_error", "input_error", "usage_error")
    assert not os.path.exists(PWN)


# == resource exhaustion, and the real work the limits admit ====================================


def test_tower_of_powers_is_an_overflow_not_a_hang():
    code, doc, err = grad_json("9^9^9^9")
    assert code == 1 and doc["status"] == "domain_error"
    assert "`9^9^9` overflows float64" in doc["message"]
    assert doc["error"]["span"] == [2, 7]  # the node is named and pointed at
    assert "  9^9^9^9\n    ^^^^^" in err


def test_tower_of_twos_overflows():
    code, doc, _ = grad_json("2^2^2^2^2")  # 2^65536
    assert code == 1 and "overflows float64" in doc["message"]


def test_huge_exponent_literal():
    code, doc, _ = grad_json("x^1e300", "--at", "x=10")
    assert code == 1 and "`x^1e300` overflows float64" in doc["message"]


def test_100000_nested_parentheses():
    code, doc, err = grad_json("(" * 100_000 + "x" + ")" * 100_000, "--at", "x=1")
    assert code == 2 and doc["status"] == "limit_exceeded"
    assert f"nests deeper than {limits.MAX_DEPTH} levels" in doc["message"]


def test_100000_nested_calls():
    code, doc, _ = grad_json("sin(" * 100_000 + "x" + ")" * 100_000, "--at", "x=1")
    assert code == 2 and f"nests deeper than {limits.MAX_DEPTH} levels" in doc["message"]


def test_10000_unary_minus_signs():
    code, doc, _ = grad_json("-" * 10_000 + "x", "--at", "x=1")
    assert code == 2 and doc["status"] == "limit_exceeded"
    assert "nests deeper than" in doc["message"] and "signs" in doc["message"]


def test_nesting_at_the_documented_depth_is_admitted():
    depth = 200  # issue 2: at least 200
    code, doc, _ = grad_json("(" * depth + "x^2" + ")" * depth, "--at", "x=3")
    assert code == 0 and doc["value"] == 9.0 and doc["gradient"] == {"x": 6.0}


def test_5000_digit_integer_literal_is_refused_as_too_large():
    code, doc, err = grad_json("9" * 5000 + " + x", "--at", "x=1")
    assert code == 2 and doc["status"] == "parse_error"
    assert doc["message"] == "number too large for float64"
    assert doc["error"]["span"] == [0, 5000]


def test_5000_digit_decimal_literal_is_over_the_literal_limit():
    code, doc, _ = grad_json("0." + "0" * 4997 + "1", "--at", "x=1")
    assert code == 2 and doc["status"] == "limit_exceeded"
    assert f"the limit is {limits.MAX_LITERAL_CHARS}" in doc["message"]


def test_300_digit_literal_becomes_a_float():
    code, doc, _ = grad_json("1" + "0" * 300 + " * x", "--at", "x=2")
    assert code == 0 and doc["value"] == 2e300


def test_10_mb_stdin_refused_quickly():
    data = b"x+" * 5_000_000
    r = invoke(["grad", "-", "--json"], input=data, bound=BOUND)
    assert r.exit_code == 2
    doc = strict(r.stdout)
    assert doc["status"] == "limit_exceeded"
    assert f"over the limit of {limits.MAX_STDIN_BYTES} bytes" in doc["message"]


def test_program_over_the_character_limit():
    text = "x" * (limits.MAX_SOURCE_CHARS + 1)
    code, doc, _ = grad_json(text)
    assert code == 2 and doc["status"] == "limit_exceeded"
    assert f"the limit is {limits.MAX_SOURCE_CHARS}" in doc["message"]


def test_program_over_the_node_limit():
    text = "+".join(["x"] * (limits.MAX_NODES // 2 + 10))
    r = invoke(["grad", "-", "--json"], input=text, bound=4.0)
    assert r.exit_code == 2
    doc = strict(r.stdout)
    assert (
        doc["status"] == "limit_exceeded"
        and f"more than {limits.MAX_NODES} syntax nodes" in doc["message"]
    )


def test_program_over_the_statement_limit():
    text = "\n".join(f"a{i} = 1" for i in range(limits.MAX_STATEMENTS + 1))
    r = invoke(["grad", "-", "--json"], input=text)
    assert r.exit_code == 2
    doc = strict(r.stdout)
    assert f"more than {limits.MAX_STATEMENTS} statements" in doc["message"]
    assert doc["error"]["line"] == limits.MAX_STATEMENTS + 1


def test_long_name_is_fine_and_echo_is_bounded():
    name = "v" * 100_000
    code, doc, _ = grad_json(f"{name}^2", "--at", f"{name}=3")
    assert code == 0 and doc["value"] == 9.0 and doc["gradient"] == {name: 6.0}
    r = invoke(["grad", "--", f"{name}^2 +"])
    assert r.exit_code == 2 and len(r.stderr) < 2_000  # the caret window is capped


# -- the limits admit real work (through the CLI, stdin included) --------------------------------


def test_5000_term_sum_admitted():
    text = " + ".join(f"x{i}" for i in range(5000))
    at = ",".join(f"x{i}={i}" for i in range(5000))
    code, doc, _ = grad_json(text, "--at", at, bound=6.0)
    assert code == 0
    assert doc["value"] == sum(range(5000))
    assert doc["gradient"] == {f"x{i}": 1.0 for i in range(5000)}


def test_10000_operation_chain_admitted_from_stdin():
    text = "x" + "*1.0001" * 10_000
    r = invoke(["grad", "-", "--at", "x=2", "--json"], input=text, bound=6.0)
    assert r.exit_code == 0, r.stderr
    doc = strict(r.stdout)
    expected = 2.0
    for _ in range(10_000):
        expected *= 1.0001
    assert doc["value"] == expected  # same left-to-right float64 products
    assert doc["gradient"]["x"] == pytest.approx(expected / 2, rel=1e-12)


def test_2000_statement_program_admitted_from_stdin():
    lines = ["a0 = x"] + [f"a{i} = a{i - 1} + 1" for i in range(1, 2000)]
    r = invoke(["grad", "-", "--at", "x=0.5", "--json"], input="\n".join(lines), bound=6.0)
    assert r.exit_code == 0, r.stderr
    doc = strict(r.stdout)
    assert doc["output"] == "a1999" and doc["value"] == 1999.5 and doc["gradient"] == {"x": 1.0}


def test_2000_statement_program_through_check_and_descend():
    lines = ["a0 = x"] + [f"a{i} = a{i - 1} + 0.001" for i in range(1, 2000)] + ["loss = a1999^2"]
    text = "\n".join(lines)
    r = invoke(["check", "-", "--at", "x=1", "--json"], input=text, bound=6.0)
    assert r.exit_code == 0, r.stderr
    r = invoke(
        ["descend", "-", "--x0", "1", "--eta", "0.1", "--max-iter", "5", "--json"],
        input=text,
        bound=6.0,
    )
    assert r.exit_code == 1  # five steps do not converge: max_iterations, an honest failure
    assert strict(r.stdout)["status"] == "max_iterations"


# == unicode tricks ==============================================================================

UNICODE = [
    ("х + 1", "Cyrillic letter 'х' looks like Latin 'x'"),
    ("x − 1", "'−' (U+2212 MINUS SIGN) is not ASCII; did you mean '-'?"),
    ("2 × x", "did you mean '*'?"),
    ("x ÷ 2", "did you mean '/'?"),
    ("１ + x", "fullwidth/compatibility character '１' (U+FF11); did you mean '1'?"),
    ("ｘ", "did you mean 'x'?"),
    ("x²", "superscript '²' (U+00B2); did you mean '^2'?"),
    ("x⁻¹", "superscript '⁻'"),
    ("x₁", "subscript '₁'"),
    ("٣ + x", "non-ASCII digit '٣' (U+0663 ARABIC-INDIC DIGIT THREE); did you mean '3'?"),
    ("µ*2", "did you mean the Greek letter 'μ' (U+03BC)?"),
    ("𝑥", "did you mean 'x'?"),
    ("ﬁ", "did you mean 'fi'?"),
    ("x\u200by", "invisible character U+200B (ZERO WIDTH SPACE)"),
    ("x\u202ey", "invisible character U+202E (RIGHT-TO-LEFT OVERRIDE)"),
    ("x\ufeff", "invisible character U+FEFF"),
    ("x\u00a0+ 1", "unusual space character U+00A0"),
    ("x\u2028y", "unusual space character U+2028"),
    ("x\x00", "control character U+0000"),
    ("\x1b[31mx", "control character U+001B"),
    ("x\x07", "control character U+0007"),
    ("e\u0301", "combining mark U+0301"),
    ("“x”", "string literals are not supported"),
    ("x\ud800", "unexpected character U+D800"),
]


@pytest.mark.parametrize("text, substance", UNICODE, ids=[repr(t) for t, _ in UNICODE])
def test_unicode_tricks_refused_with_a_pointed_message(text, substance):
    code, doc, err = grad_json(text)
    assert code == 2 and doc["status"] == "parse_error"
    assert substance in doc["message"]
    assert "\x1b" not in err and "\x00" not in err and "\x07" not in err
    assert "^" in err  # the caret line


def test_leading_bom_is_stripped():
    code, doc, _ = grad_json("\ufeffx^2 + 1", "--at", "x=2")
    assert code == 0 and doc["value"] == 5.0 and doc["gradient"] == {"x": 4.0}
    r = invoke(["grad", "-", "--at", "x=2", "--json"], input=b"\xef\xbb\xbfx^2 + 1")
    assert r.exit_code == 0 and strict(r.stdout)["value"] == 5.0


def test_greek_names_are_welcome():
    code, doc, _ = grad_json("θ^2 + η*λ", "--at", "θ=3,η=2,λ=0.5")
    assert code == 0 and doc["value"] == 10.0
    assert doc["gradient"] == {"θ": 6.0, "η": 0.5, "λ": 2.0}


# == echoed user text is escaped =================================================================


@pytest.mark.parametrize(
    "argv, literal",
    [
        (
            ["grad", "x", "--at", "[bold]x[/bold]=1"],
            "--at [bold]x[/bold]: '[bold]x[/bold]' is not a variable",
        ),
        (["grad", "x", "--at", "x=[/]"], "--at x: '[/]' is not a number"),
        (["grad", "x", "--of", "[red]y[/red]"], "[red]y[/red]"),
        (["graph", "x", "--format", "[b]png"], "--format '[b]png'"),
    ],
)
@pytest.mark.parametrize("force_color", ["", "1"])
def test_rich_markup_in_user_text_prints_literally(argv, literal, force_color):
    r = CliRunner().invoke(app, argv, env={**ENV, "NO_COLOR": "", "FORCE_COLOR": force_color})
    assert r.exit_code == 2
    assert literal in r.stderr


@pytest.mark.parametrize(
    "argv",
    [
        ["grad", "x", "--at", "\x1b[2J\x1b]0;pwned\x07=1"],
        ["grad", "x", "--at", "x=\x1b[31m1"],
        ["grad", "x", "--of", "\x1b[31my"],
        ["grad", "x\x1b[31m"],
        ["grad", "x", "--\x1b[31m"],
        ["solve", "x", "--target", "\x1b[31m1"],
        ["descend", "x^2", "--eta", "\x1b[31m1"],
        ["graph", "x", "--format", "\x1b[31m"],
        ["grad\x1b[31m"],
    ],
)
def test_terminal_control_sequences_never_reach_the_terminal(argv):
    r = invoke(argv)
    assert r.exit_code == 2
    assert "\x1b" not in r.stdout + r.stderr and "\x07" not in r.stderr
    assert "\\x1b" in r.stderr or "U+001B" in r.stderr


def test_markup_in_a_valid_program_table():
    # names cannot hold brackets, but table cells are escaped anyway: the subexpression text
    r = invoke(["grad", "max(x, 2)*min(x,3)", "--at", "x=1"])
    assert r.exit_code == 0 and "max(x, 2)" in r.stdout


# == numeric edges ===============================================================================


def test_exp_709_is_fine_exp_710_overflows():
    code, doc, _ = grad_json("exp(x)", "--at", "x=709")
    assert code == 0 and doc["value"] == math.exp(709) and doc["gradient"]["x"] == math.exp(709)
    code, doc, err = grad_json("exp(x)", "--at", "x=710")
    assert code == 1 and doc["status"] == "domain_error"
    assert doc["message"] == "`exp(x)` overflows float64 (|value| > 1.8e308) with `x` = 710"
    assert doc["error"]["node"] == 1


def test_zero_to_the_zero_is_one():
    code, doc, _ = grad_json("0^0")
    assert code == 0 and doc["value"] == 1.0
    code, doc, _ = grad_json("x^0", "--at", "x=0")
    assert code == 0 and doc["value"] == 1.0 and doc["gradient"] == {"x": 0.0}


def test_cube_root_of_a_negative_is_a_domain_error():
    code, doc, err = grad_json("(-8)^(1/3)")
    assert code == 1 and doc["status"] == "domain_error"
    assert "a negative base to a non-integer power is not a real number" in doc["message"]
    assert "`-8` = -8" in doc["message"]


def test_log_of_zero():
    code, doc, err = grad_json("log(x)", "--at", "x=0")
    assert code == 1 and doc["message"] == "log needs a positive argument: `x` = 0"
    assert "  log(x)\n  ^^^^^^" in err


def test_nan_reaching_a_gradient():
    # values stay finite (0), but the adjoint of x*0 is 1e300*1e300 = inf and inf*0 = NaN
    for mode in ("reverse", "forward"):
        code, doc, _ = grad_json("(x*0)*1e300*1e300", "--at", "x=1", "--mode", mode)
        assert code == 1 and doc["status"] == "domain_error"
        assert "the partial of the output with respect to 'x' is not finite" in doc["message"]
        assert "NaN" not in json.dumps(doc) and "Infinity" not in json.dumps(doc)


@pytest.mark.parametrize(
    "expr, at, substance",
    [
        ("1/x", "x=0", "division by zero"),
        ("sqrt(x)", "x=-1", "sqrt"),
        ("sqrt(x)", "x=0", "infinite slope"),
        ("asin(x)", "x=2", "asin"),
        ("x*x", "x=1e200", "overflows"),
        ("log(x, 1)", "x=2", "base"),
    ],
)
def test_other_domain_errors_exit_1(expr, at, substance):
    code, doc, _ = grad_json(expr, "--at", at)
    assert code == 1 and doc["status"] == "domain_error" and substance in doc["message"]


def test_tiny_literal_underflows_to_zero():
    code, doc, _ = grad_json("1e-400 + x", "--at", "x=1")
    assert code == 0 and doc["nodes"][0]["value"] == 0.0


@pytest.mark.parametrize("command", ["solve", "descend"])
def test_overflow_mid_run_still_one_strict_document(command):
    argv = {
        "solve": ["solve", "exp(x)", "--at", "x=700", "--target", "1e308", "--vary", "x"],
        "descend": ["descend", "exp(x)", "--x0", "700", "--eta", "1"],
    }[command]
    r = invoke(argv + ["--json"])
    assert r.exit_code in (0, 1)
    doc = strict(r.stdout)
    assert doc["schema"] == f"backprop.{command}/1"


# == option values ===============================================================================

OPTIONS = [
    (["grad", "x", "--at", "x"], "expected NAME=VALUE"),
    (["grad", "x", "--at", "x="], "the value after '=' is missing"),
    (["grad", "x", "--at", "=1"], "the name before '=' is missing"),
    (["grad", "x", "--at", "x=abc"], "'abc' is not a number"),
    (["grad", "x", "--at", "x=nan"], "'nan' is not a finite number"),
    (["grad", "x", "--at", "x=inf"], "'inf' is not a finite number"),
    (["grad", "x", "--at", "x=-Infinity"], "is not a finite number"),
    (["grad", "x", "--at", "x=1e999"], "is not a finite number"),
    (["grad", "x", "--at", "x=1_0"], "'1_0' is not a number"),
    (["grad", "x", "--at", "x=١"], "is not a number"),
    (["grad", "x", "--at", "x=1,x=2"], "'x' is given twice"),
    (["grad", "x", "--at", "y=1"], "'y' is not a variable of the program"),
    (["grad", "x", "--nudge", "0"], "--nudge must not be 0"),
    (["grad", "x", "--nudge", "nan"], "not a finite number"),
    (["descend", "x^2", "--eta", "0"], "greater than 0"),
    (["descend", "x^2", "--eta", "-0.1"], "greater than 0"),
    (["descend", "x^2", "--eta", "nan"], "finite"),
    (["descend", "x^2", "--eta", "inf"], "finite"),
    (["descend", "x^2", "--tol", "0"], "--tol 0: must be greater than 0"),
    (["descend", "x^2", "--tol", "nan"], "not a finite number"),
    (["descend", "x^2", "--max-iter", "0"], "--max-iter 0: must be at least 1"),
    (["descend", "x^2", "--max-iter", "-5"], "must be at least 1"),
    (["descend", "x^2", "--x0", "inf"], "not a finite number"),
    (["solve", "x", "--vary", "x", "--target", "nan"], "--target: 'nan' is not a finite number"),
    (["solve", "x", "--vary", "x", "--target", "-inf"], "not a finite number"),
    (["solve", "x", "--vary", "x", "--target", "1", "--tol", "-1"], "must be greater than 0"),
    (["solve", "x", "--vary", "x", "--target", "1", "--max-iter", "0"], "must be at least 1"),
]


@pytest.mark.parametrize("argv, substance", OPTIONS, ids=[" ".join(a) for a, _ in OPTIONS])
def test_bad_option_values_explained(argv, substance):
    r = invoke(argv + ["--json"])
    assert r.exit_code == 2
    doc = strict(r.stdout)
    assert doc["status"] == "input_error" and substance in doc["message"]
    assert substance in r.stderr
