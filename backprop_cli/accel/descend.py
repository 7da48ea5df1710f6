"""The generated sgd loop: rows of plain descent between checkpoints, far faster than the
reference loop of :mod:`backprop_cli.engines.descend`, and exactly equal to it.

:func:`sgd_loop` answers ``try_sgd_loop`` (the contract: :class:`backprop_cli.core.seam.SgdLoop`).
Per program (cached on it) the compiled body is inlined into a loop that runs a pass of
:data:`UNROLL` rows (fewer for long bodies) at a time: one step ``a ← a − η·g`` per row,
the new points recorded with one ``extend`` per pass, and checks 1–3 of the engine on
every row. Whatever stops a row (a check, or an exception) hands that row back to the
engine's plain loop, which evaluates it again and decides; check 4 (the checkpoints) the
engine runs on the recorded points.

Checks 1–3 are not written here. :class:`_Rules` reads the engine's two predicates
(``gradient_converged``, ``loss_in_range``) from their source and writes them into the
loop; it simplifies them only where it can prove the result equal, from the predicates'
own form (a chain ``A < x < B`` of comparisons) and their values:

* check 1 is left out when, at the run's tol, its chain holds for no float (tol = 0);
* the lower link of the range test is left out (the *upper-only* loop) when the loss is
  proven never to fall below it (:func:`loss_lower_bound`);
* a pass that starts inside a proven box runs without the range test (:func:`_proof_box`:
  interval arithmetic over the body shows every row of the pass in range), for bodies of
  +, −, ×, ÷ only.

A predicate of another form is written as it is, without these simplifications; one the
generated code could not run (a call, a name of its own) leaves the runs to the engine.
tests/accel/test_descend_fast.py holds the loop equal to the reference loop.
"""

from __future__ import annotations

import ast
import copy
import inspect
import math
import operator
import re
import textwrap
import weakref
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ..compiler.execute import run_generated
from ..engines import descend as engine

if TYPE_CHECKING:
    from typing import Any, NoReturn, Protocol

    from ..compiler.codegen import Body
    from ..core.graph import Graph
    from ..core.program import Program

    class _Chunk(Protocol):
        """A generated sgd loop (:func:`_generate_chunk`) with its attributes."""

        source: str
        unroll: int
        boxed: bool
        box: Callable[[tuple, float, float, float], tuple | None]  # set by _Loops._get

        def __call__(self, *args: Any) -> int: ...


#: rows per pass of the generated loop (the new points are recorded with one extend per
#: pass): 16 for small bodies; longer bodies take 8 or 4 (the code grows with the square
#: of the unrolling through the early exits, and CPython's compile time grows with it)
UNROLL = 16
#: from this row on a run looks for a box that makes its range test provably pass
#: (:func:`_proof_box`; shorter runs do not pay for the search)
BOX_FROM = 128
NO_BOX = (math.inf, -math.inf)  # a pass never starts inside it: every row is tested


def sgd_loop(program: Program, names: tuple[str, ...], eta: float, tol: float) -> _SgdRun | None:
    """One run's generated loop (:class:`backprop_cli.core.seam.SgdLoop`), or None when the
    engine's checks are written in a form the generator cannot write."""
    rules = _rules()
    if rules is None:
        return None
    return _SgdRun(_chunk_function(program, names, tol, rules), eta, tol)


class _SgdRun:
    """The loop of one run: the variant its range bounds allow and the box it proved."""

    def __init__(self, loops: _Loops, eta: float, tol: float) -> None:
        self.loops, self.eta, self.tol = loops, eta, tol
        self.bounds: tuple[float, float] | None = None
        self.chunk: _Chunk | None = None
        self.box: tuple | None = None  # None: not looked for yet; (): none found

    def __call__(self, points: list[list[float]], lo: float, hi: float, k: int, stop: int) -> int:
        """Rows k … stop−1 from the points' last row k: see :class:`~backprop_cli.core.seam.SgdLoop`."""
        if self.chunk is None or self.bounds != (lo, hi):
            self.chunk, self.bounds, self.box = self.loops.variant(lo, hi), (lo, hi), None
        chunk = self.chunk
        if self.box is None and k >= BOX_FROM:
            start = tuple(xs[0] for xs in points)
            self.box = chunk.box(start, self.eta, lo, hi) or ()
        box = self.box or NO_BOX * len(points)
        point = [xs[-1] for xs in points]
        extends = [xs.extend for xs in points]
        return chunk(*point, self.eta, self.tol, lo, hi, k, stop, *extends, *box)


