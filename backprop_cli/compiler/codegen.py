"""Compile a graph to straight-line Python: the forward pass, then the reverse sweep.

The source is generated from our own validated graph — never from user text: inputs are
``a0, a1, …``, node values ``v<id>``, adjoints ``g<id>``, helpers ``_name``; no user string
(not even in a comment) reaches the generated code. Constants are emitted with ``repr``
of a finite float.

Two flavours come out of the same emitter:

* scalar — Python floats through ``math``: domain problems raise (ValueError,
  ZeroDivisionError, OverflowError), caught at zero cost by one ``try``; a silent overflow
  to inf is caught by one finiteness test on the sum of the results;
* array — numpy ufuncs under ``np.errstate(... ='raise')`` so an inf or NaN born anywhere
  raises ``FloatingPointError`` with no extra pass over the data.

On any failure the generated code calls back into the interpreter, which is the reference:
it names the node, its span and the offending value (a DomainError), or — if the alarm was
false — returns its own, equal, result. The reverse sweep is simplified while emitting:
adjoint 1 is not multiplied, a partial of ±1 is a copy or a negation, an adjoint that is
one name or literal is an alias rather than a new variable, each adjoint is written once
as the sum of all its contributions (CPython's ``compile()`` pays per statement: the
largest part of compiling a long program), and an adjoint read only once is folded
into its reader. Accumulation never updates in place, so numpy arrays are never aliased
and mutated.

:func:`emit` is the reference emitter, written to be read. With accelerators on,
:func:`build_functions` asks ``accel.try_emit`` first: the tuned emitter (accel/emit.py),
which writes the same :class:`Body` with less work.
"""

from __future__ import annotations

import functools
import math
import re
from typing import TYPE_CHECKING, Any, Callable, Sequence

from ..core.graph import Graph, Node
from ..core.primitives import LN2, LN10, SCALAR, TABLE, array_namespace
from .execute import run_generated

if TYPE_CHECKING:
    from ..core.seam import Accelerators

#: op -> the inputs where an infinite value can vanish (x/inf = 0, atan(inf) = pi/2,
#: min(inf, 1) = 1, 2^-inf = 0 …). Python float arithmetic overflows to inf silently, and an
#: inf that vanishes leaves the output and the gradient finite, so the scalar code's one
#: finiteness test on its results would miss it; these inputs join that test ("guards").
#: Every other op carries an inf or NaN on to its own value.
SATURATING: dict[str, tuple[int, ...]] = {
    "div": (1,), "atan": (0,), "tanh": (0,), "sigmoid": (0,), "exp": (0,), "relu": (0,),
    "softplus": (0,), "min": (0, 1), "max": (0, 1), "logb": (1,), "pow": (0, 1), "powc": (0, 1),
}  # fmt: skip

HELPERS = (
    "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "exp", "log",
    "log2", "log10", "sqrt", "fabs", "sign", "step", "less", "sigmoid", "softplus",
    "pow", "pow_dx", "minimum", "maximum",
)  # fmt: skip


def scalar_helpers() -> dict:
    ns = {f"_{h}": getattr(SCALAR, h) for h in HELPERS}
    # the exponent's partial of x^y raises for x <= 0 (the interpreter then explains why)
    ns["_pow_dy"] = lambda x, y, out: out * math.log(x)
    ns.update(_LN2=LN2, _LN10=LN10)
    return ns


def array_helpers() -> dict:
    import numpy as np

    A = array_namespace()
    ns = {f"_{h}": getattr(A, h) for h in HELPERS}
    ns["_pow_dy"] = lambda x, y, out: out * np.log(x)
    ns.update(_LN2=LN2, _LN10=LN10)
    return ns


#: a primitive's templates: (``code``, ``dcode``), see core/primitives.py
Template = tuple[str, tuple[str, ...]]

_FLOAT_LITERAL = re.compile(r"-?[0-9]+\.?[0-9]*(?:e[-+]?[0-9]+)?")


