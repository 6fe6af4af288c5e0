"""Where MLflow records runs: the tracking URI, its database and the experiment.

The default is a SQLite database inside ``mlruns/`` with artifacts beside it
(``mlruns/mlflow.db`` and ``mlruns/artifacts/``): no server, and not MLflow's plain file store,
which MLflow 3.13+ refuses. nnexp always sets the URI explicitly, because a ``mlruns/`` folder
in the working directory would otherwise make MLflow pick that file store and raise.

Every network store gets a short connect timeout (``CONNECT_TIMEOUT``): before the URI is
handed to MLflow its host and port are probed, and a database is opened once with the
driver's ``connect_timeout``, so an unreachable store is one clear error within seconds, not
MLflow's retries over minutes. MLflow's HTTP client is given a timeout and few retries
(``HTTP_DEFAULTS``) unless the user set those environment variables.
"""

from __future__ import annotations

import os
import socket
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from nnexp.errors import NnexpError, first_line, incomplete_database_url, mask_url, url_scheme
from nnexp.startup import paused_gc

HOME = Path("mlruns")
DB_NAME = "mlflow.db"
SCHEMES = ("sqlite", "postgresql", "mysql", "mssql", "http", "https", "databricks", "file")
CONNECT_TIMEOUT = 5  # seconds: TCP probe and the first HTTP request
DB_CONNECT_TIMEOUT = 3  # seconds per attempt; libpq tries twice (with and without SSL)
DEFAULT_PORTS = {"http": 80, "https": 443, "postgresql": 5432, "mysql": 3306, "mssql": 1433}
SET_BY_NNEXP = "NNEXP_ENV_DEFAULTS"
"""Lists the environment variables nnexp set itself (``HTTP_DEFAULTS``), as opposed to the
user's; worker processes and commands started from a process that ran nnexp inherit both."""

HTTP_DEFAULTS = {"MLFLOW_HTTP_REQUEST_TIMEOUT": "15", "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
                 "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1"}


def default_tracking_uri(home: Path = HOME) -> str:
    """``sqlite:///<abs>/mlruns/mlflow.db``."""
    return f"sqlite:///{(home / DB_NAME).resolve()}"


def resolve_tracking_uri(cli_uri: str | None = None, configured: str | None = None) -> str:
    """The URI to use: ``--tracking-uri``, else ``MLFLOW_TRACKING_URI``, else the experiment's
    ``tracking.uri``, else the default SQLite database in ``./mlruns``."""
    return cli_uri or os.environ.get("MLFLOW_TRACKING_URI") or configured or default_tracking_uri()


def use_tracking_uri(uri: str) -> None:
    """Make ``uri`` MLflow's tracking and registry URI in this process without exporting it.

    ``mlflow.set_tracking_uri`` also sets ``MLFLOW_TRACKING_URI`` (and the registry's
    ``MLFLOW_REGISTRY_URI``) in the environment, where ``resolve_tracking_uri`` would then take
    it for the user's choice: a second search in the same Python process (a notebook, or after
    ``mlruns/`` was deleted) would write to the first one's store. The variables are put back
    as they were; nnexp hands the URI to its worker processes itself.
    """
    import mlflow

    saved = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")}
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def artifact_root(uri: str) -> str | None:
    """Artifact location for new experiments: ``artifacts/`` beside a SQLite database, or None
    (the server's or store's own default) for other stores."""
    if uri.startswith("sqlite:///"):
        return (Path(uri[len("sqlite:///"):]).parent / "artifacts").resolve().as_uri()
    return None


def _check_uri(uri: str) -> None:
    scheme = url_scheme(uri)
    if scheme not in SCHEMES:
        raise NnexpError(
            f"tracking URI {mask_url(uri)!r} is not one MLflow can use: it must start with one of "
            f"{', '.join(s + ':' for s in SCHEMES)} (for example sqlite:///mlruns/mlflow.db). "
            "Fix --tracking-uri, MLFLOW_TRACKING_URI or tracking.uri in the experiment file.")
    if scheme == "file" and os.environ.get("MLFLOW_ALLOW_FILE_STORE", "").lower() != "true":
        raise NnexpError(
            f"tracking URI {mask_url(uri)!r} is MLflow's plain file store, which MLflow 3.13+ "
            "refuses. Use a SQLite database instead, e.g. --tracking-uri sqlite:///mlruns/mlflow.db.")


