"""`backprop data`: small synthetic data sets (CSV) for lessons and tests."""

from __future__ import annotations

from typing import List, Optional

import typer

from . import common, help_text

FORMULAS = (
    "Data sets (columns x, y; ε ~ N(0, 1); numpy's PCG64 generator seeded with --seed, so the "
    "same options always give the same file): "
    "linear: y = w·x + b + σ·ε with x uniform in \\[-1, 1], defaults w = 2, b = 3; "
    "quadratic: y = a·x² + b·x + c + σ·ε with x uniform in \\[-1, 1], defaults a = 1, b = -2, c = 1; "
    "logistic: y = 1 with probability sigmoid(w·x + b), else 0, with x uniform in \\[-3, 3], "
    "defaults w = 2, b = 0 (no --noise). σ is --noise (default 0.1). Draw order: all x first, "
    "then all ε (or the uniform draws of the labels). Numbers are written with 10 significant digits. "
    "To fit one: backprop data linear --output points.csv, then "
    'backprop descend "(w*x + b - y)^2" --data points.csv --at w=0,b=0 --eta 0.5.'

)


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
        n: int = typer.Option(200, "--n", help="Number of rows."),
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
        json_mode: bool = common.json_option(),
        quiet: bool = common.quiet_option(),
    ) -> None:
        with common.boundary(json_mode, "backprop.data/1"):
            from ..data import generate, to_csv

            sigma = common.parse_number(noise, "--noise") if noise is not None else None
            params = common.parse_at(param, "--param")
            columns = generate(kind, n, seed, sigma, params)
            text = to_csv(columns)
            if json_mode:
                _write(output, text)
                _emit_json(kind, n, seed, sigma, params, columns, output)
                return
            if output is None:
                import sys

                sys.stdout.write(text)
                sys.stdout.flush()
                return
            _write(output, text)
            if not quiet:
                common.stderr_console().print(f"wrote {n} rows to {_escape(output)}")


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def _write(output, text: str) -> None:
    if output is None:
        return
    try:
        with open(output, "w", encoding="utf-8") as fh:
            fh.write(text)
    except OSError as exc:  # exit 1 with the words of --plot and graph --output
        from ..errors import OutputError

        raise OutputError(f"cannot write '{output}': {exc.strerror or exc}") from None


def _emit_json(kind, n, seed, sigma, params, columns, output) -> None:
    """--json: one document; the rows themselves (as written to the CSV) when not in a file."""
    from ..data import DEFAULT_NOISE, MODELS
    from ..render.jsonout import emit

    model = MODELS[kind]
    if sigma is None and model.noisy:
        sigma = DEFAULT_NOISE
    doc = {
        "schema": "backprop.data/1",
        "status": "ok",
        "kind": kind,
        "rows": n,
        "seed": seed,
        "noise": sigma,
        "params": {**dict(model.defaults), **dict(params)},
        "columns": list(columns),
        "file": output,
    }
    if output is None:
        doc["data"] = {c: [float(f"{v:.10g}") for v in columns[c]] for c in columns}
    emit(doc)