class Body:
    """The emitted statements plus the expressions that hold each wanted result."""

    def __init__(
        self,
        lines: list[str],
        value: str,
        grads: list[str],
        ref: dict[int, str],
        adj: dict[int, str],
        guards: tuple[list[str], list[str]] = ([], []),
    ):
        self.lines = lines
        # values to test for finiteness: (every guarded ref, the guarded refs of constant
        # nodes — plain floats even in the array flavour, where numpy cannot raise for them)
        self.guards, self.constant_guards = guards
        self.value = value  # expression of the output value
        self.grads = grads  # expression of ∂output/∂arg for each argument
        self.ref = ref  # node id -> expression of its value
        self.adj = adj  # node id -> expression of its adjoint (reached, non-constant nodes)


#: precedence of a generated expression's top-level operator, for parenthesising only
#: where Python needs it (CPython's ``compile()`` cost grows with every token, and the
#: reverse sweep used to be about half parentheses): sums, products, unary minus, atoms
P_SUM, P_MUL, P_NEG, P_ATOM = 1, 2, 3, 9
_TPREC: dict[str, int | None] = {}


def _template_prec(t: str) -> int | None:
    """Precedence of a ``code``/``dcode`` template (None: it is one bare placeholder)."""
    got = _TPREC.get(t, -1)
    if got != -1:
        return got
    import ast

    bare = t.strip()
    if bare in ("{0}", "{1}", "{out}"):
        p = None
    else:
        node = ast.parse(t.replace("{out}", "x").replace("{0}", "x").replace("{1}", "x"), mode="eval").body
        if isinstance(node, ast.BinOp):
            op = node.op
            p = P_SUM if isinstance(op, ast.Add | ast.Sub) else P_MUL if isinstance(op, ast.Mult | ast.Div) else 0
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            p = P_NEG
        elif isinstance(node, ast.Call | ast.Name | ast.Constant):
            p = P_ATOM
        else:
            p = 0  # anything else is always parenthesised
    _TPREC[t] = p
    return p


def _prec_of(s: str, prec: dict[str, int]) -> int:
    p = prec.get(s)
    if p is not None:
        return p
    if s.isidentifier():
        return P_ATOM
    if _FLOAT_LITERAL.fullmatch(s) is not None:
        return P_NEG if s[0] == "-" else P_ATOM
    return 0


_NEEDS: dict[str, tuple[int, ...]] = {}


def _placeholder_needs(t: str) -> tuple[int, ...]:
    """For placeholders {0}, {1} of a ``code`` template: the lowest precedence at which an
    operand written there needs no parentheses.

    Read off the template's own Python syntax tree, so leaving parentheses out never
    changes the tree CPython compiles (the same operations in the same order): a left
    operand of + or − needs a sum, a right one a product (``a - (b - c)`` keeps its
    parentheses); a left operand of × or ÷ a product, a right one a unary minus; the
    operand of unary minus a unary minus; a call argument anything; anything else (``**``,
    a placeholder used twice) an atom. tests/compiler/test_parenthesisation.py checks every template.
    """
    got = _NEEDS.get(t)
    if got is not None:
        return got
    import ast

    tree = ast.parse(t.replace("{out}", "_out").replace("{0}", "_p0").replace("{1}", "_p1"), mode="eval")
    needs = [P_ATOM, P_ATOM]
    seen = [0, 0]
    for node in ast.walk(tree):
        kids: list[tuple[ast.AST, int]] = []
        if isinstance(node, ast.BinOp):
            if isinstance(node.op, ast.Add | ast.Sub):
                kids = [(node.left, P_SUM), (node.right, P_MUL)]
            elif isinstance(node.op, ast.Mult | ast.Div):
                kids = [(node.left, P_MUL), (node.right, P_NEG)]
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            kids = [(node.operand, P_NEG)]
        elif isinstance(node, ast.Call):
            kids = [(a, 0) for a in node.args]
        elif isinstance(node, ast.Expression):
            kids = [(node.body, 0)]
        for kid, need in kids:
            if isinstance(kid, ast.Name) and kid.id in ("_p0", "_p1"):
                m = int(kid.id[2])
                seen[m] += 1
                needs[m] = need
    got = tuple(n if c == 1 else P_ATOM for n, c in zip(needs, seen))
    _NEEDS[t] = got
    return got


