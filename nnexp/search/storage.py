"""Optuna storage: the embedded default under ``mlruns/`` or any Optuna storage URL.

The default is Optuna's journal file (``mlruns/optuna.journal``): no server, and safe for
several worker processes on one machine (Optuna's advice; measured in ``bench/storage.py``,
where SQLite with 4 workers is slower per trial). ``--storage`` takes any Optuna RDB URL
(``sqlite:///...``, ``postgresql://...``, ``mysql://...``) or ``journal:PATH``. A database
server gets ``CONNECT_TIMEOUT`` seconds to answer, so an unreachable one is an error within
seconds, not a hang.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from nnexp.errors import NnexpError, first_line, mask_url, url_scheme

DEFAULT_JOURNAL = Path("mlruns") / "optuna.journal"
RDB_SCHEMES = ("sqlite", "postgresql", "mysql", "oracle", "mssql")
CONNECT_TIMEOUT = 3  # seconds per attempt (libpq tries twice: with and without SSL)


def default_storage_url() -> str:
    return f"journal:{DEFAULT_JOURNAL.resolve()}"


def _journal_backend(path: str):
    """Optuna's journal file without an fsync per append.

    A trial appends ~30 records (one per epoch report); Optuna's backend fsyncs each (~1.5 ms
    here, ~0.17 ms without). Appends still take the file lock and are flushed to the OS, so a
    crashed or killed process loses nothing; only a power cut can lose the last records.
    """
    import json

    from optuna.storages.journal import JournalFileBackend

    class JournalFile(JournalFileBackend):
        def append_logs(self, logs: list[dict]) -> None:
            text = "\n".join(json.dumps(log, separators=(",", ":")) for log in logs) + "\n"
            self._lock.acquire()
            try:
                with open(self._file_path, "ab") as f:
                    f.write(text.encode("utf-8"))
            finally:
                self._lock.release()

    return JournalFile(path)


def open_storage(url: str | None):
    """An Optuna storage object for ``url`` (None: the embedded journal under ``mlruns/``).

    Raises ``NnexpError`` (exit 2) naming the URL and the accepted forms when it is malformed
    or the database cannot be reached.
    """
    import optuna

    url = url or default_storage_url()
    if url.startswith("journal:"):
        path = Path(url[len("journal:"):]).expanduser()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            backend = _journal_backend(str(path))
        except OSError as err:
            raise NnexpError(f"cannot open the Optuna journal file {str(path)!r}: "
                             f"{err.strerror or err}. Choose a writable path.") from None
        return optuna.storages.JournalStorage(backend)
    scheme = url_scheme(url) if "://" in url else ""
    if scheme not in RDB_SCHEMES:
        raise NnexpError(
            f"storage URL {mask_url(url)!r} is not one Optuna can use. Give a database URL such as "
            "sqlite:///mlruns/optuna.db or postgresql://user@host:5432/db, or journal:PATH for a "
            "journal file (the default is journal:mlruns/optuna.journal). Fix --storage or "
            "study.storage in the experiment file.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            engine = {"connect_args": {"connect_timeout": CONNECT_TIMEOUT}} \
                if scheme in ("postgresql", "mysql") else None
            return optuna.storages.RDBStorage(url, engine_kwargs=engine, heartbeat_interval=60,
                                              grace_period=180)
    except ImportError:
        raise NnexpError(
            f"the Optuna storage {mask_url(url)!r} needs a database driver that is not installed. "
            "Install it (for PostgreSQL: pip install 'psycopg[binary]', or use a "
            "postgresql+psycopg2:// URL with psycopg2-binary) or choose another --storage.") \
            from None
    except Exception as err:  # noqa: BLE001 - any failure to connect is the user's URL
        raise NnexpError(
            f"cannot open the Optuna storage {mask_url(url)!r}: {first_line(err)}. Check the URL, "
            "that the database server is running and reachable, and the credentials (fix "
            "--storage or study.storage in the experiment file).") from None
