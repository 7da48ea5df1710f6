"""Bounded work on data files, measured in real child processes (issue 19): hostile `--data`
inputs are refused with the limit's message in bounded memory, a pipe on /dev/stdin is read
once, and `backprop data` writes with memory that does not grow with --n, whole or not at all.

Memory is the child's peak resident size (VmHWM, reported by the child itself); an
address-space limit (``RLIMIT_AS``, 2 GiB) is a safety net so that a regression
fails instead of exhausting the machine. No wall-clock assertion anywhere.
"""

from __future__ import annotations

import io
import json
import os
import struct
import tempfile
import zlib

import numpy as np
import pytest
from numpy.lib import format as npy

from tests.helpers.child import run

LINE = "(w*x + b - y)^2"


def baseline() -> float:
    """Peak RSS (MiB) of the same command on a tiny data set: Python, numpy, the CLI."""
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "tiny.csv")
        with open(path, "w") as fh:
            fh.write("x,y\n1,2\n")
        code, _, err, peak = run(["grad", LINE, "--data", path, "--at", "w=0,b=0"])
    assert code == 0, err
    return peak


# -- hostile --data inputs ----------------------------------------------------------------------
def test_dev_zero_and_one_huge_line_are_refused_in_bounded_memory(tmp_path):
    base = baseline()
    code, out, err, peak = run(["grad", LINE, "--data", "/dev/zero", "--at", "w=0,b=0"])
    assert code == 2 and out == ""
    assert err == "error: --data /dev/zero: line 1 is longer than the limit of 1 048 576 characters\n"
    assert peak < base + 32, (peak, base)
    huge = tmp_path / "huge.csv"
    with open(huge, "wb") as fh:
        fh.write(b"x,y\n")
        for _ in range(64):  # one line of 64 MiB
            fh.write(b"1" * (1 << 20))
    code, out, err, peak = run(["grad", LINE, "--data", str(huge), "--at", "w=0,b=0"])
    assert code == 2
    assert err == f"error: --data {huge}: line 2 is longer than the limit of 1 048 576 characters\n"
    assert peak < base + 32, (peak, base)


def zip_bomb(path, n: int = 10**8, names=("x", "y")) -> None:
    """A real .npz of two 10^8-element zero arrays (1.6 GB of data) in about 1.6 MB: the
    deflate stream is one compressed block of zeros repeated (a full flush between blocks
    makes them independent), with the true CRC — zipfile and np.load read it."""
    buf = io.BytesIO()
    npy.write_array_header_1_0(buf, {"descr": "<f8", "fortran_order": False, "shape": (n,)})
    header = buf.getvalue()
    chunk = bytes(1_000_000)
    reps = 8 * n // len(chunk)
    co = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = co.compress(header) + co.flush(zlib.Z_FULL_FLUSH)
    body = co.compress(chunk) + co.flush(zlib.Z_FULL_FLUSH)
    assert co.compress(chunk) + co.flush(zlib.Z_FULL_FLUSH) == body
    stream = head + body * reps + co.flush()
    crc = zlib.crc32(header)
    for _ in range(reps):
        crc = zlib.crc32(chunk, crc)
    size = len(header) + 8 * n
    out, central = io.BytesIO(), io.BytesIO()
    for name in names:
        fname = (name + ".npy").encode()
        offset = out.tell()
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 33, crc, len(stream),
                              size, len(fname), 0) + fname + stream)  # fmt: skip
        central.write(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 33, crc,
                                  len(stream), size, len(fname), 0, 0, 0, 0, 0, offset) + fname)  # fmt: skip
    cd = central.getvalue()
    start = out.tell()
    out.write(cd + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(names), len(names), len(cd), start, 0))
    with open(path, "wb") as fh:
        fh.write(out.getvalue())


def test_an_npz_bomb_is_refused_from_its_headers_in_bounded_memory(tmp_path):
    path = tmp_path / "bomb.npz"
    zip_bomb(path)
    assert os.path.getsize(path) < 2_000_000
    base = baseline()
    code, _, err, peak = run(["descend", LINE, "--data", str(path), "--at", "w=0,b=0"])
    assert code == 2
    assert err == (
        f"error: --data {path}: array 'x' declares 100 000 000 numbers (shape (100000000,)); "
        "the limit is 20 000 000 numbers\n"
    )
    assert peak < base + 32, (peak, base)
    with open(path, "rb") as fh:  # the same refusal through a pipe (spooled, never inflated)
        code, _, err, peak = run(["grad", LINE, "--data", "/dev/stdin", "--at", "w=0,b=0"], stdin=fh)
    assert code == 2 and "array 'x' declares 100 000 000 numbers" in err
    assert peak < base + 32, (peak, base)


