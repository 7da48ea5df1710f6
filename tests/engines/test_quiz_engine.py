"""engines/quiz.py: grading to 4 significant digits, the diagnosis of each classic mistake,
answer sheets, and exercises drawn from a seed."""

from __future__ import annotations

import pytest

import backprop_cli
from backprop_cli.engines import quiz
from backprop_cli.engines.quiz import Rule, agrees, answer_value, grade, questions
from backprop_cli.engines.walk import walk
from backprop_cli.errors import BackpropError, InputError, ParseError

LESSON = "x = 2*w + b; y = b + 1; z = x*y"
AT = {"w": 3.0, "b": 4.0}


def lesson_walk():
    return walk(backprop_cli.compile(LESSON), AT)


def question(w, label: str, backward: bool = True):
    for q in questions(w, "both"):
        if q.backward == backward and w.label(q.node) == label:
            return q
    raise LookupError(label)


# -- questions ----------------------------------------------------------------------------------
def test_questions_follow_the_pass():
    w = lesson_walk()
    fwd = questions(w, "forward")
    assert [w.label(q.node) for q in fwd] == ["2*w", "x", "y", "z"]  # inputs are given
    assert [q.expected for q in fwd] == [6.0, 10.0, 5.0, 50.0]
    back = questions(w, "backward")
    assert [w.label(q.node) for q in back] == ["z", "y", "x", "b", "2*w", "w"]
    assert [q.expected for q in back] == [1.0, 10.0, 5.0, 15.0, 5.0, 10.0]
    both = questions(w, "both")
    assert [q.number for q in both] == list(range(1, 11))
    assert [q.backward for q in both] == [False] * 4 + [True] * 6


def test_nothing_to_ask_is_said():
    w = walk(backprop_cli.compile("x"), {"x": 1.0})
    with pytest.raises(InputError, match="nothing to ask"):
        questions(w, "forward")


# -- answers and the tolerance ------------------------------------------------------------------
@pytest.mark.parametrize(
    "text, value",
    [
        ("15", 15.0),
        ("5*1 + 10*1", 15.0),
        ("1/3", 1 / 3),
        ("-2^2", -4.0),
        ("2*pi", 6.283185307179586),
    ],
)
def test_an_answer_is_a_constant_expression(text, value):
    assert answer_value(text) == value


def test_an_answer_with_a_name_is_refused_with_a_caret():
    with pytest.raises(InputError) as info:
        answer_value("5*b")
    assert "'b' is a name" in info.value.message
    assert info.value.caret_lines() == ["5*b", "  ^"]


@pytest.mark.parametrize("text", ["15/", "", "   ", "import os", "__import__('os')"])
def test_what_is_not_an_expression_is_refused(text):
    with pytest.raises(BackpropError):
        answer_value(text)
    with pytest.raises((ParseError, InputError)):
        answer_value(text)


@pytest.mark.parametrize(
    "expected, inside, outside",
    [
        (15.0, 15.004, 15.006),  # half a unit of the 4th digit: 0.005
        (15.0, 14.996, 14.994),
        (1 / 3, 0.33334, 0.3332),  # 0.3333 ± 0.00005
        (1 / 3, 0.3333, 0.33328),
        (-2500.0, -2500.4, -2500.6),  # ± 0.5
        (12345.6, 12350.0, 12340.0),  # ± 5
        (0.0, 1e-10, 1e-8),  # near 0: within 1e-9
    ],
)
def test_four_significant_digits_both_sides_of_the_boundary(expected, inside, outside):
    assert agrees(inside, expected)
    assert not agrees(outside, expected)


def test_the_grader_rejects_a_wrong_answer():
    w = lesson_walk()
    b = question(w, "b")
    assert grade(w, b, "15").correct and grade(w, b, "5*1 + 10*1").correct
    wrong = grade(w, b, "14.9")
    assert not wrong.correct and wrong.value == 14.9 and wrong.diagnosis is not None


# -- diagnoses: one case built for each rule -----------------------------------------------------
def rule_of(w, q, text: str) -> quiz.Diagnosis:
    g = grade(w, q, text)
    assert not g.correct
    return g.diagnosis


def test_missing_path_of_a_shared_node():
    # the lesson's b feeds x and y; 5 is the path through x alone
    w = lesson_walk()
    d = rule_of(w, question(w, "b"), "5")
    assert d.rule is Rule.MISSING_PATH
    assert [w.label(t.consumer) for t in d.terms] == ["x"]
    assert rule_of(w, question(w, "b"), "10").rule is Rule.MISSING_PATH  # through y alone


def test_local_partial_alone():
    # ∂x/∂(2*w) = 1, not multiplied by ∂z/∂x = 5
    w = lesson_walk()
    d = rule_of(w, question(w, "2*w"), "1")
    assert d.rule is Rule.LOCAL_ONLY and w.label(d.terms[0].consumer) == "x"
    assert rule_of(w, question(w, "w"), "2").rule is Rule.LOCAL_ONLY  # ∂(2*w)/∂w = 2 alone
    assert rule_of(w, question(w, "b"), "2").rule is Rule.LOCAL_ONLY  # 1 + 1, the locals' sum


def test_wrong_parents_adjoint():
    # ∂z/∂w = ∂z/∂(2*w)·2 = 10; ∂z/∂y·2 = 20 took y's adjoint instead of 2*w's
    w = lesson_walk()
    d = rule_of(w, question(w, "w"), "20")
    assert d.rule is Rule.WRONG_PARENT
    assert w.label(d.parent) == "y" and w.label(d.terms[0].consumer) == "2*w"


