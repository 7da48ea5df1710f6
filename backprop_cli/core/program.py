"""Program: a parsed, validated computation graph with every way to evaluate it.

* interpreted reference path: :meth:`Program.trace` (values, local partials, adjoints of
  every node; reverse sweep) and :meth:`Program.forward_gradient` (dual numbers);
* compiled fast path: :meth:`Program.function` (positional, straight-line code generated
  once and cached) and :meth:`Program.value_and_grad` on top of it.
"""

from __future__ import annotations

import difflib
import gc
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Mapping, Sequence

from . import dual, reverse
from ..errors import DomainError, InputError, InputOverflowError, InputTypeError
from .graph import Graph, Node, build, forward

if TYPE_CHECKING:
    from collections.abc import Collection, Iterable, Iterator
    from types import SimpleNamespace

    from .seam import Accelerators
    from typing import Any


@dataclass(frozen=True, slots=True)
class Trace:
    """One interpreted evaluation: per node value, local partials and adjoint ∂output/∂node."""

    values: list
    locals: list[tuple]
    adjoints: list
    output: int

    @property
    def value(self) -> Any:
        return self.values[self.output]


def suggest(name: str, candidates: Collection[str]) -> str:
    """' (did you mean 'x'?)' or ''."""
    close = difflib.get_close_matches(name, list(candidates), n=1)
    if not close:
        lowered = {c.lower(): c for c in candidates}
        if name.lower() in lowered:
            close = [lowered[name.lower()]]
    return f"; did you mean '{close[0]}'?" if close else ""