def test_reading_memory_is_the_columns_themselves(tmp_path):
    """2·10^6 rows × 2 columns are 32 MB of float64: reading them costs about that, not a
    second copy (the text is parsed in 256 KiB blocks into one preallocated buffer)."""
    rows = 2_000_000
    path = tmp_path / "p.csv"
    rng = np.random.default_rng(1)
    with open(path, "w") as fh:
        fh.write("x,y\n")
        for _ in range(rows // 100_000):
            np.savetxt(fh, rng.uniform(-1, 1, (100_000, 2)), delimiter=",", fmt="%.10g")
    base = baseline()
    code, out, err, peak = run(["grad", "x + y", "--data", str(path), "--json"])
    assert code == 0, err
    assert '"rows": 2000000' in out
    assert peak < base + 32 + 16, (peak, base)  # 32 MB of columns (30.5 MiB), 16 MiB of slack


# -- a pipe is read once ----------------------------------------------------------------------
def test_dev_stdin_through_a_pipe(tmp_path):
    x = np.array([0.0, 1.0, 2.0, -1.0])
    y = np.array([3.0, 5.0, 7.1, 0.9])
    text = "x,y\n" + "".join(f"{float(a)!r},{float(b)!r}\n" for a, b in zip(x, y))
    code, out, err, _ = run(["grad", LINE, "--data", "/dev/stdin", "--at", "w=1,b=1", "--json"],
                            payload=text.encode())  # fmt: skip
    assert code == 0, err
    doc = json.loads(out)
    r = 1 * x + 1 - y  # the oracle: mean of r², its partials 2·mean(r·x), 2·mean(r)
    assert doc["value"] == pytest.approx(np.mean(r**2), rel=1e-15)
    assert doc["gradient"]["w"] == pytest.approx(2 * np.mean(r * x), rel=1e-15)
    assert doc["gradient"]["b"] == pytest.approx(2 * np.mean(r), rel=1e-15)
    assert doc["data"]["rows"] == 4 and doc["data"]["file"] == "/dev/stdin"
    buf = io.BytesIO()
    np.savez_compressed(buf, x=x, y=y)
    code, out2, err, _ = run(["grad", LINE, "--data", "/dev/stdin", "--at", "w=1,b=1", "--json"],
                             payload=buf.getvalue())  # fmt: skip
    assert code == 0, err
    assert json.loads(out2)["gradient"] == doc["gradient"]


# -- backprop data: streamed, bounded, whole or nothing ------------------------------------------
def test_data_memory_does_not_grow_with_n(tmp_path):
    """The documented maximum (--n 10 000 000) writes 250 MB of CSV; the memory of writing
    hardly differs between 10^5 and 2·10^6 rows (a few MiB of allocator noise that stops
    growing; holding the rows would cost 16 bytes a row, 30 MiB here, and the text 50 MB
    more), to a file, to stdout and as JSON — so 10^7 rows stay far below 256 MiB
    (measured: 52 MiB for the CSV, 57 MiB for the JSON)."""
    small, large = 100_000, 2_000_000
    peaks = {}
    for n in (small, large):
        out = tmp_path / f"p{n}.csv"
        code, _, err, peaks["file", n] = run(["data", "linear", "--n", str(n), "--output", str(out), "--quiet"])
        assert code == 0, err
        with open(out, "rb") as fh:
            lines = sum(1 for _ in fh)
        assert lines == n + 1
        with open(tmp_path / "stdout.csv", "wb") as sink:
            code, _, err, peaks["stdout", n] = run(["data", "linear", "--n", str(n)], stdout=sink)
        assert code == 0, err
        with open(tmp_path / "stdout.csv", "rb") as fh:
            assert fh.readline() == b"x,y\n" and sum(1 for _ in fh) == n
        with open(tmp_path / "stdout.json", "wb") as sink:
            code, _, err, peaks["json", n] = run(["data", "linear", "--n", str(n), "--json"], stdout=sink)
        assert code == 0, err
        with open(tmp_path / "stdout.json", "rb") as fh:
            doc = json.load(fh)
        assert len(doc["data"]["x"]) == len(doc["data"]["y"]) == n
    for where in ("file", "stdout", "json"):
        assert peaks[where, large] < peaks[where, small] + 8, peaks
        assert peaks[where, large] < 256, peaks


def test_a_failed_write_leaves_the_existing_file_untouched(tmp_path):
    """A write that fails half-way (here: the file-size limit, as a full disk would) is exit 1;
    the file that was there keeps its bytes, and no temporary file is left behind."""
    out = tmp_path / "points.csv"
    out.write_text("x,y\n1,2\n")
    code, _, err, _ = run(["data", "linear", "--n", "20000", "--output", str(out)], fsize=65536)
    assert code == 1
    assert err.startswith(f"error: cannot write '{out}': File too large")
    assert out.read_text() == "x,y\n1,2\n"
    assert sorted(os.listdir(tmp_path)) == ["points.csv"]
