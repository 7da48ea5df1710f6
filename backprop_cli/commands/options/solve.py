"""`backprop solve`'s options, parsed."""

from __future__ import annotations

from dataclasses import dataclass

from .. import options
from . import Choice


@dataclass(frozen=True)
class SolveOptions:
    """`backprop solve`."""

    expr: str | None
    target: float | None  # None: the lesson's, for the lesson's graph (else an input error)
    vary: list[str]  # checked against the program by the engine
    at: dict[str, float]
    of: str | None
    split: Choice
    gradient: Choice
    tol: float
    max_iter: int
    json_out: bool
    jsonl: bool
    quiet: bool
    plot: str | None
    step: bool  # --step: on a terminal, after the run, every iteration node by node

    @property
    def machine(self) -> bool:
        """--json or --jsonl: no warnings, no progress, no notes."""
        return self.json_out or self.jsonl

    @classmethod
    def parse(
        cls, *, expr, target, vary, at, of, split, gradient, tol, max_iter, json_out, jsonl,
        quiet, plot, step=False,
    ) -> SolveOptions:  # fmt: skip
        options.parse_machine_output(json_out, jsonl)
        split_choice = options.choice("--split", split)
        gradient_choice = options.choice("--gradient", gradient)
        tol_value = options.parse_run_limits(tol, max_iter)
        if step:
            from ..stepping import check

            check(expr, {"--json": json_out, "--jsonl": jsonl})
        return cls(
            expr=expr, split=split_choice, gradient=gradient_choice,
            tol=tol_value, max_iter=max_iter,
            target=options.parse_optional(target, "--target"), at=options.parse_at(at),
            vary=options.parse_names(vary, "--vary"), of=of, json_out=json_out, jsonl=jsonl,
            quiet=quiet, plot=plot, step=step,
        )  # fmt: skip
