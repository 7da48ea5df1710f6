"""`grad --step`, `solve --step` and `descend --step` driven as a learner would, through a
pseudo-terminal (pexpect): single keys, the lesson's graph stepped to the end and back one
step, iterations stepped across and back; without a terminal, one line and exit 2. Every
wait is for output, never a fixed sleep."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys

import pytest
from typer.testing import CliRunner

import backprop_cli
from backprop_cli.cli import app
from backprop_cli.render.numbers import fmt
from tests.helpers.oracles import strict_json

pexpect = pytest.importorskip("pexpect")

LESSON = "x = 2*w + b; y = b + 1; z = x*y"
KEYS = "Enter or Space: next · b: back · q: stop"
TIMEOUT = 30  # seconds for output to come (a loaded machine), not a measurement


def env() -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "BACKPROP_DEBUG")}
    out.update(NO_COLOR="1", TERM="xterm", COLUMNS="160")
    return out


def spawn(*args: str):
    child = pexpect.spawn(
        sys.executable, ["-m", "backprop_cli", *args], env=env(), encoding="utf-8",
        timeout=TIMEOUT, dimensions=(60, 160),
    )  # fmt: skip
    return child


def page(child, header: str) -> str:
    """Wait for the page that starts with ``header``; its text up to the keys line."""
    child.expect_exact(header)
    child.expect_exact(KEYS)
    return header + child.before


def finish(child) -> int:
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus


def test_lesson_stepped_to_the_end_and_back_one_step():
    trace = backprop_cli.compile(LESSON).trace({"w": 3.0, "b": 4.0})
    child = spawn("grad", "--step")
    forward = ["w", "2*w", "b", "x", "y", "z"]
    for k, label in enumerate(forward, 1):
        text = page(child, f"forward pass · step {k} of 6: {label}")
        child.send(" " if k % 2 else "\r")  # Space and Enter both step on
    assert "z = x*y = 10 * 5 = " + fmt(trace.values[7]) in text  # 50, the trace's
    backward = ["∂z/∂z", "∂z/∂y", "∂z/∂x", "∂z/∂b", "∂z/∂(2*w)", "∂z/∂w"]
    pages = {}
    for k, label in enumerate(backward, 1):
        pages[label] = page(child, f"backward pass · step {k} of 6: {label}")
        if k < 6:
            child.send(" ")
    # b's page: both paths, their sum, and the trace's adjoint of b (15)
    b = pages["∂z/∂b"]
    assert "from x: adjoint arriving ∂z/∂x = 5 × local partial ∂x/∂b = 1 → 5" in b
    assert "from y: adjoint arriving ∂z/∂y = 10 × local partial ∂y/∂b = 1 → 10" in b
    assert "∂z/∂b = ∂z/∂x·∂x/∂b + ∂z/∂y·∂y/∂b = 5·1 + 10·1 = " + fmt(trace.adjoints[3]) in b
    assert fmt(trace.adjoints[3]) == "15"
    assert "∂z/∂w = ∂z/∂(2*w)·∂(2*w)/∂w = 5·2 = " + fmt(trace.adjoints[1]) in pages["∂z/∂w"]
    # back one step, then on to the end: the normal output of grad
    child.send("b")
    again = page(child, "backward pass · step 5 of 6: ∂z/∂(2*w)")
    assert "∂z/∂(2*w) = ∂z/∂x·∂x/∂(2*w) = 5·1 = 5" in again
    child.send("\x1b[C")  # → steps on too
    page(child, "backward pass · step 6 of 6: ∂z/∂w")
    child.send(" ")
    child.expect_exact("gradient of z = 50 (reverse mode)")
    assert finish(child) == 0


def test_q_stops_and_says_where():
    child = spawn("grad", "x*y", "--at", "x=2,y=3", "--step")
    page(child, "forward pass · step 1 of 3: x")
    child.send(" ")
    page(child, "forward pass · step 2 of 3: y")
    child.send("b")  # back, at the first step already: stays there
    page(child, "forward pass · step 1 of 3: x")
    child.send("q")
    child.expect_exact("stopped at the forward pass, step 1 of 3")
    assert finish(child) == 0


def test_ctrl_c_exits_130():
    child = spawn("grad", "--step")
    page(child, "forward pass · step 1 of 6: w")
    child.sendintr()
    child.expect_exact("interrupted")
    assert finish(child) == 130


def test_piped_stdin_is_refused_in_one_line():
    r = subprocess.run(
        [sys.executable, "-m", "backprop_cli", "grad", "--step"],
        input="", capture_output=True, text=True, env=env(), timeout=TIMEOUT,
    )  # fmt: skip
    assert r.returncode == 2
    assert r.stdout == ""
    assert r.stderr.startswith("error: --step needs a terminal") and r.stderr.count("\n") == 1


def test_piped_stdout_is_refused_too():
    # stdin is the terminal, stdout a pipe: the steps could not be seen
    command = (
        f"{shlex.quote(sys.executable)} -m backprop_cli grad --step | cat; exit ${{PIPESTATUS[0]}}"
    )
    child = pexpect.spawn("bash", ["-c", command], env=env(), encoding="utf-8", timeout=TIMEOUT)
    child.expect_exact("error: --step needs a terminal")
    assert finish(child) == 2


def test_cli_runner_is_no_terminal():
    r = CliRunner().invoke(app, ["grad", "--step"], env={"NO_COLOR": "1"})
    assert r.exit_code == 2
    assert r.stderr.startswith("error: --step needs a terminal")


@pytest.mark.parametrize(
    "extra, option",
    [
        (["--json"], "--json"),
        (["--mode", "forward"], "--mode forward"),
        (["--nudge", "0.1"], "--nudge"),
        (["-"], "-"),
    ],
)
def test_options_that_cannot_step(extra, option):
    r = CliRunner().invoke(app, ["grad", "--step", *extra], env={"NO_COLOR": "1"})
    assert r.exit_code == 2
    if option == "-":  # stdin brings the keys
        assert r.stderr.startswith("error: --step reads its keys from stdin")
    else:
        assert f"--step is not available with {option}" in r.stderr
    if "--json" in extra:
        doc = strict_json(r.stdout)
        assert doc["status"] == "input_error" and doc["schema"] == "backprop.grad/1"


# -- solve and descend: each iteration's pass, then its update ---------------------------------
def lesson_solve():
    from backprop_cli.engines.solve import solve

    program = backprop_cli.compile(LESSON)
    return solve(program, {"w": 3.0, "b": 4.0}, 60.0, ["b"], gradient="freeze")


def test_solve_steps_the_lessons_iterations_and_back_across_them():
    run = lesson_solve()  # the engine's own rows are the oracle
    first, second = run.iterations[0], run.iterations[1]
    last = len(run.iterations) - 1
    child = spawn("solve", "--gradient", "freeze", "--step")
    where = f"iteration 0 (of 0–{last}) · "
    for k in range(1, 7):
        text = page(child, where + f"forward pass · step {k} of 6")
        child.send(" ")
    assert f"z = x*y = 10 * 5 = {fmt(first.output)}" in text
    for k in range(1, 7):
        text = page(child, where + f"backward pass · step {k} of 6")
        if k == 4:  # b: both paths add up to the partial the update divides by
            assert "∂z/∂b = ∂z/∂x·∂x/∂b + ∂z/∂y·∂y/∂b = 5·1 + 10·1 = " + fmt(first.partials["b"]) in text
        child.send(" ")
    update = page(child, where + "update")
    assert fmt(first.partials["b"]) == "15" and fmt(first.factors["b"]) == "15"
    assert f"error = z − target = {fmt(first.output)} − 60 = {fmt(first.error)}" in update
    assert "∂z/∂b used = 15" in update
    step, new = fmt(first.steps["b"]), fmt(second.values["b"])
    assert step == fmt((50 - 60) / 15) and new == fmt(4 - (50 - 60) / 15)
    assert f"step b = error/(∂z/∂b used) = {fmt(first.error)}/15 = {step}" in update
    assert f"b ← b − step b = 4 − ({step}) = {new}" in update
    child.send(" ")  # on to the second iteration: its pass at the new point
    text = page(child, f"iteration 1 (of 0–{last}) · forward pass · step 1 of 6: w")
    child.send(" ")
    child.send(" ")
    text = page(child, f"iteration 1 (of 0–{last}) · forward pass · step 3 of 6: b")
    assert f"b = {fmt(second.values['b'])} (given)" in text
    child.send("b")
    child.send("b")
    page(child, f"iteration 1 (of 0–{last}) · forward pass · step 1 of 6: w")
    child.send("b")  # back across the boundary: the first iteration's update again
    again = page(child, where + "update")
    assert f"b ← b − step b = 4 − ({step}) = {new}" in again
    child.send("q")
    child.expect_exact(f"stopped at iteration 0 (of 0–{last}), update")
    assert finish(child) == 0


def test_solve_stepped_to_the_end_prints_its_normal_output():
    run = lesson_solve()
    last = len(run.iterations) - 1
    child = spawn("solve", "--gradient", "freeze", "--step")
    pages = (last + 1) * 13  # every iteration: 6 forward, 6 backward, its update
    for _ in range(pages - 1):
        child.expect_exact(KEYS)
        child.send(" ")
    final = page(child, f"iteration {last} (of 0–{last}) · update")
    assert run.result.status == "converged"
    assert "step b = —" in final and f"no update: converged: {run.result.message}" in final
    child.send(" ")
    child.expect_exact("status      converged")
    assert finish(child) == 0


def test_descend_shows_each_rows_loss_gradient_and_step():
    from backprop_cli.engines.descend import descend

    program = backprop_cli.compile("(x - 1)^2 + 0.001")
    records = descend(program, {"x": 0.2}, "sgd", 0.1, max_iter=3).records()
    assert [fmt(r.loss) for r in records] == ["0.641", "0.4106", "0.263144", "0.168772"]
    child = spawn("descend", "--x0", "0.2", "--eta", "0.1", "--max-iter", "3", "--step")
    for r in records:
        head = f"iteration {r.iteration} (of 0–3) · "
        forward = page(child, head + "forward pass · step 1 of 4: x")
        assert f"x = {fmt(r.values['x'])} (given)" in forward
        for _ in range(7):  # the rest of the pass: 4 forward steps, 4 backward
            child.send(" ")
            child.expect_exact(KEYS)
        child.send(" ")
        update = page(child, head + "update")
        assert f"loss = {fmt(r.loss)}" in update
        assert f"∂loss/∂x = {fmt(r.gradient['x'])}" in update
        if r.steps is None:
            assert "no update: max_iterations" in update
        else:
            nxt = records[r.iteration + 1]
            g, step = fmt(r.gradient["x"]), fmt(r.steps["x"])
            assert f"step = −η·∂loss/∂x = −0.1·({g}) = {step}" in update
            assert f"x ← x + step = {fmt(r.values['x'])} + {step} = {fmt(nxt.values['x'])}" in update
        child.send(" ")
    child.expect_exact("max_iterations: did not converge")
    assert finish(child) == 1  # the normal output's exit: not converged


@pytest.mark.parametrize("command", [["solve"], ["descend"]])
def test_runs_refuse_to_step_without_a_terminal(command):
    r = subprocess.run(
        [sys.executable, "-m", "backprop_cli", *command, "--step"],
        input="", capture_output=True, text=True, env=env(), timeout=TIMEOUT,
    )  # fmt: skip
    assert r.returncode == 2
    assert r.stdout == ""
    assert r.stderr.startswith("error: --step needs a terminal") and r.stderr.count("\n") == 1


@pytest.mark.parametrize(
    "extra, option, schema",
    [
        (["solve", "--json"], "--json", "backprop.solve/1"),
        (["solve", "--jsonl"], "--jsonl", "backprop.solve/1"),
        (["descend", "--json"], "--json", "backprop.descend/1"),
        (["descend", "--eta", "0.1,0.2"], "a learning-rate sweep (--eta)", None),
        (["descend", "--data", "d.csv"], "--data", None),
    ],
)
def test_runs_refuse_options_that_cannot_step(extra, option, schema):
    r = CliRunner().invoke(app, [*extra, "--step"], env={"NO_COLOR": "1"})
    assert r.exit_code == 2
    assert f"--step is not available with {option}" in r.stderr
    if option == "--jsonl":
        assert strict_json(r.stdout)["status"] == "input_error"
    elif schema is not None:
        doc = strict_json(r.stdout)
        assert doc["status"] == "input_error" and doc["schema"] == schema
    else:
        assert r.stderr.count("\n") == 1
