"""The data layer's user-facing errors."""

from __future__ import annotations

from nnexp.errors import NnexpError


class DataError(NnexpError):
    """A dataset that cannot be loaded or split as asked: the message names the file or
    field and says what to change."""


class SchemaError(DataError):
    """A dataset whose schema rules it out; ``field`` is the ``dataset:`` field to change
    (``path``, ``target``, ``task`` or a built-in dataset's parameter)."""

    def __init__(self, message: str, field: str = "path") -> None:
        super().__init__(message)
        self.field = field


class TableError(SchemaError):
    """Every problem found in a table at once: ``problems`` lists (``dataset:`` field,
    message) pairs; the message is one paragraph naming all of them."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = list(problems)
        if len(problems) == 1:
            message = problems[0][1]
        else:
            message = f"{len(problems)} problems: " + " ".join(
                f"({i}) {text}" for i, (_, text) in enumerate(problems, 1))
        super().__init__(message, problems[0][0])
