"""What every command shares: reading the program and its starting point, the consoles,
and the one boundary where errors become messages and exit codes (option text is parsed in
commands/options/).
"""

from __future__ import annotations

import errno
import io
import os
import sys
from contextlib import contextmanager
from typing import Iterator

import typer

from ..errors import BackpropError, ExitCode, InputError, LimitError
from ..limits import MAX_SOURCE_CHARS, MAX_STDIN_BYTES

LESSON_GRAPH = "x = 2*w + b; y = b + 1; z = x*y"
LESSON_AT = {"w": 3.0, "b": 4.0}


_DEBUG = False


def set_debug(on: bool) -> None:
    """The root's --debug: tracebacks instead of one-line errors (like BACKPROP_DEBUG=1)."""
    global _DEBUG
    _DEBUG = bool(on)


def debug_enabled() -> bool:
    return _DEBUG or os.environ.get("BACKPROP_DEBUG", "") not in ("", "0")


# -- the consoles and plain writes: every character the stream can encode -------------------
# errors.output_charset decides, once per stream, whether text must be fitted to a narrower
# charset than Unicode (PYTHONIOENCODING=ascii, a latin-1 terminal, a C locale); when it
# must, the consoles fit text before Rich measures it (tables stay aligned, and Rich draws
# its ASCII borders) and a wrapper fits what Rich writes besides; plain writes go through
# write_text. On stderr the consoles also escape control characters (a file name with an
# escape sequence cannot drive the terminal).

_CONSOLE_CLASSES: dict[tuple[bool, bool], type] = {}


def _console_class(stderr: bool, fitted: bool) -> type:
    """The Console class for stdout or stderr; ``fitted``: the stream needs fit_charset."""
    cls = _CONSOLE_CLASSES.get((stderr, fitted))
    if cls is not None:
        return cls
    from rich.console import Console

    from ..errors import escape_controls, fit_charset

    class _Console(Console):
        charset: str | None = None  # set when the stream cannot take every character

        def on_broken_pipe(self) -> None:
            # Rich's default exits with code 1 ("the computation failed"); a reader that
            # went away (`| head -1`) ends quietly with 0, as on the --json/--jsonl paths
            self.quiet = True
            if not stderr:
                quiet_broken_pipe()
            raise BrokenPipeError

    if stderr or fitted:  # (stdout in Unicode: Rich's own render_str, no extra call a cell)

        class _TextConsole(_Console):
            def render_str(self, text: str, *args, **kwargs):
                if stderr:
                    text = escape_controls(text)
                if self.charset is not None:
                    text = fit_charset(text, self.charset)
                return super().render_str(text, *args, **kwargs)

        _Console = _TextConsole  # type: ignore[misc]
    _CONSOLE_CLASSES[stderr, fitted] = _Console
    return _Console


class _FittedStream:
    """A text stream whose writes are fitted to its charset (errors.fit_charset); every
    other attribute is the stream's own (Rich reads ``encoding`` from it: ASCII borders)."""

    def __init__(self, stream, charset: str) -> None:
        self._stream = stream
        self._charset = charset

    def write(self, text: str) -> int:
        from ..errors import fit_charset

        return self._stream.write(fit_charset(text, self._charset))

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


def _console(stderr: bool, **options):
    from ..errors import output_charset

    stream = sys.stderr if stderr else sys.stdout
    charset = output_charset(stream)
    if charset is not None:
        options["file"] = _FittedStream(stream, charset)
    elif stderr:
        options["stderr"] = True
    console = _console_class(stderr, charset is not None)(**options)
    console.charset = charset
    return console


def stdout_console():
    """The console for results (tables) on stdout."""
    return _console(False, highlight=False, soft_wrap=False)


def stderr_console():
    """The console for messages on stderr: control characters escaped."""
    return _console(True, highlight=False)


def write_text(text: str, stream=None) -> None:
    """Plain text on ``stream`` (default stderr), fitted to its charset, and flushed."""
    from ..errors import fit_charset, output_charset

    stream = sys.stderr if stream is None else stream
    stream.write(fit_charset(text, output_charset(stream)))
    stream.flush()


def warn(message: str, quiet: bool = False) -> None:
    """A warning on stderr (never on stdout); silenced by --quiet."""
    if quiet:
        return
    from rich.markup import escape

    stderr_console().print(f"[yellow]warning:[/yellow] {escape(message)}")


