"""`backprop quiz`'s options, parsed."""

from __future__ import annotations

from dataclasses import dataclass

from .. import options
from . import Choice, validate

MAX_SEED = 2**32 - 1
#: the words this module says (one place, for translation)
TEXT = {
    "random_expr": "--random draws its own program: give no PROGRAM with it",
    "random_at": "--random chooses its own values: {option} is not used with it",
    "random_only": "{option} goes with --random",
    "level": "--level {level}: use 1, 2 or 3",
    "seed": "--seed {seed}: use a whole number from 0 to {largest}",
    "sheet_seed": "--answers with --random needs --seed N: the exercise the sheet answers",
    "both_stdin": "stdin can hold the program or the answer sheet, not both",
}


@dataclass(frozen=True)
class QuizOptions:
    """Every option of `backprop quiz`, checked (exit 2) before any work."""

    expr: str | None
    at: dict[str, float]
    of: str | None
    ask: Choice
    random: bool
    seed: int | None
    level: int
    answers: str | None
    json_out: bool
    quiet: bool

    @classmethod
    def parse(
        cls, *, expr, at, of, ask, random, seed, level, answers, json_out, quiet
    ) -> QuizOptions:
        from ...engines.quiz import ASKS, LEVELS

        chosen = Choice("Ask", [(a.upper(), a) for a in ASKS]).parse(ask, "--ask")  # type: ignore[call-arg]
        if random:
            validate(expr is None, TEXT["random_expr"])
            for option, given in (("--at", at), ("--of", of)):
                validate(not given, TEXT["random_at"].format(option=option))
            validate(answers is None or seed is not None, TEXT["sheet_seed"])
        else:
            for option, given in (("--seed", seed), ("--level", level)):
                validate(given is None, TEXT["random_only"].format(option=option))
        validate(not (expr == "-" and answers == "-"), TEXT["both_stdin"])
        validate(level is None or level in LEVELS, TEXT["level"].format(level=level))
        validate(
            seed is None or 0 <= seed <= MAX_SEED, TEXT["seed"].format(seed=seed, largest=MAX_SEED)
        )
        return cls(
            expr=expr, at=options.parse_at(at), of=of, ask=chosen, random=random, seed=seed,
            level=level or 1, answers=answers, json_out=json_out, quiet=quiet,
        )  # fmt: skip
