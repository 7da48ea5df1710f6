"""One full-batch descent step over 10^6 rows of a linear model: backprop vs hand-written numpy.

    PYTHONPATH=. python benchmarks/data_step.py [--rows 1000000] [--repeat 15]

backprop's step: Objective.evaluate (one compiled, vectorised call over the columns, the
per-sample partials of w and b averaged) plus the sgd update. The hand-written step:
r = w·x + b − y; loss = mean(r²); ∂/∂w = mean(2r·x); ∂/∂b = mean(2r); the same update.
Reports the median time of each and the ratio (the issue asks for ≤ 1.2); medians of three
interleaved rounds, the smallest of the three kept (the machine is shared).
"""

from __future__ import annotations

import argparse
import statistics
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=15)
    args = ap.parse_args()

    import numpy as np

    from backprop_cli import compile as compile_program
    from backprop_cli.data import Dataset, bind, generate
    from backprop_cli.engines.objective import Objective
    from backprop_cli.engines.optimizers import make

    cols = generate("linear", args.rows, seed=0)
    dataset = Dataset("<memory>", ("x", "y"), cols, args.rows)
    program = compile_program("(w*x + b - y)^2")
    objective = Objective(program, dataset, bind(program, dataset))
    sgd = make("sgd", 0.1)
    x, y = cols["x"], cols["y"]
    eta = 0.1

    def backprop_step(w, b):
        ev = objective.evaluate({"w": w, "b": b})
        dw, db = sgd.step([w, b], [ev.gradient["w"], ev.gradient["b"]])
        return w + dw, b + db, ev.value

    def numpy_step(w, b):
        r = w * x + b - y
        loss = float(np.mean(r * r))
        gw = float(np.mean(2.0 * r * x))
        gb = float(np.mean(2.0 * r))
        return w - eta * gw, b - eta * gb, loss

    a, c = backprop_step(0.5, 0.5), numpy_step(0.5, 0.5)
    assert all(abs(p - q) <= 1e-9 * max(1.0, abs(q)) for p, q in zip(a, c)), (a, c)

    def timed(step):
        out = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            step(0.5, 0.5)
            out.append(time.perf_counter() - t0)
        return statistics.median(out)

    from backprop_cli.engines import objective as objective_module

    def one_call_step(w, b):  # the whole batch in one compiled call (no blocks), for comparison
        saved = objective_module.BLOCK
        objective_module.BLOCK = args.rows + 1
        try:
            return backprop_step(w, b)
        finally:
            objective_module.BLOCK = saved

    times = {"backprop": [], "numpy": [], "one": []}
    for _ in range(3):  # interleave to share the machine's noise fairly
        times["backprop"].append(timed(backprop_step))
        times["numpy"].append(timed(numpy_step))
        times["one"].append(timed(one_call_step))
    tb, tn, to = min(times["backprop"]), min(times["numpy"]), min(times["one"])
    print(f"rows: {args.rows}")
    print(f"backprop full-batch step (median): {tb * 1e3:.2f} ms")
    print(f"hand-written numpy step (median):  {tn * 1e3:.2f} ms")
    print(f"ratio: {tb / tn:.3f} (target ≤ 1.2)")
    print(
        f"for comparison, one compiled call over all rows (no blocks): {to * 1e3:.2f} ms, ratio {to / tn:.3f}"
    )


if __name__ == "__main__":
    main()
