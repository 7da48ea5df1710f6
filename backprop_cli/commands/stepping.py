"""`--step`: show pages one at a time on a terminal, waiting for a single key between them.

The key loop is shared by every --step: :func:`step_through` knows pages only by number
and a function that shows one. `grad --step` pages through the walk of its gradient report
(engines/walk.py, render/step.py). `solve --step` and `descend --step` run their engine
first, then page through its rows: each row's pages are the walk of the gradient report at
its point, then its update told with the cells of its row in the normal table (the last
row's: why the run stopped); b steps back across rows too (:func:`step_rows`).

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

    from ..engines.walk import Walk
    from .options.grad import GradOptions

from .help_text import RUN_STEP_HELP, STEP_HELP  # noqa: F401 - the option's help, kept with the other help texts
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


def check(expr: str | None, given: dict[str, bool]) -> None:
    """Before any work, in one line (exit 2): --step with an option it cannot go with (the
    first of ``given`` that is set), with the program on stdin (the keys come from there),
    or without a terminal."""
    for option, set_ in given.items():
        validate(not set_, TEXT["not_with"].format(option=option))
    validate(expr != "-", TEXT["stdin_program"])
    require_terminal()


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
    """`grad --step` (``opts`` parsed, and --step checked, by options/grad.py): the forward
    pass node by node, then the backward pass; past the last step, the normal output of
    `grad`."""
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


def step_rows(
    count: int,
    evaluated: Callable[[int], bool],
    walk_at: Callable[[int], Walk],
    update: Callable[[int], list],
) -> bool:
    """Page through ``count`` rows of a run: row i's pages are the steps of ``walk_at(i)``
    (only if ``evaluated(i)``: a point that could not be evaluated has no pass), then
    ``update(i)``. Walks are built as they are reached. True once stepped past the last
    page (the caller prints the normal output); False when q stopped it (said on stderr)."""
    from bisect import bisect_right

    from ..render import step as render

    walks: dict[int, Walk | None] = {}

    def walk_of(i: int) -> Walk | None:
        if i not in walks:
            walks[i] = walk_at(i) if evaluated(i) else None
        return walks[i]

    # every point has the same graph: its walk has as many steps as the first one's
    first = next((i for i in range(count) if evaluated(i)), None)
    size = 0 if first is None else len(walk_of(first).steps)  # type: ignore[union-attr]
    starts = [0]
    for i in range(count):  # a row: its pass (if its point was evaluated), then its update
        starts.append(starts[-1] + (size if evaluated(i) else 0) + 1)
    console = common.stdout_console()
    last = count - 1

    def place(k: int) -> tuple[int, int]:
        i = bisect_right(starts, k) - 1
        return i, k - starts[i]

    def show(k: int) -> None:
        i, j = place(k)
        walk = walk_of(i)
        console.clear()
        if walk is not None and j < len(walk.steps):
            items = render.page(walk, j, console.width, render.iteration(i, last))
        else:
            items = update(i)
        for item in items:
            console.print(item)

    with single_keys() as key:
        where = step_through(starts[-1], show, key)
    if where is None:
        console.clear()
        return True
    i, j = place(where)
    common.stderr_console().print(render.stopped_in(i, last, walk_of(i), j), markup=False)
    return False


def solve(run, program, symbol: str) -> bool:
    """`solve --step`, after the run: every row's pass at its point, then its update (see
    :func:`step_rows`)."""
    from ..engines.walk import walk
    from ..render import step as render

    rows = run.iterations
    cells = render.solve_cells(run, symbol)
    return step_rows(
        len(rows),
        lambda i: True,  # every row is an evaluated point
        lambda i: walk(program, {v: rows[i].values[v] for v in program.variables}),
        lambda i: render.solve_update(run, symbol, cells, i),
    )


def descend(run) -> bool:
    """`descend --step`, after the run: every row's pass at its point (a row whose loss
    could not be evaluated has none), then its update (see :func:`step_rows`)."""
    from ..engines.walk import walk
    from ..render import step as render

    records = run.records()
    cells = render.descend_cells(run)
    return step_rows(
        len(records),
        lambda i: records[i].loss is not None,
        lambda i: walk(run.program, records[i].values),
        lambda i: render.descend_update(run, cells, i),
    )
