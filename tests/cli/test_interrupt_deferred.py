"""Ctrl-C taken at a clean point (backprop_cli/interrupt.py), with real SIGINTs sent to
this process: the first waits for the engine's check(), a second is immediate, and one no
check took is raised when the block ends. Then a whole run: descend stops at a row."""

from __future__ import annotations

import os
import signal

import pytest

import backprop_cli
from backprop_cli import interrupt
from backprop_cli.engines.descend import descend


def ctrl_c() -> None:
    os.kill(os.getpid(), signal.SIGINT)  # delivered before os.kill returns to Python code


def test_the_first_ctrl_c_waits_for_check():
    with pytest.raises(KeyboardInterrupt):
        with interrupt.deferred():
            ctrl_c()
            reached = True  # not interrupted here
            interrupt.check()
            reached = False
    assert reached


def test_a_second_ctrl_c_is_immediate():
    got = []
    with pytest.raises(KeyboardInterrupt):
        with interrupt.deferred():
            ctrl_c()
            got.append("first waited")
            ctrl_c()
            got.append("never")
    assert got == ["first waited"]


def test_a_ctrl_c_no_check_took_is_raised_at_the_end_of_the_block():
    with pytest.raises(KeyboardInterrupt):
        with interrupt.deferred():
            ctrl_c()
    # and the usual handler is back
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_taken_ctrl_c_is_not_raised_again():
    with interrupt.deferred():
        ctrl_c()
        with pytest.raises(KeyboardInterrupt):
            interrupt.check()
    interrupt.check()  # nothing waiting any more


def test_descend_stops_at_a_row_when_ctrl_c_arrives_mid_run():
    """The SIGINT arrives from the progress callback (mid-run, like a user's key): the run
    ends ``interrupted`` at a complete row whose rows equal an uninterrupted run's."""
    p = backprop_cli.compile("(x - 3)^2 + 1e-3*(y + 1)^4")
    sent = []

    def tick(k: int) -> None:
        if k >= 2048 and not sent:
            sent.append(k)
            ctrl_c()

    with interrupt.deferred():
        run = descend(p, {"x": 0.0, "y": 0.0}, "adam", 1e-4, tol=1e-300, max_iter=10**6,
                      progress=tick)  # fmt: skip
    res = run.result
    assert res.status == "interrupted" and res.iterations >= sent[0]
    ref = descend(p, {"x": 0.0, "y": 0.0}, "adam", 1e-4, tol=1e-300, max_iter=res.iterations)
    assert ref.result.values == res.values and ref.result.loss == res.loss
