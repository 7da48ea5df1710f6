"""Run `backprop ARGS` in a child process and measure its peak resident size (VmHWM),
under an address-space limit (``RLIMIT_AS``, 2 GiB) so that a memory regression fails a
test instead of exhausting the machine. Shared by the bounded-memory tests of every unit.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import threading

ENV = {**os.environ, "COLUMNS": "120", "NO_COLOR": "1"}
SAFETY_NET = 2 * 1024**3


# The child runs the CLI as the console script does and reports its peak resident size from
# /proc/self/status (VmHWM: this process image only — ru_maxrss would also count the pages of
# the forked pytest worker).
_CHILD = (
    "import atexit, sys\n"
    "report = sys.argv.pop(1)\n"
    "def peak():\n"
    "    with open('/proc/self/status') as f:\n"
    "        kib = next(line.split()[1] for line in f if line.startswith('VmHWM'))\n"
    "    with open(report, 'w') as out:\n"
    "        out.write(kib)\n"
    "atexit.register(peak)\n"
    "sys.argv = ['backprop', *sys.argv[1:]]\n"
    "from backprop_cli.cli import main\n"
    "main()\n"
)


def run(args, *, stdin=None, payload: bytes | None = None, fsize: int | None = None,
        stdout=None, timeout=300):  # fmt: skip
    """`backprop ARGS` in a child: (exit code, stdout, stderr, peak resident size in MiB)."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (SAFETY_NET, SAFETY_NET))
        if fsize is not None:
            import signal

            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG)
            resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))

    read_end = write_end = None
    if payload is not None:
        read_end, write_end = os.pipe()
        stdin = read_end
    with tempfile.TemporaryDirectory() as d, tempfile.TemporaryFile() as out, \
            tempfile.TemporaryFile() as err:  # fmt: skip
        report = os.path.join(d, "peak")
        p = subprocess.Popen([sys.executable, "-c", _CHILD, report, *args], stdin=stdin,
                             stdout=stdout or out, stderr=err, env=ENV, preexec_fn=limit)  # fmt: skip
        writer = None
        if payload is not None:
            os.close(read_end)

            def feed() -> None:
                try:
                    _write_all(write_end, payload)
                except OSError:
                    pass
                finally:
                    os.close(write_end)

            writer = threading.Thread(target=feed, daemon=True)
            writer.start()
        try:
            code = p.wait(timeout)
        finally:
            p.kill()
        if writer is not None:
            writer.join(10)
        out.seek(0)
        err.seek(0)
        with open(report) as fh:
            peak = int(fh.read()) / 1024
        return code, out.read().decode(), err.read().decode(), peak


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


