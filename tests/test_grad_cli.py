"""`backprop grad` and `backprop check` through the CLI: the issue's "done when" numbers.

CliRunner for most cases, real `python -m backprop_cli` subprocesses for a few.
JSON is parsed strictly (NaN/Infinity tokens are an error).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from backprop_cli.cli import app
from tests.oracles import strict_json as loads

ROOT = Path(__file__).resolve().parents[1]
ENV = {"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}
runner = CliRunner()
LESSON = "x = 2*w + b; y = b + 1; z = x*y"


def run(*args: str):
    return runner.invoke(app, list(args), env=ENV)


def grad_json(*args: str) -> dict:
    r = run("grad", *args, "--json")
    assert r.exit_code == 0, r.output
    return loads(r.stdout)


def by_expr(doc: dict) -> dict:
    return {n["expr"]: n for n in doc["nodes"]}


def by_name(doc: dict) -> dict:
    return {n["name"]: n for n in doc["nodes"] if n["name"] is not None}


# ------------------------------------------------------------------ the lesson's numbers
def test_inline_lesson_numbers_json():
    doc = grad_json("(w*2+b)*(b+1)", "--at", "w=3,b=4")
    assert doc["value"] == 50.0
    assert doc["gradient"] == {"w": 10.0, "b": 15.0}
    nodes = by_expr(doc)
    assert nodes["w*2+b"]["adjoint"] == 5.0 and nodes["w*2+b"]["value"] == 10.0
    assert nodes["b+1"]["adjoint"] == 10.0 and nodes["b+1"]["value"] == 5.0
    assert nodes["(w*2+b)*(b+1)"]["local"] == [5.0, 10.0]
    assert nodes["(w*2+b)*(b+1)"]["adjoint"] == 1.0


def test_inline_lesson_numbers_table():
    r = run("grad", "(w*2+b)*(b+1)", "--at", "w=3,b=4")
    assert r.exit_code == 0, r.output
    rows = {
        line.split("│")[2].strip(): line for line in r.stdout.splitlines() if line.count("│") >= 6
    }
    cells = lambda expr: [c.strip() for c in rows[expr].split("│")]  # noqa: E731
    assert cells("w*2+b")[4] == "10" and cells("w*2+b")[6] == "5"
    assert cells("b+1")[4] == "5" and cells("b+1")[6] == "10"
    assert "gradient of f = 50" in r.stdout
    text = " ".join(r.stdout.split())
    assert "│ w │ 3 │ 10 │" in text and "│ b │ 4 │ 15 │" in text


def test_named_program_numbers():
    doc = grad_json(LESSON, "--at", "w=3,b=4")
    named = by_name(doc)
    assert (named["x"]["value"], named["x"]["adjoint"]) == (10.0, 5.0)
    assert (named["y"]["value"], named["y"]["adjoint"]) == (5.0, 10.0)
    assert (named["z"]["value"], named["z"]["adjoint"]) == (50.0, 1.0)
    assert named["z"]["local"] == [5.0, 10.0]
    assert doc["output"] == "z" and doc["gradient"] == {"w": 10.0, "b": 15.0}


def test_no_expression_is_the_lesson():
    doc = grad_json()
    assert doc["expression"] == LESSON
    assert doc["at"] == {"w": 3.0, "b": 4.0} and doc["defaulted"] == []
    assert doc["value"] == 50.0 and doc["gradient"] == {"w": 10.0, "b": 15.0}


def test_nudge_json_actual_values():
    doc = grad_json(LESSON, "--at", "w=3,b=4", "--nudge", "0.1")
    nudges = {n["name"]: n for n in doc["nudges"]}
    assert nudges["x"]["actual"] == pytest.approx(50.5, abs=1e-12)
    assert nudges["y"]["actual"] == pytest.approx(51.0, abs=1e-12)
    assert nudges["x"]["predicted"] == pytest.approx(50.5, abs=1e-12)
    assert nudges["y"]["predicted"] == pytest.approx(51.0, abs=1e-12)
    # a variable's nudge recomputes everything downstream: b + 0.1 → (10.1)(5.1)
    assert nudges["b"]["actual"] == pytest.approx(51.51, abs=1e-12)
    assert nudges["b"]["predicted"] == pytest.approx(51.5, abs=1e-12)
    assert nudges["w"]["actual"] == pytest.approx(51.0, abs=1e-12)


def test_nudge_table():
    r = run("grad", LESSON, "--at", "w=3,b=4", "--nudge", "0.1")
    assert r.exit_code == 0, r.output
    text = " ".join(r.stdout.split())
    assert "│ x │ 10 │ 10.1 │ 5 │ 50.5 │ 50.5 │ 0 │" in text
    assert "│ y │ 5 │ 5.1 │ 10 │ 51 │ 51 │ 0 │" in text


def test_explain_chain_rule():
    r = run("grad", LESSON, "--at", "w=3,b=4", "--explain")
    assert r.exit_code == 0, r.output
    assert "∂z/∂b = ∂z/∂x·∂x/∂b + ∂z/∂y·∂y/∂b = 5·1 + 10·1 = 15" in r.stdout
    r2 = run("grad", "(w*2+b)*(b+1)", "--at", "w=3,b=4", "--explain")
    assert "5·1 + 10·1 = 15" in r2.stdout


def test_forward_mode_same_gradient():
    rev = grad_json(LESSON, "--at", "w=3,b=4")
    fwd = grad_json(LESSON, "--at", "w=3,b=4", "--mode", "forward")
    assert fwd["mode"] == "forward" and rev["mode"] == "reverse"
    assert fwd["gradient"] == rev["gradient"] == {"w": 10.0, "b": 15.0}
    # forward mode's tangents: ∂x/∂w = 2, ∂y/∂b = 1
    named = by_name(fwd)
    assert named["x"]["tangents"] == {"w": 2.0, "b": 1.0}
    assert named["y"]["tangents"] == {"w": 0.0, "b": 1.0}


def test_of_picks_another_output():
    doc = grad_json(LESSON, "--at", "w=3,b=4", "--of", "x")
    assert doc["output"] == "x" and doc["value"] == 10.0
    assert doc["gradient"] == {"w": 2.0, "b": 1.0}
    assert "y" not in by_name(doc)  # not an ancestor of x: not shown


def test_missing_variable_defaults_with_warning():
    r = run("grad", "x*y", "--at", "x=2", "--json")
    assert r.exit_code == 0, r.output
    doc = loads(r.stdout)
    assert doc["defaulted"] == ["y"] and doc["at"] == {"x": 2.0, "y": 1.0}
    assert doc["gradient"] == {"x": 1.0, "y": 2.0}
    r = run("grad", "x*y", "--at", "x=2")
    assert r.exit_code == 0
    assert "y" in r.stderr and "1.0" in r.stderr and "--at y=" in r.stderr
    assert "warning" not in r.stdout


# ----------------------------------------------------------------------- JSON contract
NODE_FIELDS = {"id", "name", "expr", "op", "inputs", "value", "local", "adjoint"}
TOP_FIELDS = {
    "schema",
    "expression",
    "output",
    "at",
    "defaulted",
    "mode",
    "value",
    "gradient",
    "nodes",
}


@pytest.mark.parametrize(
    "expr, at",
    [
        ("(w*2+b)*(b+1)", "w=3,b=4"),
        (LESSON, "w=3,b=4"),
        ("sin(x)*pi + log(x, 2)", "x=1.5"),
        ("a = x; b = a*a", "x=3"),
    ],
)
def test_json_contract(expr, at):
    doc = grad_json(expr, "--at", at)
    assert TOP_FIELDS <= set(doc)
    assert doc["schema"] == "backprop.grad/1"
    assert isinstance(doc["expression"], str) and doc["expression"] == expr
    ids = [n["id"] for n in doc["nodes"]]
    assert ids == sorted(ids)
    for n in doc["nodes"]:
        assert NODE_FIELDS <= set(n)
        assert isinstance(n["value"], float) and isinstance(n["adjoint"], float)
        assert all(i in ids and i < n["id"] for i in n["inputs"])
        assert len(n["local"]) == (len(n["inputs"]) if n["op"] not in ("var", "const") else 0)
        if n["op"] == "var":
            assert n["name"] == n["expr"] and n["inputs"] == [] and n["name"] in doc["at"]
        if n["op"] == "const":
            assert n["name"] is None and n["inputs"] == []
    for v in doc["at"]:
        var = [n for n in doc["nodes"] if n["op"] == "var" and n["name"] == v]
        assert var and var[0]["adjoint"] == doc["gradient"][v]


def test_json_const_and_named_nodes():
    doc = grad_json("h = 2*pi*r; h", "--at", "r=1")
    ops = {n["expr"]: n["op"] for n in doc["nodes"]}
    assert ops["2"] == "const" and ops["pi"] == "const" and ops["r"] == "var"
    assert by_name(doc)["h"]["value"] == pytest.approx(6.283185307179586)


# ------------------------------------------------------------------------------ errors
def test_domain_error_exit_1_with_caret():
    r = run("grad", "y = x + 1; z = ln(x - 3)", "--at", "x=1")
    assert r.exit_code == 1
    lines = r.stderr.splitlines()
    assert "ln needs a positive argument" in lines[0] and "-2" in lines[0]
    assert lines[1] == "  y = x + 1; z = ln(x - 3)"
    assert lines[2] == "  " + " " * 15 + "^" * 9
    rj = run("grad", "ln(x)", "--at", "x=-1", "--json")
    assert rj.exit_code == 1
    doc = loads(rj.stdout)
    assert doc["status"] == "domain_error" and doc["error"]["span"] == [0, 5]


@pytest.mark.parametrize(
    "at, message",
    [
        ("x=abc", "'abc' is not a number"),
        ("x", "expected NAME=VALUE"),
        ("x=", "value after '=' is missing"),
        ("=1", "name before '=' is missing"),
        ("x=1,,", "empty assignment"),
        ("x=nan", "not a finite number"),
        ("x=inf", "not a finite number"),
        ("q=1", "'q' is not a variable"),
    ],
)
def test_bad_at_exit_2(at, message):
    r = run("grad", "x*2", "--at", at)
    assert r.exit_code == 2, r.output
    assert message in r.stderr
    assert "Traceback" not in r.output


def test_bad_mode_and_nudge_exit_2():
    assert run("grad", "x", "--at", "x=1", "--mode", "sideways").exit_code == 2
    assert run("grad", "x", "--at", "x=1", "--nudge", "0").exit_code == 2
    assert run("grad", "x", "--at", "x=1", "--of", "nope").exit_code == 2


# ------------------------------------------------------------------------------- check
@pytest.mark.parametrize(
    "expr, at",
    [
        (LESSON, "w=3,b=4"),
        ("sin(x)*exp(y) + sqrt(x*y)", "x=0.7,y=1.3"),
        ("log(x, b) + x^y", "x=3,b=2,y=1.5"),
        ("relu(x)", "x=0"),  # at the kink: convention 0.5 and the central difference 0.5 agree
        ("abs(x)", "x=0"),  # convention 0 and the symmetric difference 0 agree
    ],
)
def test_check_agrees(expr, at):
    r = run("check", expr, "--at", at, "--json")
    assert r.exit_code == 0, r.output
    doc = loads(r.stdout)
    assert doc["status"] == "agree" and all(row["ok"] for row in doc["rows"])


def test_check_values_at_relu_kink():
    doc = loads(run("check", "relu(x)", "--at", "x=0", "--json").stdout)
    row = doc["rows"][0]
    assert row["reverse"] == row["forward"] == 0.5
    assert row["finite_difference"] == pytest.approx(0.5, abs=1e-12)


def test_check_fails_next_to_a_kink():
    """Within a step of abs's kink the central difference straddles it: exit 1, named cause."""
    r = run("check", "abs(x) + y", "--at", "x=1e-7,y=2")
    assert r.exit_code == 1
    assert "x:" in r.stderr and "kink" in r.stderr and "abs(x)" in r.stderr
    assert "y:" not in r.stderr
    doc = loads(run("check", "abs(x) + y", "--at", "x=1e-7,y=2", "--json").stdout)
    rows = {row["variable"]: row for row in doc["rows"]}
    assert rows["x"]["reverse"] == 1.0 and rows["x"]["finite_difference"] == pytest.approx(0.01)
    assert rows["y"]["ok"]


