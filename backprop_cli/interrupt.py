"""Ctrl-C during a long run, taken at a clean point.

Inside :func:`deferred` a first Ctrl-C only sets a flag; the running engine calls
:func:`check` between rows (after a complete update) and that raises KeyboardInterrupt
there, so the engine ends the run as ``interrupted`` at its last complete row and the
output being written is never torn in the middle of a line. A second Ctrl-C raises at
once. Outside :func:`deferred` (or off the main thread) Ctrl-C behaves as usual.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_requested = False  # a Ctrl-C is waiting for the engine's next check()
_taken = False  # check() has raised it


def check() -> None:
    """Raise KeyboardInterrupt if a Ctrl-C is waiting (engines call this between rows)."""
    global _taken
    if _requested:
        _taken = True
        raise KeyboardInterrupt


def _on_sigint(signum: int, frame: object) -> None:
    global _requested
    if _requested:  # a second Ctrl-C: do not wait for the engine
        raise KeyboardInterrupt
    _requested = True


@contextmanager
def deferred() -> Iterator[None]:
    """Within the block, Ctrl-C waits for the engine's next :func:`check`. A Ctrl-C that no
    check took (the run ended first) is raised when the block ends."""
    global _requested, _taken
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, _on_sigint)
    _requested = _taken = False
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        pending = _requested and not _taken
        _requested = _taken = False
    if pending:
        raise KeyboardInterrupt
