"""`backprop quiz` driven as a learner would, through a pseudo-terminal (pexpect), and as a
teacher would: answer sheets graded without a terminal, --json, generated exercises."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys

import pytest
from typer.testing import CliRunner

import backprop_cli
from backprop_cli.cli import app
from backprop_cli.engines import quiz
from backprop_cli.engines.walk import walk
from backprop_cli.render.quiz import key
from tests.helpers.oracles import strict_json

pexpect = pytest.importorskip("pexpect")

LESSON = "x = 2*w + b; y = b + 1; z = x*y"
TIMEOUT = 30  # seconds for output to come (a loaded machine), not a measurement
PROMPT = r"\[\d+/\d+\] \S+ = $"


def env() -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "BACKPROP_DEBUG")}
    out.update(NO_COLOR="1", TERM="xterm", COLUMNS="200")
    return out


def spawn(*args: str, stdout_to=None):
    """The quiz on a pseudo-terminal; ``stdout_to``: stdout goes to this file instead."""
    argv = [sys.executable, "-m", "backprop_cli", "quiz", *args]
    if stdout_to is None:
        command, argv = argv[0], argv[1:]
    else:
        command = "sh"
        argv = ["-c", " ".join(map(shlex.quote, argv)) + f" > {shlex.quote(str(stdout_to))}"]
    return pexpect.spawn(
        command, argv, env=env(), encoding="utf-8", timeout=TIMEOUT, dimensions=(60, 200)
    )


def answer(child, question: str, text: str) -> None:
    child.expect_exact(f"{question} = ")
    child.sendline(text)


def finish(child) -> int:
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus


def run(*args: str, input: str | None = None):
    return CliRunner().invoke(
        app, ["quiz", *args], env={"NO_COLOR": "1", "COLUMNS": "200"}, input=input
    )


# -- the learner on a terminal -------------------------------------------------------------------
def test_lesson_quiz_the_shared_node_then_right():
    child = spawn()
    child.expect_exact("quiz: x = 2*w + b; y = b + 1; z = x*y at w = 3, b = 4")
    answer(child, "[1/6] ∂z/∂z", "1")
    child.expect_exact("right: ∂z/∂z = 1")
    answer(child, "[2/6] ∂z/∂y", "10")
    answer(child, "[3/6] ∂z/∂x", "5")
    answer(child, "[4/6] ∂z/∂b", "5")
    # told that b feeds both x and y and the paths add
    child.expect_exact("b feeds both x and y, and the paths add: ")
    child.expect_exact("= 5·1 + 10·1 = 15")
    child.expect_exact("try again, or r to reveal")
    answer(child, "[4/6] ∂z/∂b", "15")
    child.expect_exact("right: ∂z/∂b = ∂z/∂x·∂x/∂b + ∂z/∂y·∂y/∂b = 5·1 + 10·1 = 15")
    answer(child, "[5/6] ∂z/∂(2*w)", "5*1")
    answer(child, "[6/6] ∂z/∂w", "10")
    child.expect_exact("score: 5 of 6 right at the first try")
    child.expect_exact("wrong: ∂z/∂b")
    assert finish(child) == 0


def test_a_bad_answer_is_asked_again_reveal_and_stop():
    child = spawn("--ask", "forward")
    answer(child, "[1/4] 2*w", "2*w")
    child.expect_exact("'w' is a name")
    answer(child, "[1/4] 2*w", "6")
    answer(child, "[2/4] x", "-10")
    child.expect_exact("the sign is wrong: x = 2*w + b = 6 + 4 = 10")
    answer(child, "[2/4] x", "r")
    child.expect_exact("the answer: x = 2*w + b = 6 + 4 = 10")
    answer(child, "[3/4] y", "q")
    child.expect_exact("stopped before the last question")
    child.expect_exact("score: 1 of 4 right at the first try")
    child.expect_exact("wrong: x, y, z")
    assert finish(child) == 0


# one learner's first answers to the lesson's backward questions (right, wrong, wrong, ...)
FIRST = {"∂z/∂z": "1", "∂z/∂y": "50", "∂z/∂x": "5", "∂z/∂b": "5", "∂z/∂(2*w)": "1", "∂z/∂w": "20"}
RIGHT = {"∂z/∂z": 1.0, "∂z/∂y": 10.0, "∂z/∂x": 5.0, "∂z/∂b": 15.0, "∂z/∂(2*w)": 5.0, "∂z/∂w": 10.0}


def typed_document(tmp_path) -> dict:
    """The quiz answered on a terminal with FIRST (a wrong one then revealed), --json to a file."""
    out = tmp_path / "typed.json"
    child = spawn("--json", stdout_to=out)
    for k, (name, text) in enumerate(FIRST.items(), 1):
        answer(child, f"[{k}/6] {name}", text)
        if text != str(int(RIGHT[name])):
            answer(child, f"[{k}/6] {name}", "r")
    assert finish(child) == 0
    return strict_json(out.read_text(encoding="utf-8"))


def test_an_answer_sheet_is_graded_as_typed_answers(tmp_path):
    typed = typed_document(tmp_path)
    sheet = tmp_path / "alice.txt"
    sheet.write_text("".join(f"{k} = {v}\n" for k, v in FIRST.items()), encoding="utf-8")
    r = run("--answers", str(sheet), "--json")
    assert r.exit_code == 0, r.stderr
    graded = strict_json(r.stdout)

    def same(doc):
        return [(q["key"], q["expected"], q["answers"], q["correct"]) for q in doc["questions"]]

    assert same(graded) == same(typed)
    assert graded["score"] == typed["score"] == {"right": 2, "total": 6}
    assert graded["wrong"] == typed["wrong"] == ["∂z/∂y", "∂z/∂b", "∂z/∂(2*w)", "∂z/∂w"]
    assert [q["revealed"] for q in typed["questions"]] == [False, True, False, True, True, True]
    assert typed["answers_from"] == "terminal" and graded["answers_from"] == str(sheet)


def test_json_fields_for_a_teacher(tmp_path):
    sheet = tmp_path / "bob.txt"
    sheet.write_text("# Bob\nz = 1\nb = 5\ndz / dw = 10\n", encoding="utf-8")
    r = run("--answers", str(sheet), "--json")
    assert r.exit_code == 0, r.stderr
    doc = strict_json(r.stdout)
    assert doc["schema"] == "backprop.quiz/1" and doc["status"] == "ok"
    assert doc["expression"] == LESSON and doc["output"] == "z"
    assert doc["at"] == {"w": 3.0, "b": 4.0} and doc["ask"] == "backward"
    assert doc["exercise"] is None
    by_key = {q["key"]: q for q in doc["questions"]}
    assert list(by_key) == list(RIGHT)
    assert {k: q["expected"] for k, q in by_key.items()} == RIGHT
    b = by_key["∂z/∂b"]
    assert b == {
        "number": 4, "pass": "backward", "node": 3, "name": "b", "key": "∂z/∂b", "expected": 15.0,
        "answers": [{
            "text": "5", "value": 5.0, "correct": False,
            "diagnosis": {
                "rule": "missing_path",
                "message": "b feeds both x and y, and the paths add: "
                           "∂z/∂b = ∂z/∂x·∂x/∂b + ∂z/∂y·∂y/∂b = 5·1 + 10·1 = 15",
            },
        }],
        "correct": False, "revealed": False,
    }  # fmt: skip
    assert by_key["∂z/∂w"]["answers"][0]["correct"] is True
    assert by_key["∂z/∂y"]["answers"] == [] and by_key["∂z/∂y"]["correct"] is False
    assert doc["score"] == {"right": 2, "total": 6}
    assert doc["wrong"] == ["∂z/∂y", "∂z/∂x", "∂z/∂b", "∂z/∂(2*w)"]


def test_a_sheet_as_a_table(tmp_path):
    sheet = tmp_path / "s.txt"
    sheet.write_text("x = 10\ny = 5\n2*w = 6\nz = 40\n", encoding="utf-8")
    r = run("--answers", str(sheet), "--ask", "forward")
    assert r.exit_code == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].strip() == f"answers from {sheet}"
    assert "z: not the value of z: compute it from its inputs: z = x*y = 10 * 5 = 50" in lines
    assert lines[-2:] == ["score: 3 of 4 right at the first try", "wrong: z"]


def test_a_sheet_on_stdin(tmp_path):
    r = run("--answers", "-", "--json", input="b = 15\n")
    assert r.exit_code == 0, r.stderr
    doc = strict_json(r.stdout)
    assert doc["answers_from"] == "stdin" and doc["score"] == {"right": 1, "total": 6}


def test_a_bad_sheet_is_exit_2_with_a_caret(tmp_path):
    sheet = tmp_path / "bad.txt"
    sheet.write_text("z = 1\nb = 15/\n", encoding="utf-8")
    r = run("--answers", str(sheet))
    assert r.exit_code == 2
    lines = r.stderr.splitlines()
    assert (
        lines[0].startswith(f"error: {sheet}: unexpected end of input")
        and "(line 2, column 8)" in lines[0]
    )
    assert lines[1:3] == ["  b = 15/", "         ^"]
    missing = run("--answers", str(tmp_path / "none.txt"))
    assert missing.exit_code == 2
    assert missing.stderr.startswith("error: cannot read") and "No such file" in missing.stderr


# -- no terminal ---------------------------------------------------------------------------------
def test_piped_stdin_without_answers_is_refused_in_one_line():
    r = subprocess.run(
        [sys.executable, "-m", "backprop_cli", "quiz"],
        input="15\n", capture_output=True, text=True, env=env(), timeout=TIMEOUT,
    )  # fmt: skip
    assert r.returncode == 2
    assert r.stdout == ""
    assert r.stderr.startswith("error: quiz asks its questions on a terminal")
    assert r.stderr.count("\n") == 1
    doc = run("--json", input="").stdout
    assert strict_json(doc)["status"] == "input_error"


# -- generated exercises -------------------------------------------------------------------------
def exercise_document(seed: int, level: int, sheet) -> dict:
    r = run(
        "--random", "--seed", str(seed), "--level", str(level), "--answers", str(sheet), "--json"
    )
    assert r.exit_code == 0, r.stderr
    return strict_json(r.stdout)


def test_a_generated_exercise_is_the_same_for_the_same_seed(tmp_path):
    # a perfect sheet for seed 7, level 2, written from the engine's own exercise
    e = quiz.exercise(7, 2)
    w = walk(backprop_cli.compile(e.text), e.at)
    asked = quiz.questions(w, "backward")
    sheet = tmp_path / "seed7.txt"
    sheet.write_text("".join(f"{key(w, q)} = {q.expected!r}\n" for q in asked), encoding="utf-8")
    first = exercise_document(7, 2, sheet)
    again = exercise_document(7, 2, sheet)
    assert first == again
    assert first["expression"] == e.text and first["at"] == e.at
    assert first["exercise"] == {"seed": 7, "level": 2}
    assert first["score"] == {"right": len(asked), "total": len(asked)}
    empty = tmp_path / "empty.txt"
    empty.write_text("# no answers\n", encoding="utf-8")
    other = exercise_document(8, 2, empty)
    assert other["expression"] != first["expression"]
    assert other["score"]["right"] == 0


@pytest.mark.parametrize(
    "args, message",
    [
        (["--seed", "3"], "--seed goes with --random"),
        (["--level", "2"], "--level goes with --random"),
        (["--random", "--level", "4"], "--level 4: use 1, 2 or 3"),
        (["--random", "--seed", "-1"], "--seed -1: use a whole number from 0 to 4294967295"),
        (["--random", "x*y"], "--random draws its own program"),
        (["--random", "--at", "w=1"], "--random chooses its own values: --at is not used with it"),
        (["--random", "--answers", "s.txt"], "--answers with --random needs --seed N"),
        (["--ask", "sideways"], "--ask 'sideways': use one of backward, forward, both"),
    ],
)
def test_options_are_checked_first(args, message):
    r = run(*args)
    assert r.exit_code == 2
    first = r.stderr.splitlines()[0]
    assert first == f"error: {message}" or first.startswith(f"error: {message}:")


def test_help_leads_with_examples():
    r = CliRunner().invoke(app, ["quiz", "--help"], env={"NO_COLOR": "1", "COLUMNS": "200"})
    assert r.exit_code == 0
    text = r.stdout
    assert "$ backprop quiz --random --seed 7 --level 2" in text
    assert text.index("$ backprop quiz") < text.index("Options")
