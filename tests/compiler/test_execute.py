"""compiler.execute: the one checked place where generated code runs.

(a) every generator's real output, driven through the public API and the engines, passes
    the check, and the eight call sites all go through it;
(b) the same real sources with a forbidden construct injected are refused, each for the
    right reason, while the unmutated source is accepted (so every test here can fail);
(c) user names never reach generated code: the lexer refuses what could not be mangled
    (``__import__``), and any other name (``os``, ``open``, ``_float``, ``a0`` …) leaves
    every generated source byte-identical to the one for neutral names.
"""

from __future__ import annotations

import contextlib
import dataclasses
import dis
import math
import re
import sys
from collections.abc import Iterator
from types import CodeType, ModuleType

import numpy as np
import pytest

import backprop_cli as bp
from backprop_cli import accel
from backprop_cli.accel import emit as tuned_emit
from backprop_cli.compiler import execute
from backprop_cli.compiler.codegen import scalar_helpers
from backprop_cli.compiler.execute import VOCABULARIES, GeneratedCodeError, check, run_generated
from backprop_cli.engines import descend as descend_engine
from backprop_cli.errors import BackpropError, ParseError
from backprop_cli.core.primitives import TABLE
from backprop_cli.core.program import compile_program
from backprop_cli.lang import syntax

#: every place the package runs generated code: (module, function) -> the kind it names
CALL_SITES = {
    ("backprop_cli.compiler.codegen", "build_functions"): "scalar",
    ("backprop_cli.compiler.codegen", "general"): "array",
    ("backprop_cli.compiler.codegen", "build_dict_function"): "dict",
    ("backprop_cli.accel.descend", "_interval_function"): "interval",
    ("backprop_cli.accel.descend", "_generate_chunk"): "descend",
    ("backprop_cli.lang.syntax", "cheap_init"): "init",
    ("backprop_cli.accel.emit", "_formatter"): "format",
}

#: programs covering every primitive, every powc template, 0, 1 and many variables, a
#: constant guard (x / exp(2)), polynomial and rational losses (descend's proven boxes), a
#: helper-calling loss (no interval proof), long bodies (descend's 8- and 4-row unrolling
#: without a boxed pass) and 40 variables (CPython builds tuples and calls of more than ~30
#: items differently)
PROGRAMS = [
    "x = 2*w + b; y = b + 1; z = x*y",
    "sqrt(ln(x^2))",
    "2 + 3",
    "(x - 1)^2 + 0.001",
    "x^3 - 2*x + 1",
    "(w*x - 3)^2 + (w - 1)^2 + x/(1 + w^2)",
    "x / exp(2) + y",
    "sin(x)^2 + cos(y)",
    "sin(x)*cos(y) + tan(x) - asin(y/9) + acos(x/9) + atan(x*y) + sinh(x)/cosh(y) + tanh(x)"
    " + exp(y) + ln(x) + log(x) + log2(y) + log10(x) + log(x, y) + sqrt(x) + abs(y)"
    " + sigmoid(x) + relu(y) + softplus(x) + min(x, y) + max(x, y) + x^y + pow(x, 3)"
    " + x^3 + x^-2 + x^0.5 + x^1 + x^2 - x",
    "; ".join(f"t{i} = sin(w*{i % 5 + 1}) + b*{i % 3 + 1}" for i in range(20))
    + "; z = " + " + ".join(f"t{i}" for i in range(20)),
    "; ".join(f"t{i} = (w - {i})*(b + {i})" for i in range(40))
    + "; z = " + " + ".join(f"t{i}*t{i}" for i in range(40)),
    " + ".join(f"x{i}*x{(i + 1) % 40}" for i in range(40)),
]


@dataclasses.dataclass
class Run:
    """One call of the check: who asked, with what."""

    site: tuple[str, str]
    kind: str
    source: str
    code: CodeType
    namespace: dict


@contextlib.contextmanager
def recording() -> Iterator[list[Run]]:
    """Record every check made by run_generated (the real check still decides)."""
    runs: list[Run] = []
    real = execute.check

    def recording_check(code, namespace, vocabulary):
        run_frame, site_frame = sys._getframe(1), sys._getframe(2)
        assert run_frame.f_code is run_generated.__code__  # only run_generated checks
        site = (site_frame.f_globals["__name__"], site_frame.f_code.co_name)
        runs.append(Run(site, vocabulary.name, run_frame.f_locals["source"], code, dict(namespace)))
        real(code, namespace, vocabulary)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(execute, "check", recording_check)
        yield runs


