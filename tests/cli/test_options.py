"""commands/options/: option text becomes checked values once,
before any work — learning rates (lists and ranges), choices as str Enums built from the
names the engines define, one frozen dataclass per command — and the command modules keep
to their layering (descend's two runs do not import each other; nothing heavy at start-up).
"""

from __future__ import annotations

import ast
import dataclasses
import pathlib

import pytest

import backprop_cli.commands
from backprop_cli.commands import options
from backprop_cli.commands.options.descend import DescendOptions
from backprop_cli.commands.options.grad import GradOptions
from backprop_cli.commands.options.solve import SolveOptions
from backprop_cli.errors import InputError
from backprop_cli.limits import MAX_SWEEP

COMMANDS = pathlib.Path(backprop_cli.commands.__file__).parent


# -- --eta --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text, etas",
    [
        ("0.1", [0.1]),
        ("0.1,0.4,1", [0.1, 0.4, 1.0]),
        (" 0.1 , 0.2 ", [0.1, 0.2]),
        ("0.01:1.0:5", [0.01, 0.2575, 0.505, 0.7525, 1.0]),
        ("0.5:0.5:1", [0.5]),
        ("1:0.5:3", [1.0, 0.75, 0.5]),  # a range may run down
    ],
)
def test_etas_lists_and_ranges(text, etas):
    assert options.parse_etas(text) == pytest.approx(etas, rel=1e-15)


def test_a_range_ends_exactly_at_stop():
    values = options.parse_etas("0.1:0.7:7")
    assert values[0] == 0.1 and values[-1] == 0.7  # not 0.1 + 6·0.1, which is 0.7000000000000001


@pytest.mark.parametrize(
    "text, message",
    [
        ("0", "--eta 0: every η must be greater than 0 (got 0)"),
        ("0.1,-1", "--eta 0.1,-1: every η must be greater than 0 (got -1)"),
        ("nan", "--eta nan: 'nan' is not a finite number"),
        ("0.1,abc", "--eta 0.1,abc: 'abc' is not a number (write it like 3, -0.5, .5 or 1e-3)"),
        ("1e400", "--eta 1e400: '1e400' is not a finite number (beyond ±1.8e308)"),
        ("0.1,,0.2", "--eta '0.1,,0.2' is not a number, a list a,b,c or a range START:STOP:COUNT"),
        (":2:3", "--eta ':2:3' is not a number, a list a,b,c or a range START:STOP:COUNT"),
        ("0.1:1", "--eta '0.1:1': a range is START:STOP:COUNT, e.g. 0.01:1.0:50"),
        ("a:1", "--eta a:1: 'a' is not a number (write it like 3, -0.5, .5 or 1e-3)"),
        ("1:2:x", "--eta '1:2:x': the COUNT of START:STOP:COUNT must be a whole number"),
        ("1:2:0", "--eta '1:2:0': the COUNT of START:STOP:COUNT must be at least 1"),
        (f"1:2:{MAX_SWEEP + 1}", f"a sweep runs at most {MAX_SWEEP} learning rates"),
        (",".join(["0.1"] * (MAX_SWEEP + 1)), f"(got {MAX_SWEEP + 1})"),
        ("-1e308:1e308:3", "every η must be a finite number"),  # STOP − START overflows
    ],
)
def test_bad_etas_say_what_is_wrong(text, message):
    with pytest.raises(InputError) as info:
        options.parse_etas(text)
    assert message in info.value.message


def test_only_lists_and_ranges_are_sweeps():
    assert [options.is_sweep(t) for t in (None, "0.1", "0.1,0.2", "0.1:1:3")] == [False, False, True, True]


