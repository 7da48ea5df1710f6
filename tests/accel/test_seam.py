"""The one seam for speed: who hands out the accelerators, the switch that turns them off,
and the rule that reference code never imports them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import backprop_cli
from backprop_cli import accel
from backprop_cli.core.program import compile_program
from backprop_cli.lang.parser import parse_flat

PACKAGE = Path(backprop_cli.__file__).parent
LESSON = "x = 2*w + b; y = b + 1; z = x*y"


@pytest.mark.parametrize("value, on", [("", True), ("0", True), ("1", False), ("yes", False)])
def test_backprop_reference_switches_every_accelerator_off(monkeypatch, value, on):
    monkeypatch.setenv("BACKPROP_REFERENCE", value)
    p = backprop_cli.compile(LESSON)
    assert (p.accel is accel) is on
    assert (p.accel is None) is not on
    # the same answer either way
    assert p.value_and_grad({"w": 3, "b": 4}) == (50.0, {"w": 10.0, "b": 15.0})


def test_another_output_keeps_the_accelerators(monkeypatch):
    monkeypatch.delenv("BACKPROP_REFERENCE", raising=False)
    assert backprop_cli.compile(LESSON).with_output("x").accel is accel
    assert backprop_cli.compile(LESSON, output="y").accel is accel


class _Recorder:
    """An accelerator that answers with a chosen flat form (or None), counting its calls."""

    def __init__(self, flat):
        self.flat, self.calls = flat, 0

    def try_parse(self, text):
        self.calls += 1
        return self.flat


def test_the_program_takes_the_accelerators_answer_and_falls_back_on_none():
    # a deliberately wrong answer is used as given: the seam is really consulted
    wrong = _Recorder(parse_flat("z = w*w"))
    p = compile_program(LESSON, accel=wrong)
    assert wrong.calls == 1 and p.variables == ("w",)
    declined = _Recorder(None)
    p = compile_program(LESSON, accel=declined)
    assert declined.calls == 1 and p.variables == ("w", "b")


def _imports(source: str, module: tuple[str, ...], is_package: bool = False) -> list[str]:
    """Every module *source* imports, relative imports resolved against *module*'s package."""
    package = module if is_package else module[:-1]
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = list(package[: len(package) - node.level + 1]) if node.level else []
            mod = ".".join(base + ([node.module] if node.module else []))
            out += [mod] + [f"{mod}.{a.name}" for a in node.names]
    return out


def _imports_accel(source: str, module: tuple[str, ...], is_package: bool = False) -> bool:
    return any(
        m == "backprop_cli.accel" or m.startswith("backprop_cli.accel.")
        for m in _imports(source, module, is_package)
    )


def test_reference_modules_never_import_the_accelerators():
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] == "accel" or rel == Path("__init__.py"):
            continue
        module = ("backprop_cli",) + rel.with_suffix("").parts
        if _imports_accel(path.read_text(encoding="utf-8"), module, path.name == "__init__.py"):
            offenders.append(str(rel))
    assert offenders == []


@pytest.mark.parametrize(
    "source",
    ["from ..accel import try_parse\n", "from .. import accel\n", "import backprop_cli.accel.parse\n"],
)
def test_the_import_check_sees_every_form_of_import(source):
    # the checker above can fail: each way a reference module could reach accel is seen
    assert _imports_accel(source, ("backprop_cli", "engines", "descend"))
    assert not _imports_accel("from ..core import program\n", ("backprop_cli", "engines", "descend"))
