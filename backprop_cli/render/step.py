"""The pages of `--step` and the formulas the quiz shows, from a walk's steps.

Numbers are written by the renderers of the normal output: the node table is
:func:`render.grad.grad_tables` with what the pass has not reached yet shown as '—', the
chain rule of a backward step is :func:`render.grad.explain_lines`, an update of solve or
descend is told with the cells of its row in the solve or descend table, and every other
number goes through :func:`render.numbers.fmt`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from .grad import _d, explain_lines, grad_tables
from .numbers import fmt

if TYPE_CHECKING:
    from ..engines.gradient import GradReport, NodeRecord
    from ..engines.walk import BackwardStep, ForwardStep, Step, Walk

#: every word this module shows (one place, for translation)
TEXT = {
    "forward": "forward pass",
    "backward": "backward pass",
    "header": "{phase} · step {k} of {n}: {label}",
    "given": "{label} = {value} (given)",
    "operation": "inputs {operands}; operation {op}",
    "seed": "{d} = 1: the output's own adjoint is 1; the backward pass starts here",
    "path": (
        "from {consumer}: adjoint arriving {d_adjoint} = {adjoint} × local partial "
        "{d_local} = {local} → {product}"
    ),
    "paths_add": "the paths meet and add: {terms} = {total}",
    "keys": "Enter or Space: next · b: back · q: stop",
    "stopped": "stopped at the {phase}, step {k} of {n}",
    # solve and descend: each iteration's pass, then its update
    "iteration": "iteration {i} (of 0–{last}) · ",
    "update": "update",
    "stopped_at": "stopped at iteration {i} (of 0–{last}), ",
    "error": "error = {out} − target = {value} − {target} = {error}",
    "factor": "{d} = {value}",
    "rule": "rule: {rule}",
    "solve_step": "step {v} = {step}",
    "solve_step_one": "step {v} = error/({d}) = {error}/{factor} = {step}",
    "solve_new": "{v} ← {v} − step {v} = {old} − {step} = {new}",
    "loss": "loss = {loss}",
    "gradient": "∂loss/∂{v} = {g}",
    "sgd_step": "{step_name} = −η·∂loss/∂{v} = −{eta}·{g} = {step}",
    "other_step": "{step_name} ({optimizer}) = {step}",
    "descend_new": "{v} ← {v} + {step_name} = {old} + {step} = {new}",
    "no_update": "no update: {message}",
}

#: a value the pass has not reached yet: fmt and grad_tables show it as '—'
_NOT_YET: Any = None


# -- formulas, shared with the quiz ------------------------------------------------------------
def _operand(x: float) -> str:
    text = fmt(x)
    return f"({text})" if text.startswith("-") else text


def node_head(walk: Walk, node: int) -> str:
    """``x = 2*w + b`` for a named node, ``2*w`` for an unnamed one."""
    n = walk.node(node)
    label = walk.label(node)
    return label if n.op == "var" or n.expr == label else f"{label} = {n.expr}"


def operation(step: ForwardStep) -> str:
    """The operation with its operands' values: ``6 + 4``, ``sin(0.5)``, ``-(3)``."""
    args = [_operand(v) for v in step.operand_values]
    if step.op == "id":
        return fmt(step.operand_values[0])
    if step.infix:
        return (step.symbol if step.symbol == "^" else f" {step.symbol} ").join(args)
    if step.op == "neg":
        return f"-{args[0]}"
    return f"{step.symbol}({', '.join(fmt(v) for v in step.operand_values)})"


def forward_formula(walk: Walk, step: ForwardStep) -> str:
    """``x = 2*w + b = 6 + 4 = 10``; an input variable: ``w = 3``."""
    head = node_head(walk, step.node)
    value = fmt(step.value)
    worked = "" if step.op == "var" else operation(step)
    return f"{head} = {value}" if worked in ("", value) else f"{head} = {worked} = {value}"


def adjoint_symbol(walk: Walk, node: int) -> str:
    """``∂z/∂b``: how formulas write a node's adjoint."""
    return _d(walk.symbol, walk.label(node))


def local_symbol(walk: Walk, consumer: int, node: int) -> str:
    """``∂x/∂b``: the local partial of ``consumer`` in ``node``; the output's is written with
    its text, ``∂(x*y)/∂y``, as `grad --explain` does (∂z/∂y is its adjoint)."""
    of = walk.node(consumer).expr if consumer == walk.report.output_id else walk.label(consumer)
    return _d(of, walk.label(node))


def chain_formula(walk: Walk, step: BackwardStep) -> str:
    """The chain rule with numbers, as `grad --explain` writes it:
    ``∂z/∂b = ∂z/∂x·∂x/∂b + ∂z/∂y·∂y/∂b = 5·1 + 10·1 = 15``; the output: ``∂z/∂z = 1``."""
    if step.line is None:
        return f"{adjoint_symbol(walk, step.node)} = {fmt(step.adjoint)}"
    one = replace(walk.report, chain=(step.line,), gradient={})
    return explain_lines(one, walk.symbol)[-1]


