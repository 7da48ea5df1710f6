"""`backprop quiz`: declarations, one :class:`QuizOptions`, and one call — a conversation on
a terminal, or the grading of a prepared answer sheet (``--answers FILE``, no terminal needed).

On a terminal the learner answers question by question (a wrong answer is told which rule it
missed; then try again, or ``r`` to reveal; ``q`` stops) and gets a score. The conversation
goes to stdout — to stderr with --json, whose one document (every answer, its grade and
diagnosis) goes to stdout at the end. Without a terminal and without --answers the command
refuses in one line (exit 2) instead of waiting for answers that cannot come.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, List, Optional

import typer

from . import common, help_text, options
from .options import validate

if TYPE_CHECKING:
    from .options.quiz import QuizOptions
    from ..engines.quiz import Exercise, Grade, Outcome, Question, Result
    from ..engines.walk import Walk

EXAMPLES = [
    "backprop quiz",
    'backprop quiz "x = 2*w + b; y = b + 1; z = x*y" --at w=3,b=4 --ask both',
    "backprop quiz --random --seed 7 --level 2",
    "backprop quiz --answers answers.txt --json",
]
SUMMARY = (
    "Practise backpropagation: the quiz hides the values (--ask forward), the adjoints "
    "(--ask backward, the default) or both, asks for them node by node and grades each "
    "answer; a wrong one is told which rule it missed (the local partial alone, a missing "
    "path of a shared node, the wrong parent's adjoint, a sign, the output's own adjoint "
    "1). Without PROGRAM: the lesson's graph."
)
EXTRA = (
    "Answers are numbers or expressions of numbers (15, 5*1 + 10*1, 1/3) and count when "
    "they agree to 4 significant digits. On a terminal: r reveals an answer, q stops. "
    "--answers FILE grades a prepared sheet instead, one NODE = VALUE a line (x = 10, "
    "∂z/∂b = 15 or dz/db = 15; a node's name alone means its adjoint when only adjoints are "
    "asked, else its value; # starts a comment), exactly as typed answers are graded. "
    "Exit 0 whatever the score."
)
EXPR_HELP = 'The program, e.g. "x = 2*w + b; y = b + 1; z = x*y"; - reads stdin. Default: the lesson\'s graph.'

#: the words this module says (one place, for translation)
TEXT = {
    "no_terminal": (
        "quiz asks its questions on a terminal (stdin and {stream} must be one); grade a "
        "prepared sheet with --answers FILE, one NODE = VALUE a line"
    ),
    "unreadable": "cannot read '{path}': {reason}",
    "too_long": "the answer sheet is over the limit of {limit} bytes",
    "not_utf8": "the answer sheet is not valid UTF-8 (byte {byte})",
    "stdin": "stdin",
}
REVEAL, STOP = "r", "q"  # what the learner types instead of an answer


def _extra_help() -> str:
    """EXTRA, led by this command's examples while help_text.EXAMPLES does not list them
    (command_help puts the listed ones first)."""
    own = [] if "quiz" in help_text.EXAMPLES else [f"  $ {e}" for e in EXAMPLES]
    return "\n\n".join(own + [EXTRA])


def register(app: typer.Typer, command_cls) -> None:
    @app.command(
        "quiz",
        cls=command_cls,
        help=help_text.command_help("quiz", SUMMARY, _extra_help()),
    )
    def quiz(
        expr: Optional[str] = typer.Argument(None, help=EXPR_HELP, show_default=False),
        at: Optional[List[str]] = options.at_option(),
        of: Optional[str] = options.of_option(),
        ask: str = typer.Option(
            "backward",
            "--ask",
            metavar="forward|backward|both",
            help="What to ask for: node values, adjoints, or both.",
        ),
        random: bool = typer.Option(
            False, "--random", help="A fresh exercise instead of a program (see --seed, --level)."
        ),
        seed: Optional[int] = typer.Option(
            None,
            "--seed",
            metavar="N",
            help="With --random: the exercise's seed (the same seed, the same exercise).",
        ),
        level: Optional[int] = typer.Option(
            None,
            "--level",
            metavar="1|2|3",
            help="With --random: 1 a few nodes, 2 more and shared ones, 3 functions too. Default 1.",
        ),
        answers: Optional[str] = typer.Option(
            None,
            "--answers",
            metavar="FILE",
            help="Grade this answer sheet (NODE = VALUE a line; - reads stdin) instead of asking.",
        ),
        json_out: bool = options.json_option(),
        quiet: bool = options.quiet_option(),
    ) -> None:
        from ..render.quiz import QUIZ_SCHEMA

        with common.boundary(json_out, QUIZ_SCHEMA):
            from .options.quiz import QuizOptions

            opts = QuizOptions.parse(
                expr=expr, at=at, of=of, ask=ask, random=random, seed=seed, level=level,
                answers=answers, json_out=json_out, quiet=quiet,
            )  # fmt: skip
            run(opts)


def run(opts: QuizOptions) -> None:
    """Grade the sheet, or hold the conversation; then the score (or the JSON document)."""
    from ..engines.quiz import questions
    from .stepping import isatty

    if opts.answers is None:
        stream = "stderr" if opts.json_out else "stdout"
        validate(
            isatty(sys.stdin) and isatty(getattr(sys, stream)),
            TEXT["no_terminal"].format(stream=stream),
        )
    walk, exercise = _walk(opts)
    asked = questions(walk, opts.ask)
    if opts.answers is not None:
        result = _grade_sheet(opts.answers, walk, asked, opts.ask)
        _report_sheet(opts, result, exercise)
        return
    console = common.stderr_console() if opts.json_out else common.stdout_console()
    result = converse(walk, opts.ask, asked, exercise, console)
    if opts.json_out:
        from ..render.jsonout import emit
        from ..render.quiz import quiz_document

        emit(quiz_document(result, exercise, "terminal"))


def _walk(opts: QuizOptions) -> tuple[Walk, Exercise | None]:
    """The program's walk at its point: the one given, the lesson's, or a drawn exercise."""
    from .. import compile as compile_program
    from ..engines.walk import walk as walk_of

    if not opts.random:
        program, values, _ = common.load_point(
            opts.expr, opts.at, opts.of, opts.quiet or opts.json_out
        )
        return walk_of(program, values), None
    from ..engines.quiz import exercise as draw

    seed = opts.seed
    if seed is None:
        import secrets

        seed = secrets.randbelow(1_000_000)
    exercise = draw(seed, opts.level)
    return walk_of(compile_program(exercise.text), exercise.at), exercise


# -- the conversation on a terminal --------------------------------------------------------------
def _read_line() -> str | None:
    """The learner's next line, or None at the end of input (Ctrl-D)."""
    line = sys.stdin.readline()
    return None if line == "" else line.rstrip("\r\n")


