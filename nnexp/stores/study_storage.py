"""Optuna storage: the embedded default under ``mlruns/`` or any Optuna storage URL.

The default is Optuna's journal file (``mlruns/optuna.journal``): no server, and safe for
several worker processes on one machine (Optuna's advice; measured in ``bench/storage.py``,
where SQLite with 4 workers is slower per trial). ``--storage`` takes any Optuna RDB URL
(``sqlite:///...``, ``postgresql://...``, ``mysql://...``) or ``journal:PATH``; so does the
environment variable ``NNEXP_STORAGE`` (``resolve_storage_url``). A password in a URL is shown
as ``***`` in every message and record (``mask_url``). A database
server gets ``CONNECT_TIMEOUT`` seconds to answer, so an unreachable one is an error within
seconds, not a hang.
"""

from __future__ import annotations

import os
from pathlib import Path

from nnexp.errors import NnexpError, first_line, incomplete_database_url, mask_url, url_scheme, warn
from nnexp.stores.locking import file_lock

DEFAULT_JOURNAL = Path("mlruns") / "optuna.journal"
RDB_SCHEMES = ("sqlite", "postgresql", "mysql", "oracle", "mssql")
CONNECT_TIMEOUT = 3  # seconds per attempt (libpq tries twice: with and without SSL)


def default_storage_url() -> str:
    return f"journal:{DEFAULT_JOURNAL.resolve()}"


def resolve_storage_url(cli_url: str | None = None, configured: str | None = None
                        ) -> str | None:
    """The storage URL to use: ``--storage``, else ``NNEXP_STORAGE`` (so a password need not
    be on the command line, where ``ps`` shows it), else the experiment's ``study.storage``,
    else None (the embedded journal). A PostgreSQL password can also stay out of the URL
    altogether: libpq reads ``PGPASSWORD`` (or ``~/.pgpass``)."""
    return cli_url or os.environ.get("NNEXP_STORAGE") or configured or None


RESERVE_BYTES = 64 * 1024  # spare space beside the journal, released when the disk fills


def _journal_backend(path: str):
    """Optuna's journal file without an fsync per append, each append all or nothing
    (``JournalAppender``; Optuna reads the file: ``nnexp.library_internals``)."""
    from nnexp.library_internals import journal_file_backend

    backend = journal_file_backend(path, JournalAppender(path))
    _make_reserve(path)
    return backend


