"""Every speed-only path of the package, behind one seam.

The reference modules (``lang``, ``core``, ``compiler``, ``engines``) compute every answer
on their own and never import from here (a ruff banned-import rule enforces it). An
accelerator is a function ``try_…(…) -> result | None``: it returns exactly what the
reference would, or None when it cannot (an unusual input, a setup it does not handle),
and the reference then answers. Stopping rules, statuses and messages stay defined once,
in the engines; an accelerator may replace an inner step, never restate a policy.

How the two meet: :func:`backprop_cli.compile` (the one sanctioned importer) hands this
module to the :class:`~backprop_cli.core.program.Program` it builds, and the reference
code calls ``program.accel.try_…`` when ``program.accel`` is not None
(:class:`backprop_cli.core.seam.Accelerators` is the contract). ``BACKPROP_REFERENCE=1``
in the environment makes :func:`active` return None: every accelerator off, the reference
alone (``.ci/run`` runs the whole suite once more that way). tests/accel/ holds each
accelerator equal to its reference.

Each ``try_…`` below imports its implementation on first use, so ``import backprop_cli``
stays cheap.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import ModuleType

    from ..lang.syntax import Flat

#: the environment switch that turns every accelerator off
REFERENCE_ENV = "BACKPROP_REFERENCE"


def active() -> ModuleType | None:
    """This module (the accelerators), or None when ``BACKPROP_REFERENCE`` is set to
    anything but "" or "0"."""
    if os.environ.get(REFERENCE_ENV, "") not in ("", "0"):
        return None
    return sys.modules[__name__]


def try_parse(text: str) -> Flat | None:
    """The quick parser: the flat form of an ordinary valid program, else None."""
    return None
