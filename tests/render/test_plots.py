"""The deterministic matplotlib plots of descend, sweep and solve documents, and the
commands' --plot.

Plot tests use documents built by hand here, following the JSON schemas of issues 3 and 4
exactly, so they check the renderer against the contract rather than against an engine; the
curves are evaluated through the program given with the document (the command gives the
program the engine ran; the renderer compiles nothing).
"""

from __future__ import annotations

import re
import struct
import xml.etree.ElementTree as ET

import pytest
from typer.testing import CliRunner

import backprop_cli as bp
from backprop_cli.cli import app
from backprop_cli.engines.solve import solve
from backprop_cli.errors import InputError
from backprop_cli.render import plot
from tests.helpers.oracles import strict_json

LESSON = "x = 2*w + b; y = b + 1; z = x*y"


ENV = {"COLUMNS": "100", "NO_COLOR": "1"}
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SVG_NS = "{http://www.w3.org/2000/svg}"


def run(*args, **kw):
    return CliRunner().invoke(app, list(args), env=ENV, **kw)


# -- hand-built documents (issue 3 and issue 4 schemas) -----------------------------------------------
def descend_doc(expr, f, grad, start, eta, n, status="max_iterations"):
    """sgd on f from start for n steps; values/loss/gradient/steps as the issue specifies."""
    names = list(start)
    point = dict(start)
    rows = []
    for k in range(n + 1):
        g = grad(**point)
        last = k == n
        steps = None if last else {v: -eta * g[v] for v in names}
        rows.append(
            {
                "iteration": k,
                "values": dict(point),
                "loss": f(**point),
                "gradient": g,
                "steps": steps,
            }
        )
        if not last:
            point = {v: point[v] + steps[v] for v in names}
    return {
        "schema": "backprop.descend/1", "expression": expr, "optimizer": "sgd", "eta": eta, "start": dict(start),
        "tol": 1e-5, "until_loss": None, "max_iter": 10000, "status": status, "message": status,
        "iterations": rows,
        "result": {"values": rows[-1]["values"], "loss": rows[-1]["loss"], "iterations": n},
    }  # fmt: skip


def lesson_descent(n=12):
    return descend_doc(
        "(x - 1)^2 + 0.001",
        lambda x: (x - 1) ** 2 + 0.001,
        lambda x: {"x": 2 * (x - 1)},
        {"x": 0.2},
        0.1,
        n,
    )


def lesson_solve(freeze=False):
    """The lesson's solve: z = (2w + b)(b + 1), w = 3, vary b from 4 to the target 60."""
    w, b, target = 3.0, 4.0, 60.0
    rows, first = [], None
    for k in range(50):
        x, y = 2 * w + b, b + 1
        z, dzdb = x * y, x + y
        first = dzdb if first is None else first
        err = z - target
        done = abs(err) < 1e-5
        rows.append({
            "iteration": k, "values": {"w": w, "b": b, "x": x, "y": y, "z": z}, "output": z, "error": err,
            "partials": {"b": dzdb}, "deltas": {"w": err / (2 * y), "b": err / dzdb, "x": err / y, "y": err / x},
            "steps": None if done else {"b": -err / (first if freeze else dzdb)},
        })  # fmt: skip
        if done:
            break
        b -= err / (first if freeze else dzdb)
    return {
        "schema": "backprop.solve/1", "expression": LESSON, "output": "z", "target": target, "vary": ["b"],
        "at": {"w": 3.0, "b": 4.0}, "defaulted": [], "gradient": "freeze" if freeze else "refresh",
        "split": "even", "tol": 1e-5, "max_iter": 100, "status": "converged", "message": "converged",
        "iterations": rows,
        "result": {"values": rows[-1]["values"], "output": rows[-1]["output"], "error": rows[-1]["error"],
                   "updates": len(rows) - 1},
    }  # fmt: skip


def two_var_solve():
    w, b, target = 3.0, 4.0, 20.0
    rows = []
    for k in range(20):
        z = w * b
        err = z - target
        done = abs(err) < 1e-5
        sw, sb = -err / 2 / b, -err / 2 / w  # split even: each absorbs half the error
        rows.append({
            "iteration": k, "values": {"w": w, "b": b}, "output": z, "error": err, "partials": {"w": b, "b": w},
            "deltas": {"w": err / b, "b": err / w}, "steps": None if done else {"w": sw, "b": sb},
        })  # fmt: skip
        if done:
            break
        w, b = w + sw, b + sb
    return {
        "schema": "backprop.solve/1", "expression": "w*b", "output": "w*b", "target": target, "vary": ["w", "b"],
        "at": {"w": 3.0, "b": 4.0}, "defaulted": [], "gradient": "refresh", "split": "even", "tol": 1e-5,
        "max_iter": 100, "status": "converged", "message": "converged", "iterations": rows,
        "result": {"values": rows[-1]["values"], "output": rows[-1]["output"], "error": rows[-1]["error"],
                   "updates": len(rows) - 1},
    }  # fmt: skip