def test_sign_error():
    w = lesson_walk()
    assert rule_of(w, question(w, "b"), "-15").rule is Rule.SIGN
    assert rule_of(w, question(w, "x", backward=False), "-10").rule is Rule.SIGN
    sub = walk(backprop_cli.compile("z = a - b"), {"a": 1.0, "b": 2.0})
    assert rule_of(sub, question(sub, "b"), "1").rule is Rule.SIGN  # ∂(a - b)/∂b = -1


def test_one_path_with_the_wrong_sign():
    # z = (a - b)·b at a=5, b=2: ∂z/∂b = b·(-1) + (a - b) = -2 + 3 = 1; dropping the minus gives 5
    w = walk(backprop_cli.compile("y = a - b; z = y*b"), {"a": 5.0, "b": 2.0})
    b = question(w, "b")
    assert b.expected == 1.0
    d = rule_of(w, b, "5")
    assert d.rule is Rule.PATH_SIGN and w.label(d.terms[0].consumer) == "y"


def test_output_adjoint_is_one():
    w = lesson_walk()
    for text in ("0", "50", "-1"):
        assert rule_of(w, question(w, "z"), text).rule is Rule.OUTPUT_SEED


def test_an_unrecognised_mistake_is_other():
    w = lesson_walk()
    assert rule_of(w, question(w, "b"), "0").rule is Rule.OTHER
    assert rule_of(w, question(w, "x", backward=False), "11").rule is Rule.OTHER


def test_a_mistake_that_gives_the_right_value_is_no_diagnosis():
    # for y the adjoint arriving is 1: the local partial alone IS the answer, so 10 is right
    w = lesson_walk()
    assert grade(w, question(w, "y"), "10").correct


# -- answer sheets -------------------------------------------------------------------------------
def sheet_keys(w, asked):
    from backprop_cli.render.quiz import keys

    return keys(w, asked)


def grade_text(text: str, ask: str = "backward"):
    w = lesson_walk()
    asked = questions(w, ask)
    return quiz.grade_sheet(w, ask, asked, sheet_keys(w, asked), text, "sheet.txt")


def test_a_sheet_is_graded_by_the_same_grade():
    result = grade_text("# my answers\n\n∂z/∂z = 1\ndz/dy = 10\n  x = 5\nb = 5\n∂z/∂(2*w) = 5*1\n")
    got = {o.question.number: o for o in result.outcomes}
    w = result.walk
    assert [o.correct for o in result.outcomes] == [True, True, True, False, True, False]
    assert got[4].grades[0] == grade(w, got[4].question, " 5")
    assert got[6].grades == ()  # w not answered
    assert result.right == 4 and [w.label(o.question.node) for o in result.wrong] == ["b", "w"]


def test_a_plain_name_is_the_value_when_both_are_asked():
    result = grade_text("x = 10\n∂z/∂x = 5\n", ask="both")
    answered = [o for o in result.outcomes if o.grades]
    assert [(o.question.backward, o.correct) for o in answered] == [(False, True), (True, True)]


@pytest.mark.parametrize(
    "text, message, caret",
    [
        ("z = 1\nb 15\n", "sheet.txt: expected NODE = VALUE", ["b 15", "^^^^"]),
        ("q = 1\n", "sheet.txt: no question about 'q'", ["q = 1", "^"]),
        (
            "b = 15\n b = 14\n",
            "sheet.txt: 'b' is answered twice (first on line 1)",
            [" b = 14", " ^"],
        ),
        ("b = 15/\n", "sheet.txt: unexpected end of input", ["b = 15/", "       ^"]),
        ("b = 5*w\n", "sheet.txt: an answer is a number", ["b = 5*w", "      ^"]),
        ("b =\n", "sheet.txt: the value after '=' is missing", ["b =", "   ^"]),
    ],
)
def test_a_bad_sheet_line_is_an_input_error_with_a_caret(text, message, caret):
    with pytest.raises(InputError) as info:
        grade_text(text)
    assert info.value.message.startswith(message)
    assert info.value.caret_lines() == caret


# -- exercises -----------------------------------------------------------------------------------
def test_the_same_seed_draws_the_same_exercise():
    assert quiz.exercise(7, 2) == quiz.exercise(7, 2)
    assert quiz.exercise(7, 2).text != quiz.exercise(8, 2).text
    assert quiz.exercise(7, 1).text != quiz.exercise(7, 3).text
    # pinned: the draw uses random.Random(int).random() only, stable across Pythons
    assert quiz.exercise(0, 1) == quiz.Exercise(0, 1, "x = b + 1; z = x + w", {"w": 5.0, "b": 4.0})


@pytest.mark.parametrize("level", quiz.LEVELS)
@pytest.mark.parametrize("seed", range(12))
def test_an_exercise_keeps_what_its_level_promises(level, seed):
    e = quiz.exercise(seed, level)
    program = backprop_cli.compile(e.text)
    w = walk(program, e.at)
    trace = program.trace(e.at)
    assert all(abs(v) <= 1000 for v in trace.values if v is not None)
    shared = any(len({t.consumer for t in s.line.terms}) > 1 for s in w.backward if s.line)
    functions = {"sin", "exp", "tanh", "sigmoid", "ln", "sqrt"}
    if level >= 2:
        assert shared
    if level == 3:
        assert any(n.op in functions for n in program.nodes)
        assert len(program.variables) == 3
    else:
        assert not any(n.op in functions for n in program.nodes)
