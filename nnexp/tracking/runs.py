"""MLflow runs written in batches: one ``log_batch`` call per flush, never one call per number.

A ``RunLogger`` buffers params, tags and metrics for one run and flushes them when the buffer
is full, when ``flush_seconds`` have passed since the last flush (so a long trial's learning
curves appear in the UI while it trains) and when the run ends. MLflow caps one ``log_batch``
at 1000 metrics, 100 params and 100 tags; flushes are split accordingly.

Every write is an operation held as plain data (``create``, ``batch``, ``artifact``, ``end``)
and carried out by ``perform``, the one place that calls MLflow. Without a writer it is
performed at once; with a ``Writer`` on the writer's thread, in order; with a
``nnexp.tracking.relay.Relay`` (a worker process) it is sent to the main process, which
performs it on its own writer. So a worker never imports MLflow. A write that fails is named
(``log_batch for trial-3``) and tagged on the run (``nnexp.write_error``) if the store still
takes it. A failed artifact upload never keeps a run from being ended.
"""

from __future__ import annotations

import itertools
import math
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

from nnexp import __version__
from nnexp.errors import first_line

MAX_METRICS, MAX_PARAMS, MAX_TAGS = 1000, 100, 100
PARAM_VALUE_LIMIT = 6000
TAG_PREFIX = "nnexp."
PARENT_TAG = "mlflow.parentRunId"
RECORD_TAG = TAG_PREFIX + "record"
"""A random id every run gets at its creation (``RunLogger.start``)."""
_KEYS = itertools.count()


def _now_ms() -> int:
    return int(time.time() * 1000)


class RunLogger:
    """Buffered logging into one MLflow run (created by ``start``).

    ``writer``: None (write at once), a ``Writer`` or a ``Relay`` (anything with
    ``run_op(logger, op)``). ``key`` tells this run's operations apart in a relay.
    """

    def __init__(self, client, run_id: str | None, flush_seconds: float = 2.0,
                 writer=None, name: str = "") -> None:
        self.client = client
        self.run_id = run_id
        self.name = name
        self.key = next(_KEYS)
        self.write_errors: list[str] = []
        self.flush_seconds = flush_seconds
        self.writer = writer
        self.artifact_uri: str | None = None  # the run's artifact root, known once created
        self._metrics: list[tuple[str, float, int, int]] = []
        self._params: list[tuple[str, str]] = []
        self._tags: list[tuple[str, str]] = []
        self._last_flush = time.monotonic()

    @classmethod
    def start(cls, client, experiment_id: str | None, run_name: str, tags: dict[str, Any],
              parent_run_id: str | None = None, flush_seconds: float = 2.0,
              writer=None) -> RunLogger:
        """Create a run (nested under ``parent_run_id`` if given) with its tags set at once,
        ``nnexp.record`` among them: a random id, so a record performed again
        (``nnexp.tracking.outbox``) finds its run instead of creating another.

        With a writer the run is created on the writer's thread (its first job), so
        ``run_id`` is None until then; every later job of this logger runs after it. Through
        a relay, ``experiment_id`` and ``parent_run_id`` None stand for the main process's
        own experiment and parent run.
        """
        all_tags = {f"{TAG_PREFIX}version": __version__,
                    RECORD_TAG: uuid.uuid4().hex, **tags}
        logger = cls(client, None, flush_seconds, writer, run_name)
        logger.send(("create", experiment_id, run_name,
                      {k: _text(v) for k, v in all_tags.items()}, parent_run_id))
        return logger

    def params(self, values: dict[str, Any]) -> None:
        self._params += [(k, _text(v)[:PARAM_VALUE_LIMIT]) for k, v in values.items()]

    def tags(self, values: dict[str, Any]) -> None:
        self._tags += [(k, _text(v)) for k, v in values.items()]

    def metrics(self, values: dict[str, float], step: int = 0) -> None:
        """Buffer metrics (non-finite values are skipped: MLflow stores them poorly)."""
        ts = _now_ms()
        self._metrics += [(k, float(v), ts, step) for k, v in values.items()
                          if v is not None and math.isfinite(float(v))]
        if (len(self._metrics) >= MAX_METRICS
                or time.monotonic() - self._last_flush >= self.flush_seconds):
            self.flush()

    def flush(self) -> None:
        """Send everything buffered, in as few ``log_batch`` calls as MLflow's limits allow."""
        while self._metrics or self._params or self._tags:
            m, self._metrics = self._metrics[:MAX_METRICS], self._metrics[MAX_METRICS:]
            p, self._params = self._params[:MAX_PARAMS], self._params[MAX_PARAMS:]
            t, self._tags = self._tags[:MAX_TAGS], self._tags[MAX_TAGS:]
            self.send(("batch", m, p, t))
        self._last_flush = time.monotonic()

    def artifact(self, path: Path, artifact_path: str | None = None) -> None:
        """Log a file or a directory's files. The path is handed over: it is deleted once sent
        (with a writer, that is later, on the writer's thread). A failed upload does not raise:
        it is kept in ``write_errors`` and tagged on the run (``nnexp.write_error``)."""
        path = Path(path)
        names = ", ".join(sorted(p.name for p in path.iterdir())) if path.is_dir() else path.name
        self.send(("artifact", str(path), artifact_path, names))

    def end(self, status: str = "FINISHED") -> None:
        """Flush and mark the run FINISHED, FAILED or KILLED."""
        try:
            self.flush()
        finally:
            self.send(("end", status))

    def perform(self, op: tuple) -> None:
        """Carry out one operation (see the module docstring) with this logger's client."""
        from mlflow.entities import Metric, Param, RunTag

        kind, client = op[0], self.client
        if kind == "create":
            _, experiment_id, run_name, tags, parent_run_id = op
            if parent_run_id:
                tags = {**tags, PARENT_TAG: parent_run_id}
            run = client.create_run(experiment_id, run_name=run_name, tags=tags)
            self.run_id = run.info.run_id
            uri = getattr(run.info, "artifact_uri", None)
            self.artifact_uri = uri if isinstance(uri, str) else None
        elif kind == "batch":
            _, m, p, t = op
            client.log_batch(self.run_id, metrics=[Metric(*x) for x in m],
                             params=[Param(*x) for x in p], tags=[RunTag(*x) for x in t])
        elif kind == "artifact":
            _send(client, self.run_id, Path(op[1]), op[2], self.artifact_uri)
        elif kind == "end":
            client.set_terminated(self.run_id, op[1])
        else:
            raise ValueError(f"unknown MLflow run operation {kind!r}")

    def describe(self, op: tuple) -> str:
        """The operation as named in error messages: ``log_batch for trial-3``."""
        what = {"create": "create_run", "batch": "log_batch", "end": "set_terminated"}.get(
            op[0]) or f"log_artifacts {op[3]}"
        return f"{what} for {self.name}" if self.name else what

    def send(self, op: tuple) -> None:
        """Perform ``op`` now, or hand it to the writer (after every earlier job)."""
        if self.writer is not None:
            self.writer.run_op(self, op)
            return
        try:
            self.perform(op)
        except Exception as err:
            if op[0] != "artifact":
                raise
            # recorded; the run is still ended by its owner
            self.write_failed(f"{self.describe(op)}: {first_line(err)}")

    def write_failed(self, message: str) -> None:
        """Keep a failed write's message and tag it on the run when the store still takes it."""
        self.write_errors.append(message)
        if self.run_id is not None:
            try:
                self.client.set_tag(self.run_id, f"{TAG_PREFIX}write_error", message[:5000])
            except Exception:  # noqa: BLE001, S110 - the store is gone: the message is kept
                pass