def sweep_doc():
    runs = []
    for eta, n, status in ((0.1, 40, "converged"), (0.4, 10, "converged"), (1.0, 6, "oscillating"),
                           (1.1, 30, "diverged")):  # fmt: skip
        runs.append(
            descend_doc(
                "(x - 1)^2 + 0.1",
                lambda x: (x - 1) ** 2 + 0.1,
                lambda x: {"x": 2 * (x - 1)},
                {"x": -0.8},
                eta,
                n,
                status,
            )
        )
    return {"schema": "backprop.descend-sweep/1", "runs": runs}


def test_hand_built_documents_match_the_lesson():
    """The fixtures themselves carry the lesson's numbers (domain.md)."""
    xs = [row["values"]["x"] for row in lesson_descent()["iterations"]]
    assert xs[:4] == pytest.approx([0.2, 0.36, 0.488, 0.5904])
    freeze = lesson_solve(freeze=True)
    assert freeze["iterations"][1]["values"]["b"] == pytest.approx(4.66667, abs=1e-5)
    assert freeze["iterations"][1]["output"] == pytest.approx(60.4444, abs=1e-4)
    assert freeze["result"]["updates"] == 6
    refresh = lesson_solve()
    assert refresh["result"]["updates"] == 3
    assert refresh["result"]["values"]["b"] == pytest.approx((-7 + 265**0.5) / 2, abs=1e-9)


# -- plots -----------------------------------------------------------------------------------------
def program_of(doc):
    """The program of a hand-built document's run, as the command would give it."""
    return bp.compile(doc["expression"])


def draw_descend(doc, path):
    plot.plot_descend(doc, path, program_of(doc))


def draw_solve(doc, path):
    plot.plot_solve(doc, path, program_of(doc))