def path_lines(walk: Walk, step: BackwardStep) -> list[str]:
    """Each path back to the node: the adjoint arriving, the local partial, the product;
    then their sum where paths meet."""
    if step.line is None:
        return [TEXT["seed"].format(d=adjoint_symbol(walk, step.node))]
    lines = []
    for t in step.line.terms:
        lines.append(
            TEXT["path"].format(
                consumer=walk.label(t.consumer),
                d_adjoint=adjoint_symbol(walk, t.consumer),
                adjoint=fmt(t.adjoint),
                d_local=local_symbol(walk, t.consumer, step.node),
                local=fmt(t.local),
                product=fmt(t.adjoint * t.local),
            )
        )
    if len(step.line.terms) > 1:
        terms = " + ".join(_operand(t.adjoint * t.local) for t in step.line.terms)
        lines.append(TEXT["paths_add"].format(terms=terms, total=fmt(step.line.total)))
    return lines


def step_lines(walk: Walk, step: Step) -> list[str]:
    """What one step says below the table."""
    from ..engines.walk import ForwardStep

    if isinstance(step, ForwardStep):
        if step.op == "var":
            return [TEXT["given"].format(label=walk.label(step.node), value=fmt(step.value))]
        operands = ", ".join(
            f"{walk.label(i)} = {fmt(v)}" for i, v in zip(step.operands, step.operand_values)
        )
        return [
            TEXT["operation"].format(operands=operands, op=step.op),
            forward_formula(walk, step),
        ]
    return path_lines(walk, step) + [chain_formula(walk, step)]


# -- the node table as the pass fills it -------------------------------------------------------
def reached(walk: Walk, upto: int) -> tuple[set[int], set[int]]:
    """(nodes whose value is known, nodes whose adjoint is known) once step ``upto`` (0-based)
    is shown. Constants are known from the start; a backward step also shows the node's
    local partials (what it sends back to its inputs)."""
    from ..engines.walk import ForwardStep

    values = {n.id for n in walk.report.nodes if n.op == "const"}
    adjoints: set[int] = set()
    for step in walk.steps[: upto + 1]:
        (values if isinstance(step, ForwardStep) else adjoints).add(step.node)
    return values, adjoints


def partial_report(report: GradReport, values: set[int], adjoints: set[int]) -> GradReport:
    """``report`` with the values outside ``values`` and the local partials and adjoints
    outside ``adjoints`` not yet known ('—' in the table)."""

    def shown(n: NodeRecord) -> NodeRecord:
        if n.id in values and n.id in adjoints:
            return n
        return replace(
            n,
            value=n.value if n.id in values else _NOT_YET,
            local=n.local if n.id in adjoints else (),
            adjoint=n.adjoint if n.id in adjoints else _NOT_YET,
        )

    return replace(report, nodes=tuple(shown(n) for n in report.nodes))


def node_tables(report: GradReport, symbol: str, width: int | None) -> list:
    """The node table of the normal output (without its gradient table)."""
    return grad_tables(report, symbol, width)[:-1]


def page(walk: Walk, k: int, width: int | None, where: str = "") -> list:
    """Step ``k`` (0-based) of the walk: where it is (after ``where``: which iteration), the
    table so far, what the step does, and the keys."""
    from rich.text import Text

    from ..engines.walk import ForwardStep

    step = walk.steps[k]
    forward = isinstance(step, ForwardStep)
    label = walk.label(step.node) if forward else adjoint_symbol(walk, step.node)
    header = where + TEXT["header"].format(**_position(walk, k), label=label)
    values, adjoints = reached(walk, k)
    out: list = [Text(header, style="bold")]
    out += node_tables(partial_report(walk.report, values, adjoints), walk.symbol, width)
    out += [Text("  " + line) for line in step_lines(walk, step)]
    out.append(Text(TEXT["keys"], style="dim"))
    return out


def _position(walk: Walk, k: int) -> dict:
    """Which pass step ``k`` (0-based, of the whole walk) is in, and its number there."""
    forward = len(walk.forward)
    if k < forward:
        return {"phase": TEXT["forward"], "k": k + 1, "n": forward}
    return {"phase": TEXT["backward"], "k": k + 1 - forward, "n": len(walk.backward)}


def stopped(walk: Walk, k: int) -> str:
    """Where q stopped the walk: ``stopped at the forward pass, step 2 of 6``."""
    return TEXT["stopped"].format(**_position(walk, k))


# -- solve and descend: an iteration's pass, then its update ------------------------------------
def iteration(i: int, last: int) -> str:
    """``iteration 2 (of 0–6) · ``: what leads the header of an iteration's pages."""
    return TEXT["iteration"].format(i=i, last=last)