# -- choices --------------------------------------------------------------------------------------
def test_choices_are_the_engines_own_names():
    from backprop_cli.commands.options.graph import FORMATS
    from backprop_cli.engines.objective import REDUCTIONS
    from backprop_cli.engines.optimizers import OPTIMIZERS
    from backprop_cli.engines.solve import GRADIENTS, SPLITS

    defined = {
        "--optimizer": list(OPTIMIZERS), "--split": list(SPLITS), "--gradient": list(GRADIENTS),
        "--reduce": list(REDUCTIONS), "--format": list(FORMATS), "--mode": ["reverse", "forward"],
        "--log": ["epoch", "step"],
    }  # fmt: skip
    assert set(defined) == set(options.CHOICE_OPTIONS)
    for option, names in defined.items():
        assert [member.value for member in options.choices(option)] == names, option


def test_a_name_an_engine_adds_is_a_choice_at_once(monkeypatch):
    """Defined once: the Enum is built from the engine's tuple, not restated."""
    import backprop_cli.engines.solve as solve_engine

    monkeypatch.setattr(solve_engine, "SPLITS", (*solve_engine.SPLITS, "third"))
    options.choices.cache_clear()
    try:
        assert options.choice("--split", "third") == "third"
    finally:
        monkeypatch.undo()
        options.choices.cache_clear()
    with pytest.raises(InputError):
        options.choice("--split", "third")


def test_a_choice_is_a_plain_string_for_the_engines():
    split = options.choice("--split", "gradient")
    assert isinstance(split, str) and split == "gradient" and f"{split}" == "gradient"
    assert {"gradient": 1}[split] == 1


@pytest.mark.parametrize(
    "option, text, message",
    [
        ("--split", "odd", "--split 'odd': use even or gradient"),
        ("--gradient", "stale", "--gradient 'stale': use refresh or freeze"),
        ("--mode", "sideways", "--mode 'sideways': use reverse or forward"),
        ("--reduce", "max", "--reduce 'max': use mean or sum"),
        ("--log", "often", "--log 'often': use epoch or step"),
        ("--format", "png", "--format 'png': use one of tree, dot, mermaid"),
        ("--optimizer", "lbfgs",
         "--optimizer 'lbfgs': use one of sgd, momentum, nesterov, adagrad, rmsprop, adam, newton"),
        ("--split", "EVEN", "--split 'EVEN': use even or gradient"),  # names are exact
    ],
)  # fmt: skip
def test_a_bad_choice_lists_the_choices(option, text, message):
    with pytest.raises(InputError) as info:
        options.choice(option, text)
    assert info.value.message == message


# -- one frozen dataclass per command ----------------------------------------------------------------
DESCEND_TEXTS = dict(
    expr="x^2", eta=None, x0=None, at=None, of=None, optimizer="adam",
    hyper={"beta": None, "beta1": "0.8", "beta2": None, "rho": None, "epsilon": None},
    tol="1e-5", until_loss=None, max_iter=None, show_all=False, json_out=False, jsonl=False,
    quiet=False, plot=None, data=None, column=None, reduce=None, batch_size=None, epochs=None,
    shuffle=None, seed=None, log=None,
)  # fmt: skip


def test_descend_options_fill_in_the_engines_defaults():
    opts = DescendOptions.parse(**DESCEND_TEXTS)
    assert opts.etas == (0.01,)  # adam's own η
    assert opts.max_iter == 10_000 and opts.tol == 1e-5 and opts.hyper == {"beta1": 0.8}
    assert opts.optimizer == "adam" and not opts.sweep and opts.fit is None
    fit = DescendOptions.parse(**{**DESCEND_TEXTS, "data": "points.csv", "column": ["y=t"]})
    assert fit.max_iter is None  # derived from --epochs once the data set is read
    assert fit.fit is not None and fit.fit.columns == {"y": "t"}
    assert (fit.fit.reduce, fit.fit.log, fit.fit.shuffle, fit.fit.seed) == ("mean", "epoch", True, 0)
    sweep = DescendOptions.parse(**{**DESCEND_TEXTS, "eta": "0.1:0.3:3"})
    assert sweep.sweep and sweep.etas == pytest.approx((0.1, 0.2, 0.3))


