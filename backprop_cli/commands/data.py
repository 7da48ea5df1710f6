"""`backprop data`: small synthetic data sets (CSV) for lessons and tests."""

from __future__ import annotations

from typing import TYPE_CHECKING, List, Optional

import typer

from ..limits import MAX_DATA_ROWS
from . import common, help_text, options

if TYPE_CHECKING:
    from .options.data import DataOptions

FORMULAS = (
    "Data sets (columns x, y; ε ~ N(0, 1); numpy's PCG64 generator seeded with --seed, so the "
    "same options always give the same file): "
    "linear: y = w·x + b + σ·ε with x uniform in \\[-1, 1], defaults w = 2, b = 3; "
    "quadratic: y = a·x² + b·x + c + σ·ε with x uniform in \\[-1, 1], defaults a = 1, b = -2, c = 1; "
    "logistic: y = 1 with probability sigmoid(w·x + b), else 0, with x uniform in \\[-3, 3], "
    "defaults w = 2, b = 0 (no --noise). σ is --noise (default 0.1). Draw order: all x first, "
    "then all ε (or the uniform draws of the labels). Numbers are written with 10 significant digits; "
    "parameters whose rows would not be finite are refused (exit 2) before anything is written, "
    "and --output is written whole or not at all. "
    "To fit one: backprop data linear --output points.csv, then "
    'backprop descend "(w*x + b - y)^2" --data points.csv --at w=0,b=0 --eta 0.5.'

)


N_HELP = f"Number of rows (1 to {MAX_DATA_ROWS:,}: what --data reads).".replace(",", " ")


def register(app: typer.Typer, command_cls) -> None:
    @app.command(
        "data",
        cls=command_cls,
        help=help_text.command_help(
            "data",
            "Write a small synthetic data set as CSV (header x,y) on stdout or to --output FILE: "
            "points to fit with descend --data.",
            FORMULAS,
        ),
    )
    def data(
        kind: str = typer.Argument(..., help="linear, quadratic or logistic.", show_default=False),
        n: int = typer.Option(200, "--n", help=N_HELP),
        seed: int = typer.Option(
            0, "--seed", help="Seed of the random generator (reproducible output)."
        ),
        noise: Optional[str] = typer.Option(
            None, "--noise", help="σ of the Gaussian noise added to y (default 0.1)."
        ),
        param: Optional[List[str]] = typer.Option(
            None,
            "--param",
            help="Model parameters NAME=VALUE[,NAME=VALUE...], e.g. w=2,b=3; repeatable.",
        ),
        output: Optional[str] = typer.Option(
            None, "--output", "-o", help="Write the CSV to this file."
        ),
        json_mode: bool = options.json_option(),
        quiet: bool = options.quiet_option(),
    ) -> None:
        from .options.data import DataOptions

        with common.boundary(json_mode, "backprop.data/1"):
            run(DataOptions.parse(
                kind=kind, n=n, seed=seed, noise=noise, param=param, output=output,
                json_out=json_mode, quiet=quiet,
            ))  # fmt: skip


def run(opts: DataOptions) -> None:
    """Check the data set's options (exit 2 before anything is written), then write the CSV
    to --output (whole or not at all) or stdout, or describe it in a JSON document."""
    from ..data import check_finite, csv_pieces, data_spec

    spec = data_spec(opts.kind, opts.n, opts.seed, opts.noise, opts.params)
    check_finite(spec)  # exit 2 before anything is written
    if opts.output is not None:
        write_atomically(opts.output, csv_pieces(spec))
    if opts.json_out:
        from ..render.data import emit_data_document

        emit_data_document(spec, opts.output)
    elif opts.output is None:
        import sys

        for piece in csv_pieces(spec):
            sys.stdout.write(piece)
        sys.stdout.flush()
    elif not opts.quiet:
        from ..render.data import wrote_line

        common.stderr_console().print(wrote_line(opts.n, opts.output))


def write_atomically(output: str, pieces) -> None:
    """Write the text ``pieces`` to ``output`` as a whole or not at all: into a temporary file
    in the same folder, then renamed over ``output`` (an existing file stays untouched until
    then; an error or Ctrl-C removes the temporary file). A path that is not a regular file
    (/dev/stdout, a FIFO) is written in place. Memory: one piece at a time."""
    import os
    import stat
    import tempfile

    from ..errors import OutputError

    def failed(exc: OSError) -> OutputError:  # exit 1 with the words of --plot and graph --output
        return OutputError(f"cannot write '{output}': {exc.strerror or exc}")

    try:
        info = os.stat(output)
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise failed(exc) from None
    try:
        if info is not None and not stat.S_ISREG(info.st_mode):
            with open(output, "w", encoding="utf-8") as fh:
                for piece in pieces:
                    fh.write(piece)
            return
        target = os.path.realpath(output)  # through a symbolic link, as open() would write
        if info is not None:
            mode = stat.S_IMODE(info.st_mode)
        else:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        folder, name = os.path.split(target)
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder or ".")
    except OSError as exc:
        raise failed(exc) from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            for piece in pieces:
                fh.write(piece)
            fh.flush()
            os.fchmod(fh.fileno(), mode)
        os.replace(tmp, target)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise failed(exc) from None
        raise
