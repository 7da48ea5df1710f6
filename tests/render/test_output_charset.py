"""The output charset (issue 19): one decision (errors.output_charset) whether a stream can
take every character; where it cannot, text is spelled in ASCII (errors.fit_charset) by the
consoles, plain writes and error carets, and JSON escapes instead of spelling.
"""

from __future__ import annotations

import io

import pytest
from typer.testing import CliRunner

from backprop_cli.cli import app
from tests.helpers.oracles import strict_json as strict

ENV = {"COLUMNS": "120", "NO_COLOR": "1"}
LESSON = "x = 2*w + b; y = b + 1; z = x*y"


def _stream(encoding: str) -> io.TextIOWrapper:
    return io.TextIOWrapper(io.BytesIO(), encoding=encoding)


def test_one_decision_per_stream():
    from backprop_cli.errors import output_charset

    assert output_charset(_stream("utf-8")) is None
    assert output_charset(_stream("UTF8")) is None
    assert output_charset(io.StringIO()) is None  # no encoding declared: takes anything
    assert output_charset(_stream("ascii")) == "ascii"
    assert output_charset(_stream("ANSI_X3.4-1968")) == "ascii"  # the C locale's name
    assert output_charset(_stream("latin-1")) == "iso8859-1"


@pytest.mark.parametrize(
    "text, ascii, latin1",
    [
        ("∂z/∂w = 2·x", "dz/dw = 2*x", "dz/dw = 2·x"),
        ("η = 0.1 → x ← x − Δx", "eta = 0.1 -> x <- x - Deltax", "eta = 0.1 -> x <- x - Deltax"),
        ("x² + x⁻¹ + x₀ ± 1", "x^2 + x^-1 + x0 +/- 1", "x² + x^-1 + x0 ± 1"),
        ("┏━┳┓│a│├─┤", "+-++|a|+-+", "+-++|a|+-+"),
        ("σ ŷ ≤ 1 … done — ok", "sigma y^ <= 1 ... done -- ok", "sigma y^ <= 1 ... done -- ok"),
        ("▁▄█ é", "_-# e", "_-# é"),
        ("хр \udcce", "\\u0445\\u0440 \\udcce", "\\u0445\\u0440 \\udcce"),
    ],
)
def test_what_a_charset_cannot_encode_is_spelled_in_ascii(text, ascii, latin1):
    from backprop_cli.errors import fit_charset

    assert fit_charset(text, "ascii") == ascii
    assert fit_charset(text, "iso8859-1") == latin1
    assert fit_charset(text, None) == text
    fit_charset(text, "iso8859-1").encode("latin-1")  # encodes


def test_the_caret_stays_under_its_span_when_the_line_is_spelled_wider():
    import backprop_cli
    from backprop_cli.errors import ParseError

    with pytest.raises(ParseError) as caught:
        backprop_cli.compile("ασ*(σ∂)")
    line, caret = caught.value.caret_lines("ascii")
    assert line == "alphasigma*(sigmad)"
    assert caret.index("^") == line.index("d)") and caret.count("^") == 1


@pytest.mark.parametrize("charset", ["ascii", "latin-1"])
def test_tables_on_a_stream_without_the_symbols_are_ascii_and_aligned(charset):
    r = CliRunner(charset=charset).invoke(app, ["grad", LESSON, "--at", "w=3,b=4"], env=ENV)
    assert r.exit_code == 0, (r.exception, r.stderr)
    lines = r.stdout.splitlines()
    assert r.stdout.isascii()
    assert any("dz/dnode" in line for line in lines) and any("d/dw = 2" in line for line in lines)
    table = [line.rstrip() for line in lines if line.startswith(("|", "+"))]
    assert table and len({len(line) for line in table[:12]}) == 1  # borders line up
    r = CliRunner(charset=charset).invoke(app, ["descend", "--eta", "0.1", "--x0", "0.2"], env=ENV)
    assert r.exit_code == 0, (r.exception, r.stderr)
    assert r.stdout.isascii() and "eta = 0.1" in r.stdout


def test_json_on_an_ascii_stream_is_the_same_document_escaped():
    args = ["grad", "σ*2 + η", "--at", "σ=1,η=2", "--json"]
    utf8 = CliRunner().invoke(app, args, env=ENV)
    ascii = CliRunner(charset="ascii").invoke(app, args, env=ENV)
    assert utf8.exit_code == ascii.exit_code == 0, ascii.exception
    assert ascii.stdout.isascii() and "\\u03c3" in ascii.stdout
    assert strict(ascii.stdout) == strict(utf8.stdout)


def test_errors_and_warnings_on_an_ascii_stderr_are_spelled_and_aligned():
    r = CliRunner(charset="ascii").invoke(app, ["grad", "σ*", "--at", "σ=1"], env=ENV)
    assert r.exit_code == 2, r.exception
    assert r.stderr.splitlines()[1:] == ["  sigma*", "        ^"]
    r = CliRunner(charset="ascii").invoke(app, ["grad", "σ*η"], env=ENV)
    assert r.exit_code == 0, r.exception
    assert "warning: no value for sigma, eta; starting at 1.0" in r.stderr


def test_the_stderr_console_escapes_control_characters(capsys):
    from backprop_cli.commands import common

    common.warn("file a\x1b]0;owned\x07b.csv")
    common.stderr_console().print("wrote 3 rows to c\x1b[2Jd.csv")
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\x07" not in err
    assert "a\\x1b]0;owned\\x07b.csv" in err and "wrote 3 rows to c\\x1b[2Jd.csv" in err
