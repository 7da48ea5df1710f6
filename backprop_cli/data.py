"""Data sets for `--data FILE`: read named numeric columns once, within limits, and bind them.

Formats: CSV with a header row (RFC 4180: comma-separated, a cell may be quoted, one number
per data cell), ``.npz`` (every 1-D array is a column named by its key) and ``.npy`` (a
structured array: its field names are the columns). The format is the file's extension, else
its first bytes (so ``--data /dev/stdin`` and ``<(...)`` work for all three).

One reader: a file is opened once and read once, front to back (a pipe or a FIFO works), and
every limit of :mod:`backprop_cli.limits` is checked *while* reading — bytes, line length,
rows, columns, numbers — and, for ``.npy``/``.npz``, the declared shape and dtype of every
array from its header *before* any of its data is decompressed. :func:`read_arrays` is that
reader for named numeric arrays of any shape (``--init FILE.npz`` will use it).

Every problem is an :class:`InputError` or a :class:`LimitError` (exit 2) that names the file
and, for a bad cell, its line, data row and column. Rows are counted from 1: data row 1 is the
first line after the header.

Binding: a column whose name is a variable of the program feeds that variable sample by
sample; ``--column VAR=COLUMN`` feeds VAR from a differently named column. Every other
variable is a parameter — a single number, the thing descent optimises. While a column is
unused, a variable that is neither a column nor given with ``--at`` is an error (did you mean
``--column VAR=COLUMN``?), not a parameter silently fitted.

Every user-facing sentence of this module is in :data:`MESSAGES`.
"""

from __future__ import annotations

import math
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from . import limits
from .errors import InputError, LimitError

MAX_COLUMNS = limits.MAX_DATA_COLUMNS  # kept for callers of the old name
BLOCK = 1 << 18  # bytes read (and CSV text parsed) per step: temporaries are about 40×BLOCK

# -- every sentence a user can read from this module (one place, to translate) ----------
MESSAGES = {
    # opening
    "dash": "--data -: give a file name (to read a pipe: --data /dev/stdin)",
    "missing": "{where}: no such file",
    "directory": "{where}: is a directory, not a data file",
    "unreadable": "{where}: cannot read the file ({reason})",
    "bytes": "{where}: the file is larger than the limit of {limit} bytes",
    # CSV
    "long_line": "{where}: line {line} is longer than the limit of {limit} characters",
    "utf8": "{where}: not UTF-8 text (byte {offset}); is it a CSV file?",
    "empty": "{where}: the file is empty; it needs a header row naming the columns, then data rows",
    "open_quote": "{where}: line {line}: a quoted cell is not closed (a line break inside quotes is not supported)",
    "no_header": "{where}: no header row: the first line '{shown}' holds numbers; "
    "add a first line naming the columns, e.g. x,y",
    "columns": "{where}: {count} columns; the limit is {limit}",
    "unnamed": "{where}: column {k} of the header has no name",
    "duplicate": "{where}: duplicate column name '{name}' (columns {first} and {k}); "
    "column names must be unique",
    "rows": "{where}: line {line} is data row {row}; the limit is {limit} data rows",
    "values": "{where}: line {line} is data row {row} of {columns} columns: more than the limit "
    "of {limit} numbers (rows × columns)",
    "declared_rows": "{where}: its columns declare {rows} data rows; the limit is {limit} data rows",
    "cells": "{at} has {count} cell{s}; the header has {columns} columns ({names})",
    "cell_empty": "{at}, column '{name}': the cell is empty",
    "cell_nan": "{at}, column '{name}': '{text}' is not a number",
    "cell_inf": "{at}, column '{name}': '{text}' is not a finite number (NaN and infinity are not data)",
    "row_quote": "{at}: a quoted cell is not closed (a line break inside quotes is not supported)",
    "no_rows": "{where}: no data rows after the header; the data set is empty",
    # .npy / .npz
    "bad_npy": "{where}: not a readable .npy file ({reason})",
    "bad_npz": "{where}: not a readable .npz file ({reason})",
    "not_arrays": "{where}: not an .npz or .npy file",
    "npy_header": "{where}: {what} has a header of {size} bytes; the limit is {limit}",
    "npy_version": "{where}: {what} is a .npy file of version {version}, which is not supported",
    "object": "{where}: {what} holds Python objects (object arrays are never loaded), not numbers",
    "dtype": "{where}: {what} holds {dtype} values, not numbers",
    "declared": "{where}: {what} declares {count} numbers (shape {shape}); the limit is {limit} "
    "numbers",
    "declared_total": "{where}: its arrays declare {count} numbers in all; the limit is {limit}",
    "declared_bytes": "{where}: {what} declares {count} bytes of data; the limit is {limit} bytes",
    "truncated": "{where}: {what} is truncated: its header declares {count} numbers, its data "
    "ends early",
    "members": "{where}: holds {count} arrays; the limit is {limit}",
    "directory_size": "{where}: its zip directory is {size} bytes; the limit is {limit}",
    "member": "{where}: holds '{name}', which is not a .npy array",
    "plain": "{where}: a plain array has no column names; save a structured array (named "
    "fields) or an .npz file with one named array per column",
    "no_columns": "{where}: holds no columns",
    "not_1d": "{where}: column '{name}' has shape {shape}; a column must be 1-D",
    "ragged": "{where}: column '{name}' has {rows} rows; '{first}' has {first_rows}",
    "npy_nan": "{where}: data row {row}, column '{name}': {value!r} is not a finite number "
    "(NaN and infinity are not data)",
    "npy_no_rows": "{where}: no data rows; the data set is empty",
    "array": "array '{name}'",
    "the_array": "the array",
    "field": "field '{name}'",
    # binding
    "column_syntax": "--column '{part}': expected VARIABLE=COLUMN (e.g. --column y=target)",
    "column_twice": "--column {name}: given twice ('{old}' and '{new}')",
    "column_computed": "--column {name}: '{name}' is computed by the program, not an input variable",
    "column_unknown": "--column {name}: '{name}' is not a variable of the program{hint}",
    "column_absent": "--column {name}={col}: {file} has no column '{col}' (its columns: "
    "{columns}){hint}",
    "at_bound": "--at {name}: '{name}' is bound to column '{col}' of {file}; "
    "a bound variable takes its values from the data",
    "no_binding": "--data {file}: no column names a variable of the program (columns: {columns}; "
    "variables: {variables}); map one with --column VARIABLE=COLUMN",
    "unbound": "{name} is neither a column of {file} nor given with --at; {unused}: "
    "did you mean --column {name}={col}?",
    "unbound_many": "{names} are neither columns of {file} nor given with --at; {unused}: "
    "did you mean --column {name}={col} (and --at for the others)?",
    "unused_one": "the column '{col}' is not used",
    "unused_many": "the columns {cols} are not used",
    # `backprop data`
    "kind": "unknown data set '{kind}': use {kinds}",
    "n": "--n {n}: the number of rows must be between 1 and {limit}",
    "seed": "--seed {seed}: must be ≥ 0",
    "noiseless": "--noise: the {kind} data set has no additive noise (its labels are random draws)",
    "noise": "--noise {sigma:g}: must be ≥ 0",
    "param": "--param {name}: the {kind} model's parameters are {names}",
    "infinite": "the {kind} data set would not be finite: data row {row} has {column} = {value} "
    "(with {given}); use smaller --param or --noise values",
}