def quiet_mlflow() -> None:
    """Keep MLflow's informational logs and progress bars out of nnexp's output."""
    import logging

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    # a tracking server makes MLflow print "View run ... at: URL" for every run it ends
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # it logs each failed query with its traceback before raising it, which nnexp reports
    logging.getLogger("mlflow.store.db.utils").setLevel(logging.CRITICAL)


def _unreachable(uri: str, why: str) -> NnexpError:
    return NnexpError(
        f"cannot open the MLflow tracking store {mask_url(uri)!r}: {why}. Check that the URI is "
        "right and the database or server is reachable (fix --tracking-uri, MLFLOW_TRACKING_URI "
        "or tracking.uri in the experiment file).")


def _missing_driver(uri: str, err: ImportError) -> NnexpError:
    return NnexpError(
        f"the MLflow tracking store {mask_url(uri)!r} needs a database driver that is not "
        f"installed ({err}). Install it (for PostgreSQL: pip install 'psycopg[binary]') or use "
        "another --tracking-uri.")


def probe(uri: str, timeout: float = CONNECT_TIMEOUT) -> None:
    """Fail fast: raise ``NnexpError`` unless the server of a network ``uri`` accepts a TCP
    connection within ``timeout`` seconds, and a PostgreSQL or MySQL database opens within it
    (one attempt; MLflow's own store would retry for ~100 s)."""
    scheme = url_scheme(uri)
    if scheme not in DEFAULT_PORTS:
        return
    parts = urlsplit(uri)
    try:
        host, port = parts.hostname, parts.port or DEFAULT_PORTS[scheme]
    except ValueError as err:
        raise _unreachable(uri, f"malformed address ({err})") from None
    if host:  # a database over a local socket has no host to probe
        try:
            socket.create_connection((host, port), timeout=timeout).close()
        except TimeoutError:
            raise _unreachable(uri, f"no answer from {host}:{port} within {timeout:g} s") \
                from None
        except OSError as err:
            raise _unreachable(uri, f"cannot connect to {host}:{port} ({err.strerror or err})") \
                from None
    if scheme in ("postgresql", "mysql"):
        import sqlalchemy

        try:
            engine = sqlalchemy.create_engine(
                uri, connect_args={"connect_timeout": DB_CONNECT_TIMEOUT},
                poolclass=sqlalchemy.NullPool)
            with engine.connect():
                pass
            engine.dispose()
        except ImportError as err:
            raise _missing_driver(uri, err) from None
        except Exception as err:  # noqa: BLE001 - any failure to connect is the user's URI
            raise _unreachable(uri, first_line(getattr(err, "orig", None) or err)) from None


@contextmanager
def _environment(values: dict[str, str]):
    """Set environment variables for the block only."""
    previous = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def apply_http_defaults() -> set[str]:
    """Set ``HTTP_DEFAULTS`` in the environment where the user has not set them, record them
    in ``SET_BY_NNEXP`` (processes started from this one inherit both), and return the names
    nnexp set, now or in a process this one was started from."""
    ours = set(filter(None, os.environ.get(SET_BY_NNEXP, "").split(",")))
    for key, value in HTTP_DEFAULTS.items():
        if key not in os.environ:
            os.environ[key] = value
            ours.add(key)
    os.environ[SET_BY_NNEXP] = ",".join(sorted(ours))
    return ours


def preflight(uri: str) -> None:
    """What ``connect`` checks before it imports MLflow (well under a second): the URI's
    form; for SQLite, that its folder and the artifact folder beside it can be written and
    that an existing file is a database; for a network store, that it answers (``probe``).
    Raises ``NnexpError`` naming the store and the fix."""
    _check_uri(uri)
    _check_database(uri)
    database = sqlite_path(uri)
    if database is not None:
        _make_home(uri, database.parent)
        check_writable(uri, database.parent, "database")
        check_writable(uri, database.parent / "artifacts", "artifact")
        if database.exists():
            _check_sqlite(uri, database)
    probe(uri)


