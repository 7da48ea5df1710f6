"""The engines' Python entry points (descend, sweep, solve, iterate) check their start values
as the Program API does: a bool, a string or a number beyond float64 is refused naming the
variable, before any run — with the accelerators and without (solve's detail=False path)."""

from __future__ import annotations

import pytest

import backprop_cli
from backprop_cli.engines.descend import descend, sweep
from backprop_cli.engines.solve import iterate, solve
from backprop_cli.errors import InputOverflowError, InputTypeError

LESSON = "x = 2*w + b; y = b + 1; z = x*y"


@pytest.mark.parametrize("bad", [True, "3", None, 3 + 0j])
def test_descend_and_sweep_refuse_a_non_number(bad):
    p = backprop_cli.compile(LESSON)
    for call in (
        lambda: descend(p, {"w": 3.0, "b": bad}, "sgd", 0.1),
        lambda: sweep(p, {"w": 3.0, "b": bad}, "sgd", [0.1, 0.2]),
    ):
        with pytest.raises(InputTypeError) as err:
            call()
        assert "'b'" in str(err.value)


@pytest.mark.parametrize("bad", [True, "3", None, 3 + 0j])
@pytest.mark.parametrize("where", ["b", "w"])  # varied, and held fixed
def test_solve_refuses_a_non_number_in_every_path(bad, where):
    p = backprop_cli.compile(LESSON)
    start = {"w": 3.0, "b": 4.0, where: bad}
    for call in (
        lambda: solve(p, start, 60.0, ["b"]),
        lambda: solve(p, start, 60.0, ["b"], detail=False),  # the accelerator's path
        lambda: next(iterate(p, start, 60.0, ["b"])),
    ):
        with pytest.raises(InputTypeError) as err:
            call()
        assert f"'{where}'" in str(err.value)


def test_a_number_beyond_float64_is_an_overflow_of_the_package():
    p = backprop_cli.compile(LESSON)
    with pytest.raises(InputOverflowError):
        descend(p, {"w": 10**400, "b": 4}, "sgd", 0.1)
    for detail in (True, False):
        with pytest.raises(InputOverflowError):
            solve(p, {"w": 3, "b": 10**400}, 60.0, ["b"], detail=detail)


def test_ints_and_numpy_scalars_still_start_a_run():
    import numpy as np

    p = backprop_cli.compile(LESSON)
    run = solve(p, {"w": 3, "b": np.float64(4)}, 60.0, ["b"])
    assert run.result.values["b"] == pytest.approx(4.639410298, rel=1e-9)
    assert descend(backprop_cli.compile("(x - 1)^2"), {"x": 0}, "sgd", 0.1).ok
