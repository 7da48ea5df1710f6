"""What `backprop quiz` says: the questions' names, the diagnoses in words, the graded sheet,
the score, and the JSON document for a teacher.

Formulas are those of `grad --step` (render/step.py: the forward formula with its operands'
values, the chain rule as `grad --explain` writes it); numbers go through
:func:`render.numbers.fmt`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .grad import _d
from .numbers import fmt
from .step import (
    adjoint_symbol,
    chain_formula,
    forward_formula,
    local_symbol,
    node_tables,
    partial_report,
)

if TYPE_CHECKING:
    from ..engines.quiz import Diagnosis, Exercise, Grade, Outcome, Question, Result, Rule
    from ..engines.walk import Walk

QUIZ_SCHEMA = "backprop.quiz/1"

#: the graded sheet's column headers
SHEET_COLUMNS = ("#", "question", "answer", "its value", "right value", "grade")
#: every word this module shows (one place, for translation)
TEXT = {
    "title": "quiz: {expression} at {point}",
    "title_bare": "quiz: {expression}",
    "exercise": "exercise --random --seed {seed} --level {level} (the same options give it again)",
    "ask_backward": "backward pass: give {d} for every node, from the output back.",
    "ask_forward": "forward pass: give the value of every computed node, in the order they are computed.",
    "ask_both": "forward pass, then backward pass: every computed node's value, then {d} for every node.",
    "how": (
        "An answer is a number or an expression of numbers (15, 5*1 + 10*1, 1/3); "
        "{digits} significant digits are enough. r reveals the answer, q stops."
    ),
    "prompt": "[{k}/{n}] {key} = ",
    "right": "right: {formula}",
    "try_again": "try again, or r to reveal",
    "revealed": "the answer: {formula}",
    "score": "score: {right} of {total} right at the first try",
    "wrong": "wrong: {keys}",
    "none_wrong": "no mistakes",
    "stopped": "stopped before the last question",
    "not_answered": "not answered",
    "sheet_title": "answers from {sheet}",
    "sheet_table": "graded answers",
    "grade_right": "right",
    "grade_wrong": "wrong",
    "grade_missing": "—",
    "and": " and ",
    "both": "both {a} and {b}",
    "twice": "{a} twice",
    # the diagnoses (engines.quiz.Rule), each followed by how to get the right value
    "output_seed": "{me} is the output: its own adjoint {d_me} is 1; the backward pass starts from it",
    "sign": "the sign is wrong: {formula}",
    "missing_path": "{me} feeds {consumers}, and the paths add: {formula}",
    "local_only": (
        "that is the local partial {d_local} = {local} alone: multiply it by the adjoint "
        "arriving from {consumer}, {d_adjoint} = {adjoint}: {formula}"
    ),
    "locals_only": (
        "that is the sum of the local partials alone: multiply each by the adjoint arriving "
        "from the node it belongs to: {formula}"
    ),
    "wrong_parent": (
        "{d_me} takes the adjoint of {consumer}, the node {me} feeds ({d_adjoint} = {adjoint}), "
        "not that of {parent} ({d_parent} = {parent_adjoint}): {formula}"
    ),
    "path_sign": "one path has the wrong sign (the one through {consumer}): {formula}",
    "other_backward": (
        "not what the chain rule gives: add, over every node {me} feeds, that node's adjoint "
        "× its local partial: {formula}"
    ),
    "other_forward": "not the value of {me}: compute it from its inputs: {formula}",
}


# -- names of the questions ---------------------------------------------------------------------
def key(walk: Walk, question: Question) -> str:
    """How a question is named: ``∂z/∂b`` for an adjoint, ``x`` for a value."""
    if question.backward:
        return adjoint_symbol(walk, question.node)
    return walk.label(question.node)


def keys(walk: Walk, asked: tuple[Question, ...]) -> dict[str, Question]:
    """Every name an answer sheet may use for each question (as engines.quiz.normal_key
    spells them): its key; a node's own name for the only question about it, or for its
    value when both are asked."""
    from ..engines.quiz import normal_key

    out = {normal_key(key(walk, q)): q for q in asked}
    for name, qs in _plain_names(walk, asked).items():
        values = [q for q in qs if not q.backward]
        if name not in out and (len(qs) == 1 or len(values) == 1):
            out[name] = qs[0] if len(qs) == 1 else values[0]
    return out


def _plain_names(walk: Walk, asked: tuple[Question, ...]) -> dict[str, list[Question]]:
    """The questions about each node name (its name or text; the output's symbol too)."""
    from ..engines.quiz import normal_key

    plain: dict[str, list[Question]] = {}
    for q in asked:
        for name in {walk.label(q.node), walk.report.labels[q.node]}:
            plain.setdefault(normal_key(name), []).append(q)
    return plain


# -- the conversation ---------------------------------------------------------------------------
def point(at: dict[str, float]) -> str:
    return ", ".join(f"{name} = {fmt(value)}" for name, value in at.items())


def opening(walk: Walk, ask: str, exercise: Exercise | None, width: int | None) -> list:
    """The program, the table of what is known (values for the backward pass, only the
    inputs for the forward one), what is asked and how to answer."""
    from rich.text import Text

    report = walk.report
    title = TEXT["title" if report.at else "title_bare"].format(
        expression=report.expression, point=point(report.at)
    )
    out: list = [Text(title, style="bold")]
    if exercise is not None:
        out.append(Text(TEXT["exercise"].format(seed=exercise.seed, level=exercise.level)))
    known = {n.id for n in report.nodes if n.op in ("const", "var")}
    if ask == "backward":
        known = {n.id for n in report.nodes}
    out += node_tables(partial_report(report, known, set()), walk.symbol, width)
    d = _d(walk.symbol, "node")
    out.append(Text(TEXT[f"ask_{ask}"].format(d=d)))
    from ..engines.quiz import SIGNIFICANT

    out.append(Text(TEXT["how"].format(digits=SIGNIFICANT), style="dim"))
    return out


def prompt(walk: Walk, question: Question, total: int) -> str:
    return TEXT["prompt"].format(k=question.number, n=total, key=key(walk, question))


def formula(walk: Walk, question: Question) -> str:
    """How the right value is computed: ``x = 2*w + b = 6 + 4 = 10``, or the chain rule."""
    from ..engines.walk import BackwardStep

    step = question.step
    if isinstance(step, BackwardStep):
        return chain_formula(walk, step)
    return forward_formula(walk, step)


def right(walk: Walk, question: Question) -> str:
    return TEXT["right"].format(formula=formula(walk, question))


def revealed(walk: Walk, question: Question) -> str:
    return TEXT["revealed"].format(formula=formula(walk, question))


def try_again() -> str:
    return TEXT["try_again"]


def _names(labels: list[str]) -> str:
    """``x``, ``both x and y``, ``x, y and h``; a node fed twice: ``x twice``."""
    counted: dict[str, int] = {}
    for label in labels:
        counted[label] = counted.get(label, 0) + 1
    said = [TEXT["twice"].format(a=a) if k > 1 else a for a, k in counted.items()]
    if len(said) == 2 and len(labels) == 2:
        return TEXT["both"].format(a=said[0], b=said[1])
    if len(said) == 1:
        return said[0]
    return ", ".join(said[:-1]) + TEXT["and"] + said[-1]


def diagnosis(walk: Walk, question: Question, grade: Grade) -> str:
    """What the wrong answer missed, and how to get the right value."""
    from ..engines.quiz import Rule

    d = grade.diagnosis
    rule = Rule.OTHER if d is None else d.rule
    words = {
        "me": walk.label(question.node),
        "d_me": adjoint_symbol(walk, question.node),
        "formula": formula(walk, question),
    }
    if d is not None and d.terms:
        words.update(_path_words(walk, question, d))
    return TEXT[_template(question, rule, d)].format(**words)


def _template(question: Question, rule: Rule, d: Diagnosis | None) -> str:
    """The TEXT entry that says ``rule`` for this question."""
    from ..engines.quiz import Rule

    if not question.backward:
        return "sign" if rule is Rule.SIGN else "other_forward"
    if rule is Rule.LOCAL_ONLY and d is not None and len(d.terms) > 1:
        return "locals_only"
    return "other_backward" if rule is Rule.OTHER else rule.value


def _path_words(walk: Walk, question: Question, d: Diagnosis) -> dict[str, str]:
    """The numbers of the path a mistake is about (and of the parent it took instead)."""
    from ..engines.walk import BackwardStep

    step = question.step
    t = d.terms[0]
    words = {
        "consumer": walk.label(t.consumer),
        "d_adjoint": adjoint_symbol(walk, t.consumer),
        "adjoint": fmt(t.adjoint),
        "d_local": local_symbol(walk, t.consumer, question.node),
        "local": fmt(t.local),
    }
    if isinstance(step, BackwardStep) and step.line is not None:
        words["consumers"] = _names([walk.label(u.consumer) for u in step.line.terms])
    if d.parent is not None:
        words["parent"] = walk.label(d.parent)
        words["d_parent"] = adjoint_symbol(walk, d.parent)
        words["parent_adjoint"] = fmt(walk.node(d.parent).adjoint)
    return words


# -- the end: score, graded sheet, JSON ---------------------------------------------------------
def summary(result: Result) -> list[str]:
    """The score, and which questions were wrong (or not answered)."""
    lines = []
    if result.stopped:
        lines.append(TEXT["stopped"])
    lines.append(TEXT["score"].format(right=result.right, total=len(result.outcomes)))
    wrong = [key(result.walk, o.question) for o in result.wrong]
    lines.append(TEXT["wrong"].format(keys=", ".join(wrong)) if wrong else TEXT["none_wrong"])
    return lines


def sheet_tables(result: Result, sheet: str, width: int | None) -> list:
    """Whose answers, then one row per question: the answer, its value, the right value,
    right or wrong."""
    from rich.text import Text

    from .fit import tables

    rows = []
    for o in result.outcomes:
        q = o.question
        g = o.grades[0] if o.grades else None
        grade = (
            TEXT["grade_missing"]
            if g is None
            else TEXT["grade_right" if g.correct else "grade_wrong"]
        )
        rows.append([
            str(q.number), key(result.walk, q), "" if g is None else g.text.strip(),
            "" if g is None else fmt(g.value), fmt(q.expected), grade,
        ])  # fmt: skip
    columns = SHEET_COLUMNS
    return [Text(TEXT["sheet_title"].format(sheet=sheet), style="bold")] + tables(
        TEXT["sheet_table"],
        [(c, "right" if k in (0, 3, 4) else "left", k in (1, 2)) for k, c in enumerate(columns)],
        rows,
        [0, 1],
        width,
    )


def sheet_notes(result: Result) -> list[str]:
    """Below the table: why each wrong answer is wrong; what each unanswered one was."""
    lines = []
    for o in result.wrong:
        name = key(result.walk, o.question)
        if o.grades:
            lines.append(f"{name}: {diagnosis(result.walk, o.question, o.grades[0])}")
        else:
            lines.append(f"{name}: {TEXT['not_answered']}; {revealed(result.walk, o.question)}")
    return lines


def _grade_json(walk: Walk, question: Question, grade: Grade) -> dict:
    d = grade.diagnosis
    return {
        "text": grade.text.strip(),
        "value": grade.value,
        "correct": grade.correct,
        "diagnosis": None if d is None else {
            "rule": d.rule.value,
            "message": diagnosis(walk, question, grade),
        },
    }  # fmt: skip


def _outcome_json(walk: Walk, o: Outcome) -> dict:
    q = o.question
    return {
        "number": q.number,
        "pass": "backward" if q.backward else "forward",
        "node": q.node,
        "name": walk.report.labels[q.node],
        "key": key(walk, q),
        "expected": q.expected,
        "answers": [_grade_json(walk, q, g) for g in o.grades],
        "correct": o.correct,
        "revealed": o.revealed,
    }


def quiz_document(result: Result, exercise: Exercise | None, source: str) -> dict:
    """Everything a teacher needs: the program, what was asked, every answer with its grade
    and diagnosis, the score and the wrong questions."""
    walk = result.walk
    report = walk.report
    return {
        "schema": QUIZ_SCHEMA,
        "status": "stopped" if result.stopped else "ok",
        "expression": report.expression,
        "output": report.output,
        "at": report.at,
        "ask": result.ask,
        "exercise": None if exercise is None else {"seed": exercise.seed, "level": exercise.level},
        "answers_from": source,
        "questions": [_outcome_json(walk, o) for o in result.outcomes],
        "score": {"right": result.right, "total": len(result.outcomes)},
        "wrong": [key(walk, o.question) for o in result.wrong],
    }
