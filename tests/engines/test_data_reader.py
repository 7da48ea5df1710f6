"""The one reader of data files (backprop_cli/data.py, issue 19): limits checked while
reading, .npy/.npz headers checked before any data, RFC 4180 quoting, and a file read once
(FIFOs and pipes work). In-process; the memory-bound runs are in tests/cli/test_cli_data_bounds.py.
"""

from __future__ import annotations

import io
import os
import struct
import threading
import zipfile
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.lib import format as npy

from backprop_cli import limits
from backprop_cli.data import load, read_arrays
from backprop_cli.errors import InputError, LimitError


def write(tmp_path, data, name: str = "d.csv") -> str:
    p = tmp_path / name
    if isinstance(data, str):
        p.write_bytes(data.encode("utf-8"))
    else:
        p.write_bytes(data)
    return str(p)


def refusal(path: str) -> str:
    with pytest.raises((InputError, LimitError)) as exc:
        load(path)
    return exc.value.message


# -- RFC 4180 -------------------------------------------------------------------------------
def test_quoted_cells_and_headers_are_read(tmp_path):
    text = '"x","y, measured"\r\n"1",2\r\n3,"4.5"\r\n\r\n"-1e-3"  ,"+6"\r\n'
    d = load(write(tmp_path, "\ufeff" + text))
    assert d.names == ("x", "y, measured") and d.rows == 3
    assert d.columns["x"].tolist() == [1.0, 3.0, -0.001]
    assert d.columns["y, measured"].tolist() == [2.0, 4.5, 6.0]


@st.composite
def csv_files(draw):
    """A valid CSV file: quoted or bare cells, spaces around them, blank lines, CRLF or LF,
    a BOM or not — and the numbers it holds."""
    ncols = draw(st.integers(1, 4))
    rows = draw(st.lists(st.lists(st.floats(-1e307, 1e307),  # (10 digits of 1.8e308 overflow)
                                  min_size=ncols, max_size=ncols), min_size=1, max_size=40))  # fmt: skip
    eol = draw(st.sampled_from(["\n", "\r\n"]))

    def cell(text: str) -> str:
        quoted = draw(st.booleans())
        pad = draw(st.sampled_from(["", " ", "  "]))
        return f'"{pad}{text}{pad}"' if quoted else f"{pad}{text}{pad}"

    lines = [",".join(cell(f"c{j}") for j in range(ncols))]
    for row in rows:
        if draw(st.integers(0, 5)) == 0:
            lines.append(draw(st.sampled_from(["", "  ", "\t"])))
        lines.append(",".join(cell(draw(st.sampled_from([repr, "{:.10g}".format, "{:e}".format]))(v))
                              for v in row))  # fmt: skip
    text = ("\ufeff" if draw(st.booleans()) else "") + eol.join(lines)
    if draw(st.booleans()):
        text += eol
    return text, rows


@given(csv_files(), st.sampled_from([16, 64, 4096]))
def test_any_valid_csv_reads_as_the_csv_module_and_float_read_it(tmp_path_factory, case, block):
    """The oracle: Python's csv module and float() on the whole text. Small read blocks
    make lines, quotes, CRLF and the BOM straddle the block boundaries."""
    import csv

    from backprop_cli import data

    text, rows = case  # rows: the numbers before formatting (%.10g rounds some of them)
    path = tmp_path_factory.mktemp("csv") / "f.csv"
    path.write_bytes(text.encode("utf-8"))
    parsed = [r for r in csv.reader(io.StringIO(text.lstrip("\ufeff"))) if any(c.strip() for c in r)]
    names = tuple(c.strip() for c in parsed[0])
    expect = [[float(c) for c in r] for r in parsed[1:]]
    assert len(expect) == len(rows)
    old = data.BLOCK
    data.BLOCK = block
    try:
        d = load(str(path))
    finally:
        data.BLOCK = old
    got = [list(r) for r in zip(*(d.columns[n].tolist() for n in d.names))]
    assert d.names == names and d.rows == len(expect) and got == expect


