"""Hostile input to the CLI (issue 7): code injection and sandbox escapes, unicode tricks,
escaping of echoed text, and bad option values. Every case asserts the outcome (exit code
and JSON status) and the substance of the message; nothing is ever executed.
"""

from __future__ import annotations

import builtins

import pytest
from typer.testing import CliRunner

from backprop_cli.cli import app
from tests.helpers.oracles import strict_json as strict

ENV = {"COLUMNS": "120", "NO_COLOR": "1"}


def invoke(argv, input=None):
    result = CliRunner().invoke(app, argv, env=ENV, input=input)
    out = result.stdout + result.stderr
    assert "Traceback" not in out
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def grad_json(expr: str, *extra, input=None):
    """`backprop grad --json ... -- EXPR` -> (exit code, document, stderr)."""
    r = invoke(["grad", "--json", "--quiet", *extra, "--", expr], input=input)
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


# == file names in messages (issue 19) ==========================================================
# An output file name may hold an escape sequence (ESC ] 0 ; title BEL retitles a terminal,
# ESC [ 2 J clears it): every message naming the file shows it escaped, as errors show
# echoed expressions (the stderr console escapes whatever it prints).

HOSTILE_NAME = "a\x1b]0;owned\x07\x1b[2Jb"


def _escaped(text: str) -> bool:
    return "\x1b" not in text and "\x07" not in text and "\\x1b]0;owned\\x07\\x1b[2Jb" in text


def test_the_wrote_line_escapes_control_characters_in_the_file_name(tmp_path):
    """graph --output's "wrote NAME (N bytes)" (data's line escapes its own, render.data)."""
    path = str(tmp_path / (HOSTILE_NAME + ".mmd"))
    r = invoke(["graph", "x*2", "--at", "x=1", "--format", "mermaid", "--output", path])
    assert r.exit_code == 0, r.stderr
    assert r.stderr.startswith("wrote ") and _escaped(r.stderr), repr(r.stderr)
    assert open(path, encoding="utf-8").read().startswith("flowchart")  # the name asked for