@pytest.fixture
def recorder() -> Iterator[list[Run]]:
    with recording() as runs:
        yield runs


def point_of(program) -> dict[str, float]:
    return {v: 0.7 + 0.1 * k for k, v in enumerate(program.variables)}


def drive(text: str, accelerators: ModuleType | None) -> None:
    """Every generator of one program, through the program's API and the engines, with the
    accelerators given (whatever BACKPROP_REFERENCE says: the corpus is the same in both
    modes) or with the reference alone."""
    program = compile_program(text, accel=accelerators)
    point = point_of(program)
    values = list(point.values())
    try:
        program.function()(*values)  # scalar
        program.function()(*[np.array([v, v + 0.05]) for v in values])  # array
        program.value_and_grad(point)  # dict
    except BackpropError:
        pass  # a domain error at this point: the code was generated and checked
    if not program.variables:
        return
    for tol in (1e-6, 0.0):  # tested and untested gradients
        for eta in (0.01, 0.001):  # η = 0.001: small enough for a proven box
            try:
                descend_engine.descend(program, point, "sgd", eta, tol=tol, max_iter=300)
            except BackpropError:
                pass


def drive_init() -> None:
    """syntax.cheap_init on a new frozen slotted dataclass (one field with a default)."""

    @syntax.cheap_init
    @dataclasses.dataclass(frozen=True, slots=True)
    class Probe:
        value: float
        span: object = None

    assert Probe(2.0).value == 2.0 and Probe(2.0, "s") == Probe(2.0, "s")


def drive_formats() -> None:
    """The tuned emitter's template formatters, made afresh (emit caches them per process,
    and with BACKPROP_REFERENCE=1 programs never ask for them)."""
    for t in sorted({t for p in TABLE.values() for t in (p.code, *p.dcode)}):
        if "{" in t:
            tuned_emit._formatter(t)


@pytest.fixture(scope="module")
def corpus() -> list[Run]:
    """Every generator's output on PROGRAMS (generated once for this module's tests)."""
    with recording() as runs:
        for text in PROGRAMS:
            for accelerators in (accel, None):
                drive(text, accelerators)
        drive_init()
        drive_formats()
    return runs


def functions(code: CodeType) -> list[CodeType]:
    return [c for c in code.co_consts if isinstance(c, CodeType)]


# -- (a) the generators' real output passes --------------------------------------------


def test_every_call_site_goes_through_the_check(corpus):
    seen = {run.site for run in corpus}
    assert seen == set(CALL_SITES), "a call site that never ran, or one not listed"
    for run in corpus:
        assert run.kind == CALL_SITES[run.site], run.site


def test_no_exec_or_eval_of_generated_code_elsewhere():
    """The package's source calls exec only in compiler/execute.py, and eval nowhere."""
    import pathlib

    root = pathlib.Path(bp.__file__).parent
    hits = [
        f"{path.relative_to(root)}:{n}"
        for path in sorted(root.rglob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"(?<![\w.])(exec|eval)\(", line.split("#")[0])
    ]
    assert [hit.split(":")[0] for hit in hits] == ["compiler/execute.py"], hits


def test_the_corpus_covers_every_variant(corpus):
    """Proof that the corpus reaches the generators' branches (else (a) proves little)."""
    by_kind: dict[str, list[str]] = {}
    for run in corpus:
        by_kind.setdefault(run.kind, []).append(run.source)
    assert any("def _f():" in s for s in by_kind["scalar"])  # no variables
    assert any("raise FloatingPointError" in s for s in by_kind["array"])  # constant guard
    assert any("if _u0 <= a0 <= _v0" in s for s in by_kind["descend"])  # a boxed pass
    assert any("_eta" in s and "_ntol < " not in s for s in by_kind["descend"])  # tol = 0


def test_checked_code_runs_with_only_its_builtins():
    program = bp.compile("x = 2*w + b; y = b + 1; z = x*y")
    f = program.function()
    assert set(f.__globals__["__builtins__"]) == {"ArithmeticError", "ValueError", "TypeError"}
    assert f(3.0, 4.0) == (50.0, (10.0, 15.0))