def read_program_text(expr: str | None, default: str) -> str:
    """The program: the argument, stdin for '-', or the lesson's default."""
    if expr is None:
        return default
    if expr == "-":
        data = sys.stdin.buffer.read(MAX_STDIN_BYTES + 1)
        if len(data) > MAX_STDIN_BYTES:
            raise LimitError(f"the program on stdin is over the limit of {MAX_STDIN_BYTES} bytes")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"stdin is not valid UTF-8 (byte {exc.start})") from None
    else:
        text = expr
    if len(text) > MAX_SOURCE_CHARS:
        raise LimitError(
            f"the program is {len(text)} characters long; the limit is {MAX_SOURCE_CHARS}"
        )
    return text


def check_names(program, values: dict[str, float], option: str = "--at") -> None:
    """Every name given must be an input variable of the program."""
    from ..core.program import suggest

    for name in values:
        if name not in program.variables:
            if name in program.named:
                raise InputError(
                    f"{option} {name}: '{name}' is computed by the program, not an input variable"
                )
            raise InputError(
                f"{option} {name}: '{name}' is not a variable of the program"
                + suggest(name, program.variables)
            )


def point_with_defaults(
    program, given: dict[str, float], quiet: bool = False, names=None
) -> tuple[dict, list[str]]:
    """Values for every variable (or only ``names``); missing ones start at 1.0 with a warning."""
    check_names(program, given)
    values, defaulted = {}, []
    for name in program.variables if names is None else names:
        if name in given:
            values[name] = given[name]
        else:
            values[name] = 1.0
            defaulted.append(name)
    if defaulted:
        names = ", ".join(defaulted)
        example = ",".join(f"{n}=VALUE" for n in defaulted)
        warn(f"no value for {names}; starting at 1.0 (set it with --at {example})", quiet)
    return values, defaulted


def load_point(expr: str | None, at: dict[str, float], of: str | None, quiet: bool):
    """The program (the argument, stdin for '-', or the lesson's graph) and the point to
    evaluate it at: --at, the lesson's w = 3, b = 4 for the bare command, 1.0 for a missing
    value (with a warning unless ``quiet``). Returns (program, values, defaulted names)."""
    from .. import compile as compile_program

    text = read_program_text(expr, LESSON_GRAPH)
    given = dict(LESSON_AT) if expr is None and not at else at
    program = compile_program(text, output=of)
    values, defaulted = point_with_defaults(program, given, quiet)
    return program, values, defaulted


def plot_module(path: str):
    """render.plot for ``--plot PATH``, checked before any work: plotting is installed and the
    file type is one it writes (.png, .svg, .pdf) — so a bad path fails before a run, not after."""
    try:
        from ..render import plot
    except ModuleNotFoundError as exc:
        if exc.name not in ("backprop_cli.render.plot", "matplotlib"):
            raise
        raise InputError(f"--plot {path}: plotting is not available in this installation") from None
    plot.plot_format(path)
    problem = unwritable(path)
    if problem:
        raise plot.OutputError(problem)
    return plot


def unwritable(path: str) -> str | None:
    """Why a file cannot be written at ``path`` (its folder is missing), checked before any
    work — or None. The same words as the error met when writing fails (printed with control
    characters escaped, as every error is)."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        return f"cannot write '{path}': No such file or directory"
    return None


def print_error(err: BackpropError) -> None:
    """The one-line message, the input line and its caret — on stderr, markup-free, control
    characters escaped (err.render), in a charset stderr can encode."""
    from ..errors import output_charset

    write_text(err.render(output_charset(sys.stderr)) + "\n")


@contextmanager
def boundary(json_mode: bool = False, schema: str | None = None) -> Iterator[None]:
    """Turn anticipated errors into a message and an exit code (cli.md §2, §3).

    With --json the error goes out as one strict JSON document on stdout as well.
    """
    from ..render import jsonout

    emitted = jsonout.EMITTED
    try:
        yield
    except BackpropError as err:
        if debug_enabled():
            raise
        if json_mode and not getattr(err, "json_document_closed", False):
            from ..render.jsonout import emit

            doc = {
                "schema": schema,
                "status": err.kind,
                "message": err.message,
                "error": err.to_json(),
            }
            try:
                emit(doc)
            except OSError as exc:  # stdout is full or closed: both errors, on stderr
                failure = stdout_failure(exc)
                if failure is None:
                    raise
                print_error(err)
                report_stdout_failure(failure)
                raise typer.Exit(int(err.exit_code)) from None
        print_error(err)
        raise typer.Exit(int(err.exit_code)) from None
    except KeyboardInterrupt:
        if debug_enabled():
            raise
        if json_mode and jsonout.EMITTED == emitted:
            # --json: the one document says so; --jsonl: lines already out stay complete
            message = "interrupted (Ctrl-C) before the run finished"
            error = {"kind": "interrupted", "message": message}
            jsonout.emit(
                {"schema": schema, "status": "interrupted", "message": message, "error": error}
            )
        sys.stderr.write("interrupted\n")
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
    except BrokenPipeError:
        quiet_broken_pipe()
        raise typer.Exit(0) from None
    except OSError as exc:
        failure = stdout_failure(exc)
        if failure is None or debug_enabled():
            raise
        raise typer.Exit(report_stdout_failure(failure)) from None


def quiet_broken_pipe() -> None:
    """stdout was closed (`| head -1`): stop writing, say nothing."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