class Program:
    """A compiled program. Build with :func:`backprop_cli.compile`."""

    def __init__(
        self, graph: Graph, output: int | None = None, accel: Accelerators | None = None
    ) -> None:
        self.graph = graph
        #: the accelerators this program may use (:mod:`backprop_cli.accel`), or None: the
        #: reference alone. Set by :func:`backprop_cli.compile`; see core/seam.py.
        self.accel = accel
        self.output = graph.output if output is None else output
        self._functions: dict[tuple[str, ...], Callable] = {}
        self._array_functions: dict[tuple[str, ...], Callable] = {}
        self._sources: dict[tuple[str, ...], str] = {}
        self._vg: Callable | None = None  # the generated value_and_grad, built on first use

    # -- description -----------------------------------------------------------------
    @property
    def source(self) -> str:
        return self.graph.source

    @property
    def variables(self) -> tuple[str, ...]:
        """Input variable names, in order of first appearance."""
        return self.graph.variables

    @property
    def nodes(self) -> tuple[Node, ...]:
        return self.graph.nodes

    @property
    def output_name(self) -> str:
        if self.output == self.graph.output:
            return self.graph.output_name
        return self.graph.label(self.output)

    @property
    def named(self) -> tuple[str, ...]:
        """Assigned (named intermediate) names, in statement order."""
        return self.graph.assigned

    def label(self, node_id: int) -> str:
        return self.graph.label(node_id)

    def with_output(self, name: str | None) -> "Program":
        """The same graph with another named node as output (``--of NAME``)."""
        if name is None:
            return self
        if name not in self.graph.assigned:
            if name in self.graph.variables:
                raise InputError(f"--of '{name}': '{name}' is an input variable, not a computed node")
            raise InputError(
                f"--of '{name}': no node of that name in the program" + suggest(name, self.graph.assigned)
            )
        return Program(self.graph, self.graph.names[name], self.accel)

    # -- values ------------------------------------------------------------------------
    def point(self, values: Mapping[str, object]) -> dict[str, Any]:
        """The checked point every dict-taking entry point evaluates: a value for each
        variable (no more, no fewer), each a number — a float, or a float64 numpy array for
        an array of numbers (ints, numpy scalars and Fractions become floats). A bool, None,
        a string, a complex number or another container is refused with an
        :class:`~backprop_cli.errors.InputTypeError` naming the variable; a number beyond
        the float64 range (``10**400``) with an :class:`~backprop_cli.errors.InputOverflowError`.
        Engines check their start dicts with it too.
        """
        if not isinstance(values, Mapping) and not (
            hasattr(values, "keys") and hasattr(values, "__getitem__")
        ):
            raise InputTypeError(
                "values must be a mapping of variable name to number, such as "
                f"{{'{self.graph.variables[0] if self.graph.variables else 'x'}': 1.0}}, "
                f"not {_type_name(values)}"
            )
        missing = [v for v in self.graph.variables if v not in values]
        if missing:
            raise InputError(f"no value for variable{'s' if len(missing) > 1 else ''} " + ", ".join(missing))
        known = self.graph.variables
        if len(values) != len(known):  # (a set: a 100 000-variable program stays linear)
            known_set = frozenset(known)
            extra = [k for k in values if k not in known_set]
        else:
            extra = []
        if extra:
            name = extra[0]
            if not isinstance(name, str):
                raise InputTypeError(
                    f"variable names are strings; {name!r} ({_type_name(name)}) is not a "
                    "variable of this program",
                )
            raise InputError(f"'{name}' is not a variable of this program" + suggest(name, self.graph.variables))
        return {k: checked_value(k, values[k]) for k in self.graph.variables}

    def trace(self, values: Mapping[str, object]) -> Trace:
        """Interpreted forward pass and reverse sweep: every node's value, locals, adjoint."""
        point = self.point(values)
        vals, M = forward(self.graph, point, output=self.output)
        if M is not reverse_scalar():
            import numpy as np

            with np.errstate(all="ignore"):
                locs = reverse.local_partials(self.graph, vals, M)
                adj = reverse.adjoints(self.graph, locs, self.output)
        else:
            locs = reverse.local_partials(self.graph, vals, M)
            adj = reverse.adjoints(self.graph, locs, self.output)
        t = Trace(vals, locs, adj, self.output)
        _require_finite(self, t, self.graph.variables)
        return t

    def interpreted_value_and_grad(self, values: Mapping[str, object]) -> tuple[Any, dict[str, Any]]:
        t = self.trace(values)
        return t.value, {v: t.adjoints[i] for v, i in zip(self.graph.variables, self.graph.var_ids)}

    def forward_gradient(self, values: Mapping[str, object]) -> dict:
        """∂output/∂v by forward mode (dual numbers, one pass per variable), domain-checked first."""
        point = self.point(values)
        forward(self.graph, point, output=self.output)  # raises the same DomainErrors as reverse mode
        grads = self._dual(dual.gradient, self.graph, point, self.output)
        for name, g in grads.items():
            if not _all_finite(g):
                raise _not_finite_partial(self, name)
        return grads

    def _dual(self, rule: Callable[..., Any], *args: Any) -> Any:
        """Run a dual-number pass; an arithmetic failure there becomes a DomainError."""
        try:
            return rule(*args)
        except (ArithmeticError, ValueError) as exc:
            raise DomainError(
                f"forward mode cannot compute a derivative of `{self.output_name}` here: {exc}",
                self.source,
                self.graph.nodes[self.output].span,
                node=self.output,
            ) from None

    def forward_tangents(self, values: Mapping[str, object], seed: str) -> list:
        """∂node/∂seed for every node (one forward-mode pass)."""
        return self._dual(dual.jvp, self.graph, self.point(values), seed, self.output)

    def hessian(self, values: Mapping[str, object], names: Sequence[str] | None = None) -> list[list]:
        """Exact second partials ∂²output/∂vᵢ∂vⱼ (nested dual numbers), domain-checked first."""
        point = self.point(values)
        forward(self.graph, point, output=self.output)
        names = list(names or self.graph.variables)
        h = self._dual(dual.hessian, self.graph, point, names, self.output)
        for i, row in enumerate(h):
            for j, v in enumerate(row):
                if not _all_finite(v):
                    raise DomainError(
                        f"the second partial of the output with respect to '{names[i]}' and "
                        f"'{names[j]}' is not finite",
                        self.source,
                        self.graph.nodes[self.output].span,
                        node=self.output,
                    )
        return h

    # -- compiled fast path ------------------------------------------------------------
    def function(self, names: Sequence[str] | None = None) -> Callable:
        """A compiled ``f(*values) -> (value, (partial, ...))`` in the order of ``names``.

        ``names`` must list every variable exactly once (default: :attr:`variables`).
        Floats run through ``math``; numpy arrays (broadcasting) through ufuncs.
        """
        f = self._functions.get(self.graph.variables if names is None else tuple(names))
        if f is None:
            f = self._compile(self._key(names))
        return f

    def array_function(self, names: Sequence[str] | None = None) -> Callable:
        """Like :meth:`function`, always through numpy (inputs become float arrays). Its
        values are checked as :meth:`point` checks them (this path is for arrays: the check
        costs little next to the numpy work)."""
        key = self._key(names)
        if key not in self._array_functions:
            self._compile(key)
        return self._array_functions[key]

    def generated_source(self, names: Sequence[str] | None = None) -> str:
        key = self._key(names)
        if key not in self._sources:
            self._compile(key)
        return self._sources[key]

    def _key(self, names: Sequence[str] | None) -> tuple[str, ...]:
        key = tuple(self.graph.variables if names is None else names)
        if sorted(key) != sorted(self.graph.variables) or len(set(key)) != len(key):
            raise InputError(
                "names must list every variable of the program exactly once: " + ", ".join(self.graph.variables)
            )
        return key

    def _compile(self, key: tuple[str, ...]) -> Callable:
        from ..compiler.codegen import build_functions

        def diagnose(values: tuple) -> tuple[Any, tuple[Any, ...]]:
            """The reference interpreter explains a failure (or, on a false alarm, answers).
            A value that is not a number is named here (the trace checks every value)."""
            t = self.trace(dict(zip(key, values)))
            grads = tuple(t.adjoints[self.graph.names[n]] for n in key)
            _require_finite(self, t, key)
            return t.value, grads

        def checked(values: tuple) -> tuple:
            """The positional values, checked and converted as :meth:`point` does."""
            if len(values) != len(key):
                raise InputTypeError(
                    f"expected {len(key)} value{'s' if len(key) != 1 else ''} "
                    f"({', '.join(key)}), got {len(values)}"
                )
            return tuple(map(checked_value, key, values))

        with gc_paused():  # the body from self.accel.try_emit when it answers, else emit
            f, af, src = build_functions(self.graph, key, diagnose, self.output, self.accel)
        # The fast function's own first test sends anything but a float in the first place
        # (and any value the float code cannot take: a TypeError there) to its module's
        # _general; checked there, a bool, None, a string or 10**400 becomes the package's
        # error naming the variable, at no cost to the all-float call.
        general = f.__globals__["_general"]
        f.__globals__["_general"] = lambda values: general(checked(values))
        self._functions[key] = f
        self._array_functions[key] = lambda *values: af(*checked(values))
        self._sources[key] = src
        return f

    def value_and_grad(self, values: Mapping[str, object]) -> tuple[Any, dict[str, Any]]:
        """``(value, {variable: ∂output/∂variable})`` through the compiled code.

        The first call generates a small wrapper around :meth:`function` (dictionary in,
        dictionary out, no per-call validation beyond one lookup and one type test per
        name) and binds it on this instance, so later calls go straight to it. Values that
        are not Python floats or ints are checked as :meth:`point` checks them.
        """
        vg = self._vg
        if vg is None:
            from ..compiler.codegen import build_dict_function

            slow = self._value_and_grad_slow
            fast = build_dict_function(self.function(), self.graph.variables, slow)

            def vg(
                values: Mapping[str, object],
                _fast: Callable = fast,
                _slow: Callable = slow,
                _float: type = float,
                _int: type = int,
            ) -> tuple[Any, dict[str, Any]]:
                # Only Python floats and ints take the generated path; anything else (a
                # bool, None, a string, a numpy value or array) is checked on the slow one.
                try:
                    for v in values.values():
                        c = v.__class__
                        if c is not _float and c is not _int:
                            return _slow(values)
                except AttributeError:  # not a mapping
                    return _slow(values)
                return _fast(values)

            vg.__doc__ = Program.value_and_grad.__doc__
            self._vg = vg
            # shadows the method on this instance (deliberate): one call per use
            self.value_and_grad = vg  # type: ignore[method-assign]
        return vg(values)

    def _value_and_grad_slow(self, values: Mapping[str, object]) -> tuple[Any, dict[str, Any]]:
        """Irregular input (a missing or extra name, not a mapping, a value that is not a
        Python float or int): explain, or evaluate — arrays through numpy."""
        point = self.point(values)  # raises the explanatory InputError
        args = tuple(point.values())
        if all(a.__class__ is float for a in args):
            value, grads = self.function()(*args)
        else:  # numpy arrays: under numpy's error checks, never the float code
            value, grads = self.array_function()(*args)
        return value, dict(zip(self.graph.variables, grads))


