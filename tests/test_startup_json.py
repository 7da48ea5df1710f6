"""`backprop grad ... --json` imports no Rich at all (its renderer imports Rich only for
tables), and the command modules registered at start-up import no engines or renderers."""

from __future__ import annotations

from tests.test_startup import _cli

W1 = "(w*2+b)*(b+1)"


def test_grad_json_loads_no_rich_and_no_engines_beyond_gradient():
    code, out, modules = _cli(["grad", W1, "--at", "w=3,b=4", "--json"])
    assert code == 0 and '"gradient": {"w": 10.0, "b": 15.0}' in out
    assert not [m for m in modules if m == "rich" or m.startswith("rich.")]
    assert not {"backprop_cli.engines.check", "backprop_cli.engines.solve", "backprop_cli.engines.descend",
                "backprop_cli.engines.train", "backprop_cli.data", "backprop_cli.render.table"} & modules  # fmt: skip


def test_grad_table_still_renders():
    code, out, modules = _cli(["grad", W1, "--at", "w=3,b=4"])
    assert code == 0 and "rich.table" in modules
    assert "gradient of" in out and "15" in out
