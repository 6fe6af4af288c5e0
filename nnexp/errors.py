"""User-facing errors: one clear paragraph, exit code 2 at the command line, no traceback."""

from __future__ import annotations


class NnexpError(Exception):
    """A mistake in what the user gave nnexp (a file, a field, a value, a URL).

    The message is the whole explanation: it names the file, the field and the fix.
    The CLI prints it and exits with code 2.
    """

    exit_code = 2


def url_scheme(url: str) -> str:
    """The database or protocol part of a URL: 'postgresql' for postgresql+psycopg2://..., ''
    when there is none."""
    return url.split(":", 1)[0].split("+", 1)[0] if ":" in url else ""


def first_line(err: BaseException) -> str:
    """The first line of an exception's message (its type name when the message is empty),
    for quoting a library's error inside a one-paragraph ``NnexpError``."""
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