# -- checks 1–3, read from the engine ------------------------------------------------------

_COMPARE = {ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt,
            ast.GtE: operator.ge, ast.Eq: operator.eq, ast.NotEq: operator.ne}  # fmt: skip
_BINARY: dict[type, Callable[[float, float], float]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
}  # fmt: skip
_UNARY: dict[type, Callable[[float], float]] = {ast.USub: operator.neg, ast.UAdd: operator.pos}
#: what a predicate may be written with: comparisons, and/or/not and float arithmetic over
#: its parameters and number literals (all of it in the generated loop's vocabulary)
_PLAIN = (ast.Compare, ast.BoolOp, ast.UnaryOp, ast.BinOp, ast.Name, ast.Constant, ast.Load,
          ast.And, ast.Or, ast.Not, *_COMPARE, *_BINARY, *_UNARY)  # fmt: skip
#: the rules of each pair of engine predicates seen (None: not writable); the key holds
#: the functions, so a replaced predicate (a test's) is read afresh
_RULES: dict[tuple[Callable, Callable], _Rules | None] = {}


def _rules() -> _Rules | None:
    """The engine's checks 1–3 as the generator writes them, or None."""
    key = (engine.gradient_converged, engine.loss_in_range)
    if key not in _RULES:
        try:
            _RULES[key] = _Rules(*key)
        except ValueError:
            _RULES[key] = None
    return _RULES[key]


class _Rules:
    """The engine's two predicates, written as tests of the generated loop.

    ``gradient_converged(grad, tol)`` must return ``all(E for g in grad)`` (or ``any``)
    with E over g and tol; ``loss_in_range(value, lo, hi)`` any expression over its three
    parameters; both in the :data:`_PLAIN` vocabulary. A test that is a chain
    ``A < x < B`` (either ``<`` may be ``≤``; A and B free of x) also gets the
    simplifications of the module docstring."""

    def __init__(self, converged: Callable[..., bool], in_range: Callable[..., bool]) -> None:
        (grad, self.tol_name), whole = _returned(converged, 2)
        self.join, self.g, self.settled = _each(whole, grad)
        _check_plain(self.settled, {self.g, self.tol_name})
        (self.v, self.lo, self.hi), self.range = _returned(in_range, 3)
        _check_plain(self.range, {self.v, self.lo, self.hi})
        self.in_range = in_range
        self.settled_chain = _chain(self.settled, self.g)
        self.range_chain = _chain(self.range, self.v)
        self._never: dict[float, bool] = {}

    def gradient_test(self, grads: Sequence[str]) -> str:
        """Check 1 over the partials' expressions ``grads``: true when the row stops. A
        ``-tol`` in it reads ``_ntol``, which the loop computes once per call."""
        parts = [_filled(self.settled, {self.g: g, self.tol_name: "_tol"}) for g in grads]
        test = ast.unparse(parts[0] if len(parts) == 1 else ast.BoolOp(self.join(), parts))
        return ast.unparse(_Negated().visit(ast.parse(test, mode="eval")).body)

    def gradient_never(self, tol: float) -> bool:
        """Whether check 1 holds for no float partial at this tol: its chain A < g < B
        has A > B, or A = B with a strict side (or a NaN end)."""
        if tol not in self._never:
            self._never[tol] = self._empty(tol)
        return self._never[tol]

    def _empty(self, tol: float) -> bool:
        if self.settled_chain is None:
            return False
        left, low_op, high_op, right = self.settled_chain
        try:
            a, b = _number(left, {self.tol_name: tol}), _number(right, {self.tol_name: tol})
        except ValueError:
            return False
        both_closed = isinstance(low_op, ast.LtE) and isinstance(high_op, ast.LtE)
        return not (a < b or (a == b and both_closed))

    def range_test(self, value: str, upper_only: bool = False) -> str:
        """Checks 2 and 3 over the loss expression ``value``: true when the row stops.
        ``upper_only`` leaves out the chain's lower link (see :meth:`lower_proven`)."""
        expr = self.range
        if upper_only:
            _, _, high_op, right = self.range_chain  # type: ignore[misc]  # upper_only: a chain
            expr = ast.Compare(ast.Name(self.v, ast.Load()), [high_op], [right])
        filled = _filled(expr, {self.v: value, self.lo: "_lo", self.hi: "_hi"})
        return ast.unparse(ast.UnaryOp(ast.Not(), filled))

    def lower_proven(self, bound: float, lo: float, hi: float) -> bool:
        """Whether the range chain's lower link (A ≤ value, or A < value) holds at these
        lo, hi for every loss ≥ ``bound`` (every loss that is not NaN, which the upper
        link refuses as well)."""
        if self.range_chain is None:
            return False
        left, low_op, _, _ = self.range_chain
        try:
            a = _number(left, {self.lo: lo, self.hi: hi})
        except ValueError:
            return False
        return a <= bound if isinstance(low_op, ast.LtE) else a < bound

    def range_holds(self, low: float, high: float, lo: float, hi: float) -> bool:
        """Whether checks 2 and 3 pass for every loss in [low, high]: the range test is a
        chain, true on an interval of losses, so at both ends (the engine's own function)."""
        if self.range_chain is None:
            return False
        return bool(self.in_range(low, lo, hi) and self.in_range(high, lo, hi))


