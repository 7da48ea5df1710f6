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
