"""Re-run every example in README.md and docs/*.md and replace its output with what the tool
prints now (one script for every document with example output).

A README example is a fenced ```console block whose first line is `$ backprop ...`; the
rest of the block is that command's output (stdout, then stderr), ending with an
`exit N` line when the exit code is not 0. Run from the repository root:

    python docs/update_readme.py          # rewrite README.md in place
    python docs/update_readme.py --check  # exit 1 if any example's output changed

Commands run with COLUMNS=100 and NO_COLOR=1 through `python -m backprop_cli`, in a
scratch directory whose `docs` links to this repository's docs/ (so files an example writes,
like points.csv, stay out of the tree, while `--plot docs/...` regenerates the README's
pictures), so the README shows exactly what a user sees at that width.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BLOCK = re.compile(r"```console\n(\$ backprop [^\n]*)\n(.*?)```", re.S)


def run(command_line: str, cwd: Path) -> str:
    words = shlex.split(command_line[2:])
    env = dict(os.environ, COLUMNS="100", NO_COLOR="1", PYTHONPATH=str(ROOT))
    env.pop("FORCE_COLOR", None)
    proc = subprocess.run(
        [sys.executable, "-m", "backprop_cli", *words[1:]],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = proc.stdout + proc.stderr
    if proc.returncode:
        out += f"exit {proc.returncode}\n"
    return out


DOCUMENTS = ("README.md", "docs/README-data.md")


def main() -> int:
    changed = []
    scratch = Path(tempfile.mkdtemp(prefix="backprop-readme-"))
    (scratch / "docs").symlink_to(ROOT / "docs")
    updates = {}
    for name in DOCUMENTS:
        path = ROOT / name
        text = path.read_text(encoding="utf-8")

        def replace(m: re.Match, name: str = name) -> str:
            command, old = m.group(1), m.group(2)
            new = run(command, scratch)
            if new != old:
                changed.append(f"{name}: {command}")
            return f"```console\n{command}\n{new}```"

        updates[path] = BLOCK.sub(replace, text)
    if "--check" in sys.argv:
        for c in changed:
            print(f"out of date: {c}")
        return 1 if changed else 0
    for path, updated in updates.items():
        path.write_text(updated, encoding="utf-8")
    print(f"{len(changed)} example(s) updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