def test_check_domain_boundary_cause():
    r = run("check", "sqrt(x)", "--at", "x=1e-6")
    assert r.exit_code == 1
    assert "domain boundary" in r.stderr and "x:" in r.stderr


# -------------------------------------------------------------------- real subprocesses
def _subprocess(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT), **ENV)
    return subprocess.run(
        [sys.executable, "-m", "backprop_cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


def test_subprocess_grad_json():
    p = _subprocess("grad", "(w*2+b)*(b+1)", "--at", "w=3,b=4", "--json")
    assert p.returncode == 0, p.stderr
    doc = loads(p.stdout)
    assert doc["value"] == 50.0 and doc["gradient"] == {"w": 10.0, "b": 15.0}
    assert p.stderr == ""


def test_subprocess_domain_error_and_usage_error():
    p = _subprocess("grad", "1/(x-2)", "--at", "x=2")
    assert p.returncode == 1
    assert "division by zero" in p.stderr and "Traceback" not in p.stderr
    assert p.stderr.splitlines()[2].strip().startswith("^")
    q = _subprocess("grad", "x", "--at", "x=oops")
    assert q.returncode == 2 and "Traceback" not in q.stderr


def test_subprocess_check_explain():
    p = _subprocess("grad", "--explain")
    assert p.returncode == 0
    assert "5·1 + 10·1 = 15" in p.stdout
    c = _subprocess("check", "--json")
    assert c.returncode == 0 and loads(c.stdout)["status"] == "agree"


def test_json_nodes_carry_their_span_in_the_source():
    # every node's [start, end) recovers its exact text, even where "expr" is shortened
    long_sum = " + ".join(f"{k}*x" for k in range(1, 40))  # > 100 characters
    source = f"a = {long_sum}; z = sin(a) * (a + 1)"
    r = runner.invoke(app, ["grad", source, "--at", "x=0.01", "--json"], env=ENV)
    assert r.exit_code == 0, r.stderr
    doc = loads(r.stdout)
    by_name = {n["name"]: n for n in doc["nodes"] if n["name"]}
    for n in doc["nodes"]:
        start, end = n["span"]
        text = source[start:end]
        if "…" in n["expr"]:
            head, tail = n["expr"].split("…")
            assert len(text) > 100 and text.startswith(head) and text.endswith(tail)
        else:
            assert text == n["expr"], n
    a = by_name["a"]
    assert "…" in a["expr"] and source[a["span"][0] : a["span"][1]] == long_sum
    assert source[slice(*by_name["z"]["span"])] == "sin(a) * (a + 1)"
    assert source[slice(*by_name["x"]["span"])] == "x"