QUOTED_BAD = [  # today's bad-cell messages, word for word, for quoted cells; then the new ones
    ('"x","y"\n"1","abc"\n', "line 2 (data row 1), column 'y': 'abc' is not a number"),
    ('"x","y"\n1,2\n"nan",2\n', "line 3 (data row 2), column 'x': 'nan' is not a finite number"),
    ('x,y\n1,2\n\n"3"\n', "line 4 (data row 2) has 1 cell; the header has 2 columns (x, y)"),
    ('x,y\n1,""\n', "line 2 (data row 1), column 'y': the cell is empty"),
    ('x,y\n"1,2\n3,4\n', "line 2 (data row 1): a quoted cell is not closed"),
    ('"x,y\n1,2\n', "line 1: a quoted cell is not closed"),
    ('x,y\n1,2\n3,"4\n', "line 3 (data row 2): a quoted cell is not closed"),
    ("x,y\n1,1_0\n", "line 2 (data row 1), column 'y': '1_0' is not a number"),
]


def test_quoted_bad_cells_name_line_row_and_column(tmp_path):
    wrong = []
    for k, (text, message) in enumerate(QUOTED_BAD):
        path = write(tmp_path, text, f"bad{k}.csv")
        try:
            load(path)
            got = "(read without an error)"
        except (InputError, LimitError) as exc:
            got = exc.message
        if not got.startswith(f"--data {path}: {message}"):
            wrong.append((text, got))
    assert wrong == []


# -- limits while reading ---------------------------------------------------------------------
def test_a_line_over_the_limit_is_refused_with_its_number(tmp_path):
    long = "1" * limits.MAX_LINE_CHARS
    path = write(tmp_path, f"x,y\n{long},2\n3,4\n")  # 1 048 578 characters on line 2
    assert refusal(path) == (
        f"--data {path}: line 2 is longer than the limit of 1 048 576 characters"
    )
    ok = write(tmp_path, "x\n" + "7".rjust(limits.MAX_LINE_CHARS) + "\n", "ok.csv")
    assert load(ok).columns["x"].tolist() == [7.0]  # exactly the limit: read
    endless = write(tmp_path, "x,y\n1,2\n" + "9" * (3 * limits.MAX_LINE_CHARS), "e.csv")
    assert refusal(endless) == (
        f"--data {endless}: line 3 is longer than the limit of 1 048 576 characters"
    )


def test_rows_numbers_columns_and_bytes_limits(tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "MAX_DATA_ROWS", 4)
    monkeypatch.setattr(limits, "MAX_DATA_VALUES", 9)
    rows = write(tmp_path, "x\n1\n2\n\n3\n4\n5\n")
    assert refusal(rows) == f"--data {rows}: line 7 is data row 5; the limit is 4 data rows"
    values = write(tmp_path, "x,y,z\n1,2,3\n4,5,6\n7,8,9\n1,1,1\n", "v.csv")
    assert refusal(values) == (
        f"--data {values}: line 5 is data row 4 of 3 columns: more than the limit of 9 "
        "numbers (rows × columns)"
    )
    monkeypatch.setattr(limits, "MAX_DATA_BYTES", 100)
    big = write(tmp_path, "x\n" + "1\n" * 60, "b.csv")
    assert refusal(big) == f"--data {big}: the file is larger than the limit of 100 bytes"
    monkeypatch.undo()
    header = ",".join(f"c{k}" for k in range(10_001))
    wide = write(tmp_path, header + "\n", "w.csv")
    assert refusal(wide) == f"--data {wide}: 10001 columns; the limit is 10 000"


def test_the_limits_admit_what_data_writes():
    """`backprop data --n` and the reader share their row limit; the widest row `data` can
    write (16 + 17 characters of %.10g, a comma, a newline) fits the byte limit."""
    from backprop_cli import data

    assert data.MAX_ROWS == limits.MAX_DATA_ROWS == 10_000_000
    assert limits.MAX_DATA_VALUES >= 2 * limits.MAX_DATA_ROWS
    widest = len("%.10g" % -1.234567891e-05) + len("%.10g" % -1.797693134e308) + 2
    assert widest == 35 and widest * limits.MAX_DATA_ROWS + 4 <= limits.MAX_DATA_BYTES


