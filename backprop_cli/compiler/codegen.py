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
"""

from __future__ import annotations

import math
import re
from typing import Any, Callable, Sequence

from ..core.graph import Graph
from ..core.primitives import LN2, LN10, SCALAR, TABLE, array_namespace
from .execute import run_generated

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


_INFO: dict[tuple, tuple] = {}
_PLAIN_TEMPLATE = re.compile(r"(?:[^{}'\"\\]|\{0\}|\{1\}|\{out\})*")

#: how emit writes an input's partial (``dcode`` entry): 1 (a copy of the adjoint), -1 (its
#: negation), a literal or one bare placeholder (a name or a literal: never parenthesised),
#: or a template with a precedence of its own
D_ONE, D_MINUS, D_ATOM, D_EXPR = 0, 1, 2, 3


def _formatter(t: str) -> Callable[..., str]:
    """``f(out, a, b="")`` equal to ``t.format(a, b, out=out)`` for string arguments.

    An f-string compiled once per template, about three times cheaper than ``str.format``
    (which parses the template at every call, ~2000 calls for a 1000-operation program).
    The templates are our own (primitives.TABLE and :func:`_templates`), never user text;
    one with anything but the placeholders {0}, {1}, {out} and plain characters (no other
    braces, quotes or backslashes) keeps ``str.format``.
    """
    if _PLAIN_TEMPLATE.fullmatch(t) is None:
        return lambda out, a, b="": t.format(a, b, out=out)
    body = t.replace("{0}", "{a}").replace("{1}", "{b}")
    return eval(f'lambda out, a, b="": f"{body}"')  # noqa: S307 - our own template, see above


def _info(tpl: tuple[str, tuple[str, ...]]) -> tuple:
    """What emit needs to know of a (code, dcode) template pair, computed once.

    (placeholder counts of ``code``, whether each input's partial reads it, whether a
    partial reads ``{out}``, ``code``'s precedence, each partial's precedence, the
    precedence each ``code`` placeholder needs, a formatter of ``code``, each partial's
    D_* kind, a formatter of each partial (None when it reads nothing), whether any partial
    reads the refs, ``dcode`` itself).
    """
    got = _INFO.get(tpl)
    if got is None:
        code, dcode = tpl
        counts = tuple(code.count("{%d}" % m) for m in range(2))
        dref = tuple(any("{%d}" % m in dk for dk in dcode) for m in range(2))
        outref = any("{out}" in dk for dk in dcode)
        dprecs = tuple(_template_prec(dk) if "{" in dk else None for dk in dcode)
        dkinds = tuple(
            D_ONE if dk == "1" else D_MINUS if dk == "-1" else D_ATOM if tp is None else D_EXPR
            for dk, tp in zip(dcode, dprecs)
        )
        dfmts = tuple(
            _formatter(dk) if kind != D_ONE and kind != D_MINUS and "{" in dk else None
            for dk, kind in zip(dcode, dkinds)
        )
        got = _INFO[tpl] = (
            counts, dref, outref, _template_prec(code), dprecs, _placeholder_needs(code),
            _formatter(code), dkinds, dfmts, any(f is not None for f in dfmts), dcode,
        )  # fmt: skip
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

    Tuned for speed (a sizeable share of compiling a long program): side lists indexed by node
    id, template facts and formatters looked up once per node. The dicts keyed by
    generated strings (``prec``, ``fdepth``, ``depth``) stay keyed by strings on purpose:
    two nodes can produce the same string (an alias, ``x^1``), and the output depends on
    what was recorded for that string. tests/accel/test_emitter_reference.py compares the output with
    the untuned emitter's (tests/helpers/emit_reference.py).
    """
    out = graph.output if output is None else output
    pos = {name: k for k, name in enumerate(args)}
    nodes = graph.nodes
    n = len(nodes)
    # what the output depends on
    needed = [False] * n
    needed[out] = True
    for i in range(out, -1, -1):
        if needed[i]:
            for j in nodes[i].inputs:
                needed[j] = True
    table = TABLE
    saturating = SATURATING
    # One forward pass over the needed nodes: each operation's template facts (infos[i],
    # None for var/const) and, with ``fold``, the fold analysis: a node may be folded
    # when its value (seen through `id` aliases) is read by one placeholder of one emitted
    # template and by nothing else.
    infos: list = [None] * n
    by_op: dict[str, tuple] = {}
    powc_by_value: dict[float, tuple] = {}  # constant exponent -> info (see _templates)
    if fold:
        root = list(range(n))
        uses = [0] * n
        blocked = [False] * n
    work = []  # the needed nodes, in order
    for i in range(out + 1):
        if not needed[i]:
            continue
        node = nodes[i]
        work.append(node)
        op = node.op
        if op == "var" or op == "const":
            continue
        if op == "powc":
            # its templates depend only on the exponent's value when that is a constant
            e = nodes[node.inputs[1]]
            if e.op == "const":
                c = float(e.value)  # type: ignore[arg-type]  # a const node has a value
                info = powc_by_value.get(c)
                if info is None:
                    info = powc_by_value[c] = _info(_templates(graph, node))
            else:
                info = _info(_templates(graph, node))
        else:
            info = by_op.get(op)
            if info is None:
                prim = table[op]
                info = by_op[op] = _info((prim.code, prim.dcode))
        infos[i] = info  # an `id` node's too: the reverse sweep passes its adjoint on
        if fold:
            if op == "id":
                root[i] = root[node.inputs[0]]
                continue
            counts, dref = info[0], info[1]
            if info[2] or node.constant:
                blocked[i] = True
            sat = saturating.get(op)
            m = 0
            for j in node.inputs:
                r = root[j]
                uses[r] += counts[m]
                if dref[m] or (sat is not None and m in sat):
                    blocked[r] = True
                m += 1
    if fold:
        blocked[root[out]] = True
        foldable = [u == 1 and not b for u, b in zip(uses, blocked)]
    prec: dict[str, int] = {}  # generated expression -> precedence of its top operator
    fdepth: dict[str, int] = {}  # folded forward expression -> nesting depth
    fdepth_get = fdepth.get
    ref: dict[int, str] = {}
    lines: list[str] = []
    append = lines.append
    guards: list[str] = []
    guarded: set[str] = set()
    constant_guards: list[str] = []
    for node in work:
        i = node.id
        op = node.op
        if op == "var":
            ref[i] = f"a{pos[node.name]}"  # type: ignore[index]  # a var node has a name
            continue
        if op == "const":
            ref[i] = repr(float(node.value))  # type: ignore[arg-type]  # a const node has a value
            continue
        inputs = node.inputs
        if op == "id":
            ref[i] = ref[inputs[0]]
            continue
        info = infos[i]
        v = f"v{i}"
        if not fold:
            if len(inputs) == 2:
                expr = info[6](v, ref[inputs[0]], ref[inputs[1]])
            else:
                expr = info[6](v, ref[inputs[0]])
        else:
            d = 0
            needs = info[5]  # parenthesise an operand only where its reader needs it
            r0 = ref[inputs[0]]
            fd = fdepth_get(r0)
            if fd is not None:
                d = fd
                if prec[r0] < needs[0]:
                    r0 = f"({r0})"
            elif r0[0] == "-" and needs[0] > P_NEG:  # a negative literal
                r0 = f"({r0})"
            if len(inputs) == 2:
                r1 = ref[inputs[1]]
                fd = fdepth_get(r1)
                if fd is not None:
                    if fd > d:
                        d = fd
                    if prec[r1] < needs[1]:
                        r1 = f"({r1})"
                elif r1[0] == "-" and needs[1] > P_NEG:
                    r1 = f"({r1})"
                expr = info[6](v, r0, r1)
            else:
                expr = info[6](v, r0)
            if foldable[i] and d < MAX_INLINE:
                ref[i] = expr
                fdepth[expr] = d + 1
                p = info[3]
                prec[expr] = p if p is not None else _prec_of(r0, prec)
                continue
        append(f"{indent}{v} = {expr}")
        ref[i] = v
        sat = saturating.get(op)
        if sat is not None:
            for k in sat:
                j = inputs[k]
                rj = ref[j]
                if rj not in guarded and nodes[j].op not in ("var", "const"):
                    guarded.add(rj)
                    guards.append(rj)
                    if nodes[j].constant:
                        constant_guards.append(ref[j])
    # Reverse sweep over the non-constant nodes the output depends on. Creation order is
    # topological, so when node i is reached every contribution to its adjoint is known
    # (they come from consumers, which have larger ids): the adjoint is written once, as
    # the left-to-right sum of its contributions (the same additions, in the same order,
    # as accumulating them one by one). An adjoint read by a single contribution (a node
    # with one non-constant input) is not stored: its expression is folded into that one
    # use, at most MAX_INLINE levels deep. Parentheses only where precedence needs them:
    # ``prec`` knows every expression built here; anything else is a name or a literal.
    pending: list[list[str] | None] = [None] * (out + 1)  # node id -> its contributions
    pending[out] = ["1.0"]
    depth: dict[str, int] = {}  # folded adjoint expression -> nesting depth
    depth_get = depth.get
    adj: dict[int, str] = {}
    prec_get = prec.get
    for node in reversed(work):
        i = node.id
        contribs = pending[i]
        if contribs is None or node.constant:
            continue
        op = node.op
        if op == "const":
            continue
        if len(contribs) == 1:
            g = contribs[0]
            pg = prec_get(g, P_ATOM)
        else:
            terms = [c if prec_get(c, P_ATOM) >= P_MUL else f"({c})" for c in contribs]
            if prec_get(contribs[0], P_ATOM) >= P_SUM:
                terms[0] = contribs[0]
            if len(terms) > MAX_TERMS:  # keep expressions shallow for CPython's compiler
                acc = f"g{i}"
                append(f"{indent}{acc} = {' + '.join(terms[:MAX_TERMS])}")
                for k in range(MAX_TERMS, len(terms), MAX_TERMS - 1):
                    more = " + ".join([acc, *terms[k : k + MAX_TERMS - 1]])
                    append(f"{indent}{acc} = {more}")
                g = acc
                pg = P_ATOM
            else:
                g = " + ".join(terms)
                pg = prec[g] = P_SUM
        # ``prec`` holds only computed expressions: a string not in it is a name or a
        # literal (a negative literal is safe as a term, a factor and under unary minus)
        if op == "var":
            if g in prec:
                append(f"{indent}g{i} = {g}")
                g = f"g{i}"
            adj[i] = g
            continue
        inputs = node.inputs
        if len(inputs) == 2:
            c0 = nodes[inputs[0]].constant
            c1 = nodes[inputs[1]].constant
            nonconst = 2 - c0 - c1  # the number of non-constant inputs (bools are 0/1)
        else:
            c0 = nodes[inputs[0]].constant
            c1 = True
            nonconst = 1 - c0
        if g in prec:
            if nonconst == 1:
                if len(contribs) == 1:
                    d = 1 + depth_get(g, 0)
                else:
                    d = 1 + max([depth_get(c, 0) for c in contribs])
                if d <= MAX_INLINE:
                    depth[g] = d
                else:
                    append(f"{indent}g{i} = {g}")
                    g = f"g{i}"
                    pg = P_ATOM
            else:
                append(f"{indent}g{i} = {g}")
                g = f"g{i}"
                pg = P_ATOM
        adj[i] = g
        info = infos[i]
        dkinds = info[7]
        dfmts = info[8]
        dprecs = info[4]
        if info[9]:  # some partial reads the inputs or the value
            outref = ref[i]
            r0 = ref[inputs[0]]
            r1 = ref[inputs[1]] if len(inputs) == 2 else ""
        gneg = g if pg >= P_NEG else f"({g})"
        gmul = g if pg >= P_MUL else f"({g})"
        fdg = depth_get(g)  # the depth of g when it is a folded adjoint, else None
        for k in (0, 1) if len(inputs) == 2 else (0,):
            if c1 if k else c0:  # a constant input gets no contribution
                continue
            kind = dkinds[k]
            if kind == D_ONE:
                contrib = g
            elif kind == D_MINUS:
                if g == "1.0":
                    contrib = "-1.0"
                elif g == "-1.0":
                    contrib = "1.0"
                else:
                    contrib = f"-{gneg}"
                    prec[contrib] = P_NEG
            elif kind == D_ATOM:  # a literal, or one bare placeholder: a ref (name or literal)
                f = dfmts[k]
                d = info[10][k] if f is None else f(outref, r0, r1)
                if g == "1.0":
                    contrib = d
                else:
                    contrib = f"{gmul} * {d}"
                    prec[contrib] = P_MUL
            else:
                tp = dprecs[k]
                d = dfmts[k](outref, r0, r1)
                if g == "1.0":
                    contrib = d
                    prec[d] = tp
                else:
                    contrib = f"{gmul} * {d if tp >= P_NEG else f'({d})'}"
                    prec[contrib] = P_MUL
            if fdg is not None and contrib is not g:
                depth[contrib] = fdg
            j = inputs[k]
            got = pending[j]
            if got is None:
                pending[j] = [contrib]
            else:
                got.append(contrib)
    grads = []
    for name in args:
        vid = graph.names[name]
        grads.append(adj.get(vid, "0.0"))
    return Body(lines, ref[out], grads, ref, adj, (guards, constant_guards))


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


def _templates(graph: Graph, node) -> tuple[str, tuple[str, ...]]:
    prim = TABLE[node.op]
    if node.op == "powc":
        base, expo = node.inputs
        e = graph.nodes[expo]
        if e.op == "const":
            c = float(e.value)
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
) -> tuple[Callable, Callable, str]:
    """Compile the scalar and array flavours. Returns (fast function, array function, source)."""
    params = ", ".join(f"a{k}" for k in range(len(args)))
    comma = "," if len(args) == 1 else ""
    if not args:
        params_def = ""
    else:
        params_def = params
    body = emit(graph, args, output, indent=" " * 12, fold=True)
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
            abody = emit(graph, args, output, indent=" " * 12, fold=True)
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
