"""cli._register: every command is there, and one whose module cannot be imported makes the
tool fail loudly instead of silently dropping the command (a broken install)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from backprop_cli.cli import app


def test_every_command_is_registered():
    names = {c.name for c in app.registered_commands}
    assert {"grad", "check", "solve", "descend", "graph", "data"} <= names


def test_a_command_module_that_fails_to_import_is_not_silently_skipped():
    # None in sys.modules makes `import backprop_cli.commands.solve` fail, as a broken
    # install would
    code = textwrap.dedent(
        """
        import sys
        sys.modules["backprop_cli.commands.solve"] = None
        import backprop_cli.cli
        """
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode != 0
    assert "backprop_cli.commands.solve" in r.stderr


def test_every_option_shows_what_its_value_is():
    """Help shows NAME=VALUE, FILE, N, ETA … instead of Typer's <str>/<int> for every option."""
    import typer

    for name, command in typer.main.get_command(app).commands.items():
        for param in command.params:
            if param.param_type_name == "option" and not getattr(param, "is_flag", False):
                if param.opts[0] in ("--help", "-h"):
                    continue
                assert param.metavar, (name, param.opts)
