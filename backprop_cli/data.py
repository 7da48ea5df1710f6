"""Data sets for `--data FILE`: load named numeric columns and bind them to program variables.

Formats: CSV with a header row (comma-separated, one number per cell), ``.npz`` (every
1-D array is a column named by its key) and ``.npy`` (a structured array: its field names
are the columns). Every problem is an :class:`InputError` (exit 2) that names the file and,
for a bad cell, its line, data row and column. Rows are counted from 1: data row 1 is the
first line after the header.

Binding: a column whose name is a variable of the program feeds that variable sample by
sample; ``--column VAR=COLUMN`` feeds VAR from a differently named column. Every other
variable is a parameter — a single number, the thing descent optimises.
"""

from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass, field

from .errors import InputError

MAX_COLUMNS = 10_000


@dataclass(frozen=True)
class Dataset:
    """Named float64 columns of equal length ``rows``."""

    file: str
    names: tuple[str, ...]
    columns: dict = field(repr=False)  # name -> 1-D float64 numpy array
    rows: int


@dataclass(frozen=True)
class Binding:
    """Which column feeds which variable; the remaining variables are parameters."""

    columns: dict[str, str]  # variable -> column name (program order)
    parameters: tuple[str, ...]  # program order


def load(path: str) -> Dataset:
    """Read a CSV (header row), .npz or .npy file into a :class:`Dataset`."""
    if path == "-":
        raise InputError("--data -: reading data from stdin is not supported; give a file name")
    if not os.path.exists(path):
        raise InputError(f"--data {path}: no such file")
    if os.path.isdir(path):
        raise InputError(f"--data {path}: is a directory, not a data file")
    lower = path.lower()
    if lower.endswith(".npz"):
        return _load_npz(path)
    if lower.endswith(".npy"):
        return _load_npy(path)
    return _load_csv(path)


# -- CSV -------------------------------------------------------------------------------
def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _read_header(path: str) -> tuple[list[str], int]:
    """The header's cells and the number of the line it is on (blank lines skipped)."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            for lineno, row in enumerate(csv.reader(fh), start=1):
                if not row or all(not c.strip() for c in row):
                    continue
                return [c.strip() for c in row], lineno
    except UnicodeDecodeError as exc:
        raise InputError(
            f"--data {path}: not UTF-8 text (byte {exc.start}); is it a CSV file?"
        ) from None
    except csv.Error as exc:
        raise InputError(f"--data {path}: not a readable CSV file ({exc})") from None
    raise InputError(
        f"--data {path}: the file is empty; it needs a header row naming the columns, then data rows"
    )


def _check_header(path: str, header: list[str]) -> None:
    if all(_is_number(c) for c in header if c):
        shown = ",".join(header)
        raise InputError(
            f"--data {path}: no header row: the first line '{shown}' holds numbers; "
            "add a first line naming the columns, e.g. x,y"
        )
    if len(header) > MAX_COLUMNS:
        raise InputError(f"--data {path}: {len(header)} columns; the limit is {MAX_COLUMNS}")
    for k, name in enumerate(header, start=1):
        if not name:
            raise InputError(f"--data {path}: column {k} of the header has no name")
    seen: dict[str, int] = {}
    for k, name in enumerate(header, start=1):
        if name in seen:
            raise InputError(
                f"--data {path}: duplicate column name '{name}' (columns {seen[name]} and {k}); "
                "column names must be unique"
            )
        seen[name] = k


def _load_csv(path: str) -> Dataset:
    import numpy as np

    header, header_line = _read_header(path)
    _check_header(path, header)
    import warnings

    try:
        with open(path, encoding="utf-8-sig") as fh, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "input contained no data": we say it ourselves
            table = np.loadtxt(
                fh,
                delimiter=",",
                skiprows=header_line,
                ndmin=2,
                dtype=float,
                comments=None,
                encoding=None,
            )
    except (ValueError, UnicodeDecodeError):
        table = None
    if table is None or (table.size and table.shape[1] != len(header)):
        _scan_csv(path, header, header_line)  # raises the precise message
        raise InputError(
            f"--data {path}: could not read the data rows as numbers"
        )  # pragma: no cover
    if table.shape[0] == 0:
        raise InputError(f"--data {path}: no data rows after the header; the data set is empty")
    if not np.isfinite(table).all():
        _scan_csv(path, header, header_line)  # names the line of the first non-finite cell
    cols = {name: np.ascontiguousarray(table[:, k]) for k, name in enumerate(header)}
    return Dataset(path, tuple(header), cols, int(table.shape[0]))


def _scan_csv(path: str, header: list[str], header_line: int) -> None:
    """Slow path: walk the file with the csv module to name the first bad cell."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        row_number = 0
        for lineno, row in enumerate(csv.reader(fh), start=1):
            if lineno <= header_line or not row or (len(row) == 1 and not row[0].strip()):
                continue
            row_number += 1
            where = f"--data {path}: line {lineno} (data row {row_number})"
            if len(row) != len(header):
                raise InputError(
                    f"{where} has {len(row)} cell{'s' if len(row) != 1 else ''}; "
                    f"the header has {len(header)} columns ({', '.join(header)})"
                )
            for name, cell in zip(header, row):
                text = cell.strip()
                if not text:
                    raise InputError(f"{where}, column '{name}': the cell is empty")
                try:
                    value = float(text)
                except ValueError:
                    raise InputError(
                        f"{where}, column '{name}': '{text}' is not a number"
                    ) from None
                if not math.isfinite(value):
                    raise InputError(
                        f"{where}, column '{name}': '{text}' is not a finite number (NaN and infinity are not data)"
                    )
    if row_number == 0:
        raise InputError(f"--data {path}: no data rows after the header; the data set is empty")


