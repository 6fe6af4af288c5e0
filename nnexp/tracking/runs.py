"""MLflow runs written in batches: one ``log_batch`` call per flush, never one call per number.

A ``RunLogger`` buffers params, tags and metrics for one run and flushes them when the buffer
is full, when ``flush_seconds`` have passed since the last flush (so a long trial's learning
curves appear in the UI while it trains) and when the run ends. MLflow caps one ``log_batch``
at 1000 metrics, 100 params and 100 tags; flushes are split accordingly.
"""

from __future__ import annotations

import math
import time
from typing import Any

from nnexp import __version__

MAX_METRICS, MAX_PARAMS, MAX_TAGS = 1000, 100, 100
PARAM_VALUE_LIMIT = 6000
TAG_PREFIX = "nnexp."


def _now_ms() -> int:
    return int(time.time() * 1000)


class RunLogger:
    """Buffered logging into one MLflow run (created by ``start``)."""

    def __init__(self, client, run_id: str, flush_seconds: float = 2.0) -> None:
        self.client = client
        self.run_id = run_id
        self.flush_seconds = flush_seconds
        self._metrics: list = []
        self._params: list = []
        self._tags: list = []
        self._last_flush = time.monotonic()

    @classmethod
    def start(cls, client, experiment_id: str, run_name: str, tags: dict[str, Any],
              parent_run_id: str | None = None, flush_seconds: float = 2.0) -> RunLogger:
        """Create a run (nested under ``parent_run_id`` if given) with its tags set at once."""
        all_tags = {f"{TAG_PREFIX}version": __version__, **tags}
        if parent_run_id:
            all_tags["mlflow.parentRunId"] = parent_run_id
        run = client.create_run(experiment_id, run_name=run_name,
                                tags={k: _text(v) for k, v in all_tags.items()})
        return cls(client, run.info.run_id, flush_seconds)

    def params(self, values: dict[str, Any]) -> None:
        from mlflow.entities import Param

        self._params += [Param(k, _text(v)[:PARAM_VALUE_LIMIT]) for k, v in values.items()]

    def tags(self, values: dict[str, Any]) -> None:
        from mlflow.entities import RunTag

        self._tags += [RunTag(k, _text(v)) for k, v in values.items()]

    def metrics(self, values: dict[str, float], step: int = 0) -> None:
        """Buffer metrics (non-finite values are skipped: MLflow stores them poorly)."""
        from mlflow.entities import Metric

        ts = _now_ms()
        self._metrics += [Metric(k, float(v), ts, step) for k, v in values.items()
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
            self.client.log_batch(self.run_id, metrics=m, params=p, tags=t)
        self._last_flush = time.monotonic()

    def artifact(self, path, artifact_path: str | None = None) -> None:
        self.client.log_artifact(self.run_id, str(path), artifact_path)

    def end(self, status: str = "FINISHED") -> None:
        """Flush and mark the run FINISHED, FAILED or KILLED."""
        try:
            self.flush()
        finally:
            self.client.set_terminated(self.run_id, status)


def close_dangling_runs(client, experiment_id: str, parent_run_id: str) -> int:
    """Mark child runs of ``parent_run_id`` still RUNNING (their worker was interrupted or
    killed before it could close them) as KILLED / interrupted; returns how many."""
    from mlflow.entities import RunTag

    dangling = client.search_runs(
        [experiment_id], filter_string=f"tags.mlflow.parentRunId = '{parent_run_id}' and "
                                       "attributes.status = 'RUNNING'")
    for run in dangling:
        client.log_batch(run.info.run_id, tags=[
            RunTag(f"{TAG_PREFIX}state", "interrupted"),
            RunTag(f"{TAG_PREFIX}reason", "worker stopped before closing the run")])
        client.set_terminated(run.info.run_id, "KILLED")
    return len(dangling)


def _text(value: Any) -> str:
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_text(v) for v in value) + "]"
    return str(value)
