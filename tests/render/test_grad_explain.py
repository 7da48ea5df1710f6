"""grad --explain on the shapes the lesson does not show: the same input twice, a named
output, an input the output does not depend on.
"""

from __future__ import annotations

from typer.testing import CliRunner

from backprop_cli.cli import app

LESSON = "x = 2*w + b; y = b + 1; z = x*y"


def run(width: int, *args: str):
    return CliRunner().invoke(app, list(args), env={"COLUMNS": str(width), "NO_COLOR": "1"})


# -- grad --explain on the shapes the lesson does not show ---------------------------------------
def explain(*args: str) -> list[str]:
    r = run(200, "grad", *args, "--explain")
    assert r.exit_code == 0, r.stderr
    return [line.strip() for line in r.stdout.split("chain rule", 1)[1].splitlines() if line.strip()]


def test_explain_same_input_twice_names_each_operand():
    # d/dx x·x = x + x = 4 at x = 2
    assert explain("x*x", "--at", "x=2") == [
        "∂f/∂x = ∂(x*x)/∂x (operand 1) + ∂(x*x)/∂x (operand 2) = 2 + 2 = 4"
    ]


def test_explain_named_output_local_partial_is_not_its_own_left_side():
    # b = a·x + a, a = x²: ∂b/∂a = x + 1 = 3, ∂b/∂x = ∂b/∂a·2x (twice, via x*x) + a = 3·2 + 3·2 + 4 = 16
    lines = explain("a = x*x; b = a*x + a", "--at", "x=2")
    assert "∂b/∂a = ∂b/∂(a*x)·∂(a*x)/∂a + ∂(a*x + a)/∂a = 1·2 + 1 = 3" in lines
    assert (
        "∂b/∂x = ∂b/∂a·∂a/∂x (operand 1) + ∂b/∂a·∂a/∂x (operand 2) + ∂b/∂(a*x)·∂(a*x)/∂x"
        " = 3·2 + 3·2 + 1·4 = 16" in lines
    )


def test_explain_covers_every_input_variable():
    # --of y: y = b + 1 does not depend on w; the line says so instead of leaving w out
    assert explain(LESSON, "--of", "y", "--at", "w=3,b=4") == [
        "∂y/∂b = 1",
        "∂y/∂w = 0 (y does not depend on w)",
    ]
    assert explain("x", "--at", "x=2") == ["∂x/∂x = 1 (x is the output itself)"]
    # the lesson's lines are unchanged
    assert "∂z/∂b = ∂z/∂x·∂x/∂b + ∂z/∂y·∂y/∂b = 5·1 + 10·1 = 15" in explain()