def _check_sqlite(uri: str, database: Path) -> None:
    """Raise ``NnexpError`` unless ``database`` opens as a SQLite database."""
    import sqlite3
    from contextlib import closing

    try:
        with closing(sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True,
                                     timeout=CONNECT_TIMEOUT)) as db:
            db.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.Error as err:
        raise _unreachable(uri, f"{database}: {first_line(err)}") from None


def connect(uri: str):
    """Open (creating if needed) the tracking store at ``uri`` and return an ``MlflowClient``.

    Call this once in the parent process before workers start: it runs MLflow's first-time
    database migrations, which race when several processes do it at once. An unreachable
    store raises ``NnexpError`` within about ``CONNECT_TIMEOUT`` seconds. For an HTTP server it
    also sets ``HTTP_DEFAULTS`` in the environment (unless set), which worker processes
    inherit.
    """
    preflight(uri)
    with paused_gc():  # importing MLflow: see nnexp.startup
        return _open(uri)


def _open(uri: str):
    database = sqlite_path(uri)
    from mlflow import MlflowClient

    quiet_mlflow()
    first_call: dict[str, str] = {}
    if url_scheme(uri) in ("http", "https"):
        # the first call: one quick try, unless the user chose the timeouts (values nnexp set
        # itself, by an earlier connect in this process, are not the user's)
        ours = apply_http_defaults()
        first_call = {k: v for k, v in (("MLFLOW_HTTP_REQUEST_TIMEOUT", str(CONNECT_TIMEOUT)),
                                        ("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")) if k in ours}
    use_tracking_uri(uri)
    try:
        with _creation_lock(uri, database), _environment(first_call):
            if database is not None:
                fresh = not database.exists()
                seed_database(database)
            client = MlflowClient(tracking_uri=uri, registry_uri=uri)
            if database is not None:
                _write_ahead(client)
            if database is not None and fresh:
                _drop_connections(client)
            client.search_experiments(max_results=1)
    except NnexpError:
        raise
    except ImportError as err:
        raise _missing_driver(uri, err) from None
    except Exception as err:  # noqa: BLE001 - any failure to open the store is the user's URI
        why = first_line(err)
        if database is not None and _is_disk_error(err):
            raise store_write_error(uri, why) from None
        if "timed out" in why.lower() or "timeout" in why.lower():
            why = f"the server accepted the connection but did not answer within " \
                  f"{CONNECT_TIMEOUT} s"
        raise _unreachable(uri, why) from None
    return client


SQLITE_PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL")
"""How nnexp opens MLflow's SQLite store. In write-ahead-log mode a commit appends to the log
and, with ``synchronous=NORMAL``, does not wait for the disk: several times cheaper than
SQLite's default rollback journal, which syncs the disk two or three times per commit (MLflow
commits several times per run). A commit still survives a crash of the process; only a power
loss can take back the last ones, and those are kept elsewhere until they are safe: a
worker's writes sit fsync'd in its outbox (``nnexp.tracking.outbox``) until the store has been
checkpointed to disk (``checkpoint``). Readers (the MLflow UI, other commands) work as before;
the log needs a local disk, as SQLite's locking always did."""


def _write_ahead(client) -> None:
    """``SQLITE_PRAGMAS`` on every connection of the SQLite stores behind ``client`` (the
    connections already open are closed, to reopen with them)."""
    from sqlalchemy import event

    from nnexp.library_internals import sqlalchemy_engines

    for engine in sqlalchemy_engines(client):
        if engine.dialect.name != "sqlite" or getattr(engine, "_nnexp_wal", False):
            continue

        def pragmas(connection, record) -> None:
            cursor = connection.cursor()
            for pragma in SQLITE_PRAGMAS:
                cursor.execute(pragma)
            cursor.close()

        event.listen(engine, "connect", pragmas)
        engine._nnexp_wal = True
        engine.dispose()