# -- .npy / .npz: headers before data -----------------------------------------------------------
def npy_bytes(shape, descr="<f8", data: bytes = b"", version=(1, 0)) -> bytes:
    buf = io.BytesIO()
    header = {"descr": descr, "fortran_order": False, "shape": shape}
    if version == (1, 0):
        npy.write_array_header_1_0(buf, header)
    else:
        npy.write_array_header_2_0(buf, header)
    return buf.getvalue() + data


def test_declared_shape_over_the_limit_is_refused_before_any_data(tmp_path):
    """The members hold 8 bytes, not 10^8 numbers: the refusal comes from the header alone."""
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("x.npy", npy_bytes((10**8,), data=bytes(8)))
        zf.writestr("y.npy", npy_bytes((10**8,), data=bytes(8)))
    assert refusal(str(path)) == (
        f"--data {path}: array 'x' declares 100 000 000 numbers (shape (100000000,)); "
        "the limit is 20 000 000 numbers"
    )
    total = tmp_path / "total.npz"
    with zipfile.ZipFile(total, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("x.npy", npy_bytes((15_000_000,)))
        zf.writestr("y.npy", npy_bytes((15_000_000,)))
    assert refusal(str(total)) == (
        f"--data {total}: its arrays declare 30 000 000 numbers in all; the limit is 20 000 000"
    )
    rows = tmp_path / "rows.npz"
    with zipfile.ZipFile(rows, "w") as zf:
        zf.writestr("x.npy", npy_bytes((10_000_001,)))
    assert refusal(str(rows)) == (
        f"--data {rows}: its columns declare 10 000 001 data rows; the limit is 10 000 000 data rows"
    )
    short = tmp_path / "short.npz"
    with zipfile.ZipFile(short, "w") as zf:
        zf.writestr("x.npy", npy_bytes((3,), data=struct.pack("<2d", 1.0, 2.0)))
    assert refusal(str(short)) == (
        f"--data {short}: array 'x' is truncated: its header declares 3 numbers, its data ends early"
    )


def test_a_huge_npy_header_is_refused_before_it_is_read(tmp_path):
    """Version 2.0 gives the header length in 4 bytes: 2 GiB is refused on sight."""
    path = write(tmp_path, npy.MAGIC_PREFIX + b"\x02\x00" + struct.pack("<I", 2**31), "h.npy")
    assert refusal(path) == (
        f"--data {path}: the array has a header of 2 147 483 648 bytes; the limit is 65 536"
    )


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: np.save(p, np.array([1, "a"], dtype=object), allow_pickle=True),
         "the array holds Python objects (object arrays are never loaded), not numbers"),
        (lambda p: np.save(p, np.zeros(2, dtype=[("x", float), ("o", object)]), allow_pickle=True),
         "field 'o' holds Python objects (object arrays are never loaded), not numbers"),
        (lambda p: np.save(p, np.zeros(2, dtype=[("x", float), ("t", "U3")])),
         "field 't' holds <U3 values, not numbers"),
        (lambda p: np.save(p, np.zeros(2, dtype=[("x", float), ("v", float, (3,))])),
         "field 'v' holds ('<f8', (3,)) values, not numbers"),
        (lambda p: np.save(p, np.zeros(2, dtype=[("x", float), ("c", complex)])),
         "field 'c' holds complex128 values, not numbers"),
    ],
)  # fmt: skip
def test_npy_dtypes_other_than_numbers_are_refused(tmp_path, make, message):
    path = str(tmp_path / "a.npy")
    make(path)
    assert refusal(path) == f"--data {path}: {message}"


