"""codegen.emit is tuned for speed; its output must not change by a byte.

tests/helpers/emit_reference.py keeps the emitter as it was before the tuning. Every check
here asks both for every option combination (fold, indent, output node) and compares the
whole Body: statements, value, gradients, refs and adjoints (with their order) and guards.
The corpus: the W3 benchmark program, smaller generated benchmark programs, the oracle
suite, programs built to reach the limits (more than MAX_TERMS contributions, chains deeper
than MAX_INLINE, aliases, ``x^1``) and seeded random programs over every primitive.
"""

from __future__ import annotations

import random

import pytest

import backprop_cli
from backprop_cli.compiler import codegen
from backprop_cli.core.primitives import TABLE
from benchmarks.run import generate
from tests.helpers.emit_reference import reference_emit
from tests.helpers.oracle_suite import HAND, SUITE

UNARY = sorted(op for op, p in TABLE.items() if p.arity == 1 and op not in ("neg", "id"))
BINARY_CALLS = ["min", "max", "pow", "log"]  # log(x, b) is "logb"
CONSTANTS = ["2", "0.5", "3", "1e-3", "1.5e10", "pi", "e", "1", "0", "10", "2.25"]
EXPONENTS = ["2", "3", "-1.5", "0.5", "1", "-2", "4", "64", "65", "0", "-1", "2.0", "(1+1)", "(-3)"]


def _expr(rng: random.Random, names: list[str], depth: int) -> str:
    if depth <= 0 or rng.random() < 0.25:
        return rng.choice(names) if rng.random() < 0.8 else rng.choice(CONSTANTS)
    k = rng.random()

    def sub() -> str:
        return _expr(rng, names, depth - 1)

    if k < 0.35:
        return f"{sub()} {rng.choice('+-*/')} {sub()}"
    if k < 0.45:
        return f"({sub()} {rng.choice('+-*/')} {sub()})"
    if k < 0.55:
        return f"-{sub()}" if rng.random() < 0.5 else f"-({sub()})"
    if k < 0.65:
        return f"({sub()})^{rng.choice(EXPONENTS)}"
    if k < 0.70:
        return f"({sub()})^({sub()})"
    if k < 0.88:
        return f"{rng.choice(UNARY)}({sub()})"
    return f"{rng.choice(BINARY_CALLS)}({sub()}, {sub()})"


def random_program(rng: random.Random) -> str:
    """Statements over 1-5 variables: aliases, constant statements, unused names, nesting."""
    names = ["w", "x", "y", "z", "b"][: rng.randint(1, 5)]
    stmts = []
    for k in range(rng.randint(1, 12)):
        r = rng.random()
        if r < 0.1:
            e = rng.choice(names)  # an alias: an `id` node
        elif r < 0.15:
            e = f"{rng.choice(CONSTANTS)} * {rng.choice(CONSTANTS)}"  # a constant node
        else:
            e = _expr(rng, names, rng.randint(1, 4))
        stmts.append(f"t{k} = {e}")
        names.append(f"t{k}")
    if rng.random() < 0.3:
        stmts.append(rng.choice(names))  # the output is an earlier name
    return "; ".join(stmts)


LIMITS = [
    " + ".join(["sin(w) * x"] * 200),  # more than MAX_TERMS contributions to w and x
    "t = w * x; " + " + ".join(["t * t"] * 150),
    "y = " + "sin(" * 60 + "w" + ")" * 60,  # deeper than MAX_INLINE, forward and reverse
    "; ".join(f"t{k} = {'w' if k == 0 else f't{k - 1}'} * x + {k}" for k in range(80)),
    "; ".join(f"t{k} = exp({'w' if k == 0 else f't{k - 1}'} / 3)" for k in range(40)),
    "a = w^1; b = a * w + w^1; c = b^1 - a; d = c * x^1",  # x^1 folds to its operand's text
    "a = w; b = a; c = b * b + a; d = c; f = d - w",  # aliases of aliases
    "k = 2 * pi; y = k * w + log(w, k) + relu(w) + abs(w) - min(w, k) * max(k, w)",
]


def _compare(text: str) -> None:
    program = backprop_cli.compile(text)
    graph = program.graph
    args = tuple(program.variables)
    named = sorted(set(graph.names.values()))
    outputs = dict.fromkeys([None, *named[:3], *named[-2:], len(graph.nodes) // 2])
    for output in outputs:
        for fold in (True, False):
            for indent in ("", " " * 12):
                got = codegen.emit(graph, args, output, indent=indent, fold=fold)
                want = reference_emit(graph, args, output, indent=indent, fold=fold)
                assert got.lines == want.lines, (text, output, fold)
                assert got.value == want.value
                assert got.grads == want.grads
                assert list(got.ref.items()) == list(want.ref.items())
                assert list(got.adj.items()) == list(want.adj.items())
                assert got.guards == want.guards
                assert got.constant_guards == want.constant_guards


def test_w3_benchmark_program():
    _compare(generate().text)


@pytest.mark.parametrize("seed", range(6))
def test_generated_programs(seed):
    _compare(generate(200, 5, seed).text)
    _compare(generate(40, 3, seed).text)


@pytest.mark.parametrize("text", LIMITS)
def test_limits(text):
    _compare(text)


def test_oracle_programs():
    for entry in SUITE:
        _compare(entry[1])
    for entry in HAND:
        _compare(entry[0])


def test_random_programs():
    rng = random.Random(20240601)
    done = 0
    while done < 400:
        text = random_program(rng)
        try:
            backprop_cli.compile(text)
        except Exception:  # noqa: BLE001 - a program the language refuses is just skipped
            continue
        _compare(text)
        done += 1
