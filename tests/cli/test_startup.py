"""Start-up stays light: `backprop grad ... --json` (and the Python API) must not import
numpy, matplotlib, sympy or pydantic, nor Rich modules beyond what `import typer,
rich.table` already loads (plus rich.markup); `grad --json` imports no Rich at all (its
renderer imports Rich only for tables), and the command modules registered at start-up
import no engines or renderers. Checked in a fresh interpreter through sys.modules after
the command ran; the command's own output is checked too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.helpers.oracles import strict_json as _strict

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HEAVY = ("numpy", "matplotlib", "sympy", "pydantic", "scipy", "pandas")

RUN_CLI = """
import json, sys
sys.argv = ["backprop", *json.loads(sys.argv[1])]
from backprop_cli.cli import main
try:
    main()
except SystemExit as exc:
    code = exc.code
else:
    code = 0
sys.stderr.write("\\nMODULES " + json.dumps({"code": code, "modules": sorted(sys.modules)}) + "\\n")
"""


def _env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.pop("BACKPROP_DEBUG", None)
    return env


def _run(code: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code, *args], env=_env(), capture_output=True, text=True, timeout=60)


def _cli(args: list[str]) -> tuple[int, str, set[str]]:
    r = _run(RUN_CLI, json.dumps(args))
    line = [x for x in r.stderr.splitlines() if x.startswith("MODULES ")]
    assert line, r.stderr
    info = json.loads(line[-1][len("MODULES ") :])
    return info["code"], r.stdout, set(info["modules"])


def _baseline_rich() -> set[str]:
    r = _run("import sys, json, typer, rich.table, rich.markup; print(json.dumps(sorted(sys.modules)))")
    assert r.returncode == 0, r.stderr
    return {m for m in json.loads(r.stdout) if m == "rich" or m.startswith("rich.")}


def _heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in HEAVY)


def test_grad_json_imports_no_heavy_modules():
    code, out, modules = _cli(["grad", "(w*2+b)*(b+1)", "--at", "w=3,b=4", "--json"])
    assert code in (0, None)
    doc = _strict(out)
    assert doc["value"] == 50.0
    assert doc["gradient"] == {"w": 10.0, "b": 15.0}
    assert _heavy(modules) == []
    extra_rich = sorted(m for m in modules if (m == "rich" or m.startswith("rich.")) and m not in _baseline_rich())
    assert extra_rich == []


def test_check_json_imports_no_heavy_modules():
    code, out, modules = _cli(["check", "x = 2*w + b; y = b + 1; z = x*y", "--at", "w=3,b=4", "--json"])
    assert code in (0, None)
    doc = _strict(out)
    assert doc["status"] == "agree"
    assert _heavy(modules) == []


def test_python_api_on_floats_imports_no_heavy_modules():
    r = _run(
        "import sys, json, backprop_cli\n"
        "p = backprop_cli.compile('(w*2+b)*(b+1)')\n"
        "print(json.dumps([p.value_and_grad({'w': 3.0, 'b': 4.0}), p.function()(3.0, 4.0),"
        " sorted(sys.modules)]))"
    )
    assert r.returncode == 0, r.stderr
    vg, fast, modules = json.loads(r.stdout)
    assert vg == [50.0, {"w": 10.0, "b": 15.0}]
    assert fast == [50.0, [10.0, 15.0]]
    assert _heavy(set(modules)) == []
    assert not any(m == "typer" or m.startswith(("typer.", "rich")) for m in modules)


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
