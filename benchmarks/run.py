"""backprop benchmarks: medians and ratios against hand-written code, in one process, one run.

    PYTHONPATH=. python benchmarks/run.py            # full run (a few minutes on a busy machine)
    PYTHONPATH=. python benchmarks/run.py --quick    # smoke run: tiny counts, numbers meaningless

Every workload is timed round-robin with its hand-written baseline (each round runs every
candidate once, many rounds; the medians are reported and the ratio is candidate median /
baseline median), so a noisy neighbour slows all candidates of a round alike. Every
workload also checks that backprop's numbers equal the hand-written ones before timing.
See benchmarks/README.md for the workloads, the targets and the last recorded results.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from math import cos, exp, log, sin, sqrt
from typing import Callable

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:  # run as `python benchmarks/run.py` from anywhere
    sys.path.insert(0, ROOT)

import backprop_cli  # noqa: E402


# --------------------------------------------------------------------------------------
# timing
@dataclass
class Row:
    workload: str
    path: str
    median: float  # seconds per call (or per run)
    baseline: float | None = None  # seconds, the hand-written baseline of the same run
    target: float | None = None  # ratio ceiling from the issue (None: no target)
    note: str = ""
    floor: float | None = None  # seconds of the hand-simplified code (W1, W2 only)

    @property
    def ratio(self) -> float | None:
        return None if self.baseline is None else self.median / self.baseline


@dataclass
class Config:
    quick: bool
    rounds: int  # round-robin rounds (medians over these)
    scale: float  # multiplies the inner loop counts
    n_points: int  # W4 batch size
    w6_steps: int
    cli_runs: int
    compile_runs: int
    notes: list[str] = field(default_factory=list)


def _calls_per_round(seconds_per_call: float, cfg: Config, budget: float = 0.01) -> int:
    """Inner loop count so one round of one candidate takes about ``budget`` seconds."""
    n = int(budget * cfg.scale / max(seconds_per_call, 1e-9))
    return max(1, min(n, 200_000))


def race(candidates: dict[str, Callable[[int], float]], cfg: Config, rounds: int | None = None) -> dict[str, float]:
    """Median seconds per call of each candidate, interleaved round by round.

    A candidate is ``run(n) -> seconds for n calls``.
    """
    rounds = rounds or cfg.rounds
    # calibrate the inner counts once
    counts = {}
    for name, run in candidates.items():
        run(1)
        t = run(3) / 3
        counts[name] = _calls_per_round(t, cfg)
    samples: dict[str, list[float]] = {name: [] for name in candidates}
    gc_was = gc.isenabled()
    gc.disable()
    try:
        for _ in range(rounds):
            for name, run in candidates.items():
                n = counts[name]
                samples[name].append(run(n) / n)
    finally:
        if gc_was:
            gc.enable()
    return {name: statistics.median(s) for name, s in samples.items()}


def loop(fn: Callable, *args) -> Callable[[int], float]:
    """A runner calling ``fn(*args)`` n times (the loop itself is the same for every candidate)."""

    def run(n: int) -> float:
        r = range(n)
        t0 = time.perf_counter()
        for _ in r:
            fn(*args)
        return time.perf_counter() - t0

    return run


def once(fn: Callable, *args) -> Callable[[int], float]:
    """A runner for long workloads: n whole runs, timed together."""

    def run(n: int) -> float:
        t0 = time.perf_counter()
        for _ in range(n):
            fn(*args)
        return time.perf_counter() - t0

    return run


def close(a, b, rel=1e-9) -> bool:
    return abs(a - b) <= rel * max(1.0, abs(a), abs(b))


def check_same(what: str, got, want, rel=1e-9) -> None:
    """backprop must agree with the hand-written baseline before it is timed."""
    gv, gg = got
    wv, wg = want
    ok = close(gv, wv, rel) and len(gg) == len(wg) and all(close(x, y, rel) for x, y in zip(gg, wg))
    if not ok:
        raise AssertionError(f"{what}: backprop {got!r} != hand-written {want!r}")


# --------------------------------------------------------------------------------------
# W1, W2: one value-and-gradient call
W1 = "(w*2+b)*(b+1)"


def hand_w1(w, b):
    """The derivative coded by hand, chain rule written out as in the lesson."""
    x = 2 * w + b
    y = b + 1
    z = x * y
    dz_dx = y
    dz_dy = x
    dz_dw = dz_dx * 2
    dz_db = dz_dx * 1 + dz_dy * 1
    return z, (dz_dw, dz_db)


def simplified_w1(w, b):
    """The same, simplified by hand to the fewest float operations: a floor, not a target."""
    x = w * 2.0 + b
    y = b + 1.0
    return x * y, (2.0 * y, x + y)


W2 = "sqrt(ln(x^2))"


def hand_w2(x):
    u = x**2
    v = log(u)
    s = sqrt(v)
    ds_dv = 1 / (2 * s)
    dv_du = 1 / u
    du_dx = 2 * x
    return s, (ds_dv * dv_du * du_dx,)


def simplified_w2(x):
    u = x * x
    s = sqrt(log(u))
    return s, (x / (s * u),)  # d/dx sqrt(ln x²) = (1 / 2s) · (2x / x²)


def bench_scalar(name: str, text: str, hand: Callable, simple: Callable, point: dict, cfg: Config, rows: list[Row]) -> None:
    p = backprop_cli.compile(text)
    f = p.function()
    args = tuple(float(point[v]) for v in p.variables)
    want = hand(*args)
    check_same(name + " simplified", simple(*args), want, rel=1e-12)
    check_same(name, f(*args), want)
    vg_value, vg_grad = p.value_and_grad(point)
    check_same(name + " dict", (vg_value, tuple(vg_grad[v] for v in p.variables)), want)
    t = p.trace(point)
    check_same(name + " trace", (t.value, tuple(t.adjoints[p.graph.names[v]] for v in p.variables)), want)
    m = race(
        {
            "hand": loop(hand, *args),
            "simple": loop(simple, *args),
            "fast": loop(f, *args),
            "dict": loop(p.value_and_grad, point),
            "interp": loop(p.trace, point),
        },
        cfg,
    )
    base, fl = m["hand"], m["simple"]
    rows.append(Row(name, "hand-written Python (chain rule by hand)", base, base, floor=fl))
    rows.append(Row(name, "hand-simplified Python (floor)", fl, base, floor=fl))
    rows.append(Row(name, "program.function() (fast path)", m["fast"], base, 1.1, floor=fl))
    rows.append(Row(name, "value_and_grad(dict)", m["dict"], base, 2.5, floor=fl))
    rows.append(Row(name, "program.trace (interpreter)", m["interp"], base, floor=fl))
    if name == "W1":
        for label, make in _others():
            try:
                runner = make()
            except Exception as exc:  # an optional library that will not run here
                cfg.notes.append(f"{label}: skipped ({type(exc).__name__}: {exc})")
                continue
            mm = race({"hand": loop(hand, *args), label: runner}, cfg)
            rows.append(Row(name, label, mm[label], mm["hand"], note="same-round hand-written"))


def _others():
    """Optional rows: micrograd, PyTorch, JAX — only when importable (never installed by us)."""
    out = []
    if importlib.util.find_spec("micrograd") is not None:

        def micrograd():
            from micrograd.engine import Value

            def run():
                w, b = Value(3.0), Value(4.0)
                z = (w * 2 + b) * (b + 1)
                z.backward()
                return z.data, (w.grad, b.grad)

            check_same("micrograd", run(), hand_w1(3.0, 4.0))
            return loop(run)

        out.append(("micrograd", micrograd))
    if importlib.util.find_spec("torch") is not None:

        def torch_row():
            import torch

            def run():
                w = torch.tensor(3.0, dtype=torch.float64, requires_grad=True)
                b = torch.tensor(4.0, dtype=torch.float64, requires_grad=True)
                z = (w * 2 + b) * (b + 1)
                z.backward()
                return z.item(), (w.grad.item(), b.grad.item())

            check_same("PyTorch", run(), hand_w1(3.0, 4.0))
            return loop(run)

        out.append(("PyTorch autograd", torch_row))
    if importlib.util.find_spec("jax") is not None:

        def jax_row():
            import jax

            jax.config.update("jax_enable_x64", True)
            vg = jax.jit(jax.value_and_grad(lambda w, b: (w * 2 + b) * (b + 1), argnums=(0, 1)))

            def run():
                v, (gw, gb) = vg(3.0, 4.0)
                return float(v), (float(gw), float(gb))

            check_same("JAX", run(), hand_w1(3.0, 4.0))
            return loop(run)

        out.append(("JAX jit(value_and_grad)", jax_row))
    return out


# --------------------------------------------------------------------------------------
# W3: a generated 1000-operation, 10-variable program
@dataclass
class Generated:
    text: str
    variables: list[str]
    point: dict[str, float]
    steps: list[tuple]  # (target, kind, operands...) primitive steps for the hand-written code
    ops: int


def generate(n_ops: int = 1000, n_vars: int = 10, seed: int = 20240601) -> Generated:
    """A seeded random program of exactly ``n_ops`` operations (+ − × ÷ sin exp log).

    Every statement applies one operation kind to earlier names (preferring names not yet
    used, so the output depends on nearly everything); the values are tracked while
    generating so every operation stays in its domain and magnitudes stay moderate:
    ÷ divides by (b^2 + 1), log takes log(a^2 + 1), exp only of |a| < 4, × only when the
    product stays under 100 in magnitude.
    """
    rng = random.Random(seed)
    names = [f"x{i}" for i in range(n_vars)]
    value = {v: rng.uniform(-1.5, 1.5) for v in names}
    point = dict(value)
    unused = list(names)
    pool = list(names)
    stmts: list[str] = []
    steps: list[tuple] = []
    ops = 0
    k = 0

    def fresh() -> str:
        nonlocal k
        k += 1
        return f"t{k}"

    def pick() -> str:
        if unused and rng.random() < 0.6:
            return unused.pop(rng.randrange(len(unused)))
        s = pool[rng.randrange(max(0, len(pool) - 50), len(pool))]
        if s in unused:
            unused.remove(s)
        return s

    def emit(text: str, target: str, val: float, cost: int, new_steps: list[tuple]) -> None:
        nonlocal ops
        stmts.append(f"{target} = {text}")
        value[target] = val
        pool.append(target)
        unused.append(target)
        steps.extend(new_steps)
        ops += cost

    while True:
        # closing the program adds len(unused) - 1 additions
        remaining = n_ops - ops - (len(unused) - 1)
        if remaining <= 0:
            break
        kinds = ["+", "-", "*", "sin", "exp"] + (["/", "log"] if remaining >= 3 else [])
        kind = rng.choice(kinds)
        if kind in ("+", "-", "*") and len(unused) + len(pool) < 2:
            kind = "sin"
        if remaining < 3 and kind in ("+", "-", "*") and len(unused) <= 1:
            kind = "sin"
        t = fresh()
        if kind in ("+", "-", "*"):
            a, b = pick(), pick()
            va, vb = value[a], value[b]
            if kind == "*" and abs(va * vb) >= 100:
                kind = "+"
            if kind in ("+", "-") and abs(va + vb if kind == "+" else va - vb) >= 1e3:
                kind = "*" if abs(va * vb) < 100 else "-"
                if kind == "-" and abs(va - vb) >= 1e3:
                    # fold it back with sin (still one operation)
                    unused.append(b)
                    emit(f"sin({a})", t, sin(va), 1, [(t, "sin", a)])
                    continue
            val = {"+": va + vb, "-": va - vb, "*": va * vb}[kind]
            emit(f"{a} {kind} {b}", t, val, 1, [(t, kind, a, b)])
        elif kind == "sin":
            a = pick()
            emit(f"sin({a})", t, sin(value[a]), 1, [(t, "sin", a)])
        elif kind == "exp":
            a = pick()
            if abs(value[a]) < 4:
                emit(f"exp({a})", t, exp(value[a]), 1, [(t, "exp", a)])
            else:
                emit(f"sin({a})", t, sin(value[a]), 1, [(t, "sin", a)])
        elif kind == "/":
            a, b = pick(), pick()
            q, r = t + "q", t + "r"
            den = value[b] * value[b] + 1.0
            emit(f"{a} / ({b}^2 + 1)", t, value[a] / den, 3,
                 [(q, "*", b, b), (r, "+1", q), (t, "/", a, r)])  # fmt: skip
        else:  # log
            a = pick()
            q, r = t + "q", t + "r"
            emit(f"log({a}^2 + 1)", t, log(value[a] * value[a] + 1.0), 3,
                 [(q, "*", a, a), (r, "+1", q), (t, "log", r)])  # fmt: skip
    # the output: the sum of everything not used yet
    rest = list(unused)
    out = "out"
    stmts.append(f"{out} = " + " + ".join(rest))
    acc = rest[0]
    for j, name in enumerate(rest[1:]):
        tgt = out if j == len(rest) - 2 else f"{out}_{j}"
        steps.append((tgt, "+", acc, name))
        acc = tgt
    if len(rest) == 1:
        steps.append((out, "copy", rest[0]))
    ops += len(rest) - 1
    return Generated("; ".join(stmts), names, point, steps, ops)


def hand_written_source(g: Generated) -> str:
    """What a careful programmer would type: straight-line forward pass, then the adjoints."""
    lines = [f"def hand({', '.join(g.variables)}):"]
    for st in g.steps:
        t, kind, *a = st
        expr = {
            "+": lambda: f"{a[0]} + {a[1]}",
            "-": lambda: f"{a[0]} - {a[1]}",
            "*": lambda: f"{a[0]} * {a[1]}",
            "/": lambda: f"{a[0]} / {a[1]}",
            "+1": lambda: f"{a[0]} + 1.0",
            "sin": lambda: f"sin({a[0]})",
            "exp": lambda: f"exp({a[0]})",
            "log": lambda: f"log({a[0]})",
            "copy": lambda: f"{a[0]}",
        }[kind]()
        lines.append(f"    {t} = {expr}")
    out = g.steps[-1][0]
    seen: set[str] = {out}

    def add(name: str, contrib: str) -> None:
        if name not in seen:
            seen.add(name)
            lines.append(f"    d_{name} = {contrib}")
        else:
            lines.append(f"    d_{name} += {contrib}")

    for st in reversed(g.steps):
        t, kind, *a = st
        if t not in seen:
            continue
        gt = "1.0" if t == out else f"d_{t}"
        if kind in ("+", "copy", "+1"):
            for x in a[: 1 if kind != "+" else 2]:
                add(x, gt)
        elif kind == "-":
            add(a[0], gt)
            add(a[1], f"-{gt}")
        elif kind == "*":
            if a[0] == a[1]:
                add(a[0], f"2.0 * {a[0]} * {gt}")
            else:
                add(a[0], f"{gt} * {a[1]}")
                add(a[1], f"{gt} * {a[0]}")
        elif kind == "/":
            add(a[0], f"{gt} / {a[1]}")
            add(a[1], f"-{gt} * {t} / {a[1]}")
        elif kind == "sin":
            add(a[0], f"{gt} * cos({a[0]})")
        elif kind == "exp":
            add(a[0], f"{gt} * {t}")
        elif kind == "log":
            add(a[0], f"{gt} / {a[0]}")
    grads = ", ".join(f"d_{v}" if v in seen else "0.0" for v in g.variables)
    lines.append(f"    return {out}, ({grads},)")
    return "\n".join(lines) + "\n"


def bench_w3(cfg: Config, rows: list[Row]) -> None:
    g = generate()
    ns = {"sin": sin, "cos": cos, "exp": exp, "log": log}
    hand_src = hand_written_source(g)
    exec(compile(hand_src, "<hand-written W3>", "exec"), ns)
    hand = ns["hand"]
    args = tuple(g.point[v] for v in g.variables)
    # compile time: parse + graph + generate + exec + first call, fresh each time — with a
    # yardstick of this machine's speed: CPython compiling the hand-written source. The
    # 20 ms target is absolute, and this machine's speed swings by up to ~1.8x from one
    # second to the next, so the two alternate in blocks (a block, not single runs: run
    # back to back, each made the other ~10 % slower, through the caches and allocator)
    times, yard = [], []
    blocks = 4 if cfg.compile_runs >= 8 else 1
    per = max(1, cfg.compile_runs // blocks)
    for _ in range(blocks):
        for _ in range(per):
            t0 = time.perf_counter()
            p = backprop_cli.compile(g.text)
            f = p.function(g.variables)
            f(*args)
            times.append(time.perf_counter() - t0)
        for _ in range(per):
            t0 = time.perf_counter()
            compile(hand_src, "<hand-written W3>", "exec")
            yard.append(time.perf_counter() - t0)
    n_ops = sum(1 for n in p.nodes if n.op not in ("var", "const", "id"))
    # where the compile time goes: parse, graph, code generation (emit + Python's compile)
    from backprop_cli import accel
    from backprop_cli.core.graph import build
    from backprop_cli.core.program import Program
    from backprop_cli.lang.lexer import prepare_source
    from backprop_cli.lang.parser import parse_flat

    acc = accel.active()  # what compile() hands out (None with BACKPROP_REFERENCE=1)

    parts: dict[str, list[float]] = {"parse": [], "graph": [], "codegen": []}
    for _ in range(cfg.compile_runs):
        t0 = time.perf_counter()
        # what compile() reads: the quick parser's flat form, else the careful parser's
        tree = (acc.try_parse(prepare_source(g.text)) if acc else None) or parse_flat(g.text)
        t1 = time.perf_counter()
        graph = build(tree)
        t2 = time.perf_counter()
        Program(graph, accel=acc).function(g.variables)
        t3 = time.perf_counter()
        parts["parse"].append(t1 - t0)
        parts["graph"].append(t2 - t1)
        parts["codegen"].append(t3 - t2)
    cfg.notes.append("W3 compile time, medians: " + ", ".join(
        f"{k} {statistics.median(v) * 1e3:.1f} ms" for k, v in parts.items()))  # fmt: skip
    want = hand(*args)
    check_same("W3", f(*args), want, rel=1e-7)
    point = dict(g.point)
    m = race(
        {
            "hand": loop(hand, *args),
            "fast": loop(f, *args),
            "dict": loop(p.value_and_grad, point),
            "interp": loop(p.trace, point),
        },
        cfg,
    )
    base = m["hand"]
    label = f"W3 ({n_ops} ops)"
    rows.append(Row(label, "hand-written Python", base, base))
    rows.append(Row(label, "program.function() (fast path)", m["fast"], base, 1.1))
    rows.append(Row(label, "value_and_grad(dict)", m["dict"], base, 2.5))
    rows.append(Row(label, "program.trace (interpreter)", m["interp"], base))
    rows.append(Row(label, "compile: compile() + function() + first call", statistics.median(times),
                    note="target ≤ 20 ms"))  # fmt: skip
    cfg.notes.append(
        f"W3 compile yardstick: CPython's compile() of the hand-written W3 source took "
        f"{statistics.median(yard) * 1e3:.1f} ms (median, in blocks alternating with ours); "
        f"backprop's whole compile took {statistics.median(times) / statistics.median(yard):.2f}× that"
    )


# --------------------------------------------------------------------------------------
# W4: W1 over numpy arrays of 10^6 points
def bench_w4(cfg: Config, rows: list[Row]) -> None:
    import numpy as np

    rng = np.random.default_rng(7)
    w = rng.uniform(-3, 3, cfg.n_points)
    b = rng.uniform(-3, 3, cfg.n_points)

    def hand(w, b):
        x = w * 2.0 + b
        y = b + 1.0
        return x * y, (2.0 * y, x + y)

    p = backprop_cli.compile(W1)
    f = p.function()
    point = {"w": w, "b": b}
    got, want = f(w, b), hand(w, b)
    assert np.array_equal(got[0], want[0]) and all(np.array_equal(x, y) for x, y in zip(got[1], want[1]))
    m = race(
        {
            "hand": once(hand, w, b),
            "fast": once(f, w, b),
            "dict": once(p.value_and_grad, point),
            "interp": once(p.trace, point),
        },
        cfg,
        rounds=max(5, cfg.rounds // 4),
    )
    base = m["hand"]
    label = f"W4 (W1 on {cfg.n_points:.0e} points)".replace("e+0", "e")
    rows.append(Row(label, "hand-written numpy", base, base))
    rows.append(Row(label, "program.function() (fast path)", m["fast"], base, 1.1))
    rows.append(Row(label, "value_and_grad(dict)", m["dict"], base))
    rows.append(Row(label, "program.trace (interpreter)", m["interp"], base))


# --------------------------------------------------------------------------------------
# W5: solve (w*2+b)*(b+1) = 60 for b from (3, 4), Newton steps with refreshed partials
W5_TOL = 1e-9  # |z − target| < tol, the solve engine's criterion
W5_MAX = 100


def hand_solve(w, b, target):
    for _ in range(W5_MAX):
        x = w * 2.0 + b
        y = b + 1.0
        r = x * y - target
        if abs(r) < W5_TOL:
            return b
        b -= r / (x + y)
    raise RuntimeError("no convergence")


def loop_solve(f, w, b, target):
    """The generic path without the engine: Newton over the compiled function."""
    for _ in range(W5_MAX):
        z, (_, dzdb) = f(w, b)
        r = z - target
        if abs(r) < W5_TOL:
            return b
        b -= r / dzdb
    raise RuntimeError("no convergence")


def dict_solve(vg, w, b, target):
    for _ in range(W5_MAX):
        z, g = vg({"w": w, "b": b})
        r = z - target
        if abs(r) < W5_TOL:
            return b
        b -= r / g["b"]
    raise RuntimeError("no convergence")


def interp_solve(p, w, b, target):
    ib = p.graph.names["b"]
    for _ in range(W5_MAX):
        t = p.trace({"w": w, "b": b})
        r = t.value - target
        if abs(r) < W5_TOL:
            return b
        b -= r / t.adjoints[ib]
    raise RuntimeError("no convergence")


def readme_solve(solve, p, start, detail):
    """The README's Python API call, its result's value read: ``solve(...).result.values["b"]``
    (``detail=False``: the fast form; ``solve`` imported once, as the README does)."""
    return solve(p, start, 60.0, ["b"], tol=W5_TOL, detail=detail).result.values["b"]


def bench_w5(cfg: Config, rows: list[Row]) -> None:
    p = backprop_cli.compile(W1)
    f = p.function()
    want = hand_solve(3.0, 4.0, 60.0)
    assert close(loop_solve(f, 3.0, 4.0, 60.0), want, 1e-12)
    from backprop_cli.engines.solve import solve

    start = {"w": 3.0, "b": 4.0}  # made once, as the hand loop's arguments are
    for detail in (False, True):
        assert close(readme_solve(solve, p, start, detail), want, 1e-12)
    m = race(
        {
            "hand": once(hand_solve, 3.0, 4.0, 60.0),
            "api": once(readme_solve, solve, p, start, False),
            "detail": once(readme_solve, solve, p, start, True),
            "fast": once(loop_solve, f, 3.0, 4.0, 60.0),
            "dict": once(dict_solve, p.value_and_grad, 3.0, 4.0, 60.0),
            "interp": once(interp_solve, p, 3.0, 4.0, 60.0),
        },
        cfg,
    )
    base = m["hand"]
    label = "W5 (solve W1 = 60 for b)"
    rows.append(Row(label, "hand-written Newton loop", base, base))
    rows.append(Row(label, 'solve(p, start, 60.0, ["b"], tol=1e-9, detail=False).result.values["b"]',
                    m["api"], base, 1.5))  # fmt: skip
    rows.append(Row(label, 'solve(p, start, 60.0, ["b"], tol=1e-9).result.values["b"] (detail=True)',
                    m["detail"], base))  # fmt: skip
    rows.append(Row(label, "Newton loop over program.function()", m["fast"], base))
    rows.append(Row(label, "Newton loop over value_and_grad(dict)", m["dict"], base))
    rows.append(Row(label, "Newton loop over program.trace", m["interp"], base))


# --------------------------------------------------------------------------------------
# W6: 10^5 plain gradient-descent steps on the lesson's loss. At η = 0.1 (or 0.01) the update
# reaches a fixed point — x stops changing — after ~170 (~1 650) steps, where descend rightly
# stops as converged; at η = 1e-5 x is still moving after 10^5 steps (the fixed point is ~1.3
# million steps away), so the engine and the hand loop do equal work.
W6 = "(x - 1)^2 + 0.001"
W6_ETA = 1e-5


def hand_descend(x, steps):
    eta = W6_ETA
    loss = 0.0
    for _ in range(steps):
        d = x - 1.0
        loss = d * d + 0.001
        x -= eta * (2.0 * d)
    return x, loss


def loop_descend(f, x, steps):
    eta = W6_ETA
    loss = 0.0
    for _ in range(steps):
        loss, (g,) = f(x)
        x -= eta * g
    return x, loss


def dict_descend(vg, x, steps):
    eta = W6_ETA
    loss = 0.0
    for _ in range(steps):
        loss, g = vg({"x": x})
        x -= eta * g["x"]
    return x, loss


def interp_descend(p, x, steps):
    eta = W6_ETA
    loss = 0.0
    ix = p.graph.names["x"]
    for _ in range(steps):
        t = p.trace({"x": x})
        loss = t.value
        x -= eta * t.adjoints[ix]
    return x, loss


def engine_descend_runner(p, steps):
    """The descend engine's entry point, when it exists (engines/descend.py)."""
    try:
        from backprop_cli.engines import descend as descend_engine
    except ImportError:
        return None
    entry = getattr(descend_engine, "sgd_fast", None)
    if entry is None:
        return None
    return lambda: entry(p, {"x": 0.0}, W6_ETA, steps)


