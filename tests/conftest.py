"""Shared pytest configuration.

Hypothesis profiles: "default" is fast (≤ 100 examples, no deadline) for everyday runs on
a shared machine; HYPOTHESIS_PROFILE=thorough runs many more examples.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "default",
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "thorough",
    max_examples=2000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture
def points(tmp_path):
    """200 points of y = 2x + 3 + 0.1·ε (seed 0), written by `backprop data` (the data tests'
    shared set)."""
    from typer.testing import CliRunner

    from backprop_cli.cli import app

    path = tmp_path / "points.csv"
    r = CliRunner().invoke(app, ["data", "linear", "--n", "200", "--seed", "0", "--noise", "0.1",
                                 "--param", "w=2,b=3", "--output", str(path), "--quiet"])  # fmt: skip
    assert r.exit_code == 0, r.stderr
    return str(path)
