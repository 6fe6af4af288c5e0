"""Optuna's, MLflow's and multiprocessing's private API: the one module of nnexp that
touches it.

Everywhere else nnexp uses only what the two libraries document. What follows is what they
do not offer publicly and nnexp cannot do without; each function says why it exists, and
``tests/test_library_internals.py`` pins the behaviour it relies on (with real storages and a
real MLflow store), so that an upgrade that changes any of it fails a named test instead of a
search. The versions tested are in the README ("Tested versions"). Nothing here imports
Optuna, MLflow or SciPy until it is called, and nothing here imports nnexp.

Optuna

- ``storage_of(study)``, ``trial_id(trial)``: a ``Study`` does not expose its storage, nor a
  trial its storage id; nnexp writes a trial's attributes itself when it fails a trial whose
  worker died (``nnexp.recovery.doctor``) and claims invocation numbers in the study.
- ``retry_of(trial)``: the trial a running trial retries (Optuna's retry callbacks record it
  in the new trial's system attributes, which an ``optuna.Trial`` no longer shows in 5.0).
- ``cached_storage(rdb)``: Optuna's per-process cache over an RDB storage, which Optuna itself
  puts in front of a storage given as a URL; nnexp builds the ``RDBStorage`` itself (connect
  timeout, heartbeats), so it wraps it itself.
- ``configure_heartbeat(storage, ...)``: heartbeats for an RDB storage already open.
- ``heartbeat_enabled(storage)``, ``stale_trial_ids(study)``: which running trials have a
  stale heartbeat, without failing them (``optuna.storages.fail_stale_trials`` fails them all
  and cannot say why), so that ``nnexp doctor`` can report them and record the reason.
- ``forwarding_storage_class()``: the base of a storage that Optuna takes for another one,
  heartbeats included (``nnexp.outage.retrying_storage`` retries every call through it).
- ``journal_file_backend(path, append)``, ``journal_records(logs)``, ``creates_trial(logs)``:
  Optuna's journal file read by Optuna, written by nnexp (no fsync per append, its own lock,
  a full disk handled: ``nnexp.stores.study_storage``) in Optuna's record format.
- ``vectorise_tpe()``: TPE's log normal CDF computed by SciPy over whole arrays.

MLflow

- ``sqlalchemy_engines(client)``: the database engines behind an ``MlflowClient``, whose
  pooled connections must be closed when its SQLite file was deleted and made anew.
- ``create_sqlite_store(database, artifact_uri)``: an empty store with all of MLflow's
  migrations, copied for each new store (``nnexp.stores.tracking_store.seed_database``).
- ``installed_requirements_trusted()``, ``mlflow_logging_disabled()``: quiet, fast saving of a
  pyfunc model (``nnexp.serving.models``).
- ``artifact_repository(artifact_uri, tracking_uri)``, ``run_artifact_source(runs_uri)``: a
  run's artifacts by their URI without reading the run back (``nnexp.tracking.runs``), and
  the source URI of a registered model version (``nnexp.serving.models``).
- ``sql_tracking_store(client)``, ``insert_runs(store, runs)``: whole runs written into
  MLflow's SQL tables in one transaction (``nnexp.tracking.grouped``). MLflow's client commits
  several times per run through its ORM (~7 commits and ~25 ms of CPU for a trial's run,
  measured); a search of short trials makes runs faster than that.

multiprocessing

- ``fork_server_apart(start)``: the fork server (``nnexp.execution.pool``) started in a process
  group of its own. multiprocessing starts it through ``multiprocessing.util.spawnv_passfds``,
  which offers no process group or signal disposition: in the caller's group a terminal's
  Ctrl-C reaches it while it imports its modules (a traceback) and every worker it forks.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# ---------------------------------------------------------------------------------- Optuna


def storage_of(study) -> Any:
    """The ``BaseStorage`` an ``optuna.Study`` reads and writes (``Study._storage``): the
    wrapped one (``nnexp.outage``'s retrying storage, Optuna's cache) when it is wrapped."""
    return study._storage


def trial_id(trial) -> int:
    """The storage id of ``trial`` (an ``optuna.Trial`` or a ``FrozenTrial``), which the
    storage's methods take; not its number. The public way,
    ``storage.get_trial_id_from_study_id_trial_number``, costs a query per trial."""
    return trial._trial_id


def retry_of(trial) -> int | None:
    """The number of the trial that running ``trial`` (an ``optuna.Trial``) retries, or None.
    Optuna's retry callbacks (``RetryHeartbeatStaleTrialCallback``) record it as the system
    attribute ``failed_trial`` of the new trial, which an ``optuna.Trial`` does not show."""
    attrs = storage_of(trial.study).get_trial_system_attrs(trial_id(trial))
    return attrs.get("failed_trial")


def cached_storage(storage) -> Any:
    """``storage`` (an ``optuna.storages.RDBStorage``) behind Optuna's per-process cache
    (``optuna.storages._CachedStorage``), as Optuna wraps a storage given as a URL: a
    trial's own writes are kept in the process, so reporting and suggesting do not read the
    whole trial back from the database. Its heartbeat settings are the RDB storage's."""
    import optuna

    return optuna.storages._CachedStorage(storage)


