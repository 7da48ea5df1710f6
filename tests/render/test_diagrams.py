"""The annotated graph as DOT, Mermaid and a Rich tree (render/diagram.py), hostile labels
escaped, and the committed docs/lesson-graph.dot up to date.
"""

from __future__ import annotations

import dataclasses
import io
import re
import shutil
import xml.etree.ElementTree as ET

import pytest
from rich.console import Console

from backprop_cli import compile as compile_program
from backprop_cli.engines.gradient import gradient_report
from backprop_cli.render import diagram

LESSON = "x = 2*w + b; y = b + 1; z = x*y"
HAS_DOT = shutil.which("dot") is not None


SVG_NS = "{http://www.w3.org/2000/svg}"


def lesson_report(of=None):
    return gradient_report(compile_program(LESSON, output=of), {"w": 3.0, "b": 4.0})


# -- DOT ---------------------------------------------------------------------------------------
NODE_RE = re.compile(r'^  (n\d+) \[label="((?:[^"\\]|\\.)*)"(?:, [^\]]*)?\];$')
EDGE_RE = re.compile(r'^  (n\d+) -> (n\d+) \[(?:label="((?:[^"\\]|\\.)*)"|[^\]]*)\];$')


def parse_dot(text: str):
    """A structural reading of our DOT: {id: label}, [(from, to, label)]; every line accounted for."""
    lines = text.strip().splitlines()
    assert lines[0] == "digraph backprop {" and lines[-1] == "}"
    nodes, edges = {}, []
    for line in lines[1:-1]:
        if m := EDGE_RE.match(line):
            edges.append((m.group(1), m.group(2), m.group(3)))
        elif m := NODE_RE.match(line):
            assert m.group(1) not in nodes, f"node {m.group(1)} defined twice"
            nodes[m.group(1)] = m.group(2)
        else:
            assert re.match(r'^  (\w+=("(?:[^"\\]|\\.)*"|[\w.]+)|(node|edge) \[.*\]);$', line), (
                f"unexpected DOT line: {line!r}"
            )
    for a, b, _ in edges:
        assert a in nodes and b in nodes
    return nodes, edges


def test_dot_lesson_graph_structure_values_and_partials():
    nodes, edges = parse_dot(diagram.to_dot(lesson_report()))
    assert len(nodes) == 8  # 2, w, 2*w, b, x, 1, y, z
    assert len(edges) == 8
    assert nodes["n4"] == "x = 2*w + b\\nvalue 10\\n∂z/∂x = 5"
    assert nodes["n6"] == "y = b + 1\\nvalue 5\\n∂z/∂y = 10"
    assert nodes["n7"] == "z = x*y\\nvalue 50\\n∂z/∂z = 1"
    assert nodes["n3"] == "b = 4\\n∂z/∂b = 15"
    assert nodes["n1"] == "w = 3\\n∂z/∂w = 10"
    labels = {(a, b): lab for a, b, lab in edges}
    assert labels[("n4", "n7")] == "∂z/∂x = 5"  # local partial ∂z/∂x = y
    assert labels[("n6", "n7")] == "∂z/∂y = 10"  # local partial ∂z/∂y = x
    assert labels[("n3", "n4")] == "∂x/∂b = 1"
    assert labels[("n3", "n6")] == "∂y/∂b = 1"
    assert labels[("n1", "n2")] == "∂(2*w)/∂w = 2"
    assert labels[("n0", "n2")] is None  # constants: no partial on the edge


def test_dot_of_a_named_node_draws_only_its_ancestors():
    nodes, edges = parse_dot(diagram.to_dot(lesson_report(of="y")))
    assert sorted(nodes.values()) == sorted(
        ["1", "b = 4\\n∂y/∂b = 1", "y = b + 1\\nvalue 5\\n∂y/∂y = 1"]
    )
    assert len(edges) == 2


def test_dot_escape():
    assert diagram.dot_escape('a"b\\c\nd\x01') == 'a\\"b\\\\c\\nd '


def hostile_report():
    """The lesson's report with user text full of DOT/Mermaid metacharacters."""
    r = lesson_report()
    evil = 'q"]; n9 -> n0 [label="x\\" <b>#35; [a] {c} | `t` ;'
    nodes = tuple(dataclasses.replace(n, expr=evil) if n.id == 2 else n for n in r.nodes)
    return dataclasses.replace(r, nodes=nodes, expression=evil + LESSON)


def test_dot_survives_hostile_labels():
    text = diagram.to_dot(hostile_report())
    nodes, edges = parse_dot(text)
    assert len(nodes) == 8 and len(edges) == 8
    if HAS_DOT:
        svg = diagram_svg(text)
        assert len(svg_groups(svg, "node")) == 8


