"""`backprop graph` as a command: the lesson's tree by default, formats and output files
equal to the renderers, Graphviz missing, --json, and exit codes.
"""

from __future__ import annotations

import shlex
import shutil
import xml.etree.ElementTree as ET

import pytest
from typer.testing import CliRunner

from backprop_cli import compile as compile_program
from backprop_cli.cli import app
from backprop_cli.commands import help_text
from backprop_cli.engines.gradient import gradient_report
from backprop_cli.render import diagram
from tests.helpers.oracles import strict_json

LESSON = "x = 2*w + b; y = b + 1; z = x*y"
HAS_DOT = shutil.which("dot") is not None
ENV = {"COLUMNS": "100", "NO_COLOR": "1"}
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SVG_NS = "{http://www.w3.org/2000/svg}"


def lesson_report(of=None):
    return gradient_report(compile_program(LESSON, output=of), {"w": 3.0, "b": 4.0})


def run(*args, **kw):
    return CliRunner().invoke(app, list(args), env=ENV, **kw)


def svg_groups(root: ET.Element, cls: str) -> list:
    return [g for g in root.iter(f"{SVG_NS}g") if g.get("class") == cls]


# -- the terminal tree ---------------------------------------------------------------------------
LESSON_TREE = """\
z = x*y = 50   ∂z/∂z = 1
├── x = 2*w + b = 10   ∂z/∂x = 5   via ∂z/∂x = 5
│   ├── 2*w = 6   ∂z/∂(2*w) = 5   via ∂x/∂(2*w) = 1
│   │   ├── 2 (constant)
│   │   └── w = 3   ∂z/∂w = 10   via ∂(2*w)/∂w = 2
│   └── b = 4   ∂z/∂b = 15   via ∂x/∂b = 1
└── y = b + 1 = 5   ∂z/∂y = 10   via ∂z/∂y = 10
    ├── ↑ b (see above)   via ∂y/∂b = 1
    └── 1 (constant)
"""


# -- `backprop graph` -----------------------------------------------------------------------------
def test_cli_graph_default_is_the_lesson_tree():
    result = run("graph")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == LESSON_TREE


def test_cli_graph_formats_match_the_renderers():
    result = run("graph", LESSON, "--at", "w=3,b=4", "--format", "dot")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == diagram.to_dot(lesson_report())
    result = run("graph", "--format", "mermaid")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == diagram.to_mermaid(lesson_report())


def test_cli_graph_output_text_files(tmp_path):
    for ext, expected in (
        (".dot", diagram.to_dot(lesson_report())),
        (".mmd", diagram.to_mermaid(lesson_report())),
    ):
        target = tmp_path / f"g{ext}"
        result = run("graph", "--output", str(target))
        assert result.exit_code == 0, result.stderr
        assert result.stdout == ""
        assert target.read_text(encoding="utf-8") == expected
        assert "wrote" in result.stderr


def test_cli_graph_output_svg(tmp_path, monkeypatch):
    target = tmp_path / "g.svg"
    result = run("graph", "--output", str(target))
    if HAS_DOT:
        assert result.exit_code == 0, result.stderr
        root = ET.parse(target).getroot()
        assert len(svg_groups(root, "node")) == 8 and len(svg_groups(root, "edge")) == 8
    else:
        assert result.exit_code == 1
        assert "apt-get install graphviz" in result.stderr
    # without Graphviz, whatever this machine has: a message naming what to install, exit 1
    import backprop_cli.commands.pictures  # noqa: F401

    monkeypatch.setattr(shutil, "which", lambda name: None)
    result = run("graph", "--output", str(tmp_path / "h.png"))
    assert result.exit_code == 1
    assert "install Graphviz" in result.stderr and "apt-get install graphviz" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not (tmp_path / "h.png").exists()


@pytest.mark.skipif(not HAS_DOT, reason="Graphviz dot is not installed")
def test_cli_graph_output_png_and_pdf(tmp_path):
    png, pdf = tmp_path / "g.png", tmp_path / "g.pdf"
    assert run("graph", "-o", str(png)).exit_code == 0
    assert png.read_bytes()[:8] == PNG_MAGIC
    assert run("graph", "-o", str(pdf)).exit_code == 0
    assert pdf.read_bytes()[:5] == b"%PDF-"


def test_cli_graph_json():
    result = run("graph", "--json", "--format", "dot")
    assert result.exit_code == 0, result.stderr
    doc = strict_json(result.stdout)
    assert doc["schema"] == "backprop.graph/1" and doc["status"] == "ok"
    assert doc["value"] == 50.0 and doc["gradient"] == {"w": 10.0, "b": 15.0}
    assert len(doc["nodes"]) == 8 and len(doc["edges"]) == 8
    assert {"from": 6, "to": 7, "local": 10.0} in doc["edges"]
    assert doc["source"] == diagram.to_dot(lesson_report())


@pytest.mark.parametrize(
    "args, message",
    [
        (["--format", "png"], "--format 'png'"),
        (["--output", "g.jpeg"], "unknown file type '.jpeg'"),
        (["--format", "mermaid", "--output", "g.dot"], "does not match"),
        (["x +", "--at", "x=1"], ""),
        (["--at", "q=1"], "'q' is not a variable"),
    ],
)
def test_cli_graph_usage_errors_exit_2(args, message):
    result = run("graph", *args)
    assert result.exit_code == 2, result.stdout
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_graph_domain_error_exit_1():
    result = run("graph", "ln(x)", "--at", "x=-1")
    assert result.exit_code == 1
    assert "error:" in result.stderr


def test_cli_graph_unwritable_output_exit_1(tmp_path):
    result = run("graph", "--output", str(tmp_path / "missing-dir" / "g.dot"))
    assert result.exit_code == 1
    assert "cannot write" in result.stderr


@pytest.mark.parametrize("example", help_text.EXAMPLES["graph"])
def test_help_examples_run_verbatim(example):
    argv = shlex.split(example)
    assert argv[0] == "backprop"
    result = run(*argv[1:])
    assert result.exit_code == 0, result.stderr
    assert run("graph", "--help").stdout.count("$ backprop graph") == len(
        help_text.EXAMPLES["graph"]
    )