def configure_heartbeat(storage, interval: int, grace_period: int, callback) -> None:
    """Give ``storage``, an ``RDBStorage`` already made, a heartbeat every ``interval`` seconds,
    a trial stale after ``grace_period`` seconds without one, and ``callback`` (or None) for
    each stale trial Optuna fails. Optuna takes these only as ``RDBStorage``'s arguments;
    nnexp opens the storage before it reads the study's settings, so it sets the attributes
    they are kept in (``get_heartbeat_interval`` and ``get_heartbeat_stale_trial_callback``
    return them)."""
    storage.heartbeat_interval = interval
    storage.grace_period = grace_period
    storage.heartbeat_stale_trial_callback = callback


def heartbeat_enabled(storage) -> bool:
    """Whether Optuna sends heartbeats for the trials of ``storage`` and can find stale ones
    (Optuna's own test, ``optuna.storages._heartbeat.is_heartbeat_enabled``: an RDB storage
    given a heartbeat interval, or a storage that forwards to one)."""
    from optuna.storages._heartbeat import is_heartbeat_enabled

    return is_heartbeat_enabled(storage)


def stale_trial_ids(study) -> set[int]:
    """Storage ids of the RUNNING trials of ``study`` whose heartbeat is stale (none sent for
    the storage's grace period), else an empty set (no heartbeats). Unlike
    ``optuna.storages.fail_stale_trials``, changes nothing."""
    storage = storage_of(study)
    if not heartbeat_enabled(storage):
        return set()
    return set(storage._get_stale_trial_ids(study._study_id))


STORAGE_METHODS_ASIDE = ("get_heartbeat_interval", "get_heartbeat_stale_trial_callback")
"""Heartbeat settings: read from the inner storage directly, never through ``_call``."""


@functools.cache
def forwarding_storage_class() -> type:
    """``ForwardingStorage``: an ``optuna.storages.BaseStorage`` that Optuna treats as the
    storage it wraps, ``ForwardingStorage(inner)``. Every method of Optuna's storage interface
    (``BaseStorage``'s, and the heartbeat's ``record_heartbeat`` and ``_get_stale_trial_ids``)
    calls ``self._call(name, args, kwargs)``, which a subclass overrides (by default: the
    inner storage's method). Optuna sends heartbeats through it exactly when the inner storage
    has them (it is a ``BaseHeartbeat``, whose interface is private); any other attribute is
    the inner storage's."""
    from optuna.storages import BaseStorage
    from optuna.storages._heartbeat import BaseHeartbeat

    class ForwardingStorage(BaseStorage, BaseHeartbeat):
        def __init__(self, inner) -> None:
            self._inner = inner

        def _call(self, name: str, args: tuple, kwargs: dict) -> Any:
            return getattr(self._inner, name)(*args, **kwargs)

        def get_heartbeat_interval(self) -> int | None:
            return getattr(self._inner, "get_heartbeat_interval", lambda: None)()

        def get_heartbeat_stale_trial_callback(self):
            return getattr(self._inner, "get_heartbeat_stale_trial_callback", lambda: None)()

        def __getattr__(self, name: str) -> Any:  # anything else (private helpers) as is
            return getattr(self.__dict__["_inner"], name)

    def forward(name: str):
        def method(self, *args, **kwargs):
            return self._call(name, args, kwargs)
        method.__name__ = name
        return method

    interface = {n for n in dir(BaseStorage) if not n.startswith("_")
                 and callable(getattr(BaseStorage, n))} | set(BaseHeartbeat.__abstractmethods__)
    for name in interface - set(STORAGE_METHODS_ASIDE):
        setattr(ForwardingStorage, name, forward(name))
    ForwardingStorage.__abstractmethods__ = frozenset()
    return ForwardingStorage


JOURNAL_CREATE_TRIAL = 4
"""The ``op_code`` of a journal record that creates a trial (Optuna's private
``JournalOperation.CREATE_TRIAL``)."""


def creates_trial(logs: list[dict]) -> bool:
    """Whether journal records ``logs`` (as ``append_logs`` receives them) create a trial."""
    return any(log.get("op_code") == JOURNAL_CREATE_TRIAL for log in logs)


def journal_records(logs: list[dict]) -> bytes:
    """``logs`` as Optuna's journal file holds them: one compact JSON object a line, UTF-8,
    each line ending with a newline (Optuna's reader refuses a last line without one)."""
    return ("\n".join(json.dumps(log, separators=(",", ":")) for log in logs)
            + "\n").encode("utf-8")


