"""Every example in the help (help_text.EXAMPLES and the root's MAIN) runs verbatim and exits 0,
and renders verbatim in `--help` (Rich markup must not eat brackets; no folding at 200 columns).
"""

from __future__ import annotations

import re
import shlex

import pytest
from typer.testing import CliRunner

from backprop_cli.cli import app
from backprop_cli.commands import help_text
from tests.helpers.oracles import strict_json as _strict

ENV = {"COLUMNS": "200", "NO_COLOR": "1", "TERMINAL_WIDTH": "200"}


def run(argv: list[str]):
    return CliRunner().invoke(app, argv, env=ENV)


MAIN_EXAMPLES = [
    line.strip()[2:] for line in help_text.MAIN.splitlines() if line.strip().startswith("$ ")
]


def test_main_has_examples():
    assert len(MAIN_EXAMPLES) >= 2
    assert all(e.startswith("backprop ") for e in MAIN_EXAMPLES)


def _run_example(example: str):
    argv = shlex.split(example)
    assert argv[0] == "backprop"
    result = run(argv[1:])
    assert result.exit_code == 0, (example, result.stdout[-500:], result.stderr[-500:])
    assert "Traceback" not in result.stdout + result.stderr
    if "--json" in argv:
        _strict(result.stdout)
    return result


@pytest.mark.parametrize(
    "example", [e for name in sorted(help_text.EXAMPLES) for e in help_text.EXAMPLES[name]]
)
def test_command_examples_run_verbatim_each_on_its_own(example, tmp_path, monkeypatch):
    # every example stands alone: a fresh empty working folder, no file from another example
    monkeypatch.chdir(tmp_path)
    _run_example(example)
    assert "/tmp" not in example  # nothing shared between examples (or with other users)


@pytest.mark.parametrize("example", MAIN_EXAMPLES)
def test_main_examples_run_verbatim(example, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _run_example(example)


def _help_lines(argv: list[str]) -> list[str]:
    result = run(argv + ["--help"])
    assert result.exit_code == 0, result.stderr
    # strip the panel borders Rich draws around text
    return [re.sub(r"^[\s│]+|[\s│]+$", "", line) for line in result.stdout.splitlines()]


@pytest.mark.parametrize("name", sorted(help_text.EXAMPLES))
def test_command_help_leads_with_examples_verbatim(name):
    lines = _help_lines([name])
    shown = [line for line in lines if line.startswith("$ backprop")]
    expected = [f"$ {e}" for e in help_text.EXAMPLES[name]]
    assert shown == expected
    # examples come before the options panel and the language description
    first = lines.index(expected[0])
    assert first < next(i for i, line in enumerate(lines) if "Options" in line)
    assert first < next(i for i, line in enumerate(lines) if line.startswith("Expressions:"))


def test_root_help_shows_main_examples_and_epilog():
    lines = _help_lines([])
    shown = [line[2:] for line in lines if line.startswith("$ backprop")]
    assert shown == MAIN_EXAMPLES
    text = " ".join(lines)
    for needle in (
        "130 interrupted",
        "nesting depth 256",
        "20 000 statements",
        "NO_COLOR",
        "--debug",
    ):
        assert needle in text


def test_every_registered_command_has_examples():
    from backprop_cli.cli import app as the_app
    import typer.main

    group = typer.main.get_command(the_app)
    assert set(group.commands) <= set(help_text.EXAMPLES), set(group.commands) - set(
        help_text.EXAMPLES
    )


def test_brackets_in_help_render_literally():
    # LIMITS, LANGUAGE and the AT help carry no markup; anything bracketed must survive
    lines = _help_lines(["grad"])
    text = " ".join(lines)
    assert "NAME=VALUE[,NAME=VALUE...]" in text
