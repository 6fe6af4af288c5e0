"""Plain-text layout shared by the CLI and the records (a column table as an artifact).

Tables are rich tables (``rich.table.Table``); where the text is read by scripts, tests or a
person's ``grep`` (a pipe, a file, an artifact) they are written plain: each column padded to
its widest cell, two spaces between columns, no box, no colour, no trailing spaces.
"""

from __future__ import annotations

import os
from collections.abc import Sequence


def terminal(stream) -> bool:
    """Whether ``stream`` is a terminal that shows colours and rewrites lines in place (not a
    pipe or a file, and not ``TERM=dumb``)."""
    try:
        tty = hasattr(stream, "isatty") and stream.isatty()
    except ValueError:  # closed
        return False
    return tty and os.environ.get("TERM", "").lower() not in ("dumb", "unknown")


def table(rows: Sequence[Sequence[str]], right: Sequence[int] = (),
          min_width: int | None = None, styled: bool = False):
    """A ``rich.table.Table`` of text cells, ``rows[0]`` the header. ``right``: indices of the
    columns aligned right, padded to at least ``min_width``. ``styled``: for a terminal (a
    bold header above a rule); else no box and no style, which renders as ``text_table``."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    t = Table(box=box.SIMPLE_HEAD if styled else None, padding=(0, 1), pad_edge=False,
              show_edge=False, header_style="bold" if styled else "", highlight=False)
    for i, name in enumerate(rows[0]):
        t.add_column(Text(str(name)), justify="right" if i in right else "left",
                     min_width=min_width if i in right else None)
    for row in rows[1:]:
        t.add_row(*(Text(str(cell)) for cell in row))  # Text: no markup, no emoji codes
    return t


def text_table(rows: Sequence[Sequence[str]], right: Sequence[int] = (),
               min_width: int | None = None) -> list[str]:
    """Rows of text cells (the header first) as plain lines: each column padded to its widest
    cell, two spaces between columns, no trailing spaces."""
    import io

    from rich.console import Console

    out = io.StringIO()
    width = sum(max(len(str(row[i])) for row in rows) + 2 for i in range(len(rows[0])))
    console = Console(file=out, width=max(width, min_width or 0) * 2 + 80, color_system=None,
                      force_terminal=False, legacy_windows=False, emoji=False, markup=False,
                      highlight=False)
    console.print(table(rows, right, min_width), crop=False)
    return [line.rstrip() for line in out.getvalue().splitlines()]