def png_size(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def svg_ids(path) -> list[str]:
    root = ET.parse(path).getroot()
    assert root.tag == f"{SVG_NS}svg"
    return [el.get("id") for el in root.iter() if el.get("id")]


def iterate_ids(path) -> list[str]:
    return [i for i in svg_ids(path) if re.fullmatch(r"iterate-\d+", i)]


EXPECTED_PIXELS = (round(plot.FIGSIZE[0] * plot.DPI), round(plot.FIGSIZE[1] * plot.DPI))

CASES = {
    "descend-1": (draw_descend, lambda: lesson_descent(12), 13),
    "descend-2": (
        draw_descend,
        lambda: descend_doc(
            "x^2 + 3*y^2",
            lambda x, y: x * x + 3 * y * y,
            lambda x, y: {"x": 2 * x, "y": 6 * y},
            {"x": 2.0, "y": 1.0},
            0.1,
            20,
        ),
        21,
    ),
    "descend-3": (
        draw_descend,
        lambda: descend_doc(
            "x^2 + y^2 + u^2",
            lambda x, y, u: x * x + y * y + u * u,
            lambda x, y, u: {"x": 2 * x, "y": 2 * y, "u": 2 * u},
            {"x": 1.0, "y": -1.0, "u": 0.5},
            0.2,
            8,
        ),
        0,  # more than two variables: the paths, no curve to place iterates on
    ),
    "descend-oscillating": (
        draw_descend,
        lambda: descend_doc(
            "x^2", lambda x: x * x, lambda x: {"x": 2 * x}, {"x": -0.8}, 1.0, 6, "oscillating"
        ),
        7,
    ),
    "solve-1": (draw_solve, lambda: lesson_solve(freeze=True), 7),
    "solve-2": (draw_solve, two_var_solve, 0),
    "sweep": (plot.plot_sweep, sweep_doc, 0),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_plots_png_and_svg(case, tmp_path):
    draw, make, markers = CASES[case]
    doc = make()
    png, svg = tmp_path / f"{case}.png", tmp_path / f"{case}.svg"
    draw(doc, str(png))
    draw(doc, str(svg))
    assert png_size(png) == EXPECTED_PIXELS
    assert png.stat().st_size > 20_000  # a real picture, not an empty canvas
    assert len(iterate_ids(svg)) == markers
    if case in ("descend-3", "solve-2"):
        names = doc["vary"] if "vary" in doc else list(doc["start"])
        assert sorted(i for i in svg_ids(svg) if i.startswith("path-")) == sorted(
            f"path-{v}" for v in names
        )


def test_sweep_marks_the_diverging_run(tmp_path):
    svg = tmp_path / "s.svg"
    plot.plot_sweep(sweep_doc(), str(svg))
    ids = svg_ids(svg)
    assert [i for i in ids if i.startswith("run-")] == ["run-0", "run-1", "run-2", "run-3"]
    assert [i for i in ids if i.startswith("clipped-")] == ["clipped-3"]  # only η = 1.1 diverged
    fig = plot.sweep_figure(sweep_doc())
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == [
        "η = 0.1: converged (40 steps)", "η = 0.4: converged (10 steps)",
        "η = 1: oscillating (6 steps)", "η = 1.1: diverged (30 steps)",
    ]  # fmt: skip
    assert fig.axes[0].get_yscale() == "log"


def test_titles_and_labels_say_what_is_drawn():
    fig = plot.descend_figure(lesson_descent(12), bp.compile("(x - 1)^2 + 0.001"))
    title = fig._suptitle.get_text()
    assert "(x - 1)^2 + 0.001" in title and "η = 0.1" in title and "sgd" in title
    curve, losses = fig.axes
    assert curve.get_xlabel() == "x" and "loss" in curve.get_ylabel()
    assert losses.get_yscale() == "log" and losses.get_xlabel() == "iteration"
    fig = plot.solve_figure(lesson_solve(freeze=True), bp.compile(LESSON))
    title = fig._suptitle.get_text()
    assert "z = 60" in title and LESSON in title and "varying b" in title and "freeze" in title
    assert "converged after 6 updates" in title
    assert fig.axes[0].get_xlabel() == "b" and fig.axes[1].get_yscale() == "log"


def test_newton_steps_run_from_each_iterate_to_the_target():
    doc = lesson_solve()
    fig = plot.solve_figure(doc, bp.compile(LESSON))
    ax = fig.axes[0]
    steps = [ln for ln in ax.get_lines() if ln.get_color() == "C2"]
    assert len(steps) == doc["result"]["updates"]
    rows = doc["iterations"]
    for k, line in enumerate(steps):
        (x0, x1), (z0, z1) = line.get_xdata(), line.get_ydata()
        assert (x0, z0) == (rows[k]["values"]["b"], rows[k]["output"])
        assert (x1, z1) == (rows[k + 1]["values"]["b"], 60.0)
        # the line is the tangent: its slope is ∂z/∂b at the iterate (refresh = Newton)
        assert (z1 - z0) / (x1 - x0) == pytest.approx(rows[k]["partials"]["b"])


def test_failing_runs_are_marked():
    doc = CASES["descend-oscillating"][1]()
    fig = plot.descend_figure(doc, program_of(doc))
    assert "OSCILLATING" in fig._suptitle.get_text()
    assert "OSCILLATING" in [t.get_text() for t in fig.axes[0].texts]
    doc = lesson_solve()
    doc["status"] = "max_iterations"
    assert "MAX ITERATIONS" in plot.solve_figure(doc, program_of(doc))._suptitle.get_text()


def test_long_runs_mark_a_bounded_number_of_iterates(tmp_path):
    svg = tmp_path / "long.svg"
    draw_descend(lesson_descent(300), str(svg))
    ids = iterate_ids(svg)
    assert len(ids) == plot.MAX_MARKED + 1 and "iterate-300" in ids


def test_curve_outside_the_domain_is_left_blank(tmp_path):
    # ln(x) near 0: part of the plotted range is outside the domain
    doc = descend_doc("-ln(x) + x", lambda x: 0.0, lambda x: {"x": 1 - 1 / x}, {"x": 0.05}, 0.01, 5)
    png = tmp_path / "ln.png"
    draw_descend(doc, str(png))
    assert png_size(png) == EXPECTED_PIXELS


def test_curves_are_the_given_programs_and_nothing_is_compiled(monkeypatch):
    """The curve is the program the run used, evaluated over the grid — not a recompiled
    expression: the document names one loss, the program given is another, and compiling
    anything while drawing fails the test."""
    import numpy as np

    descent, solved = lesson_descent(12), lesson_solve()
    cubic, scaled = bp.compile("x^3 - x"), bp.compile("x = 2*w + b; y = b + 1; z = 3*x*y")

    def no_compiling(*args, **kwargs):
        raise AssertionError("the renderer compiled a program")

    monkeypatch.setattr(bp, "compile", no_compiling)
    monkeypatch.setattr("backprop_cli.core.program.compile_program", no_compiling)
    curve = plot.descend_figure(descent, cubic).axes[0].get_lines()[0]
    xs = np.asarray(curve.get_xdata())
    assert len(xs) == plot.GRID
    assert np.asarray(curve.get_ydata()) == pytest.approx(xs**3 - xs)
    curve = plot.solve_figure(solved, scaled).axes[0].get_lines()[0]
    bs = np.asarray(curve.get_xdata())  # w stays at its first value, 3
    assert np.asarray(curve.get_ydata()) == pytest.approx(3 * (6 + bs) * (bs + 1))


def test_no_renderer_imports_a_compiler():
    """render/ reads engine records and the programs they hold; it never compiles text (the
    plots once recompiled the document's expression)."""
    import ast
    import pathlib

    import backprop_cli.render

    found = []
    for path in sorted(pathlib.Path(backprop_cli.render.__file__).parent.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                names = {alias.name for alias in node.names}
                if names & {"compile", "compile_program"} or "compiler" in (node.module or ""):
                    found.append(f"{path.name}:{node.lineno}")
    assert found == []


@pytest.mark.parametrize("ext", ["png", "svg", "pdf"])
def test_plots_are_deterministic(ext, tmp_path):
    for draw, make in ((draw_descend, lesson_descent), (draw_solve, lesson_solve),
                       (plot.plot_sweep, sweep_doc)):  # fmt: skip
        a, b = tmp_path / f"a.{ext}", tmp_path / f"b.{ext}"
        draw(make(), str(a))
        draw(make(), str(b))
        assert a.read_bytes() == b.read_bytes()


def test_plot_format_is_checked():
    assert plot.plot_format("run.PNG") == "png"
    with pytest.raises(InputError, match="unknown picture type '.jpg'"):
        plot.plot_format("run.jpg")
    with pytest.raises(InputError):
        draw_descend(lesson_descent(), "run.gif")


# -- the commands' --plot ------------------------------------------------------------------------------
def test_cli_solve_plot(tmp_path):
    svg = tmp_path / "solve.svg"
    result = run("solve", "--plot", str(svg), "--json")
    assert result.exit_code == 0, result.stderr
    doc = strict_json(result.stdout)
    assert len(iterate_ids(svg)) == len(doc["iterations"]) == 4  # Newton: 3 updates
    png = tmp_path / "solve.png"
    result = run("solve", "--gradient", "freeze", "--plot", str(png), "--quiet")
    assert result.exit_code == 0, result.stderr
    assert png_size(png) == EXPECTED_PIXELS


def test_cli_descend_plot(tmp_path):
    svg = tmp_path / "descend.svg"
    result = run("descend", "--eta", "0.1", "--x0", "0.2", "--plot", str(svg), "--json")
    assert result.exit_code == 0, result.stderr
    doc = strict_json(result.stdout)
    assert len(iterate_ids(svg)) == len(doc["iterations"]) == 55  # the lesson: 54 steps to x = 1
    assert [row["values"]["x"] for row in doc["iterations"][:3]] == pytest.approx(
        [0.2, 0.36, 0.488]
    )


def test_cli_descend_sweep_plot(tmp_path):
    svg = tmp_path / "sweep.svg"
    args = [
        "descend",
        "(x - 1)^2 + 0.1",
        "--x0",
        "-0.8",
        "--eta",
        "0.1,0.4,1.0,1.1",
        "--plot",
        str(svg),
    ]
    result = run(*args, "--json")
    assert result.exit_code == 0, result.stderr
    statuses = [r["status"] for r in strict_json(result.stdout)["runs"]]
    assert statuses == ["converged", "converged", "oscillating", "diverged"]
    ids = svg_ids(svg)
    assert [i for i in ids if i.startswith("run-")] == ["run-0", "run-1", "run-2", "run-3"]
    assert [i for i in ids if i.startswith("clipped-")] == ["clipped-3"]


def test_cli_failed_descend_still_plots(tmp_path):
    png = tmp_path / "osc.png"
    result = run("descend", "x^2", "--x0", "-0.8", "--eta", "1", "--plot", str(png), "--quiet")
    assert result.exit_code == 1
    assert "oscillating" in result.stderr
    assert png_size(png) == EXPECTED_PIXELS


# -- the solve plot under --gradient freeze ------------------------------------------------------
def test_freeze_plot_does_not_call_its_steps_newton():
    pytest.importorskip("matplotlib")
    from backprop_cli.render import plot
    from backprop_cli.render.solve import solve_document

    program = bp.compile(LESSON)
    for gradient, words in (("freeze", "frozen"), ("refresh", "Newton")):
        doc = solve_document(solve(program, {"w": 3.0, "b": 4.0}, 60.0, ["b"], gradient=gradient))
        ax = plot.solve_figure(doc, program).axes[0]
        assert ax.get_title().startswith(words)
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert any(words in label for label in labels), labels
        steps = [ln for ln in ax.get_lines() if ln.get_color() == "C2"]
        slopes = [
            (ln.get_ydata()[1] - ln.get_ydata()[0]) / (ln.get_xdata()[1] - ln.get_xdata()[0])
            for ln in steps
        ]
        if gradient == "freeze":  # every step runs along the first slope, ∂z/∂b = 15
            assert slopes == pytest.approx([15.0] * 6)
        else:  # tangents: 15, then 49/3
            assert slopes[:2] == pytest.approx([15.0, 49 / 3])
