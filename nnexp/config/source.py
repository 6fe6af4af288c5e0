"""Reading one YAML file (safe loader only) and reporting problems at their line.

A ``Source`` is one file under validation: it remembers the line of every key so each
``Problem`` can say ``file.yaml:12: study.sampler: ...``, and it shares one problem list
with the other files of the same experiment.

Anchors and aliases are allowed, but a document whose aliases expand past ``MAX_NODES``
values ("billion laughs"), refers to itself, or nests too deeply is refused before it is
expanded, with the line of the offending value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from nnexp.config.errors import Loc, Problem


@dataclass
class Source:
    """A file being validated: its path, the line of each key path, the shared problem list."""

    path: Path
    problems: list[Problem] = field(default_factory=list)
    lines: dict[Loc, int] = field(default_factory=dict)

    def report(self, loc: Loc, message: str) -> None:
        """Record a problem at field path ``loc`` (line of the deepest key that has one)."""
        line = next((self.lines[loc[:n]] for n in range(len(loc), 0, -1)
                     if loc[:n] in self.lines), None)
        self.problems.append(Problem(self.path, tuple(loc), message, line))


MAX_NODES = 100_000
"""The most values (keys, scalars, lists, mappings) a file may expand to through aliases."""


class _TooBig(Exception):
    """A document that cannot be expanded: ``line`` (1-based) and the reason."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader; nothing else is ever constructed."""


def read_mapping(path: Path, problems: list[Problem]) -> tuple[dict[str, Any] | None, Source]:
    """Read ``path`` as a YAML mapping; report (and return None for) anything else.

    Reports a missing or unreadable file, YAML syntax errors with line and column, duplicate
    keys (which PyYAML would silently merge) and a top level that is not a mapping.
    """
    src = Source(path, problems)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        src.report((), "file not found")
        return None, src
    except IsADirectoryError:
        src.report((), "is a directory, expected a YAML file")
        return None, src
    except (OSError, UnicodeDecodeError) as err:
        src.report((), f"cannot read the file ({err})")
        return None, src
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            src.report((), "the file is empty; expected a mapping of field: value")
            return None, src
        _check_size(node)
        src.lines = _key_lines(node, (), src)
        data = loader.construct_document(node)
    except _TooBig as err:
        src.problems.append(Problem(path, (), str(err), err.line))
        return None, src
    except RecursionError:
        src.report((), "the YAML is nested too deeply to read; flatten it")
        return None, src
    except yaml.MarkedYAMLError as err:
        parts = [f"{text}{_at(mark)}" for text, mark in ((err.context, err.context_mark),
                                                          (err.problem, err.problem_mark)) if text]
        src.report((), f"YAML syntax error: {': '.join(parts)}")
        return None, src
    except yaml.YAMLError as err:
        src.report((), f"YAML error: {err}")
        return None, src
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        src.report((), "the top level must be a mapping of field: value, "
                       f"not a {type(data).__name__}")
        return None, src
    return data, src


def _check_size(root: yaml.Node) -> None:
    """Raise ``_TooBig`` if expanding the aliases under ``root`` gives more than ``MAX_NODES``
    values or a value that contains itself. Linear in the file: shared nodes count once per
    use without being walked again."""
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in active:
            raise _TooBig(node.start_mark.line + 1, "this value contains itself through an "
                          "alias (*name inside its own &name); YAML files for nnexp must be "
                          "trees: write the value out")
        active.add(key)
        total = 1
        if isinstance(node, yaml.MappingNode):
            total += sum(size(k) + size(v) for k, v in node.value)
        elif isinstance(node, yaml.SequenceNode):
            total += sum(size(item) for item in node.value)
        active.discard(key)
        sizes[key] = total
        return total

    if size(root) <= MAX_NODES:
        return
    node = root  # descend to the smallest value that is still too big: the one to fix
    while True:
        children = [v for _, v in node.value] if isinstance(node, yaml.MappingNode) else \
            node.value if isinstance(node, yaml.SequenceNode) else []
        big = [c for c in children if sizes[id(c)] > MAX_NODES]
        if not big:
            break
        node = big[0]
    raise _TooBig(node.start_mark.line + 1,
                  f"this value expands through YAML aliases to {sizes[id(root)]:,} values, more "
                  f"than the {MAX_NODES:,} nnexp reads (a 'billion laughs' file); write the "
                  "values out or use fewer aliases")


def _at(mark: yaml.Mark | None) -> str:
    return f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""


def _key_lines(node: yaml.Node, loc: Loc, src: Source) -> dict[Loc, int]:
    """Line (1-based) of every key path under ``node``; reports duplicate keys."""
    lines: dict[Loc, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = (key_node.value,)
            here = loc + key
            line = key_node.start_mark.line + 1
            if here in lines:
                src.problems.append(Problem(src.path, here, f"duplicate key (first at line "
                                                            f"{lines[here]})", line))
            lines[here] = line
            lines.update(_key_lines(value_node, here, src))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines[loc + (i,)] = item.start_mark.line + 1
            lines.update(_key_lines(item, loc + (i,), src))
    return lines
