"""Configuration mistakes: each one names its file, its field and what is allowed.

Validation never stops at the first mistake: every check appends a ``Problem`` to a list and
``ConfigError`` reports them all together, one line each.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from nnexp.errors import NnexpError, did_you_mean

__all__ = ["ConfigError", "Loc", "Problem", "did_you_mean", "display_path", "format_loc",
           "format_problems", "pydantic_messages", "unknown_name"]

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    """One mistake: the file it is in, the field path inside it, the line if known, the text."""

    file: Path
    loc: Loc
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = display_path(self.file) + (f":{self.line}" if self.line else "")
        field = format_loc(self.loc)
        return f"{where}: {field}: {self.message}" if field else f"{where}: {self.message}"


class ConfigError(NnexpError):
    """An experiment, search-space or run file is invalid; ``problems`` lists every mistake.

    Built from a list of ``Problem`` (file validation) or from a bare message (a valid space
    asked for something it cannot give, such as a grid of a continuous range).
    """

    def __init__(self, problems: list[Problem] | str) -> None:
        self.problems = [] if isinstance(problems, str) else list(problems)
        super().__init__(problems if isinstance(problems, str) else format_problems(problems))


def format_problems(problems: list[Problem]) -> str:
    """One problem on one line; several under a header that counts them, by file and line."""
    if len(problems) == 1:
        return str(problems[0])
    files = sorted({display_path(p.file) for p in problems})
    lines = [f"{len(problems)} problems in {', '.join(files)}:"]
    ordered = sorted(problems, key=lambda p: (display_path(p.file), p.line or 0))
    lines += [f"  - {p}" for p in ordered]
    return "\n".join(lines)


def display_path(path: Path) -> str:
    """``path`` relative to the working directory when it is below it, else as given."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def format_loc(loc: Loc) -> str:
    """('search_space', 'parameters', 'width', 'low') -> 'search_space.parameters.width.low'."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def unknown_name(kind: str, word: Any, valid: Iterable[str]) -> str:
    """"unknown optimiser 'adma' (did you mean 'adam'?); valid: adam, gd, momentum"."""
    valid = sorted(valid)
    return f"unknown {kind} {word!r}{did_you_mean(word, valid)}; valid: {', '.join(valid)}"


def pydantic_messages(err: ValidationError, fields: Iterable[str]) -> list[tuple[Loc, str]]:
    """Turn pydantic's errors into (field path, message) pairs in nnexp's words.

    ``fields`` are the names allowed at the top of the model, for did-you-mean on unknown keys.
    """
    fields = sorted(fields)
    out = []
    for e in err.errors(include_url=False):
        loc, kind = tuple(e["loc"]), e["type"]
        if kind == "extra_forbidden":
            key = loc[-1]
            allowed = fields if len(loc) == 1 else []
            hint = did_you_mean(key, allowed)
            tail = f"; allowed: {', '.join(allowed)}" if allowed else ""
            out.append((loc, f"unknown field {key!r}{hint}{tail}"))
        elif kind == "missing":
            out.append((loc, "required field is missing"))
        else:
            msg = e["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
            out.append((loc, f"{msg} (got {e['input']!r})" if loc else msg))
    return out