def journal_file_backend(path: str, append: Callable[[list[dict]], None]):
    """Optuna's journal file backend for the file at ``path`` (created if absent), whose
    appends are ``append(logs)``: Optuna reads the file (``read_logs``, whatever process
    wrote it) and ``append`` writes ``journal_records(logs)`` to its end. Optuna's own append
    fsyncs each record and takes a symlink lock (see ``nnexp.stores.study_storage``)."""
    from optuna.storages.journal import JournalFileBackend

    class JournalFile(JournalFileBackend):
        def append_logs(self, logs: list[dict[str, Any]]) -> None:
            append(logs)

    return JournalFile(path)


def vectorise_tpe() -> bool:
    """Make Optuna's TPE compute log Phi(a) (the log normal CDF) with ``scipy.special.log_ndtr``.

    TPE normalises every kernel of its Parzen estimators by its truncated-normal mass, for
    every finished trial at every suggestion. Optuna computes that mass with a copy of SciPy's
    ``log_ndtr`` evaluated one element at a time in Python (``np.frompyfunc``; Optuna issue
    #5478): at trial 1000 of a four-parameter study that loop is most of a trial's sampling
    time. SciPy's ufunc computes the same function (Optuna's code is SciPy's algorithm; they
    agree to ~1e-12 absolute, tested) over the whole array at once, so TPE samples the same
    trials (floats equal to the last few bits, tested). Replaces Optuna's private
    ``optuna.samplers._tpe._truncnorm._log_ndtr``; returns whether the vectorised function is
    in place (False, leaving Optuna as it is, if a future Optuna no longer has that function).
    """
    from optuna.samplers._tpe import _truncnorm

    if not hasattr(_truncnorm, "_log_ndtr"):
        return False
    _truncnorm._log_ndtr = log_ndtr
    return True


def log_ndtr(a):
    """log Phi(a), elementwise: ``a`` array-like of any shape -> float64 ndarray of that
    shape."""
    import numpy as np
    from scipy.special import log_ndtr as scipy_log_ndtr

    return scipy_log_ndtr(np.asarray(a, dtype=np.float64))


# ---------------------------------------------------------------------------------- MLflow


def sqlalchemy_engines(client) -> list:
    """The SQLAlchemy engines of the tracking and model-registry stores behind ``client`` (an
    ``MlflowClient``), none for a store without one (an HTTP server). MLflow keeps one store
    per URI for the life of the process and exposes neither (``client._tracking_client``,
    ``client._get_registry_client()``)."""
    stores = [getattr(getattr(client, "_tracking_client", None), "store", None)]
    registry = getattr(client, "_get_registry_client", None)
    if registry is not None:
        stores.append(getattr(registry(), "store", None))
    return [engine for engine in (getattr(store, "engine", None) for store in stores)
            if engine is not None]


def create_sqlite_store(database: Path, artifact_uri: str) -> None:
    """Create the MLflow tracking store ``database`` (a new SQLite file) as MLflow creates a
    new store, its tables and all its schema migrations (``SqlAlchemyStore``), with
    ``artifact_uri`` as its default artifact root; close its connections."""
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    SqlAlchemyStore(f"sqlite:///{database}", artifact_uri).engine.dispose()


REQUIREMENTS_CHECK = "warn_dependency_requirement_mismatches"
"""The function of ``mlflow.utils.environment`` that compares a model's pip requirements
with the installed packages."""


@contextmanager
def installed_requirements_trusted() -> Iterator[None]:
    """Skip MLflow's check that a model's pip requirements match the installed packages
    (``mlflow.utils.environment.warn_dependency_requirement_mismatches``) in the block. nnexp
    pins exactly the installed versions (``numpy==np.__version__``...), so it cannot find a
    mismatch, and it scans every installed distribution's metadata (0.5-2 s, the largest part
    of registering a model). A no-op if MLflow no longer has that check."""
    import mlflow.utils.environment as environment

    original = getattr(environment, REQUIREMENTS_CHECK, None)
    if original is None:
        yield
        return
    setattr(environment, REQUIREMENTS_CHECK, lambda requirements: None)
    try:
        yield
    finally:
        setattr(environment, REQUIREMENTS_CHECK, original)


@contextmanager
def mlflow_logging_disabled() -> Iterator[None]:
    """Silence MLflow's event log (``mlflow.utils.logging_utils``: notes on cloudpickle and
    integer columns while a model is saved) in the block."""
    from mlflow.utils.logging_utils import disable_logging, enable_logging

    disable_logging()
    try:
        yield
    finally:
        enable_logging()