# errno values of a stream that cannot take what is written to it (a closed pipe, EPIPE,
# is not among them: it ends quietly)
_WRITE_FAILURES = frozenset(
    getattr(errno, name)
    for name in ("ENOSPC", "EDQUOT", "EFBIG", "EBADF", "EIO", "EAGAIN", "ENXIO", "EROFS")
    if hasattr(errno, name)
)


def stdout_failure(exc: BaseException) -> BackpropError | None:
    """The OutputError for an OSError met writing stdout — a full disk (``> /dev/full``:
    ENOSPC), a bad or closed descriptor (EBADF) — or None for any other exception. An
    OSError that names a file belongs to that file (reading data, writing --output), and a
    closed pipe (EPIPE) is not a failure: it ends quietly."""
    if not isinstance(exc, OSError) or isinstance(exc, BrokenPipeError | ConnectionResetError):
        return None
    if exc.filename is not None or exc.errno not in _WRITE_FAILURES:
        return None
    from ..errors import OutputError

    return OutputError(f"cannot write to stdout: {exc.strerror or exc}")


def report_stdout_failure(err: BackpropError) -> int:
    """Say so in one line on stderr, drop what stdout still holds, and return the exit code
    (1: the input was fine)."""
    try:
        print_error(err)
    except (OSError, ValueError):
        pass
    quiet_broken_pipe()  # the interpreter's last flush of stdout then succeeds
    return int(err.exit_code)


class ClosedStream(io.TextIOBase):
    """Stands in for a standard stream that was closed when Python started (``>&-``, so
    ``sys.stdout`` is None): writing nothing is fine, writing anything fails with EBADF,
    as writing to a closed descriptor does."""

    encoding = "utf-8"

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def write(self, text: str) -> int:
        if text:
            raise OSError(errno.EBADF, os.strerror(errno.EBADF))
        return 0


PROGRESS_DELAY = 1.0  # seconds: a run that ends sooner never shows its progress bar


def wants_progress(machine: bool, quiet: bool, max_iter: int | None = None) -> bool:
    """Progress on stderr only when it is a terminal, never with --json/--jsonl/--quiet
    (cli.md §10); the bar itself appears only once a run has lasted PROGRESS_DELAY."""
    return not (machine or quiet) and sys.stderr.isatty()


def progress_bar(enabled: bool, total: int, label: str):
    """A transient rich.progress bar on stderr, as a context manager yielding ``tick(k)`` (or None)."""
    from contextlib import nullcontext

    if not enabled:
        return nullcontext(None)
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    import time

    class Bar:
        """Started by the first update after PROGRESS_DELAY seconds (short runs show none)."""

        def __enter__(self):
            self.p = None
            self.since = time.monotonic()
            return self.update

        def update(self, k: int) -> None:
            if self.p is None:
                if time.monotonic() - self.since < PROGRESS_DELAY:
                    return
                self.p = Progress(
                    TextColumn(label), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                    TimeElapsedColumn(), console=stderr_console(), transient=True,
                )  # fmt: skip
                self.p.__enter__()
                self.task = self.p.add_task(label, total=total)
            self.p.update(self.task, completed=k)

        def __exit__(self, *exc):
            if self.p is not None:
                return self.p.__exit__(*exc)
            return None

    return Bar()