def _send(client, run_id: str, path: Path, artifact_path: str | None,
          artifact_uri: str | None = None) -> None:
    """Upload ``path`` (a file, or a directory's files) to the run's artifacts, then delete
    it. With the run's ``artifact_uri`` (from ``create_run``) straight into its artifact
    repository, as ``MlflowClient.log_artifact(s)`` does after reading the whole run back to
    learn that URI (a query per trial that is not needed)."""
    try:
        if artifact_uri is not None:
            from nnexp.library_internals import artifact_repository

            repo = artifact_repository(artifact_uri, client.tracking_uri)
            log = repo.log_artifacts if path.is_dir() else repo.log_artifact
            log(str(path), artifact_path)
        elif path.is_dir():
            client.log_artifacts(run_id, str(path), artifact_path)
        else:
            client.log_artifact(run_id, str(path), artifact_path)
    finally:
        shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)


def tag_is(key: str, value: Any) -> str:
    """An MLflow search filter term: tag ``nnexp.<key>`` equals ``value``. MLflow's filter
    has no escape inside a string: a value with a single quote (a study named ``it's``) is
    written between double quotes, as MLflow accepts."""
    text = str(value)
    quote = '"' if "'" in text else "'"
    return f"tags.`{TAG_PREFIX}{key}` = {quote}{text}{quote}"


def trial_filter(study_name: str, number: int) -> str:
    """The MLflow search filter of trial ``number``'s run of study ``study_name``."""
    return f"{tag_is('study', study_name)} and {tag_is('trial_number', number)}"


def close_run(client, run_id: str, status: str, tags: dict[str, Any]) -> None:
    """Tag a run left open and end it with ``status`` (a run another process is finishing
    may end first: that is fine, the last write wins and both say the same)."""
    from mlflow.entities import RunTag

    client.log_batch(run_id, tags=[RunTag(k, _text(v)) for k, v in tags.items()])
    client.set_terminated(run_id, status)


def close_dangling_runs(client, experiment_id: str, parent_run_id: str,
                        outcome=None) -> int:
    """End the child runs of ``parent_run_id`` still RUNNING (their worker was interrupted or
    killed before it could close them): with ``outcome(trial_number)`` -> (status, tags) when
    given, else KILLED / interrupted. Returns how many."""
    dangling = client.search_runs(
        [experiment_id], filter_string=f"tags.mlflow.parentRunId = '{parent_run_id}' and "
                                       "attributes.status = 'RUNNING'")
    for run in dangling:
        number = run.data.tags.get(f"{TAG_PREFIX}trial_number", "")
        status, tags = outcome(int(number)) if outcome and number.isdigit() else \
            ("KILLED", {f"{TAG_PREFIX}state": "interrupted",
                        f"{TAG_PREFIX}reason": "worker stopped before closing the run"})
        close_run(client, run.info.run_id, status, tags)
    return len(dangling)


def _text(value: Any) -> str:
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_text(v) for v in value) + "]"
    return str(value)
