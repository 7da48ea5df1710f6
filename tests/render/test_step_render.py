"""render/step.py: the pages of `grad --step` on a fixed-width, colourless console; the numbers
are the trace's, written by the normal output's renderers."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

import backprop_cli
from backprop_cli.engines.gradient import gradient_report, output_symbol
from backprop_cli.engines.walk import walk
from backprop_cli.render import step as render
from backprop_cli.render.grad import explain_lines
from backprop_cli.render.numbers import fmt

LESSON = "x = 2*w + b; y = b + 1; z = x*y"
AT = {"w": 3.0, "b": 4.0}


def shown(items) -> str:
    console = Console(width=100, file=io.StringIO(), color_system=None)
    for item in items:
        console.print(item)
    return console.file.getvalue()


def lesson():
    return walk(backprop_cli.compile(LESSON), AT)


def table_rows(text: str) -> dict[str, list[str]]:
    """node label -> the cells of its row in the node table."""
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.split("│")[1:-1]]
        if len(cells) == 6 and cells[0].isdigit():
            rows[cells[1]] = cells
    return rows


def test_forward_pages_fill_the_values_in_order():
    w = lesson()
    page = shown(render.page(w, 3, 100))  # x
    assert page.splitlines()[0] == "forward pass · step 4 of 6: x"
    assert "  inputs 2*w = 6, b = 4; operation add" in page
    assert "  x = 2*w + b = 6 + 4 = 10" in page
    rows = table_rows(page)
    # reached: w, 2*w, b, x (and the constants); not yet: y, z; no adjoint yet
    assert [rows[k][3] for k in ("w", "2*w", "b", "x = 2*w + b", "y = b + 1", "z = x*y")] == [
        "3", "6", "4", "10", "—", "—",
    ]  # fmt: skip
    assert {r[5] for r in rows.values()} == {"—"}
    assert page.rstrip().endswith(render.TEXT["keys"])


def test_backward_page_of_the_shared_node():
    w = lesson()
    k = next(i for i, s in enumerate(w.steps) if s in w.backward and w.label(s.node) == "b")
    page = shown(render.page(w, k, 100))
    assert page.splitlines()[0] == "backward pass · step 4 of 6: ∂z/∂b"
    lines = [line.strip() for line in page.splitlines()]
    assert "from x: adjoint arriving ∂z/∂x = 5 × local partial ∂x/∂b = 1 → 5" in lines
    assert "from y: adjoint arriving ∂z/∂y = 10 × local partial ∂y/∂b = 1 → 10" in lines
    assert "the paths meet and add: 5 + 10 = 15" in lines
    assert "∂z/∂b = ∂z/∂x·∂x/∂b + ∂z/∂y·∂y/∂b = 5·1 + 10·1 = 15" in lines
    rows = table_rows(page)
    # the adjoints reached so far: z, y, x, b; 2*w and w not yet
    assert [rows[k][5] for k in ("z = x*y", "y = b + 1", "x = 2*w + b", "b", "2*w", "w")] == [
        "1", "10", "5", "15", "—", "—",
    ]  # fmt: skip


def test_the_output_page_says_its_adjoint_is_one():
    w = lesson()
    page = shown(render.page(w, len(w.forward), 100))
    assert "∂z/∂z = 1: the output's own adjoint is 1" in page


PROGRAMS = [
    (LESSON, AT),
    ("h = sin(u)*v; g = h/(u + 2); z = exp(g) - h^2", {"u": 0.7, "v": -1.3}),
    ("a = x*x; b = a*x + a", {"x": 2.0}),
    ("q = -p; r = q^3 - log(p, 2)", {"p": 1.5}),
]


@pytest.mark.parametrize("text, at", PROGRAMS)
def test_every_formula_ends_in_the_traces_number(text, at):
    program = backprop_cli.compile(text)
    trace = program.trace(at)
    w = walk(program, at)
    for s in w.forward:
        assert render.forward_formula(w, s).endswith(" = " + fmt(trace.values[s.node]))
    for s in w.backward:
        assert render.chain_formula(w, s).endswith(" = " + fmt(trace.adjoints[s.node]))


@pytest.mark.parametrize("text, at", PROGRAMS)
def test_the_chain_rule_is_grad_explains_line(text, at):
    # no second formatting: each backward step's line is one of `grad --explain`'s lines
    program = backprop_cli.compile(text)
    report = gradient_report(program, at)
    explained = explain_lines(report, output_symbol(program))
    w = walk(program, at)
    for s in w.backward:
        if s.line is not None:
            assert render.chain_formula(w, s) in explained


def test_forward_formulas_of_each_kind_of_operation():
    w = walk(backprop_cli.compile("q = -p; r = sin(q) + p^2; s = r"), {"p": 1.5})
    formulas = [render.forward_formula(w, s) for s in w.forward]
    assert formulas == [
        "p = 1.5",
        "q = -p = -1.5",
        "sin(q) = sin(-1.5) = -0.997495",
        "p^2 = 1.5^2 = 2.25",
        "r = sin(q) + p^2 = (-0.997495) + 2.25 = 1.25251",  # read as the language would
        "s = r = 1.25251",
    ]


def test_a_number_shown_is_checked_against_the_trace():
    # the check above fails on a walk of another point
    program = backprop_cli.compile(LESSON)
    other = walk(program, {"w": 3.0, "b": 5.0})
    trace = program.trace(AT)
    b = next(s for s in other.backward if other.label(s.node) == "b")
    assert not render.chain_formula(other, b).endswith(" = " + fmt(trace.adjoints[b.node]))


def test_no_markup_is_interpreted():
    # a name in brackets is text, not Rich markup
    w = walk(backprop_cli.compile("z = x*x"), {"x": 2.0})
    assert re.search(r"\bz = x\*x\b", shown(render.page(w, 1, 100)))


# -- solve and descend: an update told with the cells of its row --------------------------------
def test_solve_update_of_several_variables_reads_the_tables_cells():
    from backprop_cli.engines.solve import solve
    from backprop_cli.render.solve import solve_tables

    program = backprop_cli.compile(LESSON)
    run = solve(program, AT, 60.0, ["w", "b"], split="gradient", gradient="freeze")
    cells = render.solve_cells(run, "z")
    first, second = run.iterations[0], run.iterations[1]
    text = shown(render.solve_update(run, "z", cells, 0))
    assert text.startswith(f"iteration 0 (of 0–{len(run.iterations) - 1}) · update")
    # least-norm step: error·g_v/Σg² with g = (10, 15), error −10
    assert first.steps == pytest.approx({"w": -10 * 10 / 325, "b": -10 * 15 / 325})
    for v in ("w", "b"):
        assert f"∂z/∂{v} used = {fmt(first.factors[v])}" in text
        step = fmt(first.steps[v])
        assert f"step {v} = {step}\n" in text
        assert f"{v} ← {v} − step {v} = {fmt(first.values[v])} − ({step}) = {fmt(second.values[v])}" in text
    assert "split gradient (least-norm step" in text
    # the same cells as the table the normal output prints
    console = Console(width=300, file=io.StringIO(), color_system=None)
    for t in solve_tables(run, "z", 300):
        console.print(t)
    row0 = next(line for line in console.file.getvalue().splitlines() if line.startswith("│ 0 │"))
    assert [c.strip() for c in row0.split("│")[-3:-1]] == [cells["step w"][0], cells["step b"][0]]


def test_solve_update_of_the_last_row_says_why_it_stopped():
    from backprop_cli.engines.solve import solve

    run = solve(backprop_cli.compile(LESSON), AT, 60.0, ["b"], max_iter=1)
    text = shown(render.solve_update(run, "z", render.solve_cells(run, "z"), 1))
    assert run.result.status == "max_iterations"
    assert "step b = —" in text and "b ←" not in text
    assert "no update: max_iterations" in text


def test_descend_update_of_momentum_names_its_optimizer():
    from backprop_cli.engines.descend import descend

    run = descend(backprop_cli.compile("(x - 1)^2 + (y + 2)^2"), {"x": 0.0, "y": 0.0}, "momentum", 0.1, max_iter=2)
    records = run.records()
    cells = render.descend_cells(run)
    text = shown(render.descend_update(run, cells, 1))
    r, nxt = records[1], records[2]
    assert f"loss = {fmt(r.loss)}" in text
    for v in ("x", "y"):
        step = fmt(r.steps[v])
        assert f"∂loss/∂{v} = {fmt(r.gradient[v])}" in text
        assert f"step {v} (momentum) = {step}" in text
        operand = f"({step})" if step.startswith("-") else step
        assert f"{v} ← {v} + step {v} = {fmt(r.values[v])} + {operand} = {fmt(nxt.values[v])}" in text
    # momentum's second step is not −η·g: the velocity carries the first one
    assert r.steps["x"] != pytest.approx(-0.1 * r.gradient["x"])


def test_iteration_pages_lead_with_the_iteration():
    w = lesson()
    text = shown(render.page(w, 0, 100, render.iteration(2, 6)))
    assert text.startswith("iteration 2 (of 0–6) · forward pass · step 1 of 6: w")
    assert render.stopped_in(2, 6, w, 7) == "stopped at iteration 2 (of 0–6), the backward pass, step 2 of 6"
    assert render.stopped_in(2, 6, w, 12) == "stopped at iteration 2 (of 0–6), update"
