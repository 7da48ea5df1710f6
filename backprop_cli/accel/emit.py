"""The tuned emitter: :func:`backprop_cli.compiler.codegen.emit`'s output, built faster.

Compiling a long program spends a sizeable share of its time writing the generated
source; this emitter writes exactly the reference's :class:`~backprop_cli.compiler.codegen.Body`
(the same statements, value, gradients, refs, adjoints and guards, in the same order)
with less work per node: template facts and formatters looked up once per template
(:func:`_info`), side lists indexed by node id instead of dicts, and the template and
fold pre-passes merged into one. The analysis it relies on (precedences, the
parenthesisation rule, the templates of ``x^c``) is the reference's own, imported.
tests/accel/test_emitter_reference.py holds the two equal over a corpus of programs.
"""

from __future__ import annotations

import re
from typing import Callable, Sequence

from ..compiler.codegen import (
    MAX_INLINE,
    MAX_TERMS,
    P_ATOM,
    P_MUL,
    P_NEG,
    P_SUM,
    SATURATING,
    Body,
    _placeholder_needs,
    _prec_of,
    _template_prec,
    _templates,
)
from ..compiler.execute import run_generated
from ..core.graph import Graph
from ..core.primitives import TABLE

#: how emit writes an input's partial (``dcode`` entry): 1 (a copy of the adjoint), -1 (its
#: negation), a literal or one bare placeholder (a name or a literal: never parenthesised),
#: or a template with a precedence of its own
D_ONE, D_MINUS, D_ATOM, D_EXPR = 0, 1, 2, 3

#: a template :func:`_formatter` turns into an f-string: the placeholders {0}, {1}, {out}
#: and characters with no meaning in a format string
_PLAIN_TEMPLATE = re.compile(r"(?:[^{}]|\{0\}|\{1\}|\{out\})*")
_PLACEHOLDER = re.compile(r"\{(0|1|out)\}")
_ARGUMENT = {"0": "a", "1": "b", "out": "out"}
_BARE: dict[str, Callable[..., str]] = {
    "{0}": lambda out, a, b="": a,
    "{1}": lambda out, a, b="": b,
    "{out}": lambda out, a, b="": out,
}


def _formatter(t: str) -> Callable[..., str]:
    """``f(out, a, b="")`` equal to ``t.format(a, b, out=out)`` for string arguments.

    A generated f-string, cheaper than ``str.format``, which parses the template at every
    call (emit formats about two templates per operation). Its text is only names: the
    arguments, and the template's literal pieces bound in its namespace (``_l0``, ``_l1``
    …); it runs through compiler/execute.py's check (kind ``format``). A template with
    other braces keeps ``str.format``.
    """
    if _PLAIN_TEMPLATE.fullmatch(t) is None:
        return lambda out, a, b="": t.format(a, b, out=out)
    if t in _BARE:  # one placeholder alone (a partial of x*y, of exp): nothing to generate
        return _BARE[t]
    pieces = _PLACEHOLDER.split(t)  # literal, placeholder, literal, …, literal
    namespace: dict = {"_e": ""}
    fields = []
    for k, piece in enumerate(pieces):
        if k % 2:
            fields.append("{%s}" % _ARGUMENT[piece])
        elif piece:
            namespace[f"_l{k // 2}"] = piece
            fields.append("{_l%d}" % (k // 2))
    source = 'def _fmt(out, a, b=_e):\n    return f"%s"\n' % "".join(fields)
    return run_generated(source, namespace, "format")["_fmt"]


_INFO: dict[tuple, tuple] = {}


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
    """Exactly :func:`backprop_cli.compiler.codegen.emit`'s Body (its docstring says what
    is written and why), built with less work: side lists indexed by node id, template
    facts and formatters looked up once per node. The dicts keyed by generated strings
    (``prec``, ``fdepth``, ``depth``) stay keyed by strings on purpose: two nodes can
    produce the same string (an alias, ``x^1``), and the output depends on what was
    recorded for that string.
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
