"""One way to make a Rich table: cells fold instead of being cut with '…' (cli.md §8)."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table


def make_table(title: str | None, columns: list[tuple[str, str]], **kwargs) -> Table:
    """``columns`` are (header, justify) pairs; headers and the title are escaped here."""
    table = Table(title=escape(title) if title else None, title_justify="left", **kwargs)
    for header, justify in columns:
        table.add_column(escape(header), justify=justify, overflow="fold")  # type: ignore[arg-type]  # Rich's names
    return table
