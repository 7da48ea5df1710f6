"""The contract between the reference code and the accelerators (:mod:`backprop_cli.accel`).

A :class:`~backprop_cli.core.program.Program` carries ``accel``: an object with these
methods, or None (the reference alone). Reference modules call only what is listed here,
through ``program.accel``, and never import the accelerators themselves. Every method
returns exactly what the reference would compute, or None: "not handled, ask the
reference".
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ..lang.syntax import Flat


class Accelerators(Protocol):
    def try_parse(self, text: str) -> Flat | None:
        """The flat form of *text* (already passed through ``prepare_source``), or None."""
        ...
