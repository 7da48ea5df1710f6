"""The quiz behind `backprop quiz`: questions about a walk's steps, grades for the learner's
answers, the rule a wrong answer missed, answer sheets, and generated exercises.

* Questions follow the pass: values in evaluation order (``forward``), adjoints from the
  output back (``backward``), or both. Every expected number is the walk's, that is the
  Program's interpreted trace.
* An answer is a constant expression (``15``, ``5*1 + 10*1``, ``1/3``) read by the
  package's own parser and evaluated by the reference interpreter — never ``eval``. It is
  right when it agrees with the expected value to :data:`SIGNIFICANT` significant digits.
* A wrong adjoint is compared with what each classic mistake would give (:class:`Rule`);
  the first rule whose mistaken value the answer matches, and the right value does not,
  is the diagnosis. Records only: render/quiz.py says it in words.
* An answer sheet (``node = value`` a line) is graded by the same :func:`grade`.
* :func:`exercise` draws a program and its point from a seed: the same seed and level
  give the same exercise on every machine (only ``random.Random(int).random()`` is used,
  which Python keeps stable across versions).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from itertools import combinations
from typing import TYPE_CHECKING, TypeVar

from ..errors import BackpropError, InputError, LimitError, Span
from .walk import BackwardStep, ForwardStep

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence

    from .gradient import Term
    from .walk import Walk

T = TypeVar("T")

ASKS = ("backward", "forward", "both")  # what a quiz asks for (--ask)
LEVELS = (1, 2, 3)  # exercise levels (--level)
SIGNIFICANT = 4  # an answer is right when it agrees to this many significant digits
ABS_TOL = 1e-9  # ... or, for an expected value near 0, within this much of it
MAX_ANSWER_CHARS = 1000  # one answer's text
MAX_SUBSETS_TERMS = 8  # up to this many paths, every subset is tried as a missing path

#: the words this module says (one place, for translation)
TEXT = {
    "empty": "the answer is empty: write a number or an expression of numbers",
    "long": "an answer is at most {limit} characters long",
    "name": "an answer is a number or an expression of numbers; '{name}' is a name",
    "nothing": "there is nothing to ask: the program computes no node from its inputs",
    "sheet_shape": "{sheet}: expected NODE = VALUE",
    "sheet_node": "{sheet}: the node before '=' is missing",
    "sheet_value": "{sheet}: the value after '=' is missing",
    "sheet_unknown": "{sheet}: no question about '{key}'{hint}",
    "sheet_twice": "{sheet}: '{key}' is answered twice (first on line {line})",
    "sheet_answer": "{sheet}: {message}",
    "no_exercise": "no exercise could be drawn for seed {seed} at level {level}",
}


class Rule(StrEnum):
    """What a wrong answer got wrong."""

    OUTPUT_SEED = "output_seed"  # the output's own adjoint is 1
    SIGN = "sign"  # the right size, the wrong sign
    MISSING_PATH = "missing_path"  # a node feeding several: only some of the paths added
    LOCAL_ONLY = "local_only"  # the local partial, not multiplied by the adjoint arriving
    WRONG_PARENT = "wrong_parent"  # another node's adjoint instead of the one it feeds
    PATH_SIGN = "path_sign"  # one of several paths added with the wrong sign
    OTHER = "other"  # none of these: the way to the right value is shown


@dataclass(frozen=True, slots=True)
class Question:
    number: int  # 1-based, in the order asked
    step: ForwardStep | BackwardStep

    @property
    def node(self) -> int:
        return self.step.node

    @property
    def backward(self) -> bool:
        return isinstance(self.step, BackwardStep)

    @property
    def expected(self) -> float:
        step = self.step
        return step.adjoint if isinstance(step, BackwardStep) else step.value


@dataclass(frozen=True, slots=True)
class Diagnosis:
    rule: Rule
    terms: tuple[Term, ...] = ()  # the paths the mistake used (MISSING_PATH: those it kept)
    parent: int | None = None  # WRONG_PARENT: the node whose adjoint was taken instead


@dataclass(frozen=True, slots=True)
class Grade:
    text: str  # the answer as written
    value: float
    correct: bool
    diagnosis: Diagnosis | None  # None when correct


@dataclass(frozen=True, slots=True)
class Outcome:
    """One question: every answer given (in order), and whether the learner had it revealed."""

    question: Question
    grades: tuple[Grade, ...] = ()
    revealed: bool = False

    @property
    def correct(self) -> bool:
        """Right at the first try."""
        return bool(self.grades) and self.grades[0].correct


@dataclass(frozen=True, slots=True)
class Result:
    walk: Walk
    ask: str
    outcomes: tuple[Outcome, ...]
    stopped: bool = False  # the learner stopped before the last question

    @property
    def right(self) -> int:
        return sum(o.correct for o in self.outcomes)

    @property
    def wrong(self) -> tuple[Outcome, ...]:
        return tuple(o for o in self.outcomes if not o.correct)


def questions(walk: Walk, ask: str) -> tuple[Question, ...]:
    """Values of the computed nodes in evaluation order, then (or only) every adjoint from
    the output back."""
    steps: list[ForwardStep | BackwardStep] = []
    if ask in ("forward", "both"):
        steps += [s for s in walk.forward if s.op != "var"]
    if ask in ("backward", "both"):
        steps += walk.backward
    if not steps:
        raise InputError(TEXT["nothing"])
    return tuple(Question(k + 1, s) for k, s in enumerate(steps))


# -- grading ------------------------------------------------------------------------------------
def agrees(answer: float, expected: float) -> bool:
    """Whether ``answer`` is ``expected`` to SIGNIFICANT significant digits: within half a
    unit of the last of them (15 ± 0.005, 0.3333 ± 0.00005), or within ABS_TOL near 0."""
    if expected == 0 or not math.isfinite(expected):
        return abs(answer - expected) <= ABS_TOL
    unit = 10.0 ** (math.floor(math.log10(abs(expected))) - (SIGNIFICANT - 1))
    return abs(answer - expected) <= max(unit / 2, ABS_TOL)


def answer_value(text: str) -> float:
    """The value of an answer: a program without variables, read and evaluated by the
    package (the parser's errors, with their caret, for anything else)."""
    from .. import compile as compile_program

    if not text.strip():
        raise InputError(TEXT["empty"])
    if len(text) > MAX_ANSWER_CHARS:
        raise LimitError(TEXT["long"].format(limit=MAX_ANSWER_CHARS))
    program = compile_program(text)
    if program.variables:
        name = program.variables[0]
        span = program.nodes[program.graph.names[name]].span
        raise InputError(TEXT["name"].format(name=name), text, span)
    return float(program.trace({}).value)


def grade(walk: Walk, question: Question, text: str) -> Grade:
    """The answer ``text`` to ``question``: its value, right or not, and why not."""
    value = answer_value(text)
    if agrees(value, question.expected):
        return Grade(text, value, True, None)
    return Grade(text, value, False, diagnose(walk, question, value))


def diagnose(walk: Walk, question: Question, value: float) -> Diagnosis:
    """The first rule whose mistaken value ``value`` agrees with (and the right one does not)."""
    expected = question.expected
    step = question.step
    if isinstance(step, BackwardStep) and step.line is None:
        return Diagnosis(Rule.OUTPUT_SEED)
    candidates: Iterator[tuple[float, Diagnosis]] = iter([(-expected, Diagnosis(Rule.SIGN))])
    if isinstance(step, BackwardStep):
        candidates = _backward_mistakes(walk, step)
    for mistaken, diagnosis in candidates:
        if agrees(value, mistaken) and not agrees(mistaken, expected):
            return diagnosis
    return Diagnosis(Rule.OTHER)


def _backward_mistakes(walk: Walk, step: BackwardStep) -> Iterator[tuple[float, Diagnosis]]:
    """(the value a mistake gives, the mistake), most telling first."""
    assert step.line is not None  # the output's own step is diagnosed before
    terms = step.line.terms
    yield -step.line.total, Diagnosis(Rule.SIGN)
    yield from _missing_paths(terms)
    for t in terms:
        yield t.local, Diagnosis(Rule.LOCAL_ONLY, (t,))
    if len(terms) > 1:
        yield sum(t.local for t in terms), Diagnosis(Rule.LOCAL_ONLY, terms)
    yield from _wrong_parents(walk, step.node, terms, step.line.total)
    if len(terms) > 1:
        for t in terms:
            yield step.line.total - 2 * t.adjoint * t.local, Diagnosis(Rule.PATH_SIGN, (t,))


def _missing_paths(terms: tuple[Term, ...]) -> Iterator[tuple[float, Diagnosis]]:
    """Some of the paths of a node feeding several, not all (every subset while there are
    few paths; else each one alone and each all-but-one)."""
    n = len(terms)
    sizes = range(1, n) if n <= MAX_SUBSETS_TERMS else (1, n - 1)
    for size in sizes:
        for kept in combinations(terms, size):
            yield sum(t.adjoint * t.local for t in kept), Diagnosis(Rule.MISSING_PATH, kept)


def _wrong_parents(
    walk: Walk, node: int, terms: tuple[Term, ...], total: float
) -> Iterator[tuple[float, Diagnosis]]:
    """One path's adjoint arriving replaced by another node's adjoint."""
    for t in terms:
        rest = total - t.adjoint * t.local
        for s in walk.backward:
            if s.node not in (node, t.consumer):
                yield rest + s.adjoint * t.local, Diagnosis(Rule.WRONG_PARENT, (t,), s.node)


# -- answer sheets ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class SheetLine:
    line: int  # 1-based
    key: str
    key_span: Span  # in the whole sheet's text
    answer: str
    answer_start: int  # where the answer's text starts in the sheet


def normal_key(key: str) -> str:
    """How a sheet's node names are compared: without spaces, ∂ written as d."""
    return "".join(key.split()).replace("∂", "d")


def read_sheet(text: str, sheet: str) -> list[SheetLine]:
    """The ``NODE = VALUE`` lines of an answer sheet (blank lines and ``#`` comments
    skipped); a line of another shape is an input error with a caret under it."""
    out = []
    offset = 0
    for number, raw in enumerate(text.splitlines(keepends=True), 1):
        line = raw.rstrip("\r\n")
        start = offset
        offset += len(raw)
        body = line.strip()
        if not body or body.startswith("#"):
            continue
        lead = start + len(line) - len(line.lstrip())
        if "=" not in line:
            raise InputError(
                TEXT["sheet_shape"].format(sheet=sheet),
                text,
                Span(lead, start + len(line.rstrip())),
            )
        key, _, answer = line.partition("=")
        equals = start + len(key)
        if not key.strip():
            raise InputError(TEXT["sheet_node"].format(sheet=sheet), text, Span(equals, equals + 1))
        if not answer.strip():
            raise InputError(
                TEXT["sheet_value"].format(sheet=sheet),
                text,
                Span(equals + 1, start + len(line) + 1),
            )
        key_start = lead
        out.append(
            SheetLine(
                number,
                key.strip(),
                Span(key_start, key_start + len(key.strip())),
                answer,
                equals + 1,
            )
        )
    return out


def grade_sheet(
    walk: Walk,
    ask: str,
    asked: Sequence[Question],
    keys: Mapping[str, Question],
    text: str,
    sheet: str,
) -> Result:
    """Every question graded with the sheet's answer to it (:func:`grade`, as a typed answer
    is); a question the sheet leaves out is not answered. ``keys``: the names the sheet may
    use for each question, as :func:`normal_key` spells them."""
    from ..core.program import suggest

    given: dict[int, SheetLine] = {}
    for line in read_sheet(text, sheet):
        q = keys.get(normal_key(line.key))
        if q is None:
            hint = suggest(line.key, [k for k in keys])
            raise InputError(
                TEXT["sheet_unknown"].format(sheet=sheet, key=line.key, hint=hint),
                text,
                line.key_span,
            )
        if q.number in given:
            first = given[q.number].line
            raise InputError(
                TEXT["sheet_twice"].format(sheet=sheet, key=line.key, line=first),
                text,
                line.key_span,
            )
        given[q.number] = line
    outcomes = []
    for q in asked:
        entry = given.get(q.number)
        if entry is None:
            outcomes.append(Outcome(q))
            continue
        try:
            g = grade(walk, q, entry.answer)
        except BackpropError as err:  # the answer's own error, with its caret in the sheet
            span = err.span or Span(0, len(entry.answer))
            where = Span(entry.answer_start + span.start, entry.answer_start + span.end)
            raise InputError(
                TEXT["sheet_answer"].format(sheet=sheet, message=err.message), text, where
            ) from None
        outcomes.append(Outcome(q, (g,)))
    return Result(walk, ask, tuple(outcomes))


# -- exercises ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Exercise:
    seed: int
    level: int
    text: str
    at: dict[str, float]


@dataclass(frozen=True, slots=True)
class _Level:
    variables: tuple[str, ...]
    values: tuple[float, ...]  # a variable's value is one of these
    statements: tuple[int, int]  # how many intermediate statements: at least, at most
    binary: tuple[str, ...]  # forms of one operation on two nodes
    unary: tuple[str, ...]  # forms of one operation on one node
    unary_share: float  # how often a statement takes the unary form
    shared: bool  # some node must feed two others
    functions: tuple[str, ...] = field(default=())  # one of these ops must appear


_BINARY = ("{0} + {1}", "{0}*{1}", "{0} - {1}")
_LEVELS = {
    1: _Level(("w", "b"), (1.0, 2.0, 3.0, 4.0, 5.0), (1, 2), _BINARY, ("2*{0}", "{0} + 1", "3*{0}"), 0.3, False),
    2: _Level(("w", "b"), (1.0, 2.0, 3.0, 4.0, 5.0), (2, 3), _BINARY + ("{0}/{1}",),
              ("2*{0}", "{0} + 1", "{0}^2"), 0.3, True),
    3: _Level(("w", "b", "u"), (0.5, 1.0, 1.5, 2.0), (3, 4), _BINARY + ("{0}/{1}",),
              ("sin({0})", "exp({0})", "tanh({0})", "sigmoid({0})", "ln({0})", "sqrt({0})", "{0}^2"),
              0.5, True, ("sin", "exp", "tanh", "sigmoid", "ln", "sqrt")),
}  # fmt: skip
_NAMES = ("x", "y", "h", "g", "s", "t")  # the intermediates, in statement order
_OUTPUT = "z"
_LARGEST = 1000.0  # every value and adjoint of an exercise stays within ± this
_ATTEMPTS = 1000  # draws before giving up (none is needed in practice: a few at most)


class _Draw:
    """The random choices of one exercise: ``rng.random()`` only (stable across Pythons)."""

    def __init__(self, seed: int, level: int) -> None:
        import random

        self.rng = random.Random(seed * len(LEVELS) + LEVELS.index(level))

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def pick(self, items: Sequence[T]) -> T:
        return items[int(self.rng.random() * len(items))]

    def between(self, lo: int, hi: int) -> int:
        return lo + int(self.rng.random() * (hi - lo + 1))


def exercise(seed: int, level: int) -> Exercise:
    """A fresh exercise: level 1 a few sums and products of two inputs; level 2 more nodes,
    one feeding two others, division and squares; level 3 three inputs and functions."""
    spec = _LEVELS[level]
    draw = _Draw(seed, level)
    for _ in range(_ATTEMPTS):
        text, at = _statements(draw, spec)
        if _fits(text, at, spec):
            return Exercise(seed, level, text, at)
    raise InputError(TEXT["no_exercise"].format(seed=seed, level=level))  # pragma: no cover


def _statements(draw: _Draw, spec: _Level) -> tuple[str, dict[str, float]]:
    at = {v: float(draw.pick(spec.values)) for v in spec.variables}
    uses = {v: 0 for v in spec.variables}
    lines = []

    def operand(other: str | None = None) -> str:
        unused = [n for n, k in uses.items() if k == 0 and n != other]
        pool = unused if unused and draw.chance(0.7) else [n for n in uses if n != other]
        name = draw.pick(pool)
        uses[name] += 1
        return name

    for k in range(draw.between(*spec.statements)):
        if draw.chance(spec.unary_share):
            form, args = draw.pick(spec.unary), [operand()]
        else:
            first = operand()
            form, args = draw.pick(spec.binary), [first, operand(first)]
        lines.append(f"{_NAMES[k]} = {form.format(*args)}")
        uses[_NAMES[k]] = 0
    last = _NAMES[len(lines) - 1]
    uses[last] += 1  # the output reads the last statement, and one more node
    lines.append(f"{_OUTPUT} = {draw.pick(_BINARY[:2]).format(last, operand(last))}")
    if any(k == 0 for k in uses.values()):
        return "", at  # a statement nothing reads: draw again
    return "; ".join(lines), at


def _fits(text: str, at: dict[str, float], spec: _Level) -> bool:
    """The exercise can be done by hand: it evaluates, its numbers stay small, and it has
    what its level promises (a node feeding two others; a function)."""
    if not text:
        return False
    from .. import compile as compile_program
    from .walk import walk

    try:
        w = walk(compile_program(text), at)
    except BackpropError:
        return False
    return _small(w) and _keeps_promise(w, spec)


def _small(w: Walk) -> bool:
    numbers = [n.value for n in w.report.nodes] + [n.adjoint for n in w.report.nodes]
    return all(math.isfinite(x) and abs(x) <= _LARGEST for x in numbers)


def _keeps_promise(w: Walk, spec: _Level) -> bool:
    shared = any(len({t.consumer for t in s.line.terms}) > 1 for s in w.backward if s.line)
    function = any(n.op in spec.functions for n in w.report.nodes)
    return (shared or not spec.shared) and (function or not spec.functions)