def _type_name(value: object) -> str:
    if value is None:
        return "None"
    return f"{'an' if type(value).__name__[:1] in 'aeiou' else 'a'} {type(value).__name__}"


def _shown(value: object) -> str:
    shown = repr(value)
    return shown if len(shown) <= 40 else shown[:37] + "..."


def _refuse(name: str, value: object, what: str, hint: str | None = None) -> InputTypeError:
    """'w' = True is a bool, not a number (the variable named; the value shown short)."""
    if value is None:
        message = f"'{name}' is None, not a number"
    elif what.startswith("a complex"):
        message = f"'{name}' = {_shown(value)} is {what}; only real numbers are supported"
    else:
        message = f"'{name}' = {_shown(value)} is {what}, not a number"
    return InputTypeError(message, variable=name, hint=hint)


def _too_large(name: str, value: object) -> InputOverflowError:
    shown = repr(value)
    if len(shown) > 40:
        shown = shown[:20] + "..." + shown[-10:] + f" ({len(repr(value))} characters)"
    return InputOverflowError(
        f"'{name}' = {shown} is beyond the float64 range (about ±1.8e308)", variable=name
    )


def checked_value(name: str, value: Any) -> Any:
    """``value`` as the evaluators take it — a float, or a float64 numpy array — or the
    package's error naming ``name`` (see :meth:`Program.point`)."""
    cls = value.__class__
    if cls is float:
        return value
    if cls is int:
        try:
            return float(value)
        except OverflowError:
            raise _too_large(name, value) from None
    return _checked_other(name, value)


