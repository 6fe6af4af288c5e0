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