def test_read_arrays_serves_named_tensors(tmp_path):
    """The reader `--init FILE.npz` will use: any shape (Fortran order too), numbers of every
    numeric dtype as float64, the header check before any data, objects never unpickled."""
    W = np.arange(6, dtype=">i4").reshape(2, 3)
    path = tmp_path / "init.npz"
    np.savez(path, W=np.asfortranarray(W), b=np.array([True, False]), s=np.float32(0.5))
    arrays = read_arrays(str(path))
    assert sorted(arrays) == ["W", "b", "s"]
    assert arrays["W"].dtype == np.float64 and arrays["W"].tolist() == W.tolist()
    assert arrays["b"].tolist() == [1.0, 0.0] and arrays["s"].shape == () and arrays["s"] == 0.5
    seen = []

    def check(infos):
        seen.extend((i.name, i.shape, i.dtype.str) for i in infos)
        raise InputError("--init: W must be 3×2")

    with pytest.raises(InputError, match="W must be 3×2"):
        read_arrays(str(path), check=check)
    assert seen == [("W", (2, 3), ">i4"), ("b", (2,), "|b1"), ("s", (), "<f4")]
    obj = tmp_path / "obj.npz"
    np.savez(obj, W=np.array([{"a": 1}], dtype=object))
    with pytest.raises(InputError) as exc:
        read_arrays(str(obj))
    assert exc.value.message == f"--init {obj}: array 'W' holds Python objects (object arrays are never loaded), not numbers"
    csv = write(tmp_path, "x\n1\n", "v.csv")
    with pytest.raises(InputError, match="not an .npz or .npy file"):
        read_arrays(csv)


# -- one read: FIFOs and pipes ------------------------------------------------------------------
def feed_fifo(path: str, chunks) -> Callable[[], None]:
    """A writer thread: waits for a reader, writes ``chunks``, closes — and then serves every
    later opening of the FIFO with an empty stream, so a reader that opens it twice gets EOF
    (and a wrong answer) instead of waiting forever. Returns the function that stops it."""
    done = threading.Event()

    def run() -> None:
        first = True
        while not done.is_set():
            try:
                with open(path, "wb") as fh:  # blocks until a reader opens the FIFO
                    if first:
                        first = False
                        for chunk in chunks:
                            fh.write(chunk)
            except BrokenPipeError:  # the reader stopped reading (a limit): fine
                pass

    writer = threading.Thread(target=run, daemon=True)
    writer.start()

    def stop() -> None:
        done.set()
        while writer.is_alive():  # release a writer waiting for its next reader
            os.close(os.open(path, os.O_RDONLY | os.O_NONBLOCK))
            writer.join(0.05)

    return stop


@pytest.mark.filterwarnings("ignore:Stored array in format 3.0")
@pytest.mark.parametrize("kind", ["csv", "npz", "npy", "npy3"])
def test_a_fifo_is_read_once_in_every_format(tmp_path, kind):
    x = np.array([0.5, -1.0, 2.0])
    y = np.array([3.0, 1.0, 7.25])
    buf = io.BytesIO()
    name = "α" if kind == "npy3" else "x"  # a non-Latin-1 field name: a version 3.0 header
    if kind == "csv":
        buf.write(f"{name},y\n".encode())
        buf.write(b"".join(b"%r,%r\n" % (float(a), float(b)) for a, b in zip(x, y)))
    elif kind == "npz":
        np.savez_compressed(buf, **{name: x, "y": y})
    else:
        rec = np.zeros(3, dtype=[(name, "<f4"), ("y", ">f8")])
        rec[name], rec["y"] = x, y
        np.save(buf, rec)
    if kind == "npy3":
        assert buf.getvalue()[6:8] == b"\x03\x00"
    fifo = str(tmp_path / "fifo")  # no extension: the first bytes tell the format
    os.mkfifo(fifo)
    stop = feed_fifo(fifo, [buf.getvalue()])
    try:
        d = load(fifo)
    finally:
        stop()
    assert d.names == (name, "y") and d.rows == 3
    assert d.columns[name].tolist() == x.tolist() and d.columns["y"].tolist() == y.tolist()


def test_a_stream_longer_than_the_row_limit_stops_there(tmp_path, monkeypatch):
    """64 MB of rows through a FIFO against a limit of 50 000 rows: refused at the limit,
    with the number of the line that crossed it."""
    monkeypatch.setattr(limits, "MAX_DATA_ROWS", 50_000)
    fifo = str(tmp_path / "endless")
    os.mkfifo(fifo)
    stop = feed_fifo(fifo, [b"x,y\n"] + [b"1,2\n" * 4096] * 4096)
    try:
        message = refusal(fifo)
    finally:
        stop()
    assert message == f"--data {fifo}: line 50 002 is data row 50 001; the limit is 50 000 data rows"
