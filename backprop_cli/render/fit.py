"""Share a wide table's columns out over several narrower tables, so no number is folded.

Rich folds a cell that does not fit its column (we never cut with '…', cli.md §8), but a
number folded over two lines reads as two numbers (``3.32e-1`` / ``1``). Renderers measure
their columns here and draw one table per group; each group repeats the key columns (the
iteration number, the node, the variable) so every row stays readable on its own.
"""

from __future__ import annotations

CHROME = 3  # per column in Rich's default box: a border and one space of padding each side
TEXT_MIN = 8  # a wrappable text column is counted at most this wide (it folds at words)


def cell_width(text: str) -> int:
    """Columns a cell takes (its longest line; the Unicode in our tables is single-width)."""
    return max((len(line) for line in text.split("\n")), default=0)


def column_width(header: str, cells: list[str], wrap: bool = False) -> int:
    """The narrowest a column may be: numbers (and headers) whole; text to TEXT_MIN or its
    longest word."""
    if not wrap:
        return max([cell_width(header)] + [cell_width(c) for c in cells])
    words = [w for c in [header, *cells] for w in c.split()]
    natural = max([cell_width(header)] + [cell_width(c) for c in cells])
    return min(natural, max([TEXT_MIN] + [len(w) for w in words]))


def table_width(widths: list[int]) -> int:
    return sum(w + CHROME for w in widths) + 1


def pack(key: list[int], widths: list[int], budget: int | None) -> list[list[int]]:
    """Groups of column indices (key columns excluded), in order, each fitting ``budget``
    together with the ``key`` columns, as few groups as possible and as even as possible.
    A column too wide even alone gets a group of its own. ``budget`` None: one group."""
    rest = [i for i in range(len(widths)) if i not in key]
    if budget is None:
        return [rest]
    base = [widths[i] for i in key]

    def greedy(limit: int) -> list[list[int]]:
        groups: list[list[int]] = []
        current: list[int] = []
        for i in rest:
            if current and table_width(base + [widths[j] for j in current] + [widths[i]]) > limit:
                groups.append(current)
                current = []
            current.append(i)
        if current or not groups:
            groups.append(current)
        return groups

    best = greedy(budget)
    if len(best) == 1:
        return best
    limit = budget  # the narrowest limit that needs no more tables evens the groups out
    while limit > 1 and len(greedy(limit - 1)) == len(best):
        limit -= 1
    return greedy(limit)


def tables(
    title: str,
    columns: list[tuple[str, str, bool]],
    rows: list[list[str]],
    key: list[int],
    width: int | None,
    continued: str = "{title} (continued)",
) -> list:
    """Rich tables for ``rows`` of plain-text cells: ``columns`` are (header, justify, wrap);
    numbers (wrap False) are never folded while the table fits, text columns give way first.
    When all of them cannot fit ``width``, the columns after the ``key`` ones go to as many
    tables as needed, each led by the key columns."""
    from rich.markup import escape

    from .table import make_table

    widths = [column_width(h, [r[i] for r in rows], wrap) for i, (h, _, wrap) in enumerate(columns)]
    groups = pack(key, widths, width)
    out = []
    for k, group in enumerate(groups):
        chosen = key + group
        head = title if k == 0 else continued.format(title=title)
        t = make_table(head, [(columns[i][0], columns[i][1]) for i in chosen])
        for col, i in zip(t.columns, chosen):
            col.no_wrap = not columns[i][2]
        for r in rows:
            t.add_row(*(escape(r[i]) for i in chosen))
        out.append(t)
    return out
