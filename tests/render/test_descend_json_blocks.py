"""The columns a long run's JSON is written from, and the block texts written from them:
recomputed rows (the generated sgd loop keeps points only) equal the rows the reference
loop stored, and every block is its rows' jsonout.dumps texts joined — across block
boundaries, a last block holding only the run's last row, two variables, a failed last row."""

from __future__ import annotations

import dataclasses

import pytest

import backprop_cli
from backprop_cli.engines.descend import BLOCK, BLOCK_FROM, descend
from backprop_cli.render.descend import iteration_record, json_blocks, jsonl_iteration
from backprop_cli.render.jsonout import dumps

RUNS = [
    # (program, start, eta, settings): rows the test reaches
    ("(x - 1)^4 + 0.001", {"x": 0.0}, 0.1, dict(tol=1e-300, max_iter=BLOCK)),  # BLOCK + 1 rows
    ("(x - 1)^4 + 0.001", {"x": 0.0}, 0.1, dict(tol=1e-300, max_iter=BLOCK - 1)),  # BLOCK rows
    ("(x - 1)^2 + 3*y^2 + x*y", {"x": 0.0, "y": 1.0}, 0.05, dict(tol=1e-300, max_iter=2500)),
    ("sin(x) + exp(x/3) + x^2/7", {"x": 2.0}, 0.05, dict(tol=1e-300, max_iter=300)),
    ("log(x)", {"x": 2.0}, 0.1, dict(max_iter=50)),  # domain_error: the last row has no loss
    ("x^2", {"x": 1.0}, 0.1, dict(max_iter=BLOCK_FROM // 2)),  # shorter than BLOCK_FROM
]


def _run(text, start, eta, settings):
    return descend(backprop_cli.compile(text), start, "sgd", eta, fast=False, **settings)


@pytest.mark.parametrize("case", RUNS, ids=lambda c: f"{c[0]} ({c[3]['max_iter']})")
def test_recomputed_rows_equal_the_rows_the_reference_loop_stored(case):
    """A run without stored rows recomputes them (compiled function per row, sgd steps on
    the block's columns): float for float — repr, so −0.0 and 0.0 differ — the losses,
    gradients and steps the plain loop computed and kept while it ran."""
    stored = _run(*case)
    assert stored.stored is not None
    recomputed = dataclasses.replace(stored, stored=None, _cache={})
    n = len(stored)
    for a in range(0, n, BLOCK):
        for b in {a + 1, a + BLOCK_FROM, a + BLOCK}:  # short blocks (per row) and long
            want, got = stored.columns(a, b), recomputed.columns(a, b)
            assert repr(got) == repr(want), (case[0], a, b)
    assert repr(recomputed.losses()) == repr(stored.losses())


@pytest.mark.parametrize("case", RUNS, ids=lambda c: f"{c[0]} ({c[3]['max_iter']})")
@pytest.mark.parametrize("lines", [False, True], ids=["json", "jsonl"])
def test_blocks_are_their_rows_dumps_joined(case, lines):
    """--json writes blocks of rows joined by ", ", --jsonl by newlines: together, exactly
    jsonout.dumps of every row's record in order, whether the rows were stored or
    recomputed."""
    stored = _run(*case)
    if lines:
        prefix, sep, record = '{"record": "iteration", ', "\n", jsonl_iteration
    else:
        prefix, sep, record = "{", ", ", iteration_record
    want = sep.join(dumps(record(r)) for r in stored)
    for run in (stored, dataclasses.replace(stored, stored=None, _cache={})):
        blocks = list(json_blocks(run, prefix, sep))
        assert len(blocks) == -(-len(run) // BLOCK)
        assert sep.join(blocks) == want, case[0]
