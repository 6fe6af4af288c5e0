"""The data layer's user-facing error."""

from __future__ import annotations

from nnexp.errors import NnexpError


class DataError(NnexpError):
    """A dataset that cannot be loaded or split as asked: the message names the file or
    field and says what to change."""
