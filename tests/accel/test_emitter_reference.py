"""accel.emit (the tuned emitter) writes exactly what compiler.codegen.emit (the
reference) writes.

Every check asks both for every option combination (fold, indent, output node) and
compares the whole Body: statements, value, gradients, refs and adjoints (with their
order) and guards. The corpus: the W3 benchmark program, smaller generated benchmark
programs, the oracle suite, programs built to reach the limits (more than MAX_TERMS
contributions, chains deeper than MAX_INLINE, aliases, ``x^1``) and seeded random programs
over every primitive. The last tests show the comparison fails on a tuned emitter that is
slightly wrong, and that programs reach the tuned emitter only through the seam.
"""

from __future__ import annotations

import random

import pytest

import backprop_cli
from backprop_cli import accel
from backprop_cli.accel import emit as tuned
from backprop_cli.compiler import codegen
from backprop_cli.core.primitives import TABLE
from backprop_cli.core.program import compile_program
from benchmarks.run import generate
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
                got = tuned.emit(graph, args, output, indent=indent, fold=fold)
                want = codegen.emit(graph, args, output, indent=indent, fold=fold)
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
    for _ in range(4000):  # bounded: a language that refused everything must fail here
        text = random_program(rng)
        try:
            backprop_cli.compile(text)
        except Exception:  # noqa: BLE001 - a program the language refuses is just skipped
            continue
        _compare(text)
        done += 1
        if done == 400:
            break
    assert done == 400


# -- the comparison can fail --------------------------------------------------------------

#: a slightly wrong tuned emitter (a module attribute of accel.emit, patched) and a program
#: on which the wrong one writes something else
MUTANTS = [
    ("MAX_INLINE", codegen.MAX_INLINE - 1, LIMITS[2]),  # folds one level less deep
    ("MAX_TERMS", codegen.MAX_TERMS + 1, LIMITS[0]),  # splits long sums elsewhere
    ("SATURATING", {**codegen.SATURATING, "div": ()}, "y = sin(w) / (x * x)"),  # a guard lost
    # a sum among an adjoint's contributions (tan's partial) loses its parentheses: the
    # additions associate differently
    ("P_MUL", codegen.P_SUM, "y = tan(w) + w*w"),
]


@pytest.mark.parametrize("name, value, text", MUTANTS, ids=[m[0] for m in MUTANTS])
def test_the_comparison_fails_on_a_wrong_tuned_emitter(monkeypatch, name, value, text):
    _compare(text)  # the real one agrees
    monkeypatch.setattr(tuned, name, value)
    with pytest.raises(AssertionError):
        _compare(text)


def test_the_comparison_fails_on_a_wrong_formatter(monkeypatch):
    """A template formatter that writes one space more (the f-string formatters are cached
    per template: the mutant gets an empty cache of its own)."""
    real = tuned._formatter
    monkeypatch.setattr(tuned, "_INFO", {})
    monkeypatch.setattr(tuned, "_formatter", lambda t: (lambda out, a, b="": real(t)(out, a, b) + " "))
    with pytest.raises(AssertionError):
        _compare("y = w * x + 1")


def test_the_formatters_equal_str_format():
    """Every template of the primitive table and of ``x^c`` as the tuned emitter formats
    it; one with quotes and a backslash (bound as values, never written into the f-string's
    source); one with braces of its own (str.format kept)."""
    templates = {t for p in TABLE.values() for t in (p.code, *p.dcode)}
    templates |= {"{0} * {0}", "{0} ** 3.0", "3.0 * {0} ** 2.0", "{out}'\"{1}\\n", "{{{0}}} + {1}"}
    for t in sorted(templates):
        f = tuned._formatter(t)
        assert f("v9", "a0", "(v1 + 2.5)") == t.format("a0", "(v1 + 2.5)", out="v9"), t
        assert f("v9", "-1.5") == t.format("-1.5", "", out="v9"), t


# -- the seam -------------------------------------------------------------------------------


def test_try_emit_is_the_tuned_emitter():
    program = backprop_cli.compile(LIMITS[7])
    graph, args = program.graph, tuple(program.variables)
    got = accel.try_emit(graph, args, None, "  ", True)
    assert got is not None
    assert got.lines == tuned.emit(graph, args, None, "  ", True).lines
    assert got.lines == codegen.emit(graph, args, None, "  ", True).lines


class _Emitter:
    """An accelerator whose tuned emitter answers with a chosen body (or None), counting
    its calls."""

    def __init__(self, body):
        self.body, self.calls = body, 0

    def try_parse(self, text):
        return None

    def try_emit(self, graph, args, output=None, indent="    ", fold=False):
        self.calls += 1
        return self.body(graph, args, output, indent, fold) if self.body else None


def test_compiled_functions_take_the_accelerators_body_and_fall_back_on_none():
    text = "x = 2*w + b; y = b + 1; z = x*y"
    # a deliberately wrong body (the value of another program) is used as given
    wrong_program = compile_program("z = w + b")
    wrong = _Emitter(lambda graph, args, output, *rest: codegen.emit(wrong_program.graph, args, None, *rest))
    program = compile_program(text, accel=wrong)
    assert program.function()(3.0, 4.0) == (7.0, (1.0, 1.0))
    assert wrong.calls == 1
    value, grads = program.array_function()([3.0, 1.0], [4.0, 2.0])  # the array flavour asks again
    assert wrong.calls == 2
    assert value.tolist() == [7.0, 3.0] and grads == (1.0, 1.0)
    declined = _Emitter(None)
    program = compile_program(text, accel=declined)
    assert program.function()(3.0, 4.0) == (50.0, (10.0, 15.0))
    assert declined.calls == 1
    # no accelerators: the reference emitter alone
    assert compile_program(text).function()(3.0, 4.0) == (50.0, (10.0, 15.0))