def _say(key: str, **fields: Any) -> str:
    return MESSAGES[key].format(**fields)


def count_text(n: int) -> str:
    """1048576 -> '1 048 576' (the README's way of writing limits)."""
    return f"{n:,}".replace(",", " ")


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
    unused: tuple[str, ...] = ()  # columns of the data set that feed no variable (file order)


@dataclass(frozen=True)
class ArrayInfo:
    """What an array's .npy header declares — all that is known before its data is read."""

    name: str  # .npz key or .npy field name ("" for a plain .npy array)
    shape: tuple[int, ...]
    dtype: Any  # numpy dtype of the stored numbers
    fortran: bool = False

    @property
    def size(self) -> int:
        return math.prod(self.shape)


# -- opening: once, with the byte limit counted on every read ---------------------------
class _Source:
    """One opened data file, read front to back; every byte read counts against the limit."""

    def __init__(self, path: str, flag: str, fh: BinaryIO) -> None:
        self.path, self.flag, self.fh = path, flag, fh
        self.where = f"{flag} {path}"
        self.consumed = 0  # bytes read so far
        self._pushed = b""
        info = os.fstat(fh.fileno())
        self.regular = stat.S_ISREG(info.st_mode)
        self.size = info.st_size if self.regular else None
        if self.size is not None and self.size > limits.MAX_DATA_BYTES:
            raise LimitError(_say("bytes", where=self.where, limit=count_text(limits.MAX_DATA_BYTES)))

    def read(self, n: int) -> bytes:
        if self._pushed:
            data, self._pushed = self._pushed[:n], self._pushed[n:]
            return data
        try:
            data = self.fh.read(n)
        except OSError as exc:
            raise InputError(_say("unreadable", where=self.where, reason=exc.strerror or exc)) from None
        self.consumed += len(data)
        if self.consumed > limits.MAX_DATA_BYTES:
            raise LimitError(_say("bytes", where=self.where, limit=count_text(limits.MAX_DATA_BYTES)))
        return data

    def read_exact(self, n: int) -> bytes:
        """``n`` bytes, fewer only at the end of the file."""
        return _exact_reader(self.read)(n)

    def unread(self, data: bytes) -> None:
        self._pushed = data + self._pushed


def _open(path: str, flag: str) -> _Source:
    if path == "-" and flag == "--data":
        raise InputError(_say("dash"))
    where = f"{flag} {path}"
    if not os.path.exists(path):
        raise InputError(_say("missing", where=where))
    if os.path.isdir(path):
        raise InputError(_say("directory", where=where))
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed by the caller (load / read_arrays)
    except OSError as exc:
        raise InputError(_say("unreadable", where=where, reason=exc.strerror or exc)) from None
    try:
        return _Source(path, flag, fh)
    except BaseException:
        fh.close()
        raise


_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGIC = b"PK\x03\x04"


