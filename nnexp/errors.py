"""User-facing errors: one clear paragraph, exit code 2 at the command line, no traceback."""

from __future__ import annotations

from collections.abc import Iterable


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


def did_you_mean(word: object, candidates: Iterable[str], sentence: bool = False) -> str:
    """' (did you mean 'x'?)' for the candidate closest to ``word``, or '' when none is close
    (or ``word`` is not a string); ``sentence=True`` gives " Did you mean 'x'?" to follow a
    full stop. The one did-you-mean of every nnexp message."""
    import difflib

    if not isinstance(word, str):
        return ""
    close = difflib.get_close_matches(word, [str(c) for c in candidates], n=1, cutoff=0.6)
    if not close:
        return ""
    return f" Did you mean '{close[0]}'?" if sentence else f" (did you mean '{close[0]}'?)"


def listing(values: Iterable[object], limit: int = 10) -> str:
    """Values for a message, at most ``limit`` of them: "'a', 'b', 'c'" or "1, 2, ..., 10 and
    1,451 more" (strings quoted). The one way nnexp lists values in a message."""
    values = list(values)
    shown = ", ".join(repr(v) if isinstance(v, str) else str(v) for v in values[:limit])
    rest = len(values) - limit
    return f"{shown} and {rest:,} more" if rest > 0 else shown


def mask_url(url: str) -> str:
    """``url`` with its password replaced by ``***`` (``postgresql://user:***@host/db``), for
    quoting a storage or tracking URL in a message without leaking the secret.

    A database URL is SQLAlchemy's rendering with the password hidden (``make_url``; its
    query may come back reordered or escaped); a URL without a password is returned as
    given, and so are ``journal:`` and file paths. An http(s) URL, or one SQLAlchemy cannot
    parse or would misread (an unescaped ``@`` in the password), keeps everything but the
    password, which ends at the last ``@`` of the authority.
    """
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url  # no user, no password
    if url_scheme(url) not in ("http", "https"):
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            parsed = make_url(url)
        except (ArgumentError, ValueError):
            parsed = None
        if parsed is not None and "@" not in (parsed.host or ""):
            return url if parsed.password is None else \
                parsed.render_as_string(hide_password=True)
    authority, slash, path = rest.partition("/")
    credentials, at, host = authority.rpartition("@")
    if not at or ":" not in credentials:
        return url
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}{slash}{path}"


def warn(message: str) -> None:
    """Print one ``warning: ...`` line on stderr: something failed that does not stop nnexp
    (a plot, an upload); what was recorded elsewhere stays valid."""
    import sys

    print(f"warning: {message}", file=sys.stderr, flush=True)


def incomplete_database_url(url: str) -> str | None:
    """What a ``postgresql://`` or ``mysql://`` URL lacks ('the host', 'the database name' or
    both), or None. Without them libpq silently falls back to a local socket and a database
    named after the user. A local socket is given as ``?host=/var/run/postgresql``."""
    from urllib.parse import parse_qs, urlsplit

    if url_scheme(url) not in ("postgresql", "mysql") or "://" not in url:
        return None
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return None  # malformed: the driver's own error says why
    query = parse_qs(parts.query)
    missing = [what for what, given in (
        ("the host", host or query.get("host") or query.get("unix_socket")),
        ("the database name", parts.path.strip("/") or query.get("dbname"))) if not given]
    return " and ".join(missing) or None
