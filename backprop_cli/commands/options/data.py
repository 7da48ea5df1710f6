"""`backprop data`'s options, parsed."""

from __future__ import annotations

from dataclasses import dataclass

from .. import options


@dataclass(frozen=True)
class DataOptions:
    """`backprop data` (the data set's own checks are data.data_spec's)."""

    kind: str
    n: int
    seed: int
    noise: float | None
    params: dict[str, float]
    output: str | None
    json_out: bool
    quiet: bool

    @classmethod
    def parse(cls, *, kind, n, seed, noise, param, output, json_out, quiet) -> DataOptions:
        noise_value = options.parse_optional(noise, "--noise")
        return cls(kind, n, seed, noise_value, options.parse_at(param, "--param"), output, json_out, quiet)
