"""The emitter of ``backprop_cli.compiler.codegen.emit`` as it was before it was tuned for speed
(commit 0e1e86a), kept verbatim as the reference: tests/accel/test_emitter_reference.py
checks that the tuned ``emit`` returns exactly what this returns (lines, value, grads, ref,
adj, guards) for a corpus of programs. Only the function names differ; the template analysis it shares
(``_template_prec``, ``_placeholder_needs``, ``_templates``) is imported.
"""

from __future__ import annotations

from typing import Sequence

from backprop_cli.compiler.codegen import (
    _FLOAT_LITERAL,
    MAX_INLINE,
    MAX_TERMS,
    P_ATOM,
    P_MUL,
    P_NEG,
    P_SUM,
    SATURATING,
    Body,
    _placeholder_needs,
    _template_prec,
    _templates,
)
from backprop_cli.core.graph import Graph
from backprop_cli.core.primitives import TABLE


def _prec_of(s: str, prec: dict[str, int]) -> int:
    p = prec.get(s)
    if p is not None:
        return p
    if s.isidentifier():
        return P_ATOM
    if _FLOAT_LITERAL.fullmatch(s) is not None:
        return P_NEG if s[0] == "-" else P_ATOM
    return 0



_REF_INFO: dict[tuple, tuple] = {}


def _info(tpl: tuple[str, tuple[str, ...]]) -> tuple:
    """What emit needs to know of a (code, dcode) template pair, computed once."""
    got = _REF_INFO.get(tpl)
    if got is None:
        code, dcode = tpl
        counts = tuple(code.count("{%d}" % m) for m in range(2))
        dref = tuple(any("{%d}" % m in dk for dk in dcode) for m in range(2))
        outref = any("{out}" in dk for dk in dcode)
        dprecs = tuple(_template_prec(dk) if "{" in dk else None for dk in dcode)
        got = _REF_INFO[tpl] = (counts, dref, outref, _template_prec(code), dprecs, _placeholder_needs(code))
    return got


