"""cli.md §16: a flag shared by several commands is declared once (commands/common.py) and
means the same thing — the same help and the same error text — in every command; --max-iter
over its limit is exit 2 naming the limit.
"""

from __future__ import annotations

import pytest
import typer.main
from typer.testing import CliRunner

from backprop_cli.cli import app
from backprop_cli.limits import MAX_ITER
from tests.helpers.oracles import strict_json as strict

ENV = {"COLUMNS": "120", "NO_COLOR": "1"}
SHARED = ("--at", "--of", "--json", "--jsonl", "--quiet", "--tol", "--max-iter", "--plot")


def _helps() -> dict[str, dict[str, str]]:
    group = typer.main.get_command(app)
    out: dict[str, dict[str, str]] = {}
    for name, command in group.commands.items():
        for param in command.params:
            for opt in param.opts:
                if opt in SHARED:
                    out.setdefault(opt, {})[name] = param.help or ""
    return out


def test_shared_flags_have_one_help():
    helps = _helps()
    assert set(helps) == set(SHARED)
    for opt in ("--at", "--of", "--json", "--jsonl", "--quiet"):
        assert len(set(helps[opt].values())) == 1, (opt, helps[opt])
    assert len(helps["--at"]) >= 5 and len(helps["--quiet"]) >= 6
    # the criterion / unit / subject differ by command; the sentence around them does not
    assert all(h.startswith("Tolerance > 0: converged when ") for h in helps["--tol"].values())
    assert all(
        h.startswith("At most this many ") and h.endswith(" (1 to 1 000 000).")
        for h in helps["--max-iter"].values()
    )
    assert all(
        h.startswith("Also draw ") and h.endswith("into FILE (.png, .svg or .pdf).")
        for h in helps["--plot"].values()
    )


RUNS = {
    "solve": ["solve", "x^2", "--target", "2"],
    "descend": ["descend", "x^2", "--x0", "1"],
    "descend --data": ["descend", "(w*x - y)^2", "--data", "unused.csv"],
}


@pytest.mark.parametrize("command", sorted(RUNS))
@pytest.mark.parametrize(
    "extra, message",
    [
        (["--tol", "0"], "--tol 0: must be greater than 0"),
        (["--tol", "nan"], "--tol: 'nan' is not a finite number"),
        (["--max-iter", "0"], "--max-iter 0: must be at least 1"),
        (["--max-iter", "1000001"], "--max-iter 1000001: over the limit of 1 000 000 iterations"),
        (["--json", "--jsonl"], "--json and --jsonl cannot be used together"),
    ],
)
def test_same_error_text_in_every_command(command, extra, message):
    r = CliRunner().invoke(app, [*RUNS[command], *extra], env=ENV)
    assert r.exit_code == 2, r.stderr
    assert r.stderr.splitlines()[0] == f"error: {message}"


PLOTTING = {
    "solve": ["solve", "(w*2+b)*(b+1)", "--at", "w=3,b=4", "--target", "60", "--vary", "b"],
    "descend": ["descend", "--eta", "0.1", "--x0", "0.2"],
    "sweep": ["descend", "x^2", "--x0", "1", "--eta", "0.1,0.2"],
}


@pytest.mark.parametrize("command", sorted(PLOTTING))
def test_plot_path_checked_before_the_run(command, tmp_path):
    # a wrong picture type: exit 2 before any table is printed
    r = CliRunner().invoke(app, [*PLOTTING[command], "--plot", "x.jpg"], env=ENV)
    assert r.exit_code == 2 and r.stdout == ""
    assert r.stderr.startswith("error: --plot 'x.jpg': unknown picture type '.jpg'")
    # a folder that does not exist: the same words as a failed write, before the run
    missing = str(tmp_path / "no-such-folder" / "x.png")
    r = CliRunner().invoke(app, [*PLOTTING[command], "--plot", missing], env=ENV)
    assert r.exit_code == 1 and r.stdout == ""
    assert r.stderr.startswith(f"error: cannot write '{missing}': No such file or directory")


@pytest.mark.parametrize("eta", ["1_0", "0.1,1_0", "١", "0.1:1_0:5"])
def test_eta_accepts_plain_decimals_only(eta):
    r = CliRunner().invoke(app, ["descend", "x^2", "--x0", "1", "--eta", eta], env=ENV)
    assert r.exit_code == 2
    assert "is not a number" in r.stderr


def invoke(*args, input=None):
    return CliRunner().invoke(app, list(args), env=ENV, input=input)


@pytest.mark.parametrize(
    "args",
    [
        ["descend", "x^2", "--x0", "1"],
        ["descend", "x^2", "--x0", "1", "--eta", "0.1,0.2"],
        ["solve", "x^2", "--target", "2"],
    ],
)
def test_max_iter_over_the_limit_is_exit_2_naming_it(args):
    r = invoke(*args, "--max-iter", str(MAX_ITER + 1), "--json")
    assert r.exit_code == 2
    doc = strict(r.stdout)
    assert doc["status"] == "limit_exceeded"
    assert doc["message"] == f"--max-iter {MAX_ITER + 1}: over the limit of 1 000 000 iterations"
    assert "--max-iter 1 000 000" in " ".join(invoke(args[0], "--help").stdout.split())
