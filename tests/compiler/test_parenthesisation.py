"""Generated code leaves out only parentheses that do not change what CPython compiles.

codegen writes a folded forward value into its one reader without parentheses when the
reader's template allows it (codegen._placeholder_needs). Leaving them out must never
change the Python syntax tree — the same float operations in the same order — which is
checked here for every template of the primitive table, every placeholder and every kind
of operand the emitter writes, and on whole generated functions.
"""

from __future__ import annotations

import ast
import random

import pytest

from backprop_cli.compiler import codegen
from backprop_cli.core.program import compile_program
from backprop_cli.core.primitives import TABLE

#: an operand of each precedence the emitter records (codegen.P_*), with that precedence
OPERANDS = [
    ("v1 + v2", codegen.P_SUM), ("v1 - v2", codegen.P_SUM), ("v1 * v2", codegen.P_MUL),
    ("v1 / v2", codegen.P_MUL), ("-v1", codegen.P_NEG), ("-1.5", codegen.P_NEG),
    ("_sin(v1)", codegen.P_ATOM), ("v1", codegen.P_ATOM), ("2.5", codegen.P_ATOM),
]  # fmt: skip
TEMPLATES = sorted({TABLE[op].code for op in TABLE} | {"{0} * {0}", "{0} ** 3.0", "{0}"})


def _tree(text: str) -> str:
    return ast.dump(ast.parse(text, mode="eval"))


@pytest.mark.parametrize("template", TEMPLATES)
def test_needs_never_change_the_tree(template):
    needs = codegen._placeholder_needs(template)
    for m in (0, 1):
        if "{%d}" % m not in template:
            continue
        for operand, prec in OPERANDS:
            if prec < needs[m]:
                continue
            args = ["w", "w"]
            bare, wrapped = list(args), list(args)
            bare[m], wrapped[m] = operand, f"({operand})"
            got = template.format(*bare, out="o")
            want = template.format(*wrapped, out="o")
            assert _tree(got) == _tree(want), (template, m, operand)


def test_needs_are_the_expected_ones():
    P = codegen
    assert codegen._placeholder_needs("{0} - {1}") == (P.P_SUM, P.P_MUL)
    assert codegen._placeholder_needs("{0} / {1}") == (P.P_MUL, P.P_NEG)
    assert codegen._placeholder_needs("-{0}") == (P.P_NEG, P.P_ATOM)
    assert codegen._placeholder_needs("_sin({0})") == (0, P.P_ATOM)
    assert codegen._placeholder_needs("{0} ** 3.0") == (P.P_ATOM, P.P_ATOM)
    # a placeholder read twice is never a folded value; literals there keep parentheses
    assert codegen._placeholder_needs("{0} * {0}") == (P.P_ATOM, P.P_ATOM)


def _fully_parenthesised(monkeypatch) -> None:
    """The emitter as it was: every folded non-atom operand in parentheses."""
    monkeypatch.setattr(codegen, "_placeholder_needs", lambda t: (codegen.P_ATOM, codegen.P_ATOM))


def _random_program(rng: random.Random, n: int) -> str:
    names = ["x", "y", "z"]
    stmts = []
    for i in range(n):
        a, b = rng.choice(names), rng.choice(names)
        form = rng.choice(["{a} + {b}", "{a} - {b}", "{a} * {b}", "{a} / ({b}^2 + 1)", "-{a}",
                           "sin({a} - {b})", "exp(-{a}^2)", "({a} + {b})^3", "2 - {a}*{b}",
                           "{a} - ({b} - 1)", "-({a} + {b}) * 3", "tanh({a}) / (1 + {b}^2)"])  # fmt: skip
        stmts.append(f"t{i} = " + form.format(a=a, b=b))
        names.append(f"t{i}")
    return "; ".join(stmts)


def test_generated_functions_compile_to_the_same_tree(monkeypatch):
    """The reference emitter's functions (no accelerators: the tuned emitter writes the
    same, tests/accel/test_emitter_reference.py)."""
    rng = random.Random(7)
    texts = [_random_program(rng, 12) for _ in range(30)]
    now = [compile_program(t).generated_source() for t in texts]
    _fully_parenthesised(monkeypatch)
    before = [compile_program(t).generated_source() for t in texts]
    assert sum(b.count("(") - a.count("(") for a, b in zip(now, before)) > 30  # it does act
    for a, b in zip(now, before):
        assert ast.dump(ast.parse(a)) == ast.dump(ast.parse(b))