def checkpoint(client) -> None:
    """Copy the write-ahead log of the SQLite stores behind ``client`` into the database and
    sync it to disk (``PRAGMA wal_checkpoint(FULL)``): what was committed is then safe from a
    power loss too. Does nothing for other stores."""
    from sqlalchemy import text

    from nnexp.library_internals import sqlalchemy_engines

    for engine in sqlalchemy_engines(client):
        if engine.dialect.name == "sqlite":
            with engine.connect() as connection:
                connection.execute(text("PRAGMA wal_checkpoint(FULL)"))


def _drop_connections(client) -> None:
    """Close the pooled connections of the MLflow stores behind ``client``. MLflow keeps one
    store per URI for the life of the process: when a SQLite file it had open was deleted
    (``rm -r mlruns`` between two searches in one notebook) and made anew, those connections
    still point at the deleted file, and every write fails ("attempt to write a readonly
    database"). Closed, they reopen the new file on next use. Does nothing where MLflow's
    store has no SQLAlchemy engine."""
    from nnexp.library_internals import sqlalchemy_engines

    for engine in sqlalchemy_engines(client):
        engine.dispose()


TEMPLATE_ENV = "NNEXP_MLFLOW_TEMPLATE"
"""Set to ``0`` to have MLflow create every new SQLite store itself (see ``seed_database``)."""


def template_path() -> Path:
    """Where the empty MLflow database of this MLflow version is kept:
    ``$XDG_CACHE_HOME/nnexp/`` (default ``~/.cache/nnexp/``)."""
    import mlflow

    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "nnexp" / f"mlflow-{mlflow.__version__}-empty.db"


def _make_template(path: Path) -> None:
    """Create the empty database at ``path`` the way MLflow creates a new store (its tables
    and all its schema migrations), without the default experiment, whose artifact
    location is the store's own (MLflow adds it when it opens the copy)."""
    import sqlite3
    import tempfile
    from contextlib import closing

    from nnexp.library_internals import create_sqlite_store

    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".template-") as tmp:
        database = Path(tmp) / "empty.db"
        create_sqlite_store(database, Path(tmp).as_uri())
        with closing(sqlite3.connect(database)) as db, db:
            db.execute("DELETE FROM experiment_tags")
            db.execute("DELETE FROM experiments")
        os.replace(database, path)  # atomic: a concurrent maker's copy is the same


def seed_database(database: Path) -> bool:
    """Create a new SQLite tracking store at ``database`` as a copy of an empty one.

    MLflow creates a new store by running its ~50 schema migrations (1.5-2 s on an idle
    machine, more than the training of a short study). They depend only on the MLflow
    version, so the result is kept once per version (``template_path``) and each new store
    is a copy of it: a few milliseconds. The first store after MLflow is installed or
    upgraded pays the migrations once. Best effort: if the cache cannot be used, MLflow
    creates the store itself as before. Call it under the creation lock. Returns whether
    ``database`` was copied."""
    if database.exists() or os.environ.get(TEMPLATE_ENV, "1") == "0":
        return False
    partial = database.with_name(f".{database.name}.{os.getpid()}.partial")
    try:
        template = template_path()
        if not template.is_file():
            _make_template(template)
        import shutil

        shutil.copyfile(template, partial)
        os.replace(partial, database)
        return True
    except Exception:  # noqa: BLE001 - only a shortcut: MLflow creates the store itself
        partial.unlink(missing_ok=True)
        return False


def _check_database(uri: str) -> None:
    missing = incomplete_database_url(uri)
    if missing:
        raise NnexpError(
            f"tracking URI {mask_url(uri)!r} does not name {missing}, so the driver would pick "
            "a default database silently. Give the full URI, e.g. "
            "postgresql://user@host:5432/mlflow (a local socket: postgresql://user@/mlflow?host="
            "/var/run/postgresql). Fix --tracking-uri, MLFLOW_TRACKING_URI or tracking.uri.")