# -- numpy files -----------------------------------------------------------------------
def _finish(path: str, named: list[tuple[str, object]]) -> Dataset:
    import numpy as np

    if not named:
        raise InputError(f"--data {path}: holds no columns")
    cols = {}
    rows = None
    for name, arr in named:
        a = np.asarray(arr)
        if a.ndim == 2 and 1 in a.shape:
            a = a.reshape(-1)
        if a.ndim != 1:
            raise InputError(
                f"--data {path}: column '{name}' has shape {a.shape}; a column must be 1-D"
            )
        if a.dtype.kind not in "biuf":
            raise InputError(f"--data {path}: column '{name}' holds {a.dtype} values, not numbers")
        a = np.ascontiguousarray(a, dtype=float)
        if rows is None:
            rows = a.shape[0]
        elif a.shape[0] != rows:
            raise InputError(
                f"--data {path}: column '{name}' has {a.shape[0]} rows; '{named[0][0]}' has {rows}"
            )
        bad = np.flatnonzero(~np.isfinite(a))
        if bad.size:
            i = int(bad[0])
            raise InputError(
                f"--data {path}: data row {i + 1}, column '{name}': {a[i]!r} is not a finite number "
                "(NaN and infinity are not data)"
            )
        cols[name] = a
    if not rows:
        raise InputError(f"--data {path}: no data rows; the data set is empty")
    return Dataset(path, tuple(cols), cols, int(rows))


def _load_npz(path: str) -> Dataset:
    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as z:
            named = [(k, z[k]) for k in z.files]
    except (OSError, ValueError) as exc:
        raise InputError(f"--data {path}: not a readable .npz file ({exc})") from None
    return _finish(path, named)


def _load_npy(path: str) -> Dataset:
    import numpy as np

    try:
        a = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise InputError(f"--data {path}: not a readable .npy file ({exc})") from None
    if a.dtype.names is None:
        raise InputError(
            f"--data {path}: a plain array has no column names; save a structured array "
            "(named fields) or an .npz file with one named array per column"
        )
    return _finish(path, [(n, a[n]) for n in a.dtype.names])


# -- binding ---------------------------------------------------------------------------
def parse_columns(items: list[str] | None) -> dict[str, str]:
    """``--column y=target`` (repeatable, comma-separated) -> {"y": "target"}."""
    out: dict[str, str] = {}
    for item in items or []:
        for part in item.split(","):
            part = part.strip()
            if "=" not in part:
                raise InputError(
                    f"--column '{part}': expected VARIABLE=COLUMN (e.g. --column y=target)"
                )
            name, _, col = part.partition("=")
            name, col = name.strip(), col.strip()
            if not name or not col:
                raise InputError(
                    f"--column '{part}': expected VARIABLE=COLUMN (e.g. --column y=target)"
                )
            if name in out and out[name] != col:
                raise InputError(f"--column {name}: given twice ('{out[name]}' and '{col}')")
            out[name] = col
    return out