def _format(src: _Source) -> str:
    """'npz', 'npy' or 'csv': the extension, else the first bytes (a pipe has no name)."""
    lower = src.path.lower()
    for ext in ("npz", "npy", "csv"):
        if lower.endswith("." + ext):
            return ext
    head = src.read_exact(len(_NPY_MAGIC))
    src.unread(head)
    if head.startswith(_NPY_MAGIC):
        return "npy"
    if head.startswith(_ZIP_MAGIC) or head.startswith(b"PK\x05\x06"):  # (an empty zip)
        return "npz"
    return "csv"


def load(path: str) -> Dataset:
    """Read a CSV (header row), .npz or .npy file into a :class:`Dataset` — once, within limits."""
    src = _open(path, "--data")
    with src.fh:
        kind = _format(src)
        if kind == "csv":
            return _read_csv(src)
        arrays = _read_arrays(src, kind, _column_check(src.where))
        return _dataset_from_arrays(src.where, path, arrays)


def read_arrays(
    path: str, flag: str = "--init", check: Callable[[list[ArrayInfo]], None] | None = None
) -> dict:
    """Named numeric arrays (float64, their declared shapes) of an .npz or .npy file.

    Every array's header is read and checked — numeric dtype, no objects, the declared number
    of elements within the limits, in all within ``MAX_DATA_VALUES`` — and then ``check``
    (which may refuse the shapes) before any array's data is read. A structured .npy gives one
    array per field; a plain .npy one array named "".
    """
    src = _open(path, flag)
    with src.fh:
        kind = _format(src)
        if kind == "csv":
            raise InputError(_say("not_arrays", where=src.where))
        return _read_arrays(src, kind, check)


# -- CSV ---------------------------------------------------------------------------------
def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _cells(line: str) -> list[str] | None:
    """One line's cells (RFC 4180 quoting), or None when a quoted cell is not closed."""
    import csv

    if csv.field_size_limit() < limits.MAX_LINE_CHARS:  # a cell may fill its line
        csv.field_size_limit(limits.MAX_LINE_CHARS)
    try:
        return next(csv.reader([line], strict=True), [])
    except csv.Error:
        return None


def _check_header(where: str, header: list[str]) -> None:
    if all(_is_number(c) for c in header if c):
        raise InputError(_say("no_header", where=where, shown=",".join(header)))
    if len(header) > limits.MAX_DATA_COLUMNS:
        raise LimitError(
            _say("columns", where=where, count=len(header), limit=count_text(limits.MAX_DATA_COLUMNS))
        )
    for k, name in enumerate(header, start=1):
        if not name:
            raise InputError(_say("unnamed", where=where, k=k))
    seen: dict[str, int] = {}
    for k, name in enumerate(header, start=1):
        if name in seen:
            raise InputError(_say("duplicate", where=where, name=name, first=seen[name], k=k))
        seen[name] = k


def _lines(src: _Source) -> Iterator[tuple[int, list[str], bool]]:
    """(number of the first line, complete lines, whether they hold a quote) per block read;
    the length limit checked on every line, and on a line still being read (an endless line
    stops at the limit)."""
    import codecs

    limit = limits.MAX_LINE_CHARS
    offset = 0  # file offset of carry[0]
    head = src.read_exact(len(codecs.BOM_UTF8))
    if head == codecs.BOM_UTF8:
        offset = len(head)
    else:
        src.unread(head)
    carry = b""
    lineno = 1

    def decode(data: bytes, final: bool) -> str:
        try:
            return codecs.utf_8_decode(data, "strict", final)[0]
        except UnicodeDecodeError as exc:
            raise InputError(_say("utf8", where=src.where, offset=offset + exc.start)) from None

    def check_carry() -> None:
        if len(carry) > limit and len(decode(carry, False)) > limit:
            raise LimitError(_say("long_line", where=src.where, line=lineno, limit=count_text(limit)))

    while True:
        data = src.read(BLOCK)
        if not data:
            break
        buf = carry + data if carry else data
        cut = buf.rfind(b"\n")
        if cut < 0:
            carry = buf
            check_carry()
            continue
        if not buf[:cut].strip():  # blank lines only: count them, nothing to parse
            lineno += buf.count(b"\n", 0, cut) + 1
            offset += cut + 1
            carry = buf[cut + 1 :]
            check_carry()
            continue
        text = decode(buf[:cut], True)
        lines = text.split("\n")
        if max(map(len, lines)) > limit:
            for k, line in enumerate(lines):
                if len(line.rstrip("\r")) > limit:
                    raise LimitError(
                        _say("long_line", where=src.where, line=lineno + k, limit=count_text(limit))
                    )
        yield lineno, lines, '"' in text
        lineno += len(lines)
        offset += cut + 1
        carry = buf[cut + 1 :]
        check_carry()
    if carry:
        line = decode(carry, True)
        if len(line.rstrip("\r")) > limit:
            raise LimitError(_say("long_line", where=src.where, line=lineno, limit=count_text(limit)))
        yield lineno, [line], '"' in line


