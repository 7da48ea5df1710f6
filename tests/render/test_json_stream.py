"""--json of descend, the descend sweep, descend --data and solve is written row by row
(jsonout.emit_stream): one strict document with every row, the same fields as the whole
document, bounded memory, and a valid ending when it is cut short.
"""

from __future__ import annotations

import io
import tracemalloc

import pytest
from typer.testing import CliRunner

from backprop_cli import compile as compile_program
from backprop_cli.cli import app
from backprop_cli.data import generate, to_csv
from backprop_cli.engines.descend import descend, sweep
from backprop_cli.engines.solve import Iteration, iterate, make_run
from backprop_cli.errors import DomainError
from backprop_cli.render import descend as descend_view
from backprop_cli.render import jsonout
from backprop_cli.render import solve as solve_view
from tests.helpers.oracles import strict_json as strict

ENV = {"COLUMNS": "120", "NO_COLOR": "1"}


def invoke(*args, input=None):
    return CliRunner().invoke(app, list(args), env=ENV, input=input)


# -- the writer ------------------------------------------------------------------------


def test_without_rows_it_writes_exactly_what_emit_writes():
    doc = {"schema": "s", "a": [1.5, float("nan")], "b": {"c": "x\u2028y", "d": None}, "e": {}}
    out = io.StringIO()
    jsonout.emit_stream(doc, stream=out)
    assert out.getvalue() == jsonout.dumps(doc) + "\n"


def test_rows_at_any_depth_and_a_tail_written_after_them():
    doc = {
        "schema": "s",
        "runs": jsonout.Rows(
            {"k": k, "rows": jsonout.Rows({"i": i} for i in range(k))} for k in range(3)
        ),
        "empty": jsonout.Rows(iter(())),
    }
    out = io.StringIO()
    jsonout.emit_stream(doc, tail=lambda: {"status": "ok"}, stream=out)
    text = out.getvalue()
    assert text.endswith("}\n") and text.count("\n") == 1
    assert strict(text) == {
        "schema": "s",
        "runs": [
            {"k": 0, "rows": []},
            {"k": 1, "rows": [{"i": 0}]},
            {"k": 2, "rows": [{"i": 0}, {"i": 1}]},
        ],
        "empty": [],
        "status": "ok",
    }


@pytest.mark.parametrize(
    "exc, kind",
    [
        (KeyboardInterrupt(), "interrupted"),
        (DomainError("ln of -1"), "domain_error"),
        (RuntimeError("boom"), "internal_error"),
    ],
)
def test_cut_short_it_still_ends_one_valid_document(exc, kind):
    def rows():
        yield {"i": 0}
        yield {"i": 1}
        raise exc

    out = io.StringIO()
    before = jsonout.EMITTED
    with pytest.raises(type(exc)):
        jsonout.emit_stream(
            {"schema": "s", "iterations": jsonout.Rows(rows())},
            lambda: {"status": "converged"},
            out,
        )
    doc = strict(out.getvalue())
    assert doc["iterations"] == [{"i": 0}, {"i": 1}]  # what was written stays
    assert doc["status"] == kind and doc["error"]["kind"] == kind and doc["message"]
    assert jsonout.EMITTED == before + 1  # the CLI boundary will not print a second document
    if isinstance(exc, DomainError):
        assert exc.json_document_closed


def test_cut_after_the_status_was_written_keeps_one_status():
    class Tail(dict):
        def items(self):
            yield "status", "converged"
            raise KeyboardInterrupt

    out = io.StringIO()
    with pytest.raises(KeyboardInterrupt):
        jsonout.emit_stream({"schema": "s"}, lambda: Tail(), out)
    doc = strict(out.getvalue())
    assert doc["status"] == "converged" and doc["stream_error"]["kind"] == "interrupted"