class JournalAppender:
    """Appends records to the journal at ``path``: ``appender(logs)``.

    A trial appends ~30 records (one per epoch report); Optuna's backend fsyncs each (~1.5 ms
    here, ~0.17 ms without). Appends still take the file lock and are flushed to the OS, so a
    crashed or killed process loses nothing; only a power cut can lose the last records. The
    lock is ``journal_lock`` (an ``fcntl.flock``) instead of Optuna's symlink lock, whose
    symlink, rename and unlink cost ~0.25 ms per append here (~4 ms a trial).

    A full disk: an append that fails (ENOSPC, EDQUOT, EIO) is cut off again under the lock, so
    the journal never keeps half a record. The first time, the spare file
    ``<journal>.reserve`` (``RESERVE_BYTES``, made when the journal is opened) is deleted and
    the append retried, so the trial under way can still record how it ended; the next trial
    this process would start raises ``NnexpError`` naming the journal and the fix instead
    (``full``). When there is no spare space left, the append itself raises that error.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.full: NnexpError | None = None

    def __call__(self, logs: list[dict]) -> None:
        from nnexp.library_internals import creates_trial, journal_records

        if self.full is not None and creates_trial(logs):
            raise self.full  # the disk filled up: no new trial, the study stops
        data = journal_records(logs)
        with journal_lock(self.path):
            try:
                self._append(data)
            except OSError as err:
                error = journal_write_error(self.path, err)
                if not _release_reserve(self.path):
                    raise error from None
                self.full = error
                try:
                    self._append(data)
                except OSError:
                    raise error from None

    def _append(self, data: bytes) -> None:
        size = os.path.getsize(self.path)
        try:
            with open(self.path, "ab") as f:
                f.write(data)
        except OSError:
            _cut(self.path, size)
            raise


def journal_lock(path: str | Path):
    """The inter-process lock every nnexp process holds to write the journal at ``path``:
    ``nnexp.stores.locking.file_lock`` on ``<journal>.flock`` (~10 us an append; released by the
    kernel when its holder dies, even killed, so no stale lock is left behind or broken by
    force). It waits as long as another process holds it, polling every millisecond."""
    import math

    return file_lock(Path(f"{path}.flock"), f"the Optuna journal {str(path)!r}",
                     timeout=math.inf, poll=0.001)


def _reserve_path(journal: str | Path) -> Path:
    return Path(f"{journal}.reserve")


def _make_reserve(journal: str | Path) -> None:
    """Set ``RESERVE_BYTES`` of disk aside beside the journal (best effort)."""
    reserve = _reserve_path(journal)
    try:
        if reserve.exists() and reserve.stat().st_size >= RESERVE_BYTES:
            return
        fd = os.open(reserve, os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            os.posix_fallocate(fd, 0, RESERVE_BYTES)
        finally:
            os.close(fd)
    except OSError:
        pass  # no space to set aside (a smaller reserve still helps)


def _release_reserve(journal: str | Path) -> bool:
    """Delete the spare file beside the journal; True when there was one."""
    try:
        _reserve_path(journal).unlink()
        return True
    except OSError:
        return False


def journal_write_error(path: str | Path, err: OSError) -> NnexpError:
    """The one message for a journal append that failed: the file, why, and the fix."""
    where = Path(path).resolve().parent
    return NnexpError(
        f"cannot write to the Optuna journal {str(path)!r}: {err.strerror or err}. Nothing "
        f"half-written was kept. Free space on the disk holding {str(where)!r} (and check that "
        "it is writable), then re-run the same command to resume.")


def _cut(path: str | Path, size: int) -> None:
    """Truncate ``path`` back to ``size`` bytes (best effort: a later open repairs a tail)."""
    try:
        os.truncate(path, size)
    except OSError:
        pass


def torn_tail(path: Path, block: int = 1 << 16) -> int | None:
    """Where the intact part of a journal ends when its last record is torn (no final newline,
    or a last line that is not JSON), else None. Reads only the file's tail."""
    import json

    size = path.stat().st_size
    if size == 0:
        return None
    with open(path, "rb") as f:
        tail, start = b"", size
        while start > 0:  # the last two newlines (or the start of the file)
            start = max(0, start - block)
            f.seek(start)
            tail = f.read(min(block, size - start)) + tail
            if tail.count(b"\n") >= 2 or start == 0:
                break
    if not tail.endswith(b"\n"):
        return size - (len(tail) - tail.rfind(b"\n") - 1)
    body = tail[:-1]
    last = body[body.rfind(b"\n") + 1:]
    try:
        json.loads(last)
        return None
    except ValueError:
        return size - len(last) - 1


def repair_journal(path: str | Path) -> str | None:
    """Cut a torn last record (left by a process killed mid-write, a power cut or a full disk
    before nnexp cut failed appends) off the journal at ``path``, after copying the file to
    ``<path>.torn-<timestamp>``. Returns what was done, or None when the journal was intact.
    Runs under the journal's lock, so no append is under way. Used when a search opens the
    journal (with a warning) and by ``nnexp doctor --fix``."""
    import shutil
    import time

    path = Path(path)
    if not path.exists() or torn_tail(path) is None:
        return None
    with journal_lock(path):
        keep = torn_tail(path)  # again, under the lock
        if keep is None:
            return None
        size = path.stat().st_size
        backup = path.with_name(f"{path.name}.torn-{time.strftime('%Y%m%d-%H%M%S')}")
        try:
            shutil.copy2(path, backup)
            os.truncate(path, keep)
        except OSError as err:
            backup.unlink(missing_ok=True)
            raise NnexpError(
                f"the Optuna journal {str(path)!r} ends with a torn record, and it could not be "
                f"repaired: {err.strerror or err}. Free space on the disk holding "
                f"{str(path.resolve().parent)!r}, then re-run the same command.") from None
    return (f"the Optuna journal {str(path)!r} ended with a torn record ({size - keep} bytes "
            f"from an interrupted write); it was cut off and the original kept as "
            f"{str(backup)!r}")