def _checked_other(name: str, value: Any) -> Any:
    import numbers
    import sys

    np = sys.modules.get("numpy")  # a numpy value can only exist once numpy is imported
    if value is None:
        raise _refuse(name, value, "None")
    if isinstance(value, bool) or (np is not None and isinstance(value, np.bool_)):
        raise _refuse(name, value, "a bool")
    if isinstance(value, str | bytes | bytearray):
        raise _refuse(
            name, value, f"a {type(value).__name__}", hint="convert text with float() first"
        )
    if np is not None and isinstance(value, np.ndarray):
        return _checked_array(name, value)
    if isinstance(value, numbers.Complex) and not isinstance(value, numbers.Real):
        raise _refuse(name, value, "a complex number")
    if isinstance(value, numbers.Number):  # int and float subclasses, Fraction, Decimal, numpy
        return _checked_scalar(name, value)
    if isinstance(value, list | tuple) or hasattr(value, "__array__"):
        return _checked_array(name, value)
    raise _refuse(name, value, _type_name(value))


def _checked_scalar(name: str, value: Any) -> float:
    import math
    import warnings

    try:
        with warnings.catch_warnings():  # numpy's long double warns as it overflows
            warnings.simplefilter("ignore")
            x = float(value)
    except OverflowError:
        raise _too_large(name, value) from None
    except (TypeError, ValueError):
        raise _refuse(name, value, _type_name(value)) from None
    if math.isinf(x) and not (value == x):  # a finite Decimal or long double beyond float64
        raise _too_large(name, value)
    return x