def diagram_svg(text: str) -> ET.Element:
    from backprop_cli.commands.pictures import render_with_dot

    return ET.fromstring(render_with_dot(text, "svg"))


def svg_groups(root: ET.Element, cls: str) -> list:
    return [g for g in root.iter(f"{SVG_NS}g") if g.get("class") == cls]


@pytest.mark.skipif(
    not HAS_DOT, reason="Graphviz dot is not installed (structure is checked above)"
)
def test_dot_renders_with_graphviz():
    root = diagram_svg(diagram.to_dot(lesson_report()))
    assert len(svg_groups(root, "node")) == 8
    assert len(svg_groups(root, "edge")) == 8
    texts = [t.text for t in root.iter(f"{SVG_NS}text")]
    for expected in (
        "value 10",
        "value 5",
        "value 50",
        "∂z/∂x = 5",
        "∂z/∂y = 10",
        "∂z/∂b = 15",
        "∂z/∂w = 10",
    ):
        assert expected in texts


# -- Mermaid -----------------------------------------------------------------------------------
M_NODE = re.compile(r'^    (n\d+)(\["[^"]*"\]|\(\["[^"]*"\]\))$')
M_EDGE = re.compile(r'^    (n\d+) (?:-->\|"([^"]*)"\||-\.->) (n\d+)$')


def parse_mermaid(text: str):
    lines = text.strip().splitlines()
    assert lines[0] == "flowchart LR"
    nodes, edges = {}, []
    for line in lines[1:]:
        if m := M_NODE.match(line):
            assert m.group(1) not in nodes, f"node {m.group(1)} defined twice"
            label = m.group(2).strip('([])"')
            assert not re.search(
                r'["\[\]{}|<>`;]', re.sub(r"#\d+;", "", label.replace("<br/>", ""))
            ), label
            nodes[m.group(1)] = label
        elif m := M_EDGE.match(line):
            edges.append((m.group(1), m.group(3), m.group(2)))
        else:
            assert re.match(r"^    (classDef \w+ [\w:#,]+|class [n\d,]+ \w+)$", line), (
                f"unexpected line {line!r}"
            )
    for a, b, _ in edges:
        assert a in nodes and b in nodes
    return nodes, edges


def test_mermaid_lesson_graph():
    nodes, edges = parse_mermaid(diagram.to_mermaid(lesson_report()))
    assert len(nodes) == 8 and len(edges) == 8
    assert nodes["n4"] == "x = 2*w + b<br/>value 10<br/>∂z/∂x = 5"
    assert nodes["n3"] == "b = 4<br/>∂z/∂b = 15"
    labels = {(a, b): lab for a, b, lab in edges}
    assert labels[("n6", "n7")] == "∂z/∂y = 10"
    assert labels[("n0", "n2")] is None


def test_mermaid_escapes_hostile_labels():
    nodes, edges = parse_mermaid(diagram.to_mermaid(hostile_report()))
    assert len(nodes) == 8 and len(edges) == 8
    assert (
        "#34;" in nodes["n2"] and "#91;a#93;" in nodes["n2"]
    )  # quote and brackets as entity codes


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


def render_tree(tree) -> str:
    console = Console(width=100, file=io.StringIO(), color_system=None)
    console.print(tree)
    return console.file.getvalue()


def test_tree_snapshot_shared_node_referenced_once():
    assert render_tree(diagram.to_tree(lesson_report())) == LESSON_TREE


def test_tree_reference_always_points_above():
    # b is an input of z directly and, deeper, of x: the full b comes first in drawing order
    report = gradient_report(compile_program("x = b + 1; z = x*b"), {"b": 2.0})
    text = render_tree(diagram.to_tree(report))
    assert text.index("b = 2   ∂z/∂b = 5") < text.index("↑ b (see above)")
    assert text.count("b = 2") == 1


def test_tree_of_a_deep_chain_is_bounded_and_does_not_recurse():
    n = 3000
    prog = "a0 = x + 1; " + "; ".join(f"a{i} = a{i - 1}*1.0001" for i in range(1, n))
    report = gradient_report(compile_program(prog), {"x": 1.0})
    text = render_tree(diagram.to_tree(report))
    assert text.count(diagram.ELIDED) == 1
    assert len(text.splitlines()) < 5 * diagram.MAX_TREE_DEPTH  # not 6000 lines
    nodes, _ = parse_dot(diagram.to_dot(report))  # the whole graph is still in DOT
    assert len(nodes) == 2 * n + 1


def test_committed_lesson_graph_source_is_current():
    """docs/lesson-graph.dot was made by `backprop graph --output docs/lesson-graph.dot`."""
    from pathlib import Path

    committed = Path(__file__).resolve().parents[2] / "docs" / "lesson-graph.dot"
    assert committed.read_text(encoding="utf-8") == diagram.to_dot(lesson_report())
