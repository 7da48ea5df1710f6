"""render/descend.json_rows: a descend row written as JSON text by hand is exactly the text
jsonout.dumps makes of the row's dict — on real runs, and number by number on every awkward
float (NaN, ±inf, −0.0, subnormals, huge, None)."""

from __future__ import annotations

import math
import random

import backprop_cli
from backprop_cli.engines.descend import descend
from backprop_cli.render.descend import iteration_record
from backprop_cli.render.jsonout import dumps


def test_column_texts_equal_dumps_on_awkward_numbers():
    """Every number as jsonout.dumps writes it: NaN, ±inf, None as null; −0.0, subnormals,
    huge values, ints and numpy floats exactly."""
    import numpy as np

    from backprop_cli.render.descend import _texts

    rng = random.Random(1)
    pool = [None, math.nan, math.inf, -math.inf, -0.0, 0.0, 5e-324, 1.0, 3, np.float64(0.1),
            -1.7976931348623157e308]  # fmt: skip
    for _ in range(300):
        col = [rng.choice(pool + [rng.uniform(-1e300, 1e300), rng.random() * 1e-310])
               for _ in range(rng.randrange(1, 12))]  # fmt: skip
        assert _texts(col) == [dumps(x) for x in col], col
    assert _texts([]) == []


def test_json_rows_from_columns_equal_the_records_json():
    """The columnar writer (long runs) gives, row for row, the text of each record's JSON —
    on the generated sgd loop (rows recomputed), the stored path (adam), a run whose last
    row failed (domain_error), two variables, and blocks longer than BLOCK_FROM."""
    from backprop_cli.render.descend import json_rows

    cases = [
        ("(x - 1)^4 + 0.001", {"x": 0.0}, "sgd", dict(tol=1e-300, max_iter=300)),
        ("(x - 1)^4 + sin(x)", {"x": 0.0}, "adam", dict(tol=1e-300, max_iter=300)),
        ("log(x)", {"x": 2.0}, "sgd", dict(max_iter=50)),
        ("(x - 1)^2 + 3*y^2", {"x": 0.0, "y": 1.0}, "sgd", dict(max_iter=200)),
        ("x^2", {"x": 1.0}, "sgd", dict(max_iter=10_000)),
    ]
    for text, start, opt, kw in cases:
        run = descend(backprop_cli.compile(text), start, opt, 0.1 if opt == "sgd" else 0.01, **kw)
        rows = list(json_rows(run))
        assert len(rows) == len(run)
        for k in range(len(run)):
            assert rows[k] == dumps(iteration_record(run.record(k))), (text, k)