def emit(
    graph: Graph,
    args: Sequence[str],
    output: int | None = None,
    indent: str = "    ",
    fold: bool = False,
) -> Body:
    """Straight-line statements computing the output and its gradient w.r.t. ``args``.

    ``args`` are variable names (every one of ``graph.variables`` must be present); the
    argument for ``args[k]`` is the Python identifier ``a<k>``. With ``fold``, a forward
    value read once by the forward pass and never by the reverse sweep, the guards or the
    result is not stored: its expression is written, parenthesised, into its one reader
    (the same float operations in the same order; ``Body.ref`` then holds that expression).

    The reference emitter, written to be read; accel/emit.py writes the same Body faster.
    """
    out = graph.output if output is None else output
    work = _needed(graph, out)
    templates = {node.id: _templates(graph, node) for node in work if node.op not in ("var", "const")}
    foldable = _foldable(work, templates, out) if fold else None
    em = _Emission(graph, templates, indent)
    em.forward(work, {name: f"a{k}" for k, name in enumerate(args)}, foldable)
    em.reverse(work, out)
    grads = [em.adj.get(graph.names[name], "0.0") for name in args]
    return Body(em.lines, em.ref[out], grads, em.ref, em.adj, (em.guards, em.constant_guards))


def _needed(graph: Graph, out: int) -> list[Node]:
    """The nodes the output depends on (itself included), in creation order."""
    needed = {out}
    for node in reversed(graph.nodes[: out + 1]):
        if node.id in needed:
            needed.update(node.inputs)
    return [node for node in graph.nodes[: out + 1] if node.id in needed]


def _foldable(work: list[Node], templates: dict[int, Template], out: int) -> set[int]:
    """The nodes whose value may be written into its reader instead of stored: read
    (seen through ``id`` aliases) by one placeholder of one template and by nothing else —
    no partial, no guard (:data:`SATURATING`), not the result — and not constant."""
    root: dict[int, int] = {}  # an `id` node -> the node it passes on
    uses: dict[int, int] = {}
    blocked = set()
    for node in work:
        if node.op == "id":
            root[node.id] = root.get(node.inputs[0], node.inputs[0])
            continue
        if node.op == "var" or node.op == "const":
            continue
        counts, partials_read, value_read = _reads(templates[node.id])
        if node.constant or value_read:
            blocked.add(node.id)
        for m, j in enumerate(node.inputs):
            r = root.get(j, j)
            uses[r] = uses.get(r, 0) + counts[m]
            if partials_read[m] or m in SATURATING.get(node.op, ()):
                blocked.add(r)
    blocked.add(root.get(out, out))
    return {i for i, n in uses.items() if n == 1 and i not in blocked}


@functools.cache
def _reads(templates: Template) -> tuple[tuple[int, int], tuple[bool, bool], bool]:
    """How a node with these templates reads its inputs: how many times its value's
    template reads each, whether some partial reads each, whether a partial reads the
    node's own value (``{out}``)."""
    code, dcode = templates
    counts = (code.count("{0}"), code.count("{1}"))
    partials_read = (any("{0}" in dk for dk in dcode), any("{1}" in dk for dk in dcode))
    return counts, partials_read, any("{out}" in dk for dk in dcode)


