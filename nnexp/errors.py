"""User-facing errors: one clear paragraph, exit code 2 at the command line, no traceback."""

from __future__ import annotations


class NnexpError(Exception):
    """A mistake in what the user gave nnexp (a file, a field, a value, a URL).

    The message is the whole explanation: it names the file, the field and the fix.
    The CLI prints it and exits with code 2.
    """

    exit_code = 2
