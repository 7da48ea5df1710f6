"""What `backprop grad` prints: the lesson's numbers in the table, the nudge table, the
chain-rule explanation, and the JSON document's contract (fields, node spans, a constant's
partial that is not a number written as null).
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from backprop_cli.cli import app
from tests.helpers.oracles import strict_json as loads

ENV = {"COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"}
runner = CliRunner()
LESSON = "x = 2*w + b; y = b + 1; z = x*y"


def run(*args: str):
    return runner.invoke(app, list(args), env=ENV)


def grad_json(*args: str) -> dict:
    r = run("grad", *args, "--json")
    assert r.exit_code == 0, r.output
    return loads(r.stdout)


def by_name(doc: dict) -> dict:
    return {n["name"]: n for n in doc["nodes"] if n["name"] is not None}


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


TEXT = "(1e-308) ^ (-(sigmoid(x)))"


def test_grad_command_answers_and_reports_the_constant_partial_as_null():
    r = CliRunner().invoke(app, ["grad", TEXT, "--at", "x=0", "--json"], env={"NO_COLOR": "1"})
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["status"] == "ok" and doc["gradient"]["x"] == pytest.approx(1.7729905216054153e156)
    const = doc["nodes"][0]
    assert const["op"] == "const" and const["adjoint"] is None