class _Emission:
    """What one call of :func:`emit` writes: the statements, each node's value and adjoint
    expression, and what it knows of each expression it wrote."""

    def __init__(self, graph: Graph, templates: dict[int, Template], indent: str) -> None:
        self.nodes = graph.nodes
        self.templates = templates
        self.indent = indent
        self.lines: list[str] = []
        self.ref: dict[int, str] = {}  # node id -> expression of its value
        self.adj: dict[int, str] = {}  # node id -> expression of its adjoint
        self.prec: dict[str, int] = {}  # generated expression -> precedence of its top operator
        self.fdepth: dict[str, int] = {}  # folded forward expression -> nesting depth
        self.depth: dict[str, int] = {}  # folded adjoint expression -> nesting depth
        self.guards: list[str] = []
        self.guarded: set[str] = set()
        self.constant_guards: list[str] = []

    # -- forward pass ------------------------------------------------------------------
    def forward(self, work: list[Node], arguments: dict[str, str], foldable: set[int] | None) -> None:
        """Each node's value, in creation order: an argument, a literal, an alias or an
        operation's expression."""
        for node in work:
            if node.op == "var":
                self.ref[node.id] = arguments[node.name]  # type: ignore[index]  # a var has a name
            elif node.op == "const":
                self.ref[node.id] = repr(float(node.value))  # type: ignore[arg-type]  # a const has a value
            elif node.op == "id":
                self.ref[node.id] = self.ref[node.inputs[0]]
            else:
                self.value(node, foldable)

    def value(self, node: Node, foldable: set[int] | None) -> None:
        """The node's value: its expression, folded into its reader's when allowed, else a
        statement ``v<id> = …``."""
        code = self.templates[node.id][0]
        v = f"v{node.id}"
        if foldable is None:
            expr = code.format(*[self.ref[j] for j in node.inputs], out=v)
        else:
            operands, d = self.operands(node)
            expr = code.format(*operands, out=v)
            if node.id in foldable and d < MAX_INLINE:
                self.ref[node.id] = expr
                self.fdepth[expr] = d + 1
                p = _template_prec(code)
                self.prec[expr] = p if p is not None else _prec_of(operands[0], self.prec)
                return
        self.lines.append(f"{self.indent}{v} = {expr}")
        self.ref[node.id] = v
        self.guard(node)

    def operands(self, node: Node) -> tuple[list[str], int]:
        """The node's input expressions, parenthesised only where its template needs it,
        and the nesting depth of the deepest folded one."""
        needs = _placeholder_needs(self.templates[node.id][0])
        operands, d = [], 0
        for m, j in enumerate(node.inputs):
            r = self.ref[j]
            fd = self.fdepth.get(r)
            if fd is not None:
                d = max(d, fd)
                if self.prec[r] < needs[m]:
                    r = f"({r})"
            elif r[0] == "-" and needs[m] > P_NEG:  # a negative literal
                r = f"({r})"
            operands.append(r)
        return operands, d

    def guard(self, node: Node) -> None:
        """Stored values feeding an input where inf can vanish join the finiteness test."""
        for k in SATURATING.get(node.op, ()):
            j = node.inputs[k]
            rj = self.ref[j]
            if rj not in self.guarded and self.nodes[j].op not in ("var", "const"):
                self.guarded.add(rj)
                self.guards.append(rj)
                if self.nodes[j].constant:
                    self.constant_guards.append(rj)

    # -- reverse sweep -----------------------------------------------------------------
    def reverse(self, work: list[Node], out: int) -> None:
        """The reverse sweep over the non-constant nodes the output depends on.

        Creation order is topological, so when a node is reached every contribution to its
        adjoint is known (they come from consumers, which have larger ids): the adjoint is
        written once, as the left-to-right sum of its contributions (the same additions, in
        the same order, as accumulating them one by one). An adjoint read by a single
        contribution (a node with one non-constant input) is not stored: its expression is
        folded into that one use, at most MAX_INLINE levels deep. Parentheses only where
        precedence needs them: ``prec`` knows every expression built here; anything else is
        a name or a literal (a negative literal is safe as a term, a factor and under unary
        minus).
        """
        pending: dict[int, list[str]] = {out: ["1.0"]}  # node id -> its contributions
        for node in reversed(work):
            contribs = pending.pop(node.id, None)
            if contribs is None or node.op == "const" or node.constant:
                continue
            g, pg = self.adjoint(node.id, contribs)
            if node.op == "var":
                self.adj[node.id] = self.store(node.id, g) if g in self.prec else g
                continue
            if g in self.prec:
                g, pg = self.fold_or_store(node, g, pg, contribs)
            self.adj[node.id] = g
            for j, contrib in self.contributions(node, g, pg):
                pending.setdefault(j, []).append(contrib)

    def adjoint(self, i: int, contribs: list[str]) -> tuple[str, int]:
        """Node i's adjoint, the sum of its contributions, and its precedence."""
        if len(contribs) == 1:
            return contribs[0], self.prec.get(contribs[0], P_ATOM)
        terms = [c if self.prec.get(c, P_ATOM) >= P_MUL else f"({c})" for c in contribs]
        if self.prec.get(contribs[0], P_ATOM) >= P_SUM:
            terms[0] = contribs[0]
        if len(terms) > MAX_TERMS:  # keep expressions shallow for CPython's compiler
            acc = f"g{i}"
            self.lines.append(f"{self.indent}{acc} = {' + '.join(terms[:MAX_TERMS])}")
            for k in range(MAX_TERMS, len(terms), MAX_TERMS - 1):
                more = " + ".join([acc, *terms[k : k + MAX_TERMS - 1]])
                self.lines.append(f"{self.indent}{acc} = {more}")
            return acc, P_ATOM
        g = " + ".join(terms)
        self.prec[g] = P_SUM
        return g, P_SUM

    def fold_or_store(self, node: Node, g: str, pg: int, contribs: list[str]) -> tuple[str, int]:
        """An adjoint expression read by one contribution stays an expression (folded,
        while shallow enough); any other is stored as ``g<id>``."""
        if sum(not self.nodes[j].constant for j in node.inputs) == 1:
            d = 1 + max(self.depth.get(c, 0) for c in contribs)
            if d <= MAX_INLINE:
                self.depth[g] = d
                return g, pg
        return self.store(node.id, g), P_ATOM

    def store(self, i: int, g: str) -> str:
        self.lines.append(f"{self.indent}g{i} = {g}")
        return f"g{i}"

    def contributions(self, node: Node, g: str, pg: int) -> list[tuple[int, str]]:
        """(input, adjoint × the node's partial w.r.t. it) for each non-constant input; a
        contribution built from a folded adjoint is as deep as it."""
        dcode = self.templates[node.id][1]
        ins = [self.ref[j] for j in node.inputs]
        folded = self.depth.get(g)
        got = []
        for k, j in enumerate(node.inputs):
            if self.nodes[j].constant:
                continue
            contrib = self.times(g, pg, dcode[k], ins, self.ref[node.id])
            if folded is not None and contrib is not g:  # not the adjoint itself, passed on
                self.depth[contrib] = folded
            got.append((j, contrib))
        return got

    def times(self, g: str, pg: int, dk: str, ins: list[str], out: str) -> str:
        """``g`` times the partial written by template ``dk``, simplified: a partial of 1
        passes the adjoint on, -1 negates it, an adjoint of 1 is not multiplied."""
        if dk == "1":
            return g
        if dk == "-1":
            if g == "1.0":
                return "-1.0"
            if g == "-1.0":
                return "1.0"
            contrib = f"-{g if pg >= P_NEG else f'({g})'}"
            self.prec[contrib] = P_NEG
            return contrib
        # a partial that is a literal or one bare placeholder (a name or a literal) has no
        # precedence of its own and is never parenthesised
        tp = _template_prec(dk) if "{" in dk else None
        d = dk.format(*ins, out=out) if "{" in dk else dk
        if g == "1.0":
            if tp is not None:
                self.prec[d] = tp
            return d
        if tp is not None and tp < P_NEG:
            d = f"({d})"
        contrib = f"{g if pg >= P_MUL else f'({g})'} * {d}"
        self.prec[contrib] = P_MUL
        return contrib