class _Columns:
    """Columns filled block by block, checked against the row and number limits as they grow.

    One (columns × capacity) buffer: column j is row j, a contiguous 1-D view. Capacity is
    the most rows the limits (and, for a regular file, its size) allow; pages never written
    cost no memory, so the resident size is what was read.
    """

    def __init__(self, where: str, names: list[str], file_bytes: int | None) -> None:
        import numpy as np

        self.where, self.names = where, names
        k = len(names)
        self.max_rows = min(limits.MAX_DATA_ROWS, limits.MAX_DATA_VALUES // k)
        cap = self.max_rows
        if file_bytes is not None:  # a data row takes at least 2 bytes a column
            cap = min(cap, (file_bytes + 1) // (2 * k) + 1)
        self.buf = np.empty((k, max(cap, 1)))
        self.rows = 0

    def add(self, table, lines: list[str], lineno: int) -> None:
        """Append a block's rows; ``lines`` (from line ``lineno``) name the line of a row over
        a limit."""
        import numpy as np

        n = table.shape[0]
        if self.rows + n > self.max_rows:
            over = self.max_rows - self.rows  # index in this block of the first row too many
            k = [j for j, line in enumerate(lines) if line.strip()][over]
            key = "rows" if self.max_rows == limits.MAX_DATA_ROWS else "values"
            raise LimitError(
                _say(key, where=self.where, line=count_text(lineno + k),
                     row=count_text(self.max_rows + 1), columns=len(self.names),
                     limit=count_text(limits.MAX_DATA_ROWS if key == "rows" else limits.MAX_DATA_VALUES))
            )  # fmt: skip
        if self.rows + n > self.buf.shape[1]:  # the size estimate was low: grow (never expected)
            bigger = np.empty((len(self.names), min(self.max_rows, 2 * (self.rows + n))))
            bigger[:, : self.rows] = self.buf[:, : self.rows]
            self.buf = bigger
        self.buf[:, self.rows : self.rows + n] = table.T
        self.rows += n

    def columns(self) -> dict:
        return {name: self.buf[j, : self.rows] for j, name in enumerate(self.names)}


def _fast_block(lines: list[str], ncols: int, quoted: bool):
    """numpy's C reader on a block of lines; None when anything looks wrong (the slow path
    then finds the exact cell, or accepts what the C reader did not)."""
    import warnings

    import numpy as np

    if quoted and any(line.count('"') % 2 for line in lines):
        return None  # a quote left open: numpy would take the rest of the line as the cell

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "input contained no data": blank lines only
            table = np.loadtxt(
                lines, delimiter=",", quotechar='"', ndmin=2, dtype=float, comments=None
            )
    except ValueError:
        return None
    if table.size == 0:
        return table.reshape(0, ncols)
    if table.shape[1] != ncols or not np.isfinite(table).all():
        return None
    return table


def _slow_block(where: str, header: list[str], lines: list[str], lineno: int, row: int):
    """The reference reader of a block: the csv module and float(), cell by cell; the first
    bad cell is an InputError naming its line, data row and column."""
    import numpy as np

    values: list[float] = []
    n = len(header)
    for k, line in enumerate(lines):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        row += 1
        at = f"{where}: line {lineno + k} (data row {row})"
        cells = _cells(line)
        if cells is None:
            raise InputError(_say("row_quote", at=at))
        if len(cells) != n:
            raise InputError(
                _say("cells", at=at, count=len(cells), s="s" if len(cells) != 1 else "",
                     columns=n, names=", ".join(header))
            )  # fmt: skip
        for name, cell in zip(header, cells):
            text = cell.strip()
            if not text:
                raise InputError(_say("cell_empty", at=at, name=name))
            try:
                if "_" in text or not text.isascii():
                    raise ValueError(text)  # float() takes "1_0" and other digits; we do not
                value = float(text)
            except ValueError:
                raise InputError(_say("cell_nan", at=at, name=name, text=text)) from None
            if not math.isfinite(value):
                raise InputError(_say("cell_inf", at=at, name=name, text=text))
            values.append(value)
    return np.array(values, dtype=float).reshape(-1, n)


def _read_csv(src: _Source) -> Dataset:
    where = src.where
    header: list[str] | None = None
    store: _Columns | None = None
    for lineno, lines, quoted in _lines(src):
        if header is None:
            start = next((k for k, line in enumerate(lines) if line.strip()), None)
            if start is None:
                continue
            cells = _cells(lines[start].rstrip("\r"))
            if cells is None:
                raise InputError(_say("open_quote", where=where, line=lineno + start))
            header = [c.strip() for c in cells]
            _check_header(where, header)
            store = _Columns(where, header, src.size)
            lines = lines[start + 1 :]
            lineno += start + 1
        assert store is not None
        table = _fast_block(lines, len(header), quoted)
        if table is None:
            table = _slow_block(where, header, lines, lineno, store.rows)
        store.add(table, lines, lineno)
    if header is None or store is None:
        raise InputError(_say("empty", where=where))
    if store.rows == 0:
        raise InputError(_say("no_rows", where=where))
    return Dataset(src.path, tuple(header), store.columns(), store.rows)


# -- .npy / .npz: headers first, then the data in blocks --------------------------------
def _npy_header(stream: Callable[[int], bytes], where: str, what: str) -> ArrayInfo:
    """Read one .npy header from ``stream`` (a read function) without reading any data:
    the header's length is checked before the header is read, the header before the data."""
    import io
    import struct
    import warnings

    from numpy.lib import format as npy

    def fail(reason: str) -> InputError:
        return InputError(_say("bad_npy", where=where, reason=reason))

    magic = stream(8)
    if len(magic) < 8 or not magic.startswith(_NPY_MAGIC):
        raise fail(f"{what}: no .npy magic number")
    version = (magic[6], magic[7])
    if version == (1, 0):
        size_bytes = stream(2)
        fmt = "<H"
    elif version in ((2, 0), (3, 0)):
        size_bytes = stream(4)
        fmt = "<I"
    else:
        raise InputError(_say("npy_version", where=where, what=what, version=f"{version[0]}.{version[1]}"))
    if len(size_bytes) < struct.calcsize(fmt):
        raise fail(f"{what}: the header is cut short")
    size = struct.unpack(fmt, size_bytes)[0]
    if size > limits.MAX_NPY_HEADER:
        raise LimitError(
            _say("npy_header", where=where, what=what, size=count_text(size),
                 limit=count_text(limits.MAX_NPY_HEADER))
        )  # fmt: skip
    header = stream(size)
    if len(header) < size:
        raise fail(f"{what}: the header is cut short")
    if version == (3, 0):  # UTF-8 field names: as escapes, the 2.0 reader takes them
        try:
            header = header.decode("utf-8").encode("ascii", "backslashreplace")
        except UnicodeDecodeError:
            raise fail(f"{what}: the header is not UTF-8") from None
        magic, fmt = magic[:6] + b"\x02\x00", "<I"
    fake = io.BytesIO(magic + struct.pack(fmt, len(header)) + header)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # headers written by Python 2
            major, _minor = npy.read_magic(fake)
            read = npy.read_array_header_1_0 if major == 1 else npy.read_array_header_2_0
            shape, fortran, dtype = read(fake, max_header_size=limits.MAX_NPY_HEADER)
    except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError) as exc:
        raise fail(f"{what}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    if any(d < 0 for d in shape):
        raise fail(f"{what}: a negative dimension in shape {shape}")
    return ArrayInfo("", tuple(shape), dtype, bool(fortran))


def _check_dtype(where: str, what: str, dtype) -> None:
    """Numbers only: booleans, integers, floats — never objects, text, dates or sub-arrays."""
    if dtype.names is None and dtype.hasobject:
        raise InputError(_say("object", where=where, what=what))
    if dtype.names is not None:
        for name in dtype.names:
            sub = dtype.fields[name][0]
            if sub.hasobject:
                raise InputError(_say("object", where=where, what=_say("field", name=name)))
            if sub.shape or sub.kind not in "biuf":
                raise InputError(_say("dtype", where=where, what=_say("field", name=name), dtype=sub))
        return
    if dtype.kind not in "biuf":
        raise InputError(_say("dtype", where=where, what=what, dtype=dtype))


def _declared(where: str, what: str, info: ArrayInfo) -> int:
    """The numbers an array declares (fields × elements), refused over the limits."""
    fields = len(info.dtype.names) if info.dtype.names is not None else 1
    if info.dtype.names is not None and fields > limits.MAX_DATA_COLUMNS:
        raise LimitError(
            _say("columns", where=where, count=fields, limit=count_text(limits.MAX_DATA_COLUMNS))
        )
    count = info.size * fields
    if count > limits.MAX_DATA_VALUES:
        raise LimitError(
            _say("declared", where=where, what=what, count=count_text(count), shape=info.shape,
                 limit=count_text(limits.MAX_DATA_VALUES))
        )  # fmt: skip
    nbytes = info.size * info.dtype.itemsize
    if nbytes > limits.MAX_DATA_BYTES:
        raise LimitError(
            _say("declared_bytes", where=where, what=what, count=count_text(nbytes),
                 limit=count_text(limits.MAX_DATA_BYTES))
        )  # fmt: skip
    return count


def _npy_data(stream: Callable[[int], bytes], where: str, what: str, info: ArrayInfo) -> dict:
    """The data after a checked header, read in blocks into float64 arrays (no other copy):
    {field name: array} for a structured array, {"": array} for a plain one."""
    import numpy as np

    dtype, n = info.dtype, info.size
    names = list(dtype.names) if dtype.names is not None else [""]
    out = {name: np.empty(n, dtype=float) for name in names}
    per = max(1, BLOCK // max(1, dtype.itemsize))
    done = 0
    while done < n:
        k = min(per, n - done)
        want = k * dtype.itemsize
        data = stream(want)
        if len(data) < want:
            raise InputError(_say("truncated", where=where, what=what, count=count_text(n)))
        chunk = np.frombuffer(data, dtype=dtype, count=k)
        for name in names:
            out[name][done : done + k] = chunk[name] if name else chunk
        done += k
    if info.fortran:
        return {name: a.reshape(info.shape, order="F") for name, a in out.items()}
    return {name: a.reshape(info.shape) for name, a in out.items()}


def _exact_reader(read: Callable[[int], bytes]) -> Callable[[int], bytes]:
    """A read function that returns ``n`` bytes, fewer only at the end of the stream."""

    def read_exact(n: int) -> bytes:
        parts, got = [], 0
        while got < n:
            data = read(min(n - got, BLOCK))
            if not data:
                break
            parts.append(data)
            got += len(data)
        return b"".join(parts)

    return read_exact


def _read_arrays(
    src: _Source, kind: str, check: Callable[[list[ArrayInfo]], None] | None
) -> dict:
    where = src.where
    if kind == "npy":
        what = _say("the_array")
        info = _npy_header(src.read_exact, where, what)
        _check_dtype(where, what, info.dtype)
        _declared(where, what, info)
        if info.dtype.names is not None:
            infos = [ArrayInfo(n, info.shape, info.dtype.fields[n][0]) for n in info.dtype.names]
        else:
            infos = [info]
        if check is not None:
            check(infos)
        return _npy_data(src.read_exact, where, what, info)
    return _read_npz(src, check)


def _zip_directory_check(fh: BinaryIO, where: str) -> None:
    """Refuse a zip whose directory lists too many members or is too large — read from the
    end-of-directory record before :mod:`zipfile` reads the directory itself."""
    import struct

    fh.seek(0, os.SEEK_END)
    size = fh.tell()
    tail = min(size, 22 + 65535)
    fh.seek(size - tail)
    end = fh.read(tail)
    at = end.rfind(b"PK\x05\x06")
    if at < 0 or at + 22 > len(end):
        return  # not a zip: zipfile says so
    entries, dir_size = struct.unpack("<HI", end[at + 10 : at + 16])
    if entries > limits.MAX_DATA_COLUMNS:  # 0xFFFF (ZIP64) is over the limit too
        raise LimitError(
            _say("members", where=where, count=count_text(entries),
                 limit=count_text(limits.MAX_DATA_COLUMNS))
        )  # fmt: skip
    if dir_size > limits.MAX_ZIP_DIRECTORY:
        raise LimitError(
            _say("directory_size", where=where, size=count_text(dir_size),
                 limit=count_text(limits.MAX_ZIP_DIRECTORY))
        )  # fmt: skip
    fh.seek(0)


def _read_npz(src: _Source, check: Callable[[list[ArrayInfo]], None] | None) -> dict:
    """Two passes over the zip's members: every header (and ``check``), then the data."""
    import tempfile
    import zipfile
    import zlib

    where = src.where
    spool = None
    fh: BinaryIO = src.fh
    if not src.regular:  # a pipe: copy it (within the byte limit) to seek in it
        spool = tempfile.TemporaryFile()
        while True:
            data = src.read(BLOCK)
            if not data:
                break
            spool.write(data)
        spool.seek(0)
        fh = spool
    errors = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, OSError)
    try:
        _zip_directory_check(fh, where)
        with zipfile.ZipFile(fh) as zf:
            members = zf.infolist()
            if len(members) > limits.MAX_DATA_COLUMNS:
                raise LimitError(
                    _say("members", where=where, count=count_text(len(members)),
                         limit=count_text(limits.MAX_DATA_COLUMNS))
                )  # fmt: skip
            infos: list[ArrayInfo] = []
            total = 0
            for m in members:
                if not m.filename.endswith(".npy"):
                    raise InputError(_say("member", where=where, name=m.filename))
                name = m.filename[:-4]
                what = _say("array", name=name)
                with zf.open(m) as stream:
                    info = _npy_header(_exact_reader(stream.read), where, what)
                _check_dtype(where, what, info.dtype)
                if info.dtype.names is not None:
                    raise InputError(_say("dtype", where=where, what=what, dtype=info.dtype))
                total += _declared(where, what, info)
                if total > limits.MAX_DATA_VALUES:
                    raise LimitError(
                        _say("declared_total", where=where, count=count_text(total),
                             limit=count_text(limits.MAX_DATA_VALUES))
                    )  # fmt: skip
                infos.append(ArrayInfo(name, info.shape, info.dtype, info.fortran))
            if check is not None:
                check(infos)
            out = {}
            for m, info in zip(members, infos):
                what = _say("array", name=info.name)
                with zf.open(m) as stream:
                    read = _exact_reader(stream.read)
                    _npy_header(read, where, what)
                    out[info.name] = _npy_data(read, where, what, info)[""]
            return out
    except errors as exc:
        raise InputError(_say("bad_npz", where=where, reason=str(exc) or type(exc).__name__)) from None
    finally:
        if spool is not None:
            spool.close()


def _column_check(where: str) -> Callable[[list[ArrayInfo]], None]:
    """A data set's arrays, from their headers alone: 1-D (or n×1, 1×n) and equally long."""

    def check(infos: list[ArrayInfo]) -> None:
        if not infos:
            raise InputError(_say("no_columns", where=where))
        if len(infos) == 1 and infos[0].name == "":
            raise InputError(_say("plain", where=where))
        first_rows = None
        for info in infos:
            shape = info.shape
            if not (len(shape) == 1 or (len(shape) == 2 and 1 in shape)):
                raise InputError(_say("not_1d", where=where, name=info.name, shape=shape))
            rows = info.size
            if first_rows is None:
                first_rows = rows
            elif rows != first_rows:
                raise InputError(
                    _say("ragged", where=where, name=info.name, rows=rows, first=infos[0].name,
                         first_rows=first_rows)
                )  # fmt: skip
        if first_rows is not None and first_rows > limits.MAX_DATA_ROWS:
            raise LimitError(
                _say("declared_rows", where=where, rows=count_text(first_rows),
                     limit=count_text(limits.MAX_DATA_ROWS))
            )  # fmt: skip

    return check


def _dataset_from_arrays(where: str, path: str, arrays: dict) -> Dataset:
    import numpy as np

    cols = {}
    rows = 0
    for name, a in arrays.items():
        a = a.reshape(-1)
        finite = np.isfinite(a)
        if not finite.all():
            i = int(np.argmin(finite))
            raise InputError(_say("npy_nan", where=where, row=i + 1, name=name, value=float(a[i])))
        cols[name] = a
        rows = a.shape[0]
    if not rows:
        raise InputError(_say("npy_no_rows", where=where))
    return Dataset(path, tuple(cols), cols, int(rows))


# -- binding ---------------------------------------------------------------------------
def parse_columns(items: list[str] | None) -> dict[str, str]:
    """``--column y=target`` (repeatable, comma-separated) -> {"y": "target"}."""
    out: dict[str, str] = {}
    for item in items or []:
        for part in item.split(","):
            part = part.strip()
            name, eq, col = part.partition("=")
            name, col = name.strip(), col.strip()
            if not eq or not name or not col:
                raise InputError(_say("column_syntax", part=part))
            if name in out and out[name] != col:
                raise InputError(_say("column_twice", name=name, old=out[name], new=col))
            out[name] = col
    return out


def _suggestion(missing: list[str], unused: tuple[str, ...]) -> tuple[str, str]:
    """The (variable, column) pair to suggest for ``--column``: a pair with similar names,
    else the last missing variable (a loss names its target last: ``(w*x - y)^2``) and the
    first unused column."""
    import difflib

    best, pair = 0.6, (missing[-1], unused[0])
    for v in missing:
        for c in unused:
            ratio = difflib.SequenceMatcher(None, v.lower(), c.lower()).ratio()
            if ratio > best:
                best, pair = ratio, (v, c)
    return pair


def bind(
    program,
    dataset: Dataset,
    mapping: dict[str, str] | None = None,
    at: dict | None = None,
    x0: bool = False,
) -> Binding:
    """Columns named like variables bind to them; ``mapping`` overrides; the rest are parameters.

    While some column is unused, a variable that is neither bound nor in ``at`` is an error
    that suggests ``--column VAR=COLUMN``: a misnamed column is not silently replaced by a
    fitted parameter. With every column bound, such a variable is a parameter (it starts at
    1 with a warning, as without data). ``x0``: the start of the one parameter is given
    another way (``descend --x0``), so one variable missing from ``at`` is not an error.
    """
    from .core.program import suggest

    mapping = mapping or {}
    at = at or {}
    variables = program.variables
    for name, col in mapping.items():
        if name not in variables:
            if name in program.named:
                raise InputError(_say("column_computed", name=name))
            raise InputError(_say("column_unknown", name=name, hint=suggest(name, variables)))
        if col not in dataset.columns:
            raise InputError(
                _say("column_absent", name=name, col=col, file=dataset.file,
                     columns=", ".join(dataset.names), hint=suggest(col, dataset.names))
            )  # fmt: skip
    columns: dict[str, str] = {}
    for v in variables:
        if v in mapping:
            columns[v] = mapping[v]
        elif v in dataset.columns:
            columns[v] = v
    for v in at:
        if v in columns:
            raise InputError(_say("at_bound", name=v, col=columns[v], file=dataset.file))
    if not columns:
        raise InputError(
            _say("no_binding", file=dataset.file, columns=", ".join(dataset.names),
                 variables=", ".join(variables) or "none")
        )  # fmt: skip
    used = set(columns.values())
    unused = tuple(c for c in dataset.names if c not in used)
    parameters = tuple(v for v in variables if v not in columns)
    missing = [v for v in parameters if v not in at]
    if unused and len(missing) > (1 if x0 else 0):
        if len(unused) == 1:
            text = _say("unused_one", col=unused[0])
        else:
            text = _say("unused_many", cols=", ".join(f"'{c}'" for c in unused))
        name, col = _suggestion(missing, unused)
        key = "unbound" if len(missing) == 1 else "unbound_many"
        raise InputError(
            _say(key, name=name, names=", ".join(missing), file=dataset.file, unused=text, col=col)
        )
    return Binding(columns, parameters, unused)


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
MAX_ROWS = limits.MAX_DATA_ROWS  # --n: what `data` writes, `--data` reads
CHUNK_ROWS = 1 << 16  # rows generated (and written) per step: memory does not grow with --n
DIGITS = 10  # significant digits written
LARGEST = 1.797693134e308  # the largest number whose 10-digit text parses back finite


@dataclass(frozen=True)
class DataSpec:
    """A validated `backprop data` request: which model, how many rows, which numbers."""

    kind: str
    n: int
    seed: int
    sigma: float | None  # None: the model has no additive noise
    params: dict[str, float]  # every parameter of the model (defaults filled in)


def data_spec(
    kind: str, n: int, seed: int, noise: float | None = None, params: dict | None = None
) -> DataSpec:
    """Check the options of `backprop data` (exit 2 on a bad one) before any work."""
    if kind not in MODELS:
        raise InputError(_say("kind", kind=kind, kinds=", ".join(MODELS)))
    model = MODELS[kind]
    if not 1 <= n <= MAX_ROWS:
        raise InputError(_say("n", n=n, limit=MAX_ROWS))
    if seed < 0:
        raise InputError(_say("seed", seed=seed))
    if noise is not None and not model.noisy:
        raise InputError(_say("noiseless", kind=kind))
    sigma = DEFAULT_NOISE if noise is None else noise
    if sigma < 0:
        raise InputError(_say("noise", sigma=sigma))
    p = dict(model.defaults)
    for name, value in (params or {}).items():
        if name not in p:
            raise InputError(_say("param", name=name, kind=kind, names=", ".join(model.defaults)))
        p[name] = value
    return DataSpec(kind, n, seed, sigma if model.noisy else None, p)


def chunks(spec: DataSpec, size: int = CHUNK_ROWS) -> Iterator[tuple[Any, Any]]:
    """(x, y) blocks of at most ``size`` rows, equal to one draw of all n rows: all x first,
    then all ε (or the labels' uniform draws) — a second generator starts where the first n
    draws end (PCG64 ``advance``: one 64-bit draw per uniform number)."""
    import numpy as np

    n, p = spec.n, spec.params
    gen_x = np.random.Generator(np.random.PCG64(spec.seed))
    bits = np.random.PCG64(spec.seed)
    bits.advance(n)
    gen_e = np.random.Generator(bits)
    lo, hi = (-3.0, 3.0) if spec.kind == "logistic" else (-1.0, 1.0)
    with np.errstate(all="ignore"):  # huge parameters: the rows are checked, not warned about
        for start in range(0, n, size):
            k = min(size, n - start)
            x = gen_x.uniform(lo, hi, k)
            if spec.kind == "logistic":
                prob = 1.0 / (1.0 + np.exp(-(p["w"] * x + p["b"])))
                y = (gen_e.uniform(0.0, 1.0, k) < prob).astype(float)
            else:
                eps = gen_e.standard_normal(k)
                assert spec.sigma is not None
                if spec.kind == "linear":
                    y = p["w"] * x + p["b"] + spec.sigma * eps
                else:
                    y = p["a"] * x * x + p["b"] * x + p["c"] + spec.sigma * eps
            yield x, y


def check_finite(spec: DataSpec) -> None:
    """Refuse a request whose rows would not be finite numbers once written — before anything
    is written (a pass over the generator: cheap next to formatting the text)."""
    import numpy as np

    row = 0
    for x, y in chunks(spec):
        for name, col in (("x", x), ("y", y)):
            ok = np.abs(col) <= LARGEST  # False for inf and NaN too
            if not ok.all():
                i = int(np.argmin(ok))
                given = ", ".join(f"{k} = {v:g}" for k, v in spec.params.items())
                if spec.sigma is not None:
                    given += f", σ = {spec.sigma:g}"
                raise InputError(
                    _say("infinite", kind=spec.kind, row=row + i + 1, column=name,
                         value=f"{float(col[i]):g}", given=given)
                )  # fmt: skip
        row += len(x)


def generate(kind: str, n: int, seed: int, noise: float | None = None, params: dict | None = None):
    """Columns (x, y) of a synthetic data set; ε ~ N(0, 1) from numpy's PCG64 seeded by ``seed``."""
    import numpy as np

    spec = data_spec(kind, n, seed, noise, params)
    xs, ys = zip(*chunks(spec))
    return {"x": np.concatenate(xs), "y": np.concatenate(ys)}


def csv_text(x, y) -> str:
    """Rows ``x,y`` with 10 significant digits (they parse back exactly as written)."""
    import numpy as np

    flat = np.column_stack([x, y]).ravel().tolist()
    return (f"%.{DIGITS}g,%.{DIGITS}g\n" * len(x)) % tuple(flat)


def csv_pieces(spec: DataSpec) -> Iterator[str]:
    """The CSV file, header first, one block of rows at a time."""
    yield "x,y\n"
    for x, y in chunks(spec):
        yield csv_text(x, y)


def column_values(spec: DataSpec, name: str) -> Iterator[list[float]]:
    """One column's numbers as written to the CSV (10 digits, read back), block by block."""
    for x, y in chunks(spec):
        col = x if name == "x" else y
        text = (f"%.{DIGITS}g " * len(col)) % tuple(col.tolist())
        yield [float(v) for v in text.split()]


def to_csv(columns: dict) -> str:
    """CSV text with a header; numbers with 10 significant digits (parse back exactly as written)."""
    import io

    import numpy as np

    names = list(columns)
    buf = io.StringIO()
    buf.write(",".join(names) + "\n")
    np.savetxt(buf, np.column_stack([columns[c] for c in names]), delimiter=",", fmt="%.10g")
    return buf.getvalue()