def _rdb_storage(url: str, scheme: str, attempts: int = 4):
    """Optuna's RDB storage (heartbeats are configured by the runner, which knows the study's
    settings). Machines that start at once on an empty database race to create Optuna's
    tables (PostgreSQL: a duplicate-key error on its catalogue): the loser retries, and then
    finds the tables made."""
    import optuna
    import sqlalchemy.exc
    import tenacity

    engine = {"connect_args": {"connect_timeout": CONNECT_TIMEOUT}} \
        if scheme in ("postgresql", "mysql") else None
    retry = tenacity.Retrying(  # the other creator finishes meanwhile
        retry=tenacity.retry_if_exception_type((sqlalchemy.exc.IntegrityError,
                                                sqlalchemy.exc.ProgrammingError)),
        stop=tenacity.stop_after_attempt(attempts), wait=tenacity.wait_random(0.2, 1.2),
        reraise=True)
    return retry(optuna.storages.RDBStorage, url, engine_kwargs=engine)


def use_heartbeat(storage, seconds: int, retries: int) -> None:
    """Give RDB ``storage`` a heartbeat every ``seconds`` (a trial is stale after three
    missed) and ``retries`` retries of a stale trial (Optuna's
    ``RetryHeartbeatStaleTrialCallback``; 0: none)."""
    import warnings

    import optuna

    from nnexp.library_internals import configure_heartbeat

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        callback = optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=retries) \
            if retries else None
    configure_heartbeat(storage, seconds, 3 * seconds, callback)


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
        repaired = repair_journal(path)
        if repaired:
            warn(repaired)
        try:
            return optuna.storages.JournalStorage(backend)
        except ValueError as err:  # a damaged record inside the file (JSONDecodeError too)
            raise NnexpError(
                f"the Optuna journal {str(path)!r} cannot be read: {first_line(err)}. A record "
                "inside it is damaged (not only the last one, which nnexp repairs itself); "
                "restore it from a backup or choose another --storage.") from None
    scheme = url_scheme(url) if "://" in url else ""
    missing = incomplete_database_url(url)
    if missing:
        raise NnexpError(
            f"storage URL {mask_url(url)!r} does not name {missing}, so the driver would pick "
            "a default database silently. Give the full URL, e.g. "
            "postgresql://user@host:5432/db (a local socket: postgresql://user@/db?host="
            "/var/run/postgresql). Fix --storage, NNEXP_STORAGE or study.storage.")
    if scheme not in RDB_SCHEMES:
        raise NnexpError(
            f"storage URL {mask_url(url)!r} is not one Optuna can use. Give a database URL such as "
            "sqlite:///mlruns/optuna.db or postgresql://user@host:5432/db, or journal:PATH for a "
            "journal file (the default is journal:mlruns/optuna.journal). Fix --storage or "
            "study.storage in the experiment file.")
    try:
        return _rdb_storage(url, scheme)
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


def storage_failure(err: BaseException) -> NnexpError | None:
    """The ``NnexpError`` (a failed journal append) behind ``err``, if any. Optuna replaces an
    error raised while it records a trial's end by an ``AssertionError`` ("Should not reach");
    the journal's message is the one to show."""
    seen = set()
    while err is not None and id(err) not in seen:
        if isinstance(err, NnexpError):
            return err
        seen.add(id(err))
        err = err.__cause__ or err.__context__
    return None


def optuna_form(url: str) -> str:
    """``url`` as Optuna's own tools take it (``optuna studies --storage``, ``optuna-dashboard``):
    a journal as its bare path (they guess the storage class from an existing file and refuse
    ``journal:PATH``), a database URL as is. Not masked: see ``shown_storage``."""
    return url[len("journal:"):] if url.startswith("journal:") else url


def shown_storage(url: str) -> str:
    """The storage as nnexp prints it: the URL nnexp takes (password masked) and, for a
    journal, the bare path Optuna's CLI and optuna-dashboard take:
    ``journal:/w/mlruns/optuna.journal (optuna, optuna-dashboard: /w/mlruns/optuna.journal)``."""
    shown = mask_url(url)
    if url.startswith("journal:"):
        return f"{shown} (optuna, optuna-dashboard: {optuna_form(url)})"
    return shown


def name_metrics(study, metrics: list[str]) -> None:
    """Name the objective values of ``study`` after its metrics (``Study.set_metric_names``,
    which Optuna's tools show instead of "Objective 0"), unless it has names already."""
    import warnings

    import optuna

    with warnings.catch_warnings():  # set_metric_names is marked experimental
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        if not study.metric_names:
            study.set_metric_names(list(metrics))