_TEMP = re.compile(r"\b[vg][0-9]+\b")
#: deepest chain of inlined temporaries (keeps generated expressions far below CPython's
#: parser nesting limits; a longer chain keeps a named temporary every MAX_INLINE levels)
MAX_INLINE = 12
#: most contributions summed in one adjoint statement (a longer sum continues in another)
MAX_TERMS = 64


def inline_single_use(lines: list[str], keep: Sequence[str]) -> list[str]:
    """Fold each temporary defined once and used once into its consumer, parenthesised.

    ``lines`` are ``<indent>name = expr`` statements from :func:`emit`; ``keep`` are the
    expressions read after them (value, gradients, guards), whose names stay. The same
    float operations run in the same order of association, only without the name; an
    exception may be raised from a later statement, which the callers do not rely on (any
    exception goes to the interpreter, which names the node).
    """
    parsed = []
    defs: dict[str, int] = {}
    uses: dict[str, int] = {}
    for ln in lines:
        stripped = ln.lstrip()
        name, expr = stripped.split(" = ", 1)
        parsed.append((ln[: len(ln) - len(stripped)], name, expr))
        defs[name] = defs.get(name, 0) + 1
        for u in _TEMP.findall(expr):
            uses[u] = uses.get(u, 0) + 1
    for k in keep:
        for u in _TEMP.findall(k):
            uses[u] = uses.get(u, 0) + 2  # never inlined
    pending: dict[str, tuple[str, int]] = {}
    out: list[str] = []

    def sub(m: re.Match) -> str:
        name = m.group(0)
        got = pending.pop(name, None)
        if got is None:
            return name
        depth[0] = max(depth[0], got[1])
        return f"({got[0]})"

    for ind, name, expr in parsed:
        depth = [0]
        if pending:
            expr = _TEMP.sub(sub, expr)
        d = depth[0] + 1
        if defs[name] == 1 and uses.get(name, 0) == 1 and d <= MAX_INLINE:
            pending[name] = (expr, d)
        else:
            out.append(f"{ind}{name} = {expr}")
    return out


