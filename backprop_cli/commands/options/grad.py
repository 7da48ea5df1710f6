"""`backprop grad`'s options, parsed."""

from __future__ import annotations

from dataclasses import dataclass

from .. import options
from . import Choice, validate


@dataclass(frozen=True)
class GradOptions:
    """`backprop grad` (with --data: the gradient of the reduced output over a data set)."""

    expr: str | None
    at: dict[str, float]
    of: str | None
    mode: Choice
    explain: bool
    nudge: float | None
    data: str | None  # --data FILE
    columns: dict[str, str]  # --column VARIABLE=COLUMN (with --data)
    reduce: Choice | None  # with --data
    per_sample: bool
    json_out: bool
    quiet: bool
    step: bool  # --step: on a terminal, the pass node by node first

    @classmethod
    def parse(
        cls, *, expr, at, of, mode, explain, nudge, data, column, reduce, per_sample, json_out,
        quiet, step=False,
    ) -> GradOptions:  # fmt: skip
        chosen = options.choice("--mode", mode)
        columns, reduced = {}, None
        if data is not None:
            from ...data import parse_columns

            validate(chosen == "reverse", "--mode forward is not available with --data")
            validate(not explain and nudge is None, "--explain and --nudge are not available with --data")
            columns, reduced = parse_columns(column), options.choice("--reduce", reduce)
        delta = options.parse_optional(nudge, "--nudge")
        validate(delta != 0, "--nudge must not be 0")
        if step:
            from ..stepping import check

            given = {"--json": json_out, "--data": data is not None,
                     "--mode forward": chosen != "reverse", "--nudge": delta is not None}  # fmt: skip
            check(expr, given)
        return cls(
            expr=expr, at=options.parse_at(at), of=of, mode=chosen, explain=explain, nudge=delta,
            data=data, columns=columns, reduce=reduced, per_sample=per_sample, json_out=json_out,
            quiet=quiet, step=step,
        )  # fmt: skip
