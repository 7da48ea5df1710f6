"""Sparklines of losses below zero (render/spark.py): a falling loss falls on the line."""

from __future__ import annotations

from backprop_cli.render.spark import BLOCKS, scale_words, sparkline


def levels(line: str) -> list[int]:
    return [BLOCKS.index(c) for c in line]


def test_a_falling_negative_loss_falls():
    losses = [-1.0, -4.0, -7.0, -9.0, -9.9, -10.0]  # x^2 - 10 descending to its minimum
    got = levels(sparkline(losses))
    assert got[0] == len(BLOCKS) - 1 and got[-1] == 0
    assert got == sorted(got, reverse=True)
    assert scale_words(losses) == "linear scale"


def test_a_loss_that_crosses_zero_keeps_its_order():
    losses = [3.0, 1.0, -1.0, -3.0]
    got = levels(sparkline(losses))
    assert got == sorted(got, reverse=True) and got[0] > got[-1]


def test_positive_losses_stay_on_a_log_scale():
    losses = [10.0, 1.0, 0.1, 0.01]
    assert levels(sparkline(losses)) == [7, 5, 2, 0]  # log10: 1, 0, -1, -2 over 7 steps
    assert scale_words(losses) == "log scale"