def _templates(graph: Graph, node: Node) -> Template:
    """The node's templates: its primitive's, but for ``x^c`` with a constant small
    integer ``c`` (a product or a ``**``, cheaper and exact)."""
    prim = TABLE[node.op]
    if node.op == "powc":
        base, expo = node.inputs
        e = graph.nodes[expo]
        if e.op == "const":
            c = float(e.value)  # type: ignore[arg-type]  # a const node has a value
            if c == 2.0:
                return "{0} * {0}", ("2.0 * {0}", "0")
            if c == 1.0:
                return "{0}", ("1", "0")
            if c.is_integer() and 2.0 < abs(c) <= 64.0:
                cm1 = repr(c - 1.0)
                return "{0} ** " + repr(c), (f"{repr(c)} * {{0}} ** {cm1}", "0")
    return prim.code, prim.dcode


_SCALAR_TEMPLATE = """\
def {fname}({params}):
    if a0.__class__ is _float:
        try:
{body}
        except (ArithmeticError, ValueError):
            return _diagnose(({params}{comma}))
        except TypeError:
            return _general(({params}{comma}))
        _s = {check}
        try:
            if _s - _s == 0.0:
                return {value}, ({grads}{gcomma})
        except (ValueError, TypeError):
            return _general(({params}{comma}))
        return _diagnose(({params}{comma}))
    return _general(({params}{comma}))
"""

_ARRAY_TEMPLATE = """\
def {fname}({params}):
    with _errstate(divide="raise", over="raise", invalid="raise", under="ignore"):
        try:
{body}
{guard}        except (ArithmeticError, ValueError):
            return _diagnose(({params}{comma}))
    return {value}, ({grads}{gcomma})
"""