def _checked_array(name: str, value: Any) -> Any:
    """A float64 array of ``value``'s numbers (ints, floats, numpy numbers; nested lists);
    an array of bools, strings, complex numbers or other objects is refused."""
    import numpy as np

    try:
        arr = value if isinstance(value, np.ndarray) else np.asarray(value)
    except (ValueError, TypeError, OverflowError):
        raise InputTypeError(
            f"'{name}' = {_shown(value)} is not an array of numbers (rows of unequal lengths?)",
            variable=name,
        ) from None
    kind = arr.dtype.kind
    if kind == "f" and arr.dtype == np.float64:
        return arr
    if kind in "iuf":
        with np.errstate(over="raise", invalid="raise"):
            try:
                return arr.astype(np.float64)
            except FloatingPointError:
                raise _too_large(name, value) from None
    if kind == "O":  # Python objects: fine if every one is a number (huge ints, Fractions)
        flat = []
        for x in arr.flat:
            try:
                x = checked_value(name, x)
            except InputTypeError:
                what = "None" if x is None else _type_name(x)
                raise InputTypeError(
                    f"'{name}' = {_shown(value)} holds {what}; an array must hold numbers only",
                    variable=name,
                ) from None
            if x.__class__ is not float:
                raise InputTypeError(
                    f"'{name}' = {_shown(value)} is not an array of numbers "
                    "(rows of unequal lengths?)",
                    variable=name,
                )
            flat.append(x)
        return np.asarray(flat, dtype=np.float64).reshape(arr.shape)
    what = {
        "b": "an array of bools",
        "c": "an array of complex numbers",
        "U": "an array of strings",
        "S": "an array of bytes",
    }.get(kind, f"an array of {arr.dtype}")
    raise _refuse(name, value, what)


def reverse_scalar() -> SimpleNamespace:
    from .primitives import SCALAR

    return SCALAR


def _all_finite(v: object) -> bool:
    from .graph import all_finite

    return all_finite(v)


def _not_finite_partial(program: Program, name: str) -> DomainError:
    node = program.graph.nodes[program.graph.names[name]]
    return DomainError(
        f"the partial of the output with respect to '{name}' is not finite (it overflows)",
        program.source,
        node.span,
        node=node.id,
    )


def _require_finite(program: Program, t: Trace, key: Iterable[str]) -> None:
    for n in key:
        if not _all_finite(t.adjoints[program.graph.names[n]]):
            raise _not_finite_partial(program, n)


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a program is compiled.

    Parsing, building and code generation allocate tens of thousands of small objects for
    a long program; the collector's many passes over them during compilation find no
    garbage (what is not kept is freed by reference counting). Paused, the new objects
    that survive are looked at once, by the first collection afterwards (the saving is in
    benchmarks/README.md). The collector runs again afterwards — only
    if it was on: a caller's gc.disable() is respected.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def compile_program(
    text: str, output: str | None = None, accel: Accelerators | None = None
) -> Program:
    """Parse and build *text* (the reference parser, or ``accel.try_parse`` first)."""
    from ..lang.lexer import prepare_source
    from ..lang.parser import parse_flat

    with gc_paused():
        flat = None
        if accel is not None:
            flat = accel.try_parse(prepare_source(text))
        if flat is None:
            flat = parse_flat(text)
        return Program(build(flat, output), accel=accel).with_output(output)