@pytest.mark.parametrize(
    "change, message",
    [
        ({"reduce": "sum"}, "--reduce: only with --data FILE"),
        ({"data": "p.csv", "eta": "0.1,0.2"}, "--eta: learning-rate sweeps are not available with --data"),
        ({"data": "p.csv", "seed": -1}, "--seed -1: must be ≥ 0"),
        ({"hyper": {**DESCEND_TEXTS["hyper"], "rho": "0.5"}}, "--rho does not apply to --optimizer adam"),
        ({"x0": "1", "at": ["x=1"]}, "give the start with --x0 or with --at, not both"),
    ],
)
def test_descend_options_refuse_what_does_not_apply(change, message):
    with pytest.raises(InputError) as info:
        DescendOptions.parse(**{**DESCEND_TEXTS, **change})
    assert message in info.value.message


def test_options_are_frozen_values():
    solve = SolveOptions.parse(
        expr="a*b", target="8", vary=["a,b"], at=["a=1", "b=2"], of=None, split="gradient",
        gradient="refresh", tol="1e-6", max_iter=50, json_out=False, jsonl=False, quiet=False,
        plot=None,
    )  # fmt: skip
    assert (solve.target, solve.vary, solve.at, solve.tol) == (8.0, ["a", "b"], {"a": 1.0, "b": 2.0}, 1e-6)
    grad = GradOptions.parse(
        expr=None, at=None, of=None, mode="forward", explain=False, nudge="0.1", data=None,
        column=None, reduce="max", per_sample=False, json_out=True, quiet=False,
    )  # fmt: skip
    assert grad.mode == "forward" and grad.nudge == 0.1 and grad.reduce is None  # --reduce: only with --data
    for opts in (solve, grad):
        with pytest.raises(dataclasses.FrozenInstanceError):
            opts.quiet = True  # type: ignore[misc]


# -- layering ------------------------------------------------------------------------------------------
def _imports(path: pathlib.Path, top_level_only: bool = False) -> set[str]:
    """The modules a module of backprop_cli/commands/ imports, as absolute names (``from . import
    common`` in commands/grad.py is backprop_cli.commands.common)."""
    parts = ["backprop_cli", *path.relative_to(COMMANDS.parent).with_suffix("").parts]
    package = parts[:-1]  # a module's package; __init__ is its package itself
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = set()
    for node in tree.body if top_level_only else ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = ".".join(package[: len(package) - node.level + 1] if node.level else [])
            module = ".".join(filter(None, [base, node.module]))
            out |= {module} if node.module else {f"{module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.Import):
            out |= {alias.name for alias in node.names}
    return out


def test_the_two_descend_runs_do_not_import_each_other():
    runs = {"backprop_cli.commands.descend", "backprop_cli.commands.descend_data"}
    assert not runs & _imports(COMMANDS / "descend_data.py")
    for shared in (COMMANDS / "common.py", *sorted((COMMANDS / "options").glob("*.py"))):
        assert not runs & _imports(shared), shared.name


def test_command_modules_load_nothing_heavy_at_start_up():
    """Registering the commands imports no engine or renderer and creates no dataclass (a
    dataclass compiles its generated methods, about a millisecond each): a command's options
    dataclass (commands/options/<command>.py) is imported when the command runs."""
    heavy = ("backprop_cli.engines", "backprop_cli.render", "backprop_cli.commands.options.", "dataclasses")
    for path in [*sorted(COMMANDS.glob("*.py")), COMMANDS / "options" / "__init__.py"]:
        found = [m for m in _imports(path, top_level_only=True) if m.startswith(heavy)]
        assert found == [], path.name


def test_the_import_reader_resolves_relative_imports():
    grad, options = _imports(COMMANDS / "grad.py"), _imports(COMMANDS / "options" / "grad.py")
    assert {"backprop_cli.commands.common", "backprop_cli.commands.options.grad"} <= grad
    assert {"backprop_cli.commands.options", "backprop_cli.data"} <= options
