"""Resource exhaustion through the CLI (issue 7): every documented limit refuses its input
before any work, with the limit named in the message (exit 2, status limit_exceeded), power
towers overflow instead of hanging — and the limits still admit real work (long sums,
chains and programs, from stdin too). Also the learning-rate sweep's limit.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from backprop_cli import limits
from backprop_cli.cli import app
from backprop_cli.limits import MAX_SWEEP
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
    r = invoke(["grad", "-", "--json"], input=data)
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
    r = invoke(["grad", "-", "--json"], input=text)
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
    code, doc, _ = grad_json(text, "--at", at)
    assert code == 0
    assert doc["value"] == sum(range(5000))
    assert doc["gradient"] == {f"x{i}": 1.0 for i in range(5000)}


def test_10000_operation_chain_admitted_from_stdin():
    text = "x" + "*1.0001" * 10_000
    r = invoke(["grad", "-", "--at", "x=2", "--json"], input=text)
    assert r.exit_code == 0, r.stderr
    doc = strict(r.stdout)
    expected = 2.0
    for _ in range(10_000):
        expected *= 1.0001
    assert doc["value"] == expected  # same left-to-right float64 products
    assert doc["gradient"]["x"] == pytest.approx(expected / 2, rel=1e-12)


def test_2000_statement_program_admitted_from_stdin():
    lines = ["a0 = x"] + [f"a{i} = a{i - 1} + 1" for i in range(1, 2000)]
    r = invoke(["grad", "-", "--at", "x=0.5", "--json"], input="\n".join(lines))
    assert r.exit_code == 0, r.stderr
    doc = strict(r.stdout)
    assert doc["output"] == "a1999" and doc["value"] == 1999.5 and doc["gradient"] == {"x": 1.0}


def test_2000_statement_program_through_check_and_descend():
    lines = ["a0 = x"] + [f"a{i} = a{i - 1} + 0.001" for i in range(1, 2000)] + ["loss = a1999^2"]
    text = "\n".join(lines)
    r = invoke(["check", "-", "--at", "x=1", "--json"], input=text)
    assert r.exit_code == 0, r.stderr
    r = invoke(
        ["descend", "-", "--x0", "1", "--eta", "0.1", "--max-iter", "5", "--json"],
        input=text,
    )
    assert r.exit_code == 1  # five steps do not converge: max_iterations, an honest failure
    assert strict(r.stdout)["status"] == "max_iterations"


runner = CliRunner()


def _strict(text: str) -> dict:
    def refuse(token):
        raise ValueError(token)

    return json.loads(text, parse_constant=refuse)


def test_sweep_range_over_the_limit_is_refused_before_any_work():
    # was: the whole range was built and run (10^8 runs: MemoryError as an internal error)
    result = runner.invoke(app, ["descend", "x^2", "--eta", "0.1:0.2:100000000", "--json"])
    assert result.exit_code == 2
    doc = _strict(result.stdout)
    assert doc["status"] == "input_error"
    assert f"at most {MAX_SWEEP} learning rates" in doc["message"]


def test_sweep_list_over_the_limit_is_refused():
    etas = ",".join(["0.1"] * (MAX_SWEEP + 1))
    result = runner.invoke(app, ["descend", "x^2", "--eta", etas])
    assert result.exit_code == 2
    assert f"at most {MAX_SWEEP} learning rates (got {MAX_SWEEP + 1})" in result.stderr


def test_sweep_at_the_limit_still_runs():
    result = runner.invoke(app, ["descend", "x^2", "--eta", f"0.1:0.4:{MAX_SWEEP}", "--max-iter", "3", "--json"])
    assert result.exit_code == 0, result.stderr
    doc = _strict(result.stdout)
    assert len(doc["etas"]) == MAX_SWEEP
    assert doc["etas"][0] == 0.1 and doc["etas"][-1] == 0.4