def bench_w6(cfg: Config, rows: list[Row]) -> None:
    p = backprop_cli.compile(W6)
    f = p.function()
    steps = cfg.w6_steps
    want = hand_descend(0.0, steps)
    got = loop_descend(f, 0.0, steps)
    assert close(got[0], want[0], 1e-12) and close(got[1], want[1], 1e-12)
    candidates = {
        "hand": once(hand_descend, 0.0, steps),
        "fast": once(loop_descend, f, 0.0, steps),
        "dict": once(dict_descend, p.value_and_grad, 0.0, steps),
        "interp": once(interp_descend, p, 0.0, max(1, steps // 100)),
    }
    engine = engine_descend_runner(p, steps)
    if engine is not None:
        candidates["engine"] = once(engine)
    rounds = max(3, cfg.rounds // 10)
    m = race(candidates, cfg, rounds=rounds)
    m["interp"] *= 100 if steps >= 100 else steps  # timed on 1% of the steps
    base = m["hand"]
    label = f"W6 ({steps:.0e} descent steps)".replace("e+0", "e")
    rows.append(Row(label, "hand-written sgd loop", base, base))
    if engine is not None:
        rows.append(Row(label, "descend engine (engines/descend.py)", m["engine"], base, 1.2))
    rows.append(Row(label, "sgd loop over program.function()", m["fast"], base,
                    None if engine is not None else 1.2))  # fmt: skip
    rows.append(Row(label, "sgd loop over value_and_grad(dict)", m["dict"], base))
    rows.append(Row(label, "sgd loop over program.trace (1% of steps, scaled)", m["interp"], base))


# --------------------------------------------------------------------------------------
# CLI: whole-process wall time
def bench_cli(cfg: Config, rows: list[Row]) -> None:
    """`backprop grad ... --json` as the installed console script runs it, vs importing typer + rich.table.

    Both run with the same interpreter and environment. Bytecode is cached in a private
    directory (PYTHONPYCACHEPREFIX) as an installed package would have it, even when the
    environment sets PYTHONDONTWRITEBYTECODE.
    """
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("BACKPROP_DEBUG", None)
    env["PYTHONPYCACHEPREFIX"] = os.path.join(tempfile.gettempdir(), f"backprop_bench_pyc_{os.getuid()}")
    env["PYTHONPATH"] = ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    grad = [sys.executable, "-c", "import sys; from backprop_cli.cli import main; sys.exit(main())",
            "grad", W1, "--at", "w=3,b=4", "--json"]  # fmt: skip
    base = [sys.executable, "-c", "import typer, rich.table"]
    cmds = {"base": base, "grad": grad}
    out = subprocess.run(grad, env=env, capture_output=True, text=True, check=True)  # warm-up + pyc
    if '"gradient": {"w": 10.0, "b": 15.0}' not in out.stdout:
        raise AssertionError(f"grad --json printed {out.stdout[:200]!r}")
    subprocess.run(base, env=env, check=True)
    samples: dict[str, list[float]] = {k: [] for k in cmds}
    for _ in range(cfg.cli_runs):
        for k, c in cmds.items():
            t0 = time.perf_counter()
            subprocess.run(c, env=env, stdout=subprocess.DEVNULL, check=True)
            samples[k].append(time.perf_counter() - t0)
    mb = statistics.median(samples["base"])
    rows.append(Row("CLI start-up", 'python -c "import typer, rich.table"', mb, mb))
    rows.append(Row("CLI start-up", f'backprop grad "{W1}" --at w=3,b=4 --json', statistics.median(samples["grad"]),
                    mb, 1.2))  # fmt: skip


# --------------------------------------------------------------------------------------
def fmt_time(s: float) -> str:
    if s < 1e-6:
        return f"{s * 1e9:.0f} ns"
    if s < 1e-3:
        return f"{s * 1e6:.2f} µs"
    if s < 1:
        return f"{s * 1e3:.2f} ms"
    return f"{s:.2f} s"


def table(rows: list[Row]) -> str:
    out = [
        "| workload | path | median | ratio to hand-written | target | met | ratio to hand-simplified |",
        "|---|---|---:|---:|---:|:---:|---:|",
    ]
    for r in rows:
        ratio = "" if r.ratio is None else f"{r.ratio:.2f}×"
        fl = "" if r.floor is None else f"{r.median / r.floor:.2f}×"
        target = f"≤ {r.target}×" if r.target is not None else (r.note if r.note.startswith("target") else "")
        if r.target is not None and r.ratio is not None:
            met = "yes" if r.ratio <= r.target else "**no**"
        elif r.note == "target ≤ 20 ms":
            met = "yes" if r.median <= 0.020 else "**no**"
        else:
            met = ""
        out.append(f"| {r.workload} | {r.path} | {fmt_time(r.median)} | {ratio} | {target} | {met} | {fl} |")
    return "\n".join(out)


WORKLOADS = {
    "W1": lambda cfg, rows: bench_scalar("W1", W1, hand_w1, simplified_w1, {"w": 3.0, "b": 4.0}, cfg, rows),
    "W2": lambda cfg, rows: bench_scalar("W2", W2, hand_w2, simplified_w2, {"x": 2.0}, cfg, rows),
    "W3": bench_w3,
    "W4": bench_w4,
    "W5": bench_w5,
    "W6": bench_w6,
    "CLI": bench_cli,
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smoke run: tiny counts (numbers are meaningless)")
    ap.add_argument("--only", default=None, help="comma-separated workloads: " + ",".join(WORKLOADS))
    ap.add_argument("--rounds", type=int, default=None, help="round-robin rounds (default 41, quick 3)")
    args = ap.parse_args(argv)
    if args.quick:
        cfg = Config(True, rounds=3, scale=0.01, n_points=1000, w6_steps=200, cli_runs=1, compile_runs=1)
    else:
        cfg = Config(False, rounds=41, scale=1.0, n_points=1_000_000, w6_steps=100_000, cli_runs=31, compile_runs=32)
    if args.rounds:
        cfg.rounds = args.rounds
    wanted = list(WORKLOADS) if not args.only else [w.strip() for w in args.only.split(",")]
    rows: list[Row] = []
    for name in wanted:
        WORKLOADS[name](cfg, rows)
    print(f"backprop {backprop_cli.__version__} · Python {sys.version.split()[0]} · {sys.platform}"
          f"{' · QUICK (numbers meaningless)' if cfg.quick else ''}\n")  # fmt: skip
    print(table(rows))
    for n in cfg.notes:
        print(f"\n- {n}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