def converse(
    walk: Walk, ask: str, asked: tuple[Question, ...], exercise, console, read_line=_read_line
) -> Result:
    """Each question in turn until it is answered right or revealed; q (or the end of
    input) stops. Returns every answer given, graded."""
    from rich.text import Text

    from ..engines.quiz import Outcome, Result
    from ..render import quiz as render

    for item in render.opening(walk, ask, exercise, console.width):
        console.print(item)
    outcomes = []
    stopped = False
    for q in asked:
        outcome, stopped = _question(walk, q, len(asked), console, read_line)
        outcomes.append(outcome)
        if stopped:
            outcomes += [Outcome(rest) for rest in asked[len(outcomes) :]]
            break
    result = Result(walk, ask, tuple(outcomes), stopped)
    for line in render.summary(result):
        console.print(Text(line, style="bold"))
    return result


def _question(walk: Walk, q: Question, total: int, console, read_line) -> tuple[Outcome, bool]:
    """One question's answers until right or revealed, and whether the learner stopped."""
    from rich.text import Text

    from ..engines.quiz import Outcome, grade
    from ..errors import BackpropError, output_charset
    from ..render import quiz as render

    grades: list[Grade] = []
    while True:
        console.print(Text(render.prompt(walk, q, total)), end="")
        line = read_line()
        word = "" if line is None else line.strip().lower()
        if line is None or word == STOP:
            return Outcome(q, tuple(grades)), True
        if not word:
            continue
        if word == REVEAL:
            _say(console, render.revealed(walk, q))
            return Outcome(q, tuple(grades), revealed=True), False
        try:
            g = grade(walk, q, line)
        except BackpropError as err:
            console.print(Text(err.render(output_charset(console.file))))
            continue
        grades.append(g)
        if g.correct:
            _say(console, render.right(walk, q), "green")
            return Outcome(q, tuple(grades)), False
        _say(console, render.diagnosis(walk, q, g), "yellow")
        _say(console, render.try_again(), "dim")


def _say(console, text: str, style: str = "") -> None:
    """One reply to an answer, indented under it (wrapped lines too)."""
    from rich.padding import Padding
    from rich.text import Text

    console.print(Padding(Text(text, style=style), (0, 0, 0, 2)))


# -- answer sheets -------------------------------------------------------------------------------
def _read_sheet_text(path: str) -> tuple[str, str]:
    """(the sheet's text, how messages name it); ``-`` is stdin."""
    from ..errors import InputError, LimitError
    from ..limits import MAX_STDIN_BYTES

    try:
        if path == "-":
            data = sys.stdin.buffer.read(MAX_STDIN_BYTES + 1)
        else:
            with open(path, "rb") as f:
                data = f.read(MAX_STDIN_BYTES + 1)
    except OSError as exc:
        raise InputError(TEXT["unreadable"].format(path=path, reason=exc.strerror or exc)) from None
    if len(data) > MAX_STDIN_BYTES:
        raise LimitError(TEXT["too_long"].format(limit=MAX_STDIN_BYTES))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(TEXT["not_utf8"].format(byte=exc.start)) from None
    return text, TEXT["stdin"] if path == "-" else path


def _grade_sheet(path: str, walk: Walk, asked: tuple[Question, ...], ask: str) -> Result:
    from ..engines.quiz import grade_sheet
    from ..render.quiz import keys

    text, name = _read_sheet_text(path)
    return grade_sheet(walk, ask, asked, keys(walk, asked), text, name)


def _report_sheet(opts: QuizOptions, result: Result, exercise: Exercise | None) -> None:
    from ..render import quiz as render

    name = TEXT["stdin"] if opts.answers == "-" else str(opts.answers)
    if opts.json_out:
        from ..render.jsonout import emit

        emit(render.quiz_document(result, exercise, name))
        return
    from rich.text import Text

    console = common.stdout_console()
    for table in render.sheet_tables(result, name, console.width):
        console.print(table)
    for line in render.sheet_notes(result) + render.summary(result):
        console.print(Text(line))