def stopped_in(i: int, last: int, walk: Walk | None, k: int) -> str:
    """Where q stopped a stepped run: in iteration ``i``'s pass at step ``k``, or (``walk``
    None or ``k`` past its steps) at its update."""
    head = TEXT["stopped_at"].format(i=i, last=last)
    if walk is None or k >= len(walk.steps):
        return head + TEXT["update"]
    return head + stopped(walk, k).removeprefix("stopped at ")


def _update_page(i: int, last: int, lines: list[str]) -> list:
    from rich.text import Text

    out: list = [Text(iteration(i, last) + TEXT["update"], style="bold")]
    out += [Text("  " + line) for line in lines]
    out.append(Text(TEXT["keys"], style="dim"))
    return out


def _no_update(result) -> str:
    """The last row's line: the run's status and message (said once, as its summary does)."""
    message = result.message
    if not message.startswith(result.status):
        message = f"{result.status}: {message}"
    return TEXT["no_update"].format(message=message)


def _signed(cell: str) -> str:
    """A cell as an operand: ``(-0.666667)`` for a negative one."""
    return f"({cell})" if cell.startswith("-") else cell


def solve_cells(run, out: str) -> dict[str, list[str]]:
    """The solve table's cells, column by column, by header (:func:`render.solve._columns`)."""
    from .solve import _columns

    return {header: cells for _, header, cells in _columns(run, out)}


def solve_update(run, out: str, cells: dict[str, list[str]], i: int) -> list:
    """The update of row ``i`` of a solve run, told with the cells of its table (``cells``:
    :func:`solve_cells`): the error, the partial each varied variable divides by, the rule,
    then each step and the variable's new value (the next row's); the last row: why the run
    stopped there."""
    from .solve import rule_text

    last = len(run.iterations) - 1
    lines = [
        TEXT["error"].format(
            out=out, value=cells[out][i], target=_signed(fmt(run.target)),
            error=cells["error"][i],
        )
    ]  # fmt: skip
    used = " used" if run.gradient == "freeze" else ""
    for v in run.vary:
        d = f"∂{out}/∂{v}{used}"
        lines.append(TEXT["factor"].format(d=d, value=cells[d][i]))
    lines.append(TEXT["rule"].format(rule=rule_text(run.gradient, run.split, len(run.vary), out)))
    for v in run.vary:
        step = cells[f"step {v}"][i]
        if i == last:
            lines.append(TEXT["solve_step"].format(v=v, step=step))
            continue
        d = f"∂{out}/∂{v}{used}"
        if len(run.vary) == 1:
            lines.append(
                TEXT["solve_step_one"].format(
                    v=v, d=d, error=cells["error"][i], factor=_signed(cells[d][i]), step=step
                )
            )
        else:
            lines.append(TEXT["solve_step"].format(v=v, step=step))
        column = cells[v + "*"]
        lines.append(TEXT["solve_new"].format(v=v, old=column[i], step=_signed(step), new=column[i + 1]))
    if i == last:
        lines.append(_no_update(run.result))
    return _update_page(i, last, lines)


def descend_cells(run) -> dict[str, list[str]]:
    """The descend table's cells (every row), column by column, by header
    (:func:`render.descend.descend_tables` with no width: one table)."""
    from .descend import descend_tables

    (table,) = descend_tables(run, show_all=True, width=None)
    return {str(c.header): [str(x) for x in c.cells] for c in table.columns}


def descend_update(run, cells: dict[str, list[str]], i: int) -> list:
    """The update of row ``i`` of a descent, told with the cells of its table (``cells``:
    :func:`descend_cells`): the loss, the gradient, the step (sgd: −η·g) and the new point
    (the next row's); the last row: why the run stopped there."""
    last = len(run) - 1
    one = len(run.names) == 1
    lines = [TEXT["loss"].format(loss=cells["loss"][i])]
    for v in run.names:
        lines.append(TEXT["gradient"].format(v=v, g=cells[f"∂loss/∂{v}"][i]))
    if i == last:
        lines.append(_no_update(run.result))
        return _update_page(i, last, lines)
    for v in run.names:
        name = "step" if one else f"step {v}"
        step, g = cells[name][i], cells[f"∂loss/∂{v}"][i]
        if run.optimizer == "sgd":
            lines.append(
                TEXT["sgd_step"].format(step_name=name, v=v, eta=fmt(run.eta), g=_signed(g), step=step)
            )
        else:
            lines.append(TEXT["other_step"].format(step_name=name, optimizer=run.optimizer, step=step))
        lines.append(
            TEXT["descend_new"].format(
                v=v, step_name=name, old=cells[v][i], step=_signed(step), new=cells[v][i + 1]
            )
        )
    return _update_page(i, last, lines)