def sqlite_path(uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI (None for other stores or in-memory)."""
    if not uri.startswith("sqlite:///"):
        return None
    path = uri[len("sqlite:///"):].split("?", 1)[0]
    return Path(path) if path and path != ":memory:" else None


def missing_database(uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI when it does not exist (opening the store
    would create an empty one), else None: commands that read a store refuse it."""
    database = sqlite_path(uri)
    return database if database is not None and not database.is_file() else None


def creation_lock_path(database: Path) -> Path:
    """The lock file beside a SQLite database: ``mlruns/.mlflow.db.lock``."""
    return database.parent / f".{database.name}.lock"


def _creation_lock(uri: str, database: Path | None):
    """The inter-process lock around opening a SQLite store: its first opening creates the
    tables and runs MLflow's migrations, which leave the database broken for good when two
    processes run them at once. Other stores: no lock (a server's database is created by its
    administrator or by ``mlflow server``)."""
    from contextlib import nullcontext

    from nnexp.stores.locking import file_lock

    if database is None:
        return nullcontext()
    return file_lock(creation_lock_path(database),
                     f"the creation of the MLflow store {mask_url(uri)!r}")


def _make_home(uri: str, directory: Path) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise NnexpError(
            f"cannot create the directory {str(directory)!r} of the MLflow tracking store "
            f"{mask_url(uri)!r}: {err.strerror or err}. Make it a writable directory (or run "
            "from another working directory, or choose another --tracking-uri).") from None


def check_writable(uri: str, directory: Path, what: str) -> None:
    """Raise ``NnexpError`` naming the store and the fix unless one byte can be written in
    ``directory`` (created if absent): a read-only mount, a path through a regular file or a
    full disk is found before any trial runs, not as one failed write per trial."""
    import tempfile

    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory) as f:
            f.write(b"\0")
            f.flush()
            os.fsync(f.fileno())
    except OSError as err:
        raise NnexpError(
            f"cannot write to the {what} directory {str(directory)!r} of the MLflow tracking "
            f"store {mask_url(uri)!r}: {err.strerror or err}. Make it a writable directory "
            f"with free space (free space on the disk holding it, or fix its permissions or "
            "mount), then re-run the same command; or choose another --tracking-uri.") from None


DISK_ERRORS = ("disk is full", "database or disk is full", "no space left", "disk quota",
               "readonly database", "read-only file system", "unable to open database file",
               "disk i/o error", "permission denied")


def _is_disk_error(err: BaseException) -> bool:
    text = str(getattr(err, "orig", None) or err).lower()
    return isinstance(err, OSError) or any(marker in text for marker in DISK_ERRORS)


def store_write_error(uri: str, why: str) -> NnexpError:
    """The one message for a local tracking store that cannot be written (full disk, read-only
    or missing directory), naming the store and the fix."""
    database = sqlite_path(uri)
    where = str(database.parent) if database is not None else mask_url(uri)
    return NnexpError(
        f"cannot write to the MLflow tracking store {mask_url(uri)!r}: {why}. Free space on "
        f"the disk holding {where!r} and make sure it is writable, then re-run the same "
        "command to resume (or choose another --tracking-uri).")


def ensure_experiment(client, name: str, uri: str) -> str:
    """The id of the MLflow experiment ``name``, created (artifacts beside the DB) if absent,
    marked as a model-training experiment (see ``mark_model_training``)."""
    found = client.get_experiment_by_name(name)
    if found is not None:
        if found.lifecycle_stage == "deleted":
            client.restore_experiment(found.experiment_id)
        mark_model_training(client, found)
        return found.experiment_id
    try:
        return client.create_experiment(name, artifact_location=artifact_root(uri),
                                        tags={EXPERIMENT_KIND: MODEL_TRAINING})
    except Exception:  # another process created it first ("already exists"): use that one
        found = client.get_experiment_by_name(name)
        if found is None:
            raise
        return found.experiment_id


EXPERIMENT_KIND, MODEL_TRAINING = "mlflow.experimentKind", "custom_model_development"


def mark_model_training(client, experiment) -> None:
    """Tag ``experiment`` so that the MLflow UI opens it in its model-training view (runs,
    metric charts) rather than the GenAI view (traces) MLflow 3 opens untagged ones in."""
    if experiment.tags.get(EXPERIMENT_KIND) != MODEL_TRAINING:
        client.set_experiment_tag(experiment.experiment_id, EXPERIMENT_KIND, MODEL_TRAINING)
