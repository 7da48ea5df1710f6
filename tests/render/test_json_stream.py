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
