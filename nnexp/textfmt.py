"""Plain-text layout shared by the CLI and the records (a column table as an artifact)."""

from __future__ import annotations


def text_table(rows: list) -> list[str]:
    """Rows of text cells as lines: each column padded to its widest cell, two spaces
    between columns, no trailing spaces."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
