"""`--step`: show pages one at a time on a terminal, waiting for a single key between them.

The key loop is shared by every --step: :func:`step_through` knows pages only by number
and a function that shows one. `grad --step` pages through the walk of its gradient report
(engines/walk.py, render/step.py). An iteration of solve or descend steps the same way:
its pages are the walk of the gradient report at its iterate, then its update.

Keys (single keys, no Enter needed): Enter or Space (or →) next, b (or ←) back one step,
q stops. Ctrl-C exits 130 as everywhere; the terminal is restored either way. Without a
terminal on stdin and stdout, --step refuses in one line (exit 2) instead of waiting for
keys that cannot come.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from enum import StrEnum
from typing import TYPE_CHECKING

from . import common
from .options import validate

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from .options.grad import GradOptions

STEP_HELP = (
    "On a terminal: the forward pass node by node, then the backward pass; Enter or Space "
    "next, b back, q stop."
)
#: the words this module says (one place, for translation)
TEXT = {
    "no_terminal": (
        "--step needs a terminal: it waits for a key after each step (stdin and stdout "
        "are not both a terminal); run without --step to print the whole pass"
    ),
    "not_with": "--step is not available with {option}",
    "stdin_program": "--step reads its keys from stdin: give the program as an argument, not -",
}

ESC = b"\x1b"


class Key(StrEnum):
    NEXT = "next"
    BACK = "back"
    STOP = "stop"


#: what a key (or a key's escape sequence) means; any other key is ignored
KEYS: dict[bytes, Key] = {
    b"\n": Key.NEXT, b"\r": Key.NEXT, b" ": Key.NEXT,
    b"b": Key.BACK, b"B": Key.BACK, b"q": Key.STOP, b"Q": Key.STOP,
    b"\x04": Key.STOP,  # Ctrl-D (end of input) stops as q does
    ESC + b"[C": Key.NEXT, ESC + b"OC": Key.NEXT,  # →
    ESC + b"[D": Key.BACK, ESC + b"OD": Key.BACK,  # ←
}  # fmt: skip
SEQUENCE_WAIT = 0.05  # seconds: the rest of an escape sequence arrives at once, or never


def on_terminal() -> bool:
    """Keys can be read from stdin and what is shown can be seen on stdout."""
    return isatty(sys.stdin) and isatty(sys.stdout)


def isatty(stream) -> bool:
    """Whether ``stream`` is a terminal (a closed or missing stream is not)."""
    try:
        return stream is not None and stream.isatty()
    except (AttributeError, ValueError, OSError):
        return False


def require_terminal() -> None:
    validate(on_terminal(), TEXT["no_terminal"])


def step_through(
    count: int, show: Callable[[int], None], key: Callable[[], Key | None]
) -> int | None:
    """Show page 0, then the next or previous one as keys say. Returns None once stepped
    past the last page, or the page that was showing when q stopped it."""
    k = 0
    shown = -1
    while True:
        if k != shown:
            show(k)
            shown = k
        pressed = key()
        if pressed is Key.NEXT:
            k += 1
            if k == count:
                return None
        elif pressed is Key.BACK:
            k = max(0, k - 1)
        elif pressed is Key.STOP:
            return k


@contextmanager
def single_keys(stream=None) -> Iterator[Callable[[], Key | None]]:
    """Read keys one at a time, unechoed, from the terminal ``stream`` (default stdin);
    the terminal's settings come back on the way out, whatever happens."""
    import termios

    fd = (sys.stdin if stream is None else stream).fileno()
    saved = termios.tcgetattr(fd)
    mode = termios.tcgetattr(fd)
    mode[3] &= ~(termios.ICANON | termios.ECHO)  # no line editing, no echo; signals stay
    mode[6][termios.VMIN] = 1
    mode[6][termios.VTIME] = 0
    termios.tcsetattr(fd, termios.TCSANOW, mode)
    try:
        yield lambda: read_key(fd)
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def read_key(fd: int) -> Key | None:
    """The next key's meaning (None: a key that means nothing here); end of input is q."""
    import select

    data = os.read(fd, 1)
    if not data:
        return Key.STOP
    if data == ESC:
        while select.select([fd], [], [], SEQUENCE_WAIT)[0]:
            more = os.read(fd, 1)
            if not more:
                break
            data += more
            if len(data) >= 3 and (more.isalpha() or more == b"~") or len(data) > 8:
                break  # the sequence's last byte
    return KEYS.get(data)


def grad(opts: GradOptions) -> None:
    """`grad --step` (``opts`` parsed by commands/grad.py, inside its error boundary): the
    forward pass node by node, then the backward pass; past the last step, the normal
    output of `grad`."""
    for option, given in (("--json", opts.json_out), ("--data", opts.data is not None),
                          ("--mode forward", opts.mode != "reverse"), ("--nudge", opts.nudge is not None)):  # fmt: skip
        validate(not given, TEXT["not_with"].format(option=option))
    validate(opts.expr != "-", TEXT["stdin_program"])
    require_terminal()
    program, values, _ = common.load_point(opts.expr, opts.at, opts.of, opts.quiet)
    from ..engines.walk import walk as walk_of
    from ..render import step as render

    walk = walk_of(program, values)
    console = common.stdout_console()

    def show(k: int) -> None:
        console.clear()
        for item in render.page(walk, k, console.width):
            console.print(item)

    with single_keys() as key:
        where = step_through(len(walk.steps), show, key)
    if where is not None:
        common.stderr_console().print(render.stopped(walk, where), markup=False)
        return
    from dataclasses import replace

    from .grad import run as grad_output

    console.clear()
    grad_output(replace(opts, quiet=True))  # the normal output (its warnings were shown)
