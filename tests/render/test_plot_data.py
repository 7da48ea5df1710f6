"""The descend --data plot (render/plot_data.py): which node is drawn as the model curve,
the epochs shown, and a deterministic picture.
"""

from __future__ import annotations

from typer.testing import CliRunner

from backprop_cli import compile as compile_program
from backprop_cli.cli import app

ENV = {"COLUMNS": "120", "NO_COLOR": "1"}
LINE = "(w*x + b - y)^2"


def invoke(*args):
    return CliRunner().invoke(app, list(args), env=ENV)


def test_descend_data_plot_is_deterministic(tmp_path, points):
    a, b = tmp_path / "a.svg", tmp_path / "b.svg"
    for p in (a, b):
        r = invoke("descend", LINE, "--data", points, "--at", "w=0,b=0", "--eta", "0.1", "--batch-size", "20",
                   "--epochs", "20", "--plot", str(p), "--quiet")  # fmt: skip
        assert r.exit_code == 0  # --epochs spent: completed
    svg = a.read_text()
    assert a.read_bytes() == b.read_bytes()
    for gid in ("epoch-0", "epoch-20"):
        assert f'id="{gid}"' in svg


def test_model_curve_choice():
    from backprop_cli.render.plot_data import model_node, snapshot_epochs

    cols = {"x": "x", "y": "y"}
    p = compile_program(LINE)
    node, inp, target = model_node(p, cols, ("w", "b"))
    assert (p.label(node), inp, target) == ("w*x + b", "x", "y")
    q = compile_program("p = sigmoid(w*x + b); -(y*ln(p) + (1 - y)*ln(1 - p))")
    node, inp, target = model_node(q, cols, ("w", "b"))
    assert (q.label(node), inp, target) == ("p", "x", "y")
    assert model_node(compile_program("(w*x - 1)^2"), {"x": "x"}, ("w",)) is None
    assert snapshot_epochs(3) == [0, 1, 2, 3]
    assert snapshot_epochs(1000)[0] == 0 and snapshot_epochs(1000)[-1] == 1000
