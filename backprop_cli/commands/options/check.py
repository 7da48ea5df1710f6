"""`backprop check`'s options, parsed."""

from __future__ import annotations

from dataclasses import dataclass

from .. import options


@dataclass(frozen=True)
class CheckOptions:
    """`backprop check`."""

    expr: str | None
    at: dict[str, float]
    of: str | None
    json_out: bool
    quiet: bool

    @classmethod
    def parse(cls, *, expr, at, of, json_out, quiet) -> CheckOptions:
        return cls(expr, options.parse_at(at), of, json_out, quiet)