def artifact_repository(artifact_uri: str, tracking_uri: str):
    """MLflow's artifact repository of a run's ``artifact_uri`` (``log_artifact``,
    ``log_artifacts``), as ``MlflowClient.log_artifact`` finds it after reading the run back
    to learn that URI."""
    from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

    return get_artifact_repository(artifact_uri, tracking_uri=tracking_uri)


def run_artifact_source(runs_uri: str) -> str:
    """The artifact URI behind ``runs:/<run_id>/<path>``: the ``source`` MLflow's model
    registry takes for a version made from a run's artifact."""
    from mlflow.store.artifact.runs_artifact_repo import RunsArtifactRepository

    return RunsArtifactRepository.get_underlying_uri(runs_uri)


def sql_tracking_store(client) -> Any:
    """The ``SqlAlchemyStore`` behind ``client`` (an ``MlflowClient``), or None for another
    store (a tracking server, a file store)."""
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    store = getattr(getattr(client, "_tracking_client", None), "store", None)
    return store if isinstance(store, SqlAlchemyStore) else None


def insert_runs(store, runs: list[dict]) -> None:
    """Insert new runs, each whole, in one transaction: rows of MLflow's ``runs``, ``tags``,
    ``params``, ``metrics`` and ``latest_metrics`` tables, as ``create_run``, ``log_batch``
    and ``set_terminated`` would write them. Each run is a dict: ``run_id``,
    ``experiment_id``, ``name``, ``artifact_uri``, ``start_time``, ``end_time`` (None while
    running), ``status``, ``tags`` {key: value} (``mlflow.runName`` added), ``params``
    {key: value}, ``metrics`` [(key, value, timestamp, step)] of finite values. Raises
    (nothing written) when any row is refused."""
    from mlflow.store.tracking.dbmodels.models import (
        SqlLatestMetric,
        SqlMetric,
        SqlParam,
        SqlRun,
        SqlTag,
    )

    run_rows, tag_rows, param_rows, metric_rows, latest_rows = [], [], [], [], []
    for run in runs:
        rid = run["run_id"]
        run_rows.append({
            "run_uuid": rid, "name": run["name"], "source_type": "UNKNOWN", "source_name": "",
            "entry_point_name": "", "user_id": run["tags"].get("mlflow.user", "unknown"),
            "status": run["status"], "start_time": run["start_time"],
            "end_time": run["end_time"], "deleted_time": None, "source_version": "",
            "lifecycle_stage": "active", "artifact_uri": run["artifact_uri"],
            "experiment_id": int(run["experiment_id"])})
        tags = {"mlflow.runName": run["name"], **run["tags"]}
        tag_rows += [{"key": k, "value": v, "run_uuid": rid} for k, v in tags.items()]
        param_rows += [{"key": k, "value": v, "run_uuid": rid}
                       for k, v in run["params"].items()]
        latest: dict[str, tuple] = {}
        for key, value, timestamp, step in dict.fromkeys(run["metrics"]):
            metric_rows.append({"key": key, "value": value, "timestamp": timestamp,
                                "step": step, "is_nan": False, "run_uuid": rid})
            if key not in latest or (step, timestamp, value) > latest[key]:
                latest[key] = (step, timestamp, value)
        latest_rows += [{"key": k, "value": v, "timestamp": t, "step": st, "is_nan": False,
                         "run_uuid": rid} for k, (st, t, v) in latest.items()]
    with store.engine.begin() as connection:
        for table, rows in ((SqlRun, run_rows), (SqlTag, tag_rows), (SqlParam, param_rows),
                            (SqlMetric, metric_rows), (SqlLatestMetric, latest_rows)):
            if rows:
                connection.execute(table.__table__.insert(), rows)


# ------------------------------------------------------------------------- multiprocessing


_SPAWN_LOCK = threading.Lock()
"""Held while ``multiprocessing.util.spawnv_passfds`` is replaced (``fork_server_apart``)."""


def fork_server_apart(start: Callable[[], None]) -> None:
    """Run ``start()`` (``multiprocessing.forkserver.ensure_running``) with the processes it
    starts through ``multiprocessing.util.spawnv_passfds`` (the fork server and the resource
    tracker) put in a process group of their own (``os.posix_spawn``'s ``setpgroup``): only
    what the caller forwards reaches them and the workers they fork."""
    import multiprocessing.util as util
    import os

    def spawn_apart(path, args, passfds) -> int:
        for fd in passfds:  # what the new interpreter is handed; nothing else is inheritable
            os.set_inheritable(fd, True)
        try:
            return os.posix_spawn(path, list(args), dict(os.environ), setpgroup=0)
        finally:
            for fd in passfds:
                os.set_inheritable(fd, False)

    with _SPAWN_LOCK:
        original = util.spawnv_passfds
        util.spawnv_passfds = spawn_apart
        try:
            start()
        finally:
            util.spawnv_passfds = original