def reference_emit(
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
    """
    out = graph.output if output is None else output
    pos = {name: k for k, name in enumerate(args)}
    nodes = graph.nodes
    # what the output depends on
    needed = [False] * len(nodes)
    needed[out] = True
    for i in range(out, -1, -1):
        if needed[i]:
            for j in nodes[i].inputs:
                needed[j] = True
    table = TABLE
    saturating = SATURATING
    templates: dict[int, tuple[str, tuple[str, ...]]] = {}
    infos: dict[int, tuple] = {}
    by_op: dict[str, tuple] = {}
    for node in nodes[: out + 1]:
        i = node.id
        if needed[i]:
            op = node.op
            if op == "var" or op == "const":
                continue
            if op == "powc":
                tpl = _templates(graph, node)
                infos[i] = _info(tpl)
            else:
                got = by_op.get(op)
                if got is None:
                    prim = table[op]
                    tpl0 = (prim.code, prim.dcode)
                    got = by_op[op] = (tpl0, _info(tpl0))
                tpl, infos[i] = got
            templates[i] = tpl
    foldable: list[bool] | None = None
    if fold:
        # a node may be folded when its value (seen through `id` aliases) is read by one
        # placeholder of one emitted template and by nothing else
        n = len(nodes)
        root = list(range(n))
        uses = [0] * n
        blocked = [False] * n
        for node in nodes[: out + 1]:
            i = node.id
            if not needed[i]:
                continue
            op = node.op
            if op == "id":
                root[i] = root[node.inputs[0]]
                continue
            if op == "var" or op == "const":
                continue
            counts, dref, outref, _, _, _ = infos[i]
            if outref or node.constant:
                blocked[i] = True
            sat = saturating.get(op)
            m = 0
            for j in node.inputs:
                r = root[j]
                uses[r] += counts[m]
                if dref[m] or (sat is not None and m in sat):
                    blocked[r] = True
                m += 1
        blocked[root[out]] = True
        foldable = [uses[i] == 1 and not blocked[i] for i in range(n)]
    prec: dict[str, int] = {}  # generated expression -> precedence of its top operator
    fdepth: dict[str, int] = {}  # folded forward expression -> nesting depth
    ref: dict[int, str] = {}
    lines: list[str] = []
    append = lines.append
    guards: list[str] = []
    guarded: set[str] = set()
    constant_guards: list[str] = []
    for node in nodes[: out + 1]:
        i = node.id
        if not needed[i]:
            continue
        op = node.op
        if op == "var":
            ref[i] = f"a{pos[node.name]}"
            continue
        if op == "const":
            ref[i] = repr(float(node.value))
            continue
        inputs = node.inputs
        if op == "id":
            ref[i] = ref[inputs[0]]
            continue
        code = templates[i][0]
        v = f"v{i}"
        if foldable is None:
            if len(inputs) == 2:
                expr = code.format(ref[inputs[0]], ref[inputs[1]], out=v)
            else:
                expr = code.format(*[ref[j] for j in inputs], out=v)
        else:
            d = 0
            operands = []
            needs = infos[i][5]  # parenthesise an operand only where its reader needs it
            m = 0
            for j in inputs:
                r = ref[j]
                fd = fdepth.get(r)
                if fd is not None:
                    if fd > d:
                        d = fd
                    if prec[r] < needs[m]:
                        r = f"({r})"
                elif r[0] == "-" and needs[m] > P_NEG:  # a negative literal
                    r = f"({r})"
                operands.append(r)
                m += 1
            expr = code.format(*operands, out=v)
            if foldable[i] and d < MAX_INLINE:
                ref[i] = expr
                fdepth[expr] = d + 1
                p = infos[i][3]
                prec[expr] = p if p is not None else _prec_of(operands[0], prec)
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
    pending: dict[int, list[str]] = {out: ["1.0"]}
    depth: dict[str, int] = {}  # folded adjoint expression -> nesting depth
    adj: dict[int, str] = {}
    prec_get = prec.get
    for i in range(out, -1, -1):
        contribs = pending.pop(i, None)
        if contribs is None:
            continue
        node = nodes[i]
        op = node.op
        if op == "const" or node.constant:
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
                lines.append(f"{indent}{acc} = {' + '.join(terms[:MAX_TERMS])}")
                for k in range(MAX_TERMS, len(terms), MAX_TERMS - 1):
                    more = " + ".join([acc, *terms[k : k + MAX_TERMS - 1]])
                    lines.append(f"{indent}{acc} = {more}")
                g = acc
                pg = P_ATOM
            else:
                g = " + ".join(terms)
                pg = prec[g] = P_SUM
        # ``prec`` holds only computed expressions: a string not in it is a name or a
        # literal (a negative literal is safe as a term, a factor and under unary minus)
        if op == "var":
            if g in prec:
                lines.append(f"{indent}g{i} = {g}")
                g = f"g{i}"
            adj[i] = g
            continue
        if g in prec:
            uses = 0
            for j in node.inputs:
                if not nodes[j].constant:
                    uses += 1
            d = 1 + max([depth.get(c, 0) for c in contribs]) if uses == 1 else 0
            if uses == 1 and d <= MAX_INLINE:
                depth[g] = d
            else:
                lines.append(f"{indent}g{i} = {g}")
                g = f"g{i}"
                pg = P_ATOM
        adj[i] = g
        dcode = templates[i][1]
        dprecs = infos[i][4]
        ins = [ref[j] for j in node.inputs]
        gneg = g if pg >= P_NEG else f"({g})"
        gmul = g if pg >= P_MUL else f"({g})"
        folded = g in depth
        k = 0
        for j in node.inputs:
            if nodes[j].constant:
                k += 1
                continue
            dk = dcode[k]
            if dk == "1":
                contrib = g
            elif dk == "-1":
                if g == "1.0":
                    contrib = "-1.0"
                elif g == "-1.0":
                    contrib = "1.0"
                else:
                    contrib = f"-{gneg}"
                    prec[contrib] = P_NEG
            else:
                tp = dprecs[k]
                if tp is None:  # a literal, or one bare placeholder: a ref (name or literal)
                    d = dk if "{" not in dk else dk.format(*ins, out=ref[i])
                    tp = P_ATOM
                    if g == "1.0":
                        contrib = d
                    else:
                        contrib = f"{gmul} * {d}"
                        prec[contrib] = P_MUL
                elif g == "1.0":
                    contrib = d = dk.format(*ins, out=ref[i])
                    prec[d] = tp
                else:
                    d = dk.format(*ins, out=ref[i])
                    contrib = f"{gmul} * {d if tp >= P_NEG else f'({d})'}"
                    prec[contrib] = P_MUL
            if folded and contrib is not g:
                depth[contrib] = depth[g]
            pending.setdefault(j, []).append(contrib)
            k += 1
    grads = []
    for name in args:
        vid = graph.names[name]
        grads.append(adj.get(vid, "0.0"))
    return Body(lines, ref[out], grads, ref, adj, (guards, constant_guards))