def test_memory_is_one_row_not_the_whole_array():
    row = {
        "iteration": 0,
        "values": {"x": 0.1},
        "loss": 0.5,
        "gradient": {"x": 0.2},
        "steps": {"x": -0.02},
    }

    class Sink:
        n = 0

        def write(self, text):
            self.n += len(text)

        def flush(self):
            pass

    sink = Sink()
    tracemalloc.start()
    try:
        jsonout.emit_stream(
            {
                "schema": "s",
                "iterations": jsonout.Rows(dict(row, iteration=k) for k in range(50_000)),
            },
            stream=sink,
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sink.n > 50_000 * 80  # every row went out
    assert peak < 1_000_000, peak  # held whole, 50 000 rows would take tens of MB


# -- the commands ----------------------------------------------------------------------


def test_descend_json_has_every_row_of_a_long_run():
    n = 20_000
    r = invoke("descend", "x^2", "--x0", "1", "--eta", "1e-7", "--max-iter", str(n), "--json")
    assert r.exit_code == 1, r.stderr
    doc = strict(r.stdout)
    assert doc["status"] == "max_iterations" and doc["result"]["iterations"] == n
    rows = doc["iterations"]
    assert [row["iteration"] for row in rows] == list(range(n + 1))
    # x_k = (1 − 2η)^k exactly as the loop computes it; row 0 the start, the last row no step
    assert rows[0]["values"] == {"x": 1.0} and rows[0]["gradient"] == {"x": 2.0}
    assert rows[1]["values"]["x"] == 1.0 - 1e-7 * 2.0
    assert rows[-1]["steps"] is None and rows[-1]["values"] == doc["result"]["values"]
    assert rows[0]["curvature"] == 2.0 and rows[0]["stability_bound"] == 1.0


def test_descend_json_same_fields_as_the_whole_document():
    p = compile_program("(x - 1)^2 + 0.001")
    run = descend(p, {"x": 0.2}, "sgd", 0.1)
    r = invoke("descend", "--eta", "0.1", "--x0", "0.2", "--json")
    assert r.exit_code == 0, r.stderr
    assert strict(r.stdout) == strict(jsonout.dumps(descend_view.descend_document(run)))


def test_sweep_json_same_as_the_whole_document():
    p = compile_program("(x - 1)^2 + 0.1")
    runs = sweep(p, {"x": -0.8}, "sgd", [0.1, 0.4, 1.0, 1.1])
    r = invoke("descend", "(x - 1)^2 + 0.1", "--x0", "-0.8", "--eta", "0.1,0.4,1.0,1.1", "--json")
    assert r.exit_code == 0, r.stderr
    doc = strict(r.stdout)
    assert doc == strict(jsonout.dumps(descend_view.sweep_document(runs)))
    assert doc["statuses"] == ["converged", "converged", "oscillating", "diverged"]


@pytest.mark.parametrize(
    "args",
    [
        ["(w*2+b)*(b+1)", "--at", "w=3,b=4", "--target", "60", "--vary", "b"],
        ["ln(x)", "--at", "x=2", "--target", "-800"],  # domain_error: attempted, node, error
        [
            "a*b",
            "--at",
            "a=1,b=2",
            "--target",
            "8",
            "--split",
            "gradient",
            "--max-iter",
            "2",
            "--tol",
            "1e-300",
        ],
    ],
)
def test_solve_json_streamed_same_as_the_whole_document(args):
    expr, at, target = args[0], dict(kv.split("=") for kv in args[2].split(",")), float(args[4])
    p = compile_program(expr)
    opts = dict(zip(args[5::2], args[6::2]))
    split = opts.get("--split", "even")
    max_iter = int(opts.get("--max-iter", 100))
    tol = float(opts.get("--tol", 1e-5))
    vary = tuple(opts["--vary"].split(",")) if "--vary" in opts else tuple(p.variables)
    start = {k: float(v) for k, v in at.items()}
    recs = list(
        iterate(p, start, target, vary, split=split, gradient="refresh", tol=tol, max_iter=max_iter)
    )
    rows = [x for x in recs if isinstance(x, Iteration)]
    run = make_run(p, start, target, vary, split, "refresh", tol, max_iter, rows, recs[-1])
    r = invoke("solve", *args, "--json")
    assert r.exit_code == (0 if run.result.status == "converged" else 1), r.stderr
    assert strict(r.stdout) == strict(jsonout.dumps(solve_view.solve_document(run, (), "f")))


def test_descend_data_json_streamed_has_every_row(tmp_path):
    path = tmp_path / "points.csv"
    path.write_text(to_csv(generate("linear", 50, 0)))
    args = ["descend", "(w*x + b - y)^2", "--data", str(path), "--at", "w=0,b=0", "--eta", "0.5"]
    r = invoke(*args, "--log", "step", "--batch-size", "10", "--epochs", "3", "--json")
    assert r.exit_code == 0, r.stderr  # the epoch budget ends it: completed
    doc = strict(r.stdout)
    assert doc["status"] == "completed" and doc["result"]["iterations"] == 15
    assert [row["iteration"] for row in doc["iterations"]] == list(range(16))
    assert len(doc["epoch_losses"]) == 4 and doc["data"]["rows"] == 50
    # the same as --jsonl (rows emitted one by one, then the summary line), line for line
    lines = [
        strict(line)
        for line in invoke(
            *args, "--log", "step", "--batch-size", "10", "--epochs", "3", "--jsonl"
        ).stdout.splitlines()
    ]
    assert [line.pop("record") for line in lines] == ["iteration"] * 16 + ["summary"]
    assert doc == {**lines[-1], "iterations": lines[:-1]}


# -- Ctrl-C at every point the interpreter can raise it ---------------------------------------


def _document():
    """A document with every shape emit_stream writes: plain members, Rows at two depths, an
    empty Rows, a streamed dict inside a dict, and a tail."""
    doc = {
        "schema": "s",
        "setup": {"eta": 0.1},
        "runs": jsonout.Rows(
            {"k": k, "rows": jsonout.Rows({"i": i} for i in range(k))} for k in range(3)
        ),
        "empty": jsonout.Rows(iter(())),
        "nested": {"inner": jsonout.Rows(iter([1, 2]))},
    }
    return doc, lambda: {"status": "converged", "result": {"iterations": 2}}


def _through_the_boundary(stream, monkeypatch, write_document):
    """What the CLI prints: the --json boundary around an emit_stream call on stdout."""
    import typer

    from backprop_cli.commands.common import boundary

    monkeypatch.setattr("sys.stdout", stream)
    try:
        with boundary(json_mode=True, schema="s"):
            write_document()
    except typer.Exit as exc:
        return exc.exit_code
    except KeyboardInterrupt:  # (uncaught, it would stop the whole test session)
        pytest.fail("a KeyboardInterrupt got past the CLI boundary")
    return 0


class InterruptedStream(io.StringIO):
    """stdout whose ``n``-th write raises KeyboardInterrupt as it returns, the text taken:
    where CPython raises a Ctrl-C that arrives during a write (a signal's exception is raised
    when the C call returns, never inside it: _signal_exception_comes_after_the_call).
    Later writes work, as stdout does for the CLI boundary's own document."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n, self.calls = n, 0

    def write(self, text: str) -> int:
        self.calls += 1
        taken = super().write(text)
        if self.calls == self.n:
            raise KeyboardInterrupt
        return taken


def _signal_exception_comes_after_the_call():
    """The premise of InterruptedStream: a C call's effect is done when its signal's
    exception comes (the append below never runs, the kill did)."""
    import os
    import signal

    class Signalled(Exception):
        pass

    def raise_it(signum, frame):
        raise Signalled

    previous = signal.signal(signal.SIGUSR1, raise_it)
    effect: list = []
    try:
        with pytest.raises(Signalled):
            effect.append(os.kill(os.getpid(), signal.SIGUSR1))
    finally:
        signal.signal(signal.SIGUSR1, previous)
    assert effect == []


def test_ctrl_c_during_any_write_leaves_one_valid_document(monkeypatch):
    _signal_exception_comes_after_the_call()
    doc, tail = _document()
    total = InterruptedStream(0)
    jsonout.emit_stream(doc, tail, total)
    complete = strict(total.getvalue())
    assert total.calls > 10
    for n in range(1, total.calls + 1):
        doc, tail = _document()
        stream = InterruptedStream(n)
        code = _through_the_boundary(
            stream, monkeypatch, lambda: jsonout.emit_stream(doc, tail, None)
        )
        text = stream.getvalue()
        assert text.endswith("}\n") and text.count("\n") == 1, (n, text)
        got = strict(text)  # exactly one document: json.loads refuses extra data
        if n == total.calls:  # the last write: the document was complete
            assert got == complete and code == 130
            continue
        assert code == 130, (n, text)
        status = got.get("status")
        assert status == "interrupted" or got["stream_error"]["kind"] == "interrupted", (n, text)


class BlockedPipe(io.StringIO):
    """stdout as a full pipe with a slow reader: a Ctrl-C arrives during write number ``n``
    (and ``n + 1``, ... with ``times``). A write that holds SIGINT back completes and the
    signal waits (raised when released); any other fails as Python's I/O fails a blocked
    write a signal interrupts (EINTR, the handler raising): KeyboardInterrupt, its text
    lost."""

    def __init__(self, n: int, times: int = 1) -> None:
        super().__init__()
        self.n, self.times, self.calls = n, times, 0

    def write(self, text: str) -> int:
        import signal
        import threading

        self.calls += 1
        if self.n <= self.calls < self.n + self.times:
            if signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, ()):
                # to this thread, as Ctrl-C reaches the single-threaded CLI: pending until
                # released (a signal sent to the process could go to another thread here)
                signal.pthread_kill(threading.get_ident(), signal.SIGINT)
            else:
                raise KeyboardInterrupt
        return super().write(text)


@pytest.mark.parametrize("times", [1, 2], ids=["one Ctrl-C", "two Ctrl-C"])
def test_ctrl_c_during_a_write_blocked_on_a_full_pipe_leaves_one_valid_document(
    monkeypatch, times
):
    import signal
    import threading

    if not hasattr(signal, "pthread_sigmask"):
        pytest.skip("no pthread_sigmask")
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals reach the main thread only")
    if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        pytest.skip("SIGINT is not Python's default handler here")
    doc, tail = _document()
    total = BlockedPipe(0)
    jsonout.emit_stream(doc, tail, total)
    for n in range(1, total.calls + 1):
        doc, tail = _document()
        stream = BlockedPipe(n, times)
        code = _through_the_boundary(
            stream, monkeypatch, lambda: jsonout.emit_stream(doc, tail, None)
        )
        text = stream.getvalue()
        assert code == 130, (n, text)
        assert text.endswith("}\n") and text.count("\n") == 1, (n, text)
        strict(text)  # exactly one document: json.loads refuses extra data


def _eval_breaker_points(code):
    """Offsets where CPython may run a signal handler in ``code``: after a call returns, at a
    backward jump, on entering the function (3.11+: RESUME, JUMP_BACKWARD, the CALL family)."""
    import dis

    points, after_call = set(), False
    for ins in dis.get_instructions(code):
        if after_call or ins.opname == "RESUME" or ins.opname.startswith("JUMP_BACKWARD"):
            points.add(ins.offset)
        after_call = ins.opname.startswith("CALL") or ins.opname == "FOR_ITER"
    return points


def test_ctrl_c_at_every_point_the_interpreter_can_raise_it_leaves_one_valid_document(
    monkeypatch,
):
    """sys.settrace raises KeyboardInterrupt before the n-th instruction of emit_stream (and
    of its helper) at which CPython checks for a pending signal — after every call returns
    (every write, every dumps, every row pulled from a generator), at every loop's back
    jump, on entering the helper — for every n: the CLI then prints one valid document."""
    import sys

    codes = {jsonout.emit_stream.__code__}
    codes |= {c for c in jsonout.emit_stream.__code__.co_consts if hasattr(c, "co_code")}
    points = {code: _eval_breaker_points(code) for code in codes}

    def run(n: int):
        seen = [0]

        def local(frame, event, arg):
            if event == "opcode" and frame.f_lasti in points[frame.f_code]:
                seen[0] += 1
                if seen[0] == n:
                    raise KeyboardInterrupt
            return local

        def trace(frame, event, arg):
            if frame.f_code in codes:
                frame.f_trace_opcodes = True
                return local
            return None

        doc, tail = _document()
        stream = io.StringIO()

        def write_document():
            sys.settrace(trace)
            try:
                jsonout.emit_stream(doc, tail, None)
            finally:
                sys.settrace(None)

        code = _through_the_boundary(stream, monkeypatch, write_document)
        return seen[0], code, stream.getvalue()

    total, code, text = run(0)
    assert code == 0 and total > 50
    complete = strict(text)
    for n in range(1, total + 1):
        _, code, text = run(n)
        assert code == 130, (n, text)
        assert text.endswith("}\n") and text.count("\n") == 1, (n, text)
        got = strict(text)  # exactly one document
        assert got == complete or got.get("status") == "interrupted" or (
            got["stream_error"]["kind"] == "interrupted"
        ), (n, text)