def test_fast_name_decoding_agrees_with_dis(corpus):
    """The check reads names off co_code itself; dis, reading each instruction, agrees on
    this Python (for four sources of each kind, the shortest to the longest: dis is slow)."""
    attribute_ops = {"LOAD_ATTR", "LOAD_METHOD", "STORE_ATTR"}
    by_kind: dict[str, list[Run]] = {}
    for run in {(run.kind, run.source): run for run in corpus}.values():
        by_kind.setdefault(run.kind, []).append(run)
    picked = []
    for runs in by_kind.values():
        runs.sort(key=lambda run: len(run.source))
        picked += {id(r): r for r in (runs[0], runs[len(runs) // 3], runs[2 * len(runs) // 3], runs[-1])}.values()
    for run in picked:
        for fn in functions(run.code):
            instructions = list(dis.get_instructions(fn))
            attrs = {i.argval for i in instructions if i.opname in attribute_ops}
            units = fn.co_code
            assert set(execute._attribute_uses(units, units[::2], fn.co_names)) == attrs
            loaded = {i.argval for i in instructions if i.opname == "LOAD_GLOBAL"}
            for k, name in enumerate(fn.co_names):
                assert execute._reads_global(fn, k) == (name in loaded), (run.kind, name)


def test_decoding_past_255_names():
    """Indexes past 255 need EXTENDED_ARG prefixes; the decoding still agrees with dis."""
    reads = ", ".join(f"g{k}" for k in range(300))
    attrs = ", ".join(f"x.t{k}" for k in range(300))
    code = compile(f"def f(x):\n    x.s = ({reads}, {attrs})\n", "<probe>", "exec")
    (fn,) = functions(code)
    units = fn.co_code
    instructions = list(dis.get_instructions(fn))
    uses = execute._attribute_uses(units, units[::2], fn.co_names)
    assert set(uses) == {i.argval for i in instructions if i.opname in ("LOAD_ATTR", "STORE_ATTR")}
    loaded = {i.argval for i in instructions if i.opname == "LOAD_GLOBAL"}
    assert [execute._reads_global(fn, k) for k in range(len(fn.co_names))] == [
        name in loaded for name in fn.co_names
    ]


def test_interval_helpers_are_the_scalar_helpers():
    assert VOCABULARIES["interval"].unbound == set(scalar_helpers())


# -- (b) mutations of real sources are refused -----------------------------------------

#: a local name each kind's pattern accepts, for mutations that assign one
LOCAL = {"scalar": "v0", "array": "v0", "interval": "v0", "descend": "v0", "dict": "_z",
         "init": "self", "format": "a"}  # fmt: skip

#: (statement injected as the first line of the generated function, what the refusal names)
FUNCTION_MUTATIONS = [
    ("__import__('os')", r"name '__import__'"),
    ("import os", r"IMPORT_NAME"),
    ("from os import system", r"IMPORT_NAME"),
    ("{local} = ().__class__", r"'__class__'|LOAD_ATTR"),
    ("{local} = ().__class__.__base__.__subclasses__()", r"'__(class|base|subclasses)__'|LOAD_ATTR"),
    ("{local} = getattr(0, 'real')", r"global name 'getattr'"),
    ("open('/etc/passwd')", r"global name 'open'"),
    ("\uff4fpen('/etc/passwd')", r"global name 'open'"),  # NFKC: the compiled name is checked
    ("exec('import os')", r"global name 'exec'"),
    ("eval('1')", r"global name 'eval'"),
    ("{local} = globals()", r"global name 'globals'"),
    ("{local} = __builtins__", r"name '__builtins__'"),
    ("{local} = (lambda: open)()", r"MAKE_FUNCTION"),
    ("{local} = (lambda _p=len: _p)()", r"MAKE_FUNCTION"),
    ("def _h():\n    return open", r"MAKE_FUNCTION"),
    ("{local} = 'import os'", r"constant 'import os'"),
    ("{local} = (1.0, ('__import__(\"os\")',))", r"constant '__import__"),
    ("{local} = 1j", r"constant 1j"),
    ("{local} = b'x'", r"constant b'x'"),
    ("{local} = f'x{{0}}'", r"FORMAT_|BUILD_STRING|constant 'x'"),  # format: the constant
    ("global _x\n_x = 1", r"STORE_GLOBAL"),
    ("del {local}", r"DELETE_FAST"),
    ("{local} = [0 for _ in ()]", r"opcode|MAKE_FUNCTION|local name"),
    ("{local} = 0\n{local}.real = 1", r"STORE_ATTR|attribute 'real'"),
    ("{local} = (0).real", r"LOAD_ATTR|attribute 'real'"),
    ("{local} = +{local}", r"UNARY_POSITIVE|CALL_INTRINSIC_1"),
]

#: (statement injected before the generated function, at module level)
MODULE_MUTATIONS = [
    ("import os", r"IMPORT_NAME"),
    ("__import__('os')", r"opcode|'__import__'"),
    ("_q = 1", r"name '_q' at module level"),
    ("_q = open", r"name '_q'|name 'open'"),
    ("class _K:\n    pass", r"opcode (PUSH_NULL|LOAD_BUILD_CLASS)"),
    ("def _g():\n    return 0", r"name '_g'|function named '_g'"),
    ("def _g(x=open):\n    return x", r"name 'open'|name '_g'"),
    ("{function} = 0", r"stored without defining it"),
]


@pytest.fixture(scope="module")
def samples(corpus) -> dict[str, Run]:
    """One real run per kind: the one with the longest source."""
    best: dict[str, Run] = {}
    for run in corpus:
        if run.kind not in best or len(run.source) > len(best[run.kind].source):
            best[run.kind] = run
    assert set(best) == set(VOCABULARIES)
    return best


def inject(source: str, statement: str, *, module: bool = False) -> str:
    """``statement`` as the first statement of the generated function (or of the module)."""
    if module:
        return statement + "\n" + source
    lines = source.splitlines(keepends=True)
    head = next(i for i, ln in enumerate(lines) if ln.startswith("def "))
    indent = re.match(r"\s*", lines[head + 1]).group(0)
    body = "".join(indent + ln + "\n" for ln in statement.splitlines())
    return "".join(lines[: head + 1]) + body + "".join(lines[head + 1 :])


def verdict(kind: str, source: str, namespace: dict) -> str | None:
    """None when the check accepts ``source``, else its message."""
    try:
        check(compile(source, f"<{kind}>", "exec"), namespace, VOCABULARIES[kind])
    except GeneratedCodeError as exc:
        return str(exc)
    return None


@pytest.mark.parametrize("kind", sorted(VOCABULARIES))
def test_unmutated_sources_are_accepted_and_run(samples, kind):
    run = samples[kind]
    assert verdict(kind, run.source, run.namespace) is None
    namespace = run_generated(run.source, dict(run.namespace), kind)
    assert all(callable(namespace[name]) for name in VOCABULARIES[kind].functions)


@pytest.mark.parametrize("kind", sorted(VOCABULARIES))
@pytest.mark.parametrize("statement, names", FUNCTION_MUTATIONS)
def test_injected_constructs_are_refused(samples, kind, statement, names):
    run = samples[kind]
    mutated = inject(run.source, statement.format(local=LOCAL[kind]))
    message = verdict(kind, mutated, run.namespace)
    assert message is not None, f"accepted:\n{mutated[:400]}"
    assert message.startswith(f"generated {kind} code refused (a bug in its generator): ")
    assert re.search(names, message), message


@pytest.mark.parametrize("kind", sorted(VOCABULARIES))
@pytest.mark.parametrize("statement, names", MODULE_MUTATIONS)
def test_injected_module_statements_are_refused(samples, kind, statement, names):
    run = samples[kind]
    (function,) = VOCABULARIES[kind].functions
    statement = statement.format(function=function)
    message = verdict(kind, inject(run.source, statement, module=True), run.namespace)
    assert message is not None and re.search(names, message), message


def test_a_refused_source_never_runs(samples):
    run = samples["scalar"]
    namespace = dict(run.namespace)
    with pytest.raises(GeneratedCodeError, match="IMPORT_NAME"):
        run_generated(inject(run.source, "import os"), namespace, "scalar")
    assert "_f" not in namespace and "os" not in namespace and "__builtins__" not in namespace


def test_each_kind_refuses_what_only_another_kind_may_do(samples):
    """Vocabularies are per generator: a list (dict's), an attribute, a string (array's)
    or a builtin the scalar kind does not list is refused in a scalar function."""
    run = samples["scalar"]
    for statement in ("_h = [0]", "_h = (0).append", "v0 = 'raise'", "v0 = abs(1.0)"):
        assert verdict("scalar", inject(run.source, statement), run.namespace) is not None


def test_a_name_the_namespace_does_not_bind_is_refused(samples):
    run = samples["scalar"]
    namespace = dict(run.namespace)
    del namespace["_diagnose"]
    assert "global name '_diagnose'" in verdict("scalar", run.source, namespace)


class TestClassTest:
    """``<local>.__class__ is [not] _float``: the one accepted use of ``__class__``, and
    only in that exact shape."""

    @pytest.fixture
    def run(self, samples):
        run = samples["scalar"]
        assert "if a0.__class__ is _float:" in run.source
        return run

    def test_accepted_as_written(self, run):
        assert verdict("scalar", run.source, run.namespace) is None

    @pytest.mark.parametrize(
        "replacement",
        [
            "a0.__class__.__class__ is _float",
            "a0.__class__ == _float",
            "a0.__class__ is _diagnose",
            "(a0,).__class__ is _float",
            "a0.__class__(1) is _float",
            "_diagnose(a0.__class__) is _float",
        ],
    )
    def test_any_other_shape_is_refused(self, run, replacement):
        mutated = run.source.replace("a0.__class__ is _float", replacement, 1)
        assert mutated != run.source
        assert "__class__" in (verdict("scalar", mutated, run.namespace) or "")

    def test_not_in_kinds_without_it(self, samples):
        run = samples["descend"]
        assert verdict("descend", inject(run.source, "a0.__class__ is _float"), run.namespace)


# -- (c) user names never reach generated code -----------------------------------------

#: names the lexer admits although they mean something in Python or in the generated code
HOSTILE = ["os", "open", "exec", "eval", "getattr", "_f", "_float", "a0", "v1", "g0", "_n0",
           "_v", "self", "_diagnose", "_solve", "_chunk", "_start", "λ"]  # fmt: skip
TEMPLATE = (
    "{0} = {1}*{2} + sin({3}); {4} = {0}*{5} - {6}/(1 + {7}^2) + {8}*{9}; "
    "{10} = {4} + {11}*{12} + {13}*{14} + {15}*{16} + {17}; z = ({10} - 1)^2"
)


@pytest.mark.parametrize("name", ["__import__", "__class__", "__builtins__", "__x"])
def test_dunder_names_are_refused_by_the_lexer(name):
    with pytest.raises(ParseError, match="names starting with '__' are not allowed"):
        bp.compile(f"{name} + 1")


@pytest.mark.parametrize("name", ["import", "lambda", "None", "_"])
def test_python_words_are_not_names(name):
    with pytest.raises(ParseError):
        bp.compile(f"{name} + 1")


def test_hostile_names_leave_every_generated_source_unchanged(recorder):
    """The same program with hostile and with neutral names: every generator writes the
    same text (the names cannot reach it), and the names live in the namespaces as
    string values only."""

    def sources(names: list[str]) -> tuple[list[tuple[str, str]], list[object]]:
        recorder.clear()
        program = compile_program(TEMPLATE.format(*names), accel=accel)  # in both modes
        point = {v: 0.5 + 0.01 * k for k, v in enumerate(program.variables)}
        program.function()(*point.values())
        program.function()(*[np.full(2, v) for v in point.values()])
        program.value_and_grad(point)
        descend_engine.descend(program, point, "sgd", 1e-4, tol=0.0, max_iter=50)
        bound = {v for run in recorder for k, v in run.namespace.items() if re.fullmatch(r"_n\d+", k)}
        assert bound == set(program.variables)  # and the assigned names are nowhere
        # the tuned emitter's formatters are made once per template of the primitive table
        # (whichever program asks first): they never see a program
        return [(run.kind, run.source) for run in recorder if run.kind != "format"], bound

    hostile, bound = sources(HOSTILE)
    neutral, _ = sources([f"p{k}" for k in range(len(HOSTILE))])
    assert {kind for kind, _ in hostile} == set(VOCABULARIES) - {"init", "format"}
    assert hostile == neutral
    # the names themselves: string values bound as _n0, _n1 … (dict wrapper)
    assert {"open", "a0", "_float", "λ"} <= bound


def test_hostile_names_compute_the_same_values():
    hostile = bp.compile(TEMPLATE.format(*HOSTILE))
    neutral = bp.compile(TEMPLATE.format(*[f"p{k}" for k in range(len(HOSTILE))]))
    values = [0.5 + 0.01 * k for k in range(len(hostile.variables))]
    assert hostile.function()(*values) == neutral.function()(*values)
    got = hostile.value_and_grad(dict(zip(hostile.variables, values)))
    assert list(got[1]) == list(hostile.variables) and math.isfinite(got[0])