def _returned(fn: Callable[..., bool], arity: int) -> tuple[list[str], ast.expr]:
    """The parameters of a predicate written as one ``return`` (after a docstring) and the
    expression it returns; ValueError for any other shape."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError) as err:
        raise ValueError(f"cannot read {fn!r}") from err
    func = tree.body[0] if len(tree.body) == 1 else None
    if not isinstance(func, ast.FunctionDef) or func.decorator_list:
        raise ValueError(f"{fn!r} is not a plain def")
    args = func.args
    if (args.posonlyargs or args.vararg or args.kwonlyargs or args.kwarg or args.defaults
            or len(args.args) != arity):  # fmt: skip
        raise ValueError(f"{fn!r} does not take {arity} plain parameters")
    *doc, ret = func.body
    if (
        not isinstance(ret, ast.Return)
        or ret.value is None
        or not all(isinstance(d, ast.Expr) and isinstance(d.value, ast.Constant) for d in doc)
    ):
        raise ValueError(f"{fn!r} is not one return")
    return [a.arg for a in args.args], ret.value


def _each(expr: ast.expr, seq: str) -> tuple[type[ast.boolop], str, ast.expr]:
    """``all(E for g in seq)`` or ``any(…)``: (And or Or, g, E); else ValueError."""
    if (isinstance(expr, ast.Call) and isinstance(expr.func, ast.Name)
            and expr.func.id in ("all", "any") and len(expr.args) == 1 and not expr.keywords
            and isinstance(expr.args[0], ast.GeneratorExp)):  # fmt: skip
        gen = expr.args[0]
        (comp,) = gen.generators if len(gen.generators) == 1 else (None,)
        if (comp is not None and isinstance(comp.target, ast.Name) and not comp.ifs
                and isinstance(comp.iter, ast.Name) and comp.iter.id == seq):  # fmt: skip
            return (ast.And if expr.func.id == "all" else ast.Or), comp.target.id, gen.elt
    raise ValueError("check 1 is not all(… for g in grad) or any(…)")


def _check_plain(expr: ast.expr, names: set[str]) -> None:
    """ValueError unless ``expr`` is in :data:`_PLAIN` over ``names`` and number literals."""
    for node in ast.walk(expr):
        if not isinstance(node, _PLAIN):
            raise ValueError(f"{ast.unparse(node)!r}: not a comparison or arithmetic")
        if isinstance(node, ast.Name) and node.id not in names:
            raise ValueError(f"{node.id!r} is not a parameter")
        if isinstance(node, ast.Constant) and not _is_number(node.value):
            raise ValueError(f"{node.value!r} is not a number")


def _chain(expr: ast.expr, x: str) -> tuple[ast.expr, ast.cmpop, ast.cmpop, ast.expr] | None:
    """``A op x op B`` with each op < or ≤ and A, B free of x: (A, op, op, B); else None."""
    if not (isinstance(expr, ast.Compare) and len(expr.ops) == 2
            and all(isinstance(op, ast.Lt | ast.LtE) for op in expr.ops)):  # fmt: skip
        return None
    left, (middle, right) = expr.left, expr.comparators
    free = {n.id for end in (left, right) for n in ast.walk(end) if isinstance(n, ast.Name)}
    if not (isinstance(middle, ast.Name) and middle.id == x) or x in free:
        return None
    return left, expr.ops[0], expr.ops[1], right


def _number(expr: ast.expr, values: dict[str, float]) -> float:
    """The value of a :data:`_PLAIN` arithmetic expression; ValueError for anything else
    (a comparison, a name without a value, a division by zero)."""
    if isinstance(expr, ast.Constant) and _is_number(expr.value):
        return float(expr.value)  # type: ignore[arg-type]  # an int or a float
    if isinstance(expr, ast.Name) and expr.id in values:
        return values[expr.id]
    if isinstance(expr, ast.UnaryOp) and type(expr.op) in _UNARY:
        return _UNARY[type(expr.op)](_number(expr.operand, values))
    if isinstance(expr, ast.BinOp) and type(expr.op) in _BINARY:
        try:
            return _BINARY[type(expr.op)](_number(expr.left, values), _number(expr.right, values))
        except ZeroDivisionError:
            raise ValueError("division by zero") from None
    raise ValueError(f"{ast.unparse(expr)!r} is not a number")


def _is_number(value: object) -> bool:
    return type(value) is int or type(value) is float


def _filled(expr: ast.expr, texts: dict[str, str]) -> ast.expr:
    """``expr`` with each parameter replaced by the generated code of ``texts``."""
    parsed = {name: ast.parse(text, mode="eval").body for name, text in texts.items()}

    class Fill(ast.NodeTransformer):
        def visit_Name(self, node: ast.Name) -> ast.expr:
            return copy.deepcopy(parsed[node.id])

    return Fill().visit(copy.deepcopy(expr))


class _Negated(ast.NodeTransformer):
    """``-_tol`` → ``_ntol`` (the same float, computed once before the loop)."""

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.expr:
        if (
            isinstance(node.op, ast.USub)
            and isinstance(node.operand, ast.Name)
            and node.operand.id == "_tol"
        ):
            return ast.Name("_ntol", ast.Load())
        return self.generic_visit(node)  # type: ignore[return-value]  # an expression stays one


# -- the loops of a program ----------------------------------------------------------------

_CHUNKS: weakref.WeakKeyDictionary[Program, dict] = weakref.WeakKeyDictionary()


def _chunk_function(
    program: Program, names: Sequence[str], tol: float = 1.0, rules: _Rules | None = None
) -> _Loops:
    """The generated sgd loops of a program (cached on it), each
    ``_chunk(a0.., eta, tol, lo, hi, k0, stop, extend0.., u0, v0, ..) -> k``.

    Runs rows k0 … stop−1 of plain descent with checks 1–3 (the compiled body inlined,
    single-use temporaries folded into their consumers, one step ``a ← a − η·g`` per row,
    the new points recorded with one ``extend`` per pass of :data:`UNROLL` (or fewer, for
    long bodies) rows) and returns the first row it did not finish: ``stop``, or a row
    for the plain loop to look at (a check stopped it, or an exception, to be explained
    by the interpreter). The plain loop evaluates and checks that row exactly, then
    resumes here.

    Variants: without check 1 when it cannot hold at ``tol``; ``upper_only`` without the
    range test's lower link. For a body of +, −, ×, ÷ only, each pass first tests whether
    its start lies in a box ``(u0, v0, …)`` proven by :func:`_proof_box` (found once per
    run, from row :data:`BOX_FROM`): then no row of the pass can fail the range test, and
    the pass runs without it and without the statements only the loss needs; otherwise
    (and with :data:`NO_BOX`) the pass is tested row by row.
    """
    rules = rules or _rules()
    if rules is None:
        raise ValueError("the engine's checks are not in a form the generator writes")
    never = rules.gradient_never(tol)
    cache = _CHUNKS.setdefault(program, {})
    key = (tuple(names), never, rules)
    if key not in cache:
        from ..compiler.codegen import emit

        body = emit(program.graph, names, program.output, indent="")
        bound = loss_lower_bound(program.graph, program.output)
        cache[key] = _Loops(body, len(names), rules, never, bound)
    return cache[key]


class _Loops:
    """One body's generated loops, each compiled on first use (a run needs one of the two:
    compiling one costs more than a short run). Holds no reference to the program (the
    cache is keyed weakly by it)."""

    def __init__(self, body: Body, n: int, rules: _Rules, never: bool, lower_bound: float) -> None:
        self.body, self.n, self.rules, self.never = body, n, rules, never
        self.lower_bound = lower_bound
        self.prove = _interval_function(body, n) if rules.range_chain is not None else None
        self._built: dict[bool, _Chunk] = {}
        self._variants: dict[tuple[float, float], _Chunk] = {}

    def _get(self, upper_only: bool) -> _Chunk:
        if upper_only not in self._built:
            fn = _generate_chunk(self.body, self.n, self.rules, self.never, upper_only, self.prove)
            fn.box = _box_finder(self.prove if fn.boxed else None, fn.unroll, self.rules)
            self._built[upper_only] = fn
        return self._built[upper_only]

    def variant(self, lo: float, hi: float) -> _Chunk:
        """The loop for a run with these range bounds (remembered: runs from one start
        have the same)."""
        key = (lo, hi)
        if key not in self._variants:
            if len(self._variants) >= 256:
                self._variants.clear()
            upper = self.rules.lower_proven(self.lower_bound, lo, hi)
            self._variants[key] = self.upper_only if upper else self.two_sided
        return self._variants[key]

    @property
    def two_sided(self) -> _Chunk:
        """The loop with the whole range test."""
        return self._get(False)

    @property
    def upper_only(self) -> _Chunk:
        """The loop without the range test's lower link (the two-sided one when the loss
        has no known lower bound, or the test is not a chain)."""
        return self._get(self.lower_bound > -math.inf and self.rules.range_chain is not None)


def _box_finder(
    prove: Callable[..., Any] | None, rows: int, rules: _Rules
) -> Callable[[tuple, float, float, float], tuple | None]:
    """``box(center, eta, lo, hi)``: :func:`_proof_box` for one generated loop, remembered
    per argument tuple (a run from the same start with the same η proves the same box)."""
    boxes: dict = {}

    def box(center: tuple, eta: float, lo: float, hi: float) -> tuple | None:
        k = (center, eta, lo, hi)
        if k not in boxes:
            if len(boxes) >= 256:
                boxes.clear()

            def in_range(low: float, high: float) -> bool:
                return rules.range_holds(low, high, lo, hi)

            boxes[k] = None if prove is None else _proof_box(prove, rows, center, eta, in_range)
        return boxes[k]

    return box


# -- proofs: a lower bound of the loss, boxes a pass cannot leave the range in ------------


def loss_lower_bound(graph: Graph, output: int) -> float:
    """A float ≤ every float evaluation of the output node (−inf when none is known).

    Interval propagation over the graph with the same float operations the generated code
    runs on the interval ends: rounding to nearest is monotone, so each end bounds every
    evaluation inside (x·x ≥ 0 and c + (x·x) ≥ c exactly, also after rounding). A NaN end
    (inf − inf, 0·inf) makes the interval unbounded. Only ops whose bounds are obvious are
    followed; every other op is (−inf, inf)."""
    inf = math.inf
    lo: list[float] = []
    hi: list[float] = []
    for node in graph.nodes[: output + 1]:
        op, ins = node.op, node.inputs
        a = b = (-inf, inf)
        if op == "const":
            r = (float(node.value), float(node.value))  # type: ignore[arg-type]  # a const has a value
        elif op == "add":
            a, b = (lo[ins[0]], hi[ins[0]]), (lo[ins[1]], hi[ins[1]])
            r = (a[0] + b[0], a[1] + b[1])
        elif op == "sub":
            a, b = (lo[ins[0]], hi[ins[0]]), (lo[ins[1]], hi[ins[1]])
            r = (a[0] - b[1], a[1] - b[0])
        elif op == "neg":
            r = (-hi[ins[0]], -lo[ins[0]])
        elif op == "mul" and ins[0] == ins[1]:
            r = (0.0, inf)
        elif op == "mul" and lo[ins[0]] >= 0.0 and lo[ins[1]] >= 0.0:
            r = (lo[ins[0]] * lo[ins[1]], hi[ins[0]] * hi[ins[1]])
        elif (
            op == "powc" and graph.nodes[ins[1]].op == "const" and _even(graph.nodes[ins[1]].value)  # type: ignore[arg-type]  # a const
        ):
            r = (0.0, inf)
        elif op in ("exp", "sqrt", "abs"):
            r = (0.0, inf)
        else:
            r = (-inf, inf)
        rl, rh = r
        lo.append(-inf if rl != rl else rl)
        hi.append(inf if rh != rh else rh)
    return lo[output] if graph.nodes else -inf


def _even(c: float) -> bool:
    c = float(c)
    return c.is_integer() and c % 2.0 == 0.0 and c > 0.0


class _Unproven(Exception):
    """An interval end is not finite (or a division by an interval holding 0): no proof."""


class _Iv:
    """Floats lo ≤ hi, both finite, bounding every float evaluation of an expression over
    a box. The ends are computed with the same IEEE operation (+, −, ×, ÷) the generated
    code runs: each is correctly rounded, and rounding to nearest is monotone, so the
    rounded result over the box lies between the rounded results at the corners (exact x·y
    and x/y, with y of one sign, take their extremes at corners). Finite bounds on every
    statement also mean no statement of the body makes inf or NaN or raises. The same
    object times itself is a square (the body multiplies one float by itself, and fl(x·x)
    grows with |x|: an object is shared only where the body shares the float). Anything else
    (``**``, ``_exp`` and the other helpers: libm need not be monotone) has no method here
    and fails, which means "no proof"."""

    __slots__ = ("lo", "hi")

    def __init__(self, lo: float, hi: float) -> None:
        if not (-math.inf < lo <= hi < math.inf):  # also NaN
            raise _Unproven
        self.lo, self.hi = lo, hi

    def __add__(self, o: _Iv | float) -> _Iv:
        o = _iv(o)
        return _Iv(self.lo + o.lo, self.hi + o.hi)

    __radd__ = __add__

    def __sub__(self, o: _Iv | float) -> _Iv:
        o = _iv(o)
        return _Iv(self.lo - o.hi, self.hi - o.lo)

    def __rsub__(self, o: float) -> _Iv:
        return _iv(o) - self

    def __mul__(self, o: _Iv | float) -> _Iv:
        if o is self:  # one name times itself (v2 * v2): the same float squared, ≥ 0
            a, b = abs(self.lo), abs(self.hi)
            low = 0.0 if self.lo <= 0.0 <= self.hi else min(a, b)
            return _Iv(low * low, max(a, b) * max(a, b))
        o = _iv(o)
        p = (self.lo * o.lo, self.lo * o.hi, self.hi * o.lo, self.hi * o.hi)
        return _Iv(min(p), max(p))

    __rmul__ = __mul__

    def __truediv__(self, o: _Iv | float) -> _Iv:
        o = _iv(o)
        if not (o.lo > 0.0 or o.hi < 0.0):
            raise _Unproven
        p = (self.lo / o.lo, self.lo / o.hi, self.hi / o.lo, self.hi / o.hi)
        return _Iv(min(p), max(p))

    def __rtruediv__(self, o: float) -> _Iv:
        return _iv(o) / self

    def __neg__(self) -> _Iv:
        return _Iv(-self.hi, -self.lo)

    def __pos__(self) -> _Iv:
        return self

    def _no_branch(self, *_: object) -> NoReturn:
        """A comparison or truth test has no single answer over a box: no proof."""
        raise TypeError("an interval has no truth value")

    __bool__ = __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = _no_branch
    __hash__ = None  # type: ignore[assignment]


def _iv(o: object) -> _Iv:
    if isinstance(o, _Iv):
        return o
    if type(o) is float or type(o) is int:
        return _Iv(o, o)
    raise _Unproven


def _interval_function(body: Body, n: int) -> Callable[..., Any] | None:
    """The emitted body as ``f(a0..) -> (loss, (grads..))`` over :class:`_Iv`, or None
    when it calls a helper (no builtins: it fails by name) or uses an operation
    :class:`_Iv` has no method for; such a body never gets a box."""
    params = ", ".join(f"a{i}" for i in range(n))
    src = "\n".join(
        [f"def _ivf({params}):", *[f"    {ln}" for ln in body.lines],
         f"    return {body.value}, ({', '.join(body.grads)},)"]
    )  # fmt: skip
    ns: dict = {"__builtins__": {}}
    run_generated(src, ns, "interval")
    f = ns["_ivf"]
    try:  # a helper (NameError) or an operation _Iv lacks (TypeError) fails at any point
        f(*[_Iv(1.0, 1.0)] * n)
    except (NameError, TypeError):
        return None
    except Exception:  # depends on the point (1/(x - 1) at 1): may work elsewhere
        pass
    return f


def _proof_box(
    prove: Callable[..., Any],
    rows: int,
    center: tuple[float, ...],
    eta: float,
    in_range: Callable[[float, float], bool],
) -> tuple | None:
    """Per variable (u, v) such that a pass of ``rows`` rows of the generated loop that
    starts with every a_i in [u_i, v_i] passes the range test (checks 2 and 3) at every
    row (so that pass needs no range test), or None. ``in_range(L, H)``: whether every
    loss in [L, H] passes it.

    The proof, for a box B around ``center`` (radius 2^m · max(1, |c|), the largest m
    found to work): the interval evaluation gives every float loss over B in [L, H] with
    ``in_range(L, H)`` (all statements finite), and every gradient g_i in [−M_i, M_i]. Then
    |fl(η·g_i)| ≤ S_i = fl(|η|·M_i), and a step a ← fl(a − fl(η·g)) from a ≥ d lands at
    ≥ fl(d − S) (monotone rounding; likewise ≤ fl(e + S) from a ≤ e). Starting in [u, v],
    row j's point lies in [d_j, e_j] with d_0 = u, d_{j+1} = fl(d_j − S), e likewise
    upwards, as long as the points so far lie in B; the check below computes d and e for
    rows − 1 steps and requires them inside B, so all ``rows`` rows are in B."""
    if any(not math.isfinite(c) for c in center):
        return None

    def attempt(m: int) -> tuple | None:
        try:
            box = []
            for c in center:
                r = math.ldexp(max(1.0, abs(c)), m)
                box.append(_Iv(c - r, c + r))
            value, grads = prove(*box)
            value = _iv(value)
            if not in_range(value.lo, value.hi):
                return None
            out: list[float] = []
            for c, b, g in zip(center, box, grads):
                g = _iv(g)
                step = abs(eta) * max(abs(g.lo), abs(g.hi))
                u, v = b.lo + rows * step, b.hi - rows * step
                d, e = u, v
                for _ in range(rows - 1):
                    d, e = d - step, e + step
                if not (b.lo <= d and e <= b.hi and u <= c <= v):
                    return None
                out += [u, v]
            return tuple(out)
        except (_Unproven, ArithmeticError, TypeError, NameError):
            return None

    # a box too small is left by the steps, one too large breaks the loss bound (or holds
    # a pole): start from the radius that holds a pass of the steps taken at the center,
    # gallop up while the box works, then bisect to the largest m that works
    try:
        _, grads = prove(*[_Iv(c, c) for c in center])
        need = [2.0 * rows * abs(eta) * abs(_iv(g).lo) / max(1.0, abs(c))
                for c, g in zip(center, grads)]  # fmt: skip
    except (_Unproven, ArithmeticError, TypeError, NameError):
        return None
    if not all(math.isfinite(x) for x in need):
        return None
    m = max(-40, max((math.frexp(x)[1] for x in need if x > 0.0), default=-40))
    tried: dict[int, tuple | None] = {}

    def works(m: int) -> tuple | None:
        if m not in tried:
            tried[m] = attempt(m) if m <= 60 else None
        return tried[m]

    for _ in range(5):  # the gradient grows away from the center: a few radii more
        if works(m) is not None:
            break
        m += 1
    else:
        return None
    step = 1
    while works(m + step) is not None:
        m, step = m + step, 2 * step
    top = m + step  # the first m above that failed
    while top - m > 1:
        mid = (m + top) // 2
        if works(mid) is not None:
            m = mid
        else:
            top = mid
    return works(m)


def _live_lines(lines: list[str], reads: list[str]) -> list[str]:
    """``lines`` without the statements whose name nothing in ``reads`` or a later kept
    statement reads (``name = expr`` statements of the generated body)."""
    need: set[str] = set()
    for t in reads:
        need.update(re.findall(r"\b[A-Za-z_]\w*\b", t))
    out: list[str] = []
    for ln in reversed(lines):
        name, expr = ln.split(" = ", 1)
        if name.strip() in need:
            out.append(ln)
            need.update(re.findall(r"\b[A-Za-z_]\w*\b", expr))
    return out[::-1]


def _atom(expr: str) -> str:
    """``expr`` as it is (a name, a literal) or parenthesised."""
    return (
        expr
        if expr.replace("_", "a").replace(".", "a").replace("-", "a").isalnum()
        else f"({expr})"
    )


def _fold_loss(lines: list[str], value: str, reads: list[str]) -> str:
    """The loss as the range test reads it: when ``value`` names the last of ``lines`` and
    nothing else reads it (the other lines, ``reads``), that line's expression, the line
    dropped from ``lines`` (no name to store); else ``value``."""
    if value.isidentifier() and lines and lines[-1].startswith(value + " = "):
        word = re.compile(rf"\b{value}\b")
        if not any(word.search(t) for t in [*lines[:-1], *reads]):
            return lines.pop()[len(value) + 3 :]
    return value


def _record(ind: str, j: int, n: int) -> list[str]:
    """Hand the first j points of this pass to the lists (n variables)."""
    if j == 0:
        return []
    return [f"{ind}_ex{i}(({', '.join(f'_r{i}_{m}' for m in range(j))},))" for i in range(n)]


def _generate_chunk(
    body: Body,
    n: int,
    rules: _Rules,
    never: bool,
    upper_only: bool,
    prove: Callable[..., Any] | None,
) -> _Chunk:
    """One of :func:`_chunk_function`'s loops for the emitted ``body``, its tests written
    by ``rules``: without check 1 when it can ``never`` hold; ``upper_only`` without the
    range test's lower link; with ``prove`` (:func:`_interval_function`) each pass may
    run without the range test inside a proven box."""
    from ..compiler.codegen import inline_single_use, scalar_helpers

    xs = [f"a{i}" for i in range(n)]
    gradient = [] if never else [rules.gradient_test(body.grads)]
    keep = [body.value, *body.guards] + (body.grads if gradient else [])
    # simultaneous: a gradient may be another variable itself (∂(x·y)/∂x = y)
    raw_update = (
        ", ".join(xs)
        + " = "
        + ", ".join(f"a{i} - _eta * {_atom(g)}" for i, g in enumerate(body.grads))
    )
    # the update is the last statement: a gradient used only there is folded into it
    *lines, update = inline_single_use([*body.lines, raw_update], keep)
    value = _fold_loss(lines, body.value, [update, *gradient])
    checks = [*gradient, rules.range_test(value, upper_only)]
    unroll = UNROLL if len(lines) <= 16 else 8 if len(lines) <= 64 else 4
    # rows of a pass that starts inside the proven box (see :func:`_proof_box`): no range
    # test, and the statements only the loss read are left out. No try either: the body
    # is +, −, ×, ÷ of floats, which raise nothing but ZeroDivisionError, and the box
    # proves every divisor nonzero (and every statement finite), so no row raises
    live = _live_lines(body.lines, [raw_update, *checks[:-1]])
    *boxed, boxed_update = inline_single_use([*live, raw_update], body.grads if gradient else [])

    def row(ind: str, fail: list[str], tested: bool = True) -> list[str]:
        """One row: evaluate, check (``fail`` on a stop), step."""
        if not tested:
            out = [f"{ind}{ln}" for ln in boxed]
            for c in checks[:-1]:
                out += [f"{ind}if {c}:", *[f"{ind}    {f}" for f in fail]]
            return [*out, f"{ind}{boxed_update}"]
        body_lines, row_checks, step = lines, checks, update
        out = [f"{ind}try:", *[f"{ind}    {ln}" for ln in body_lines]]
        for c in row_checks:
            out += [f"{ind}    if {c}:", *[f"{ind}        {f}" for f in fail]]
        out += [f"{ind}    {step}", f"{ind}except Exception:", *[f"{ind}    {f}" for f in fail]]
        return out

    box = [f"_u{i}, _v{i}" for i in range(n)]
    src = [
        f"def _chunk({', '.join(xs)}, _eta, _tol, _lo, _hi, _k0, _stop, {', '.join(f'_ex{i}' for i in range(n))}, {', '.join(box)}):",
        *(["    _ntol = -_tol"] if any("_ntol" in c for c in checks) else []),
        "    _k = _k0",
        f"    _end = _stop - {unroll - 1}",
        "    while _k < _end:",
    ]
    # a body a box can be proven for: its passes untested inside the box (not for long
    # bodies: there the range test is a small part of a row, and compiling the second pass
    # would cost more than it saves)
    boxed_pass = prove is not None and len(lines) <= 64
    if boxed_pass:
        src.append("        if " + " and ".join(f"_u{i} <= a{i} <= _v{i}" for i in range(n)) + ":")
    for tested in (False, True) if boxed_pass else (True,):
        ind = "            " if boxed_pass else "        "
        if tested and boxed_pass:
            src.append("        else:")
        for j in range(unroll):
            fail = [*_record("", j, n), f"return _k + {j}" if j else "return _k"]
            src += row(ind, fail, tested)
            src += [f"{ind}_r{i}_{j} = a{i}" for i in range(n)]
    src += _record("        ", unroll, n)
    src += [f"        _k += {unroll}", "    while _k < _stop:"]
    src += row("        ", ["return _k"])
    src += [f"        _ex{i}((a{i},))" for i in range(n)]
    src += ["        _k += 1", "    return _k"]
    text = "\n".join(src) + "\n"
    ns = scalar_helpers()
    run_generated(text, ns, "descend")
    fn = ns["_chunk"]
    fn.source = text
    fn.unroll = unroll
    fn.boxed = boxed_pass
    return fn