def build_functions(
    graph: Graph,
    args: Sequence[str],
    diagnose: Callable[[tuple], tuple],
    output: int | None = None,
    accel: Accelerators | None = None,
) -> tuple[Callable, Callable, str]:
    """Compile the scalar and array flavours. Returns (fast function, array function, source).

    With ``accel`` (a program's accelerators), their bodies come from ``accel.try_emit``
    when it answers, else from :func:`emit`: the same Body either way.
    """
    params = ", ".join(f"a{k}" for k in range(len(args)))
    comma = "," if len(args) == 1 else ""
    if not args:
        params_def = ""
    else:
        params_def = params
    body = _folded_body(graph, args, output, accel)
    grads = ", ".join(body.grads)
    gcomma = "," if len(body.grads) == 1 else ""
    check = " + ".join([body.value, *body.grads, *body.guards])
    lines = "\n".join(body.lines) or " " * 12 + "pass"

    array_ns: dict = {}
    state: dict = {}

    def general(values: tuple):
        if all(isinstance(v, float | int) for v in values):
            return state["scalar"](*[float(v) for v in values])
        if "array" not in state:
            import numpy as np

            array_ns.update(array_helpers(), _errstate=np.errstate, _diagnose=diagnose)
            abody = _folded_body(graph, args, output, accel)
            asrc = _ARRAY_TEMPLATE.format(
                fname="_array_f",
                params=params_def,
                comma=comma,
                body="\n".join(abody.lines) or " " * 12 + "pass",
                value=abody.value,
                grads=", ".join(abody.grads),
                gcomma=gcomma,
                guard=(  # inside the try and errstate: a numpy inf - inf raises, a float one is nan
                    f"            _c = {' + '.join(abody.constant_guards)}\n"
                    f"            if _c - _c != 0.0:\n"
                    f"                raise FloatingPointError\n"
                )
                if abody.constant_guards
                else "",
            )
            run_generated(asrc, array_ns, "array")
            state["array"] = array_ns["_array_f"]
            state["asrc"] = asrc
        import numpy as np

        return state["array"](*[np.asarray(v, dtype=float) for v in values])

    if not args:
        src = (
            "def _f():\n    try:\n"
            + lines
            + "\n    except (ArithmeticError, ValueError):\n        return _diagnose(())\n"
            + f"    _s = {check}\n"
            + f"    if _s - _s == 0.0:\n        return {body.value}, ()\n"
            + "    return _diagnose(())\n"
        ).replace(" " * 12, " " * 8)
    else:
        src = _SCALAR_TEMPLATE.format(
            fname="_f",
            params=params,
            comma=comma,
            body=lines,
            check=check,
            value=body.value,
            grads=grads,
            gcomma=gcomma,
        )
    ns = scalar_helpers()
    ns.update(_float=float, _diagnose=diagnose, _general=general)
    run_generated(src, ns, "scalar")
    state["scalar"] = ns["_f"]

    def array_function(*values):
        return general(tuple(values))

    return ns["_f"], array_function, src


def _folded_body(graph: Graph, args: Sequence[str], output: int | None, accel: Accelerators | None) -> Body:
    """The body build_functions compiles: the accelerator's, or the reference's."""
    body = None if accel is None else accel.try_emit(graph, args, output, indent=" " * 12, fold=True)
    return body if body is not None else emit(graph, args, output, indent=" " * 12, fold=True)


def build_dict_function(f: Callable, names: Sequence[str], slow: Callable[[Any], tuple]) -> Callable:
    """``vg(values) -> (value, {name: partial})`` around the positional ``f``.

    The names reach the generated code as constants bound in its namespace (``_n0``…),
    never as source text. Any irregular mapping (a missing or an extra name) goes to
    ``slow``, which raises the explanatory error.
    """
    n = len(names)
    ks = [f"_n{k}" for k in range(n)]
    gs = [f"_g{k}" for k in range(n)]
    src = "def _vg(_v):\n"
    if n:
        src += "    try:\n"
        src += "".join(f"        _a{k} = _v[{ks[k]}]\n" for k in range(n))
        src += "    except (KeyError, TypeError):\n        return _slow(_v)\n"
    src += f"    if len(_v) != {n}:\n        return _slow(_v)\n"
    unpack = f"({', '.join(gs)}{',' if n == 1 else ''})" if n else "_"
    src += f"    _z, {unpack} = _f({', '.join(f'_a{k}' for k in range(n))})\n"
    src += "    return _z, {" + ", ".join(f"{ks[k]}: {gs[k]}" for k in range(n)) + "}\n"
    ns: dict = {"_f": f, "_slow": slow}
    ns.update({ks[k]: name for k, name in enumerate(names)})
    run_generated(src, ns, "dict")
    return ns["_vg"]