def bind(
    program, dataset: Dataset, mapping: dict[str, str] | None = None, at: dict | None = None
) -> Binding:
    """Columns named like variables bind to them; ``mapping`` overrides; the rest are parameters."""
    from .core.program import suggest

    mapping = mapping or {}
    at = at or {}
    variables = program.variables
    for name, col in mapping.items():
        if name not in variables:
            if name in program.named:
                raise InputError(
                    f"--column {name}: '{name}' is computed by the program, not an input variable"
                )
            raise InputError(
                f"--column {name}: '{name}' is not a variable of the program"
                + suggest(name, variables)
            )
        if col not in dataset.columns:
            raise InputError(
                f"--column {name}={col}: {dataset.file} has no column '{col}' "
                f"(its columns: {', '.join(dataset.names)})" + suggest(col, dataset.names)
            )
    columns: dict[str, str] = {}
    for v in variables:
        if v in mapping:
            columns[v] = mapping[v]
        elif v in dataset.columns:
            columns[v] = v
    for v in at:
        if v in columns:
            raise InputError(
                f"--at {v}: '{v}' is bound to column '{columns[v]}' of {dataset.file}; "
                "a bound variable takes its values from the data"
            )
    if not columns:
        raise InputError(
            f"--data {dataset.file}: no column names a variable of the program "
            f"(columns: {', '.join(dataset.names)}; variables: {', '.join(variables) or 'none'}); "
            "map one with --column VARIABLE=COLUMN"
        )
    parameters = tuple(v for v in variables if v not in columns)
    return Binding(columns, parameters)


# -- synthetic data sets (`backprop data`) ---------------------------------------------
@dataclass(frozen=True)
class Model:
    """A generator of lesson data: its formula, parameters and defaults."""

    name: str
    formula: str
    defaults: dict[str, float]
    noisy: bool = True


MODELS = {
    "linear": Model("linear", "y = w·x + b + σ·ε,  x ~ uniform[-1, 1]", {"w": 2.0, "b": 3.0}),
    "quadratic": Model(
        "quadratic",
        "y = a·x² + b·x + c + σ·ε,  x ~ uniform[-1, 1]",
        {"a": 1.0, "b": -2.0, "c": 1.0},
    ),
    "logistic": Model(
        "logistic",
        "y = 1 with probability sigmoid(w·x + b), else 0,  x ~ uniform[-3, 3]",
        {"w": 2.0, "b": 0.0},
        False,
    ),
}
DEFAULT_NOISE = 0.1
MAX_ROWS = 10_000_000


def generate(kind: str, n: int, seed: int, noise: float | None = None, params: dict | None = None):
    """Columns (x, y) of a synthetic data set; ε ~ N(0, 1) from numpy's PCG64 seeded by ``seed``."""
    import numpy as np

    if kind not in MODELS:
        raise InputError(f"unknown data set '{kind}': use {', '.join(MODELS)}")
    model = MODELS[kind]
    if not 1 <= n <= MAX_ROWS:
        raise InputError(f"--n {n}: the number of rows must be between 1 and {MAX_ROWS}")
    if seed < 0:
        raise InputError(f"--seed {seed}: must be ≥ 0")
    if noise is not None and not model.noisy:
        raise InputError(
            f"--noise: the {kind} data set has no additive noise (its labels are random draws)"
        )
    sigma = DEFAULT_NOISE if noise is None else noise
    if sigma < 0:
        raise InputError(f"--noise {sigma:g}: must be ≥ 0")
    p = dict(model.defaults)
    for name, value in (params or {}).items():
        if name not in p:
            raise InputError(
                f"--param {name}: the {kind} model's parameters are {', '.join(model.defaults)}"
            )
        p[name] = value
    rng = np.random.default_rng(seed)
    if kind == "logistic":
        x = rng.uniform(-3.0, 3.0, n)
        prob = 1.0 / (1.0 + np.exp(-(p["w"] * x + p["b"])))
        y = (rng.uniform(0.0, 1.0, n) < prob).astype(float)
    else:
        x = rng.uniform(-1.0, 1.0, n)
        eps = rng.standard_normal(n)
        if kind == "linear":
            y = p["w"] * x + p["b"] + sigma * eps
        else:
            y = p["a"] * x * x + p["b"] * x + p["c"] + sigma * eps
    return {"x": x, "y": y}


def to_csv(columns: dict) -> str:
    """CSV text with a header; numbers with 10 significant digits (parse back exactly as written)."""
    import io

    import numpy as np

    names = list(columns)
    buf = io.StringIO()
    buf.write(",".join(names) + "\n")
    np.savetxt(buf, np.column_stack([columns[c] for c in names]), delimiter=",", fmt="%.10g")
    return buf.getvalue()
