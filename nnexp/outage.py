"""A store that stops answering: retry with backoff for a bounded time, then one clear error.

Both stores can go away for a while (a database restarted, a network blip): an operation that
fails because the store cannot be reached (``unreachable``) is retried with exponential
backoff for up to ``outage_seconds`` (``study.outage_seconds`` in the experiment); past that,
``StoreOutage`` (exit 2) names the store and the fix. Errors that are not about reaching the
store (a value the store refuses, a finished trial) are never retried.

``RetryingStorage`` wraps an Optuna storage this way. Once it has given up, every later call
fails at once (the worker is stopping; it must not wait again for each write of its
shutdown). A missed heartbeat is not an error: the next one is sent on time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from nnexp.errors import NnexpError, first_line, mask_url

T = TypeVar("T")

DEFAULT_OUTAGE_SECONDS = 60.0
FIRST_DELAY, MAX_DELAY = 0.5, 5.0

_MARKERS = ("could not connect", "connection refused", "connection reset", "server closed",
            "connection to server", "terminating connection", "max retries exceeded",
            "failed to establish a new connection", "connection aborted", "timed out",
            "read timeout", "remotedisconnected", "broken pipe", "no route to host",
            "ssl syscall error", "connection is closed", "connection already closed",
            "the connection is lost", "database is locked", "consuming input failed",
            "administrator command", "name or service not known", "connection timed out",
            "could not receive data", "connection not open", "server login has been failing")


_FULL = ("disk is full", "no space left", "disk quota exceeded", "read-only file system",
         "readonly database", "read-only database")
"""A store that answers but cannot write: waiting does not help, freeing space does."""


class StoreOutage(NnexpError):
    """A store did not answer for longer than the outage bound."""

    def __init__(self, message: str, store: str = "storage") -> None:
        super().__init__(message)
        self.store = store  # "storage" (Optuna) or "tracking" (MLflow)


def cannot_write(err: BaseException) -> bool:
    """Whether ``err`` (or an exception it was raised from) says the store's disk is full or
    read-only (SQLite's "database or disk is full", ENOSPC, EROFS)."""
    seen = 0
    while err is not None and seen < 10:
        if getattr(err, "errno", None) in (28, 30, 122) or \
                any(marker in str(err).lower() for marker in _FULL):
            return True
        err, seen = err.__cause__ or err.__context__, seen + 1
    return False


def unreachable(err: BaseException) -> bool:
    """Whether ``err`` (or an exception it was raised from) says the store could not be
    reached, rather than that it refused what was sent (a full disk is not an outage)."""
    if cannot_write(err):
        return False
    seen = 0
    while err is not None and seen < 10:
        name = type(err).__name__
        if name in ("OperationalError", "InterfaceError", "ConnectionError",
                    "ConnectTimeout", "ReadTimeout", "ConnectionRefusedError",
                    "ConnectionResetError", "BrokenPipeError", "TimeoutError",
                    "RemoteDisconnected", "MaxRetryError", "NewConnectionError"):
            return True
        if getattr(err, "connection_invalidated", False):
            return True
        if any(marker in str(err).lower() for marker in _MARKERS):
            return True
        err, seen = err.__cause__ or err.__context__, seen + 1
    return False


def storage_outage(url: str, seconds: float, err: BaseException) -> StoreOutage:
    return StoreOutage(
        f"the Optuna storage {mask_url(url)!r} did not answer for {seconds:g} s "
        f"({first_line(err)[:300]}); this invocation stopped. Completed trials are kept: when "
        "the database is reachable again, re-run the same command to resume (the trial in "
        "flight is then recorded as failed). To wait longer, raise study.outage_seconds in "
        "the experiment file.", "storage")


def tracking_outage(uri: str, seconds: float, err: str) -> StoreOutage:
    return _tracking_stopped(
        uri, f"did not answer for {seconds:g} s ({err[:300]})", "Start the tracking server (or "
        "database) again, or fix --tracking-uri, MLFLOW_TRACKING_URI or tracking.uri")


def tracking_full(uri: str, err: str) -> StoreOutage:
    """The tracking store answers but cannot write (a full or read-only disk)."""
    from pathlib import Path

    where = f"the disk holding '{Path(uri[len('sqlite:///'):]).parent}'" \
        if uri.startswith("sqlite:///") else "the tracking store's disk"
    return _tracking_stopped(uri, f"cannot write ({err[:300]})",
                             f"Free space on {where} (or make it writable)")


def _tracking_stopped(uri: str, problem: str, fix: str) -> StoreOutage:
    """The one message of a lost tracking store: what happened to it, then ``fix``."""
    return StoreOutage(
        f"the MLflow tracking store {mask_url(uri)!r} {problem}; this invocation stopped and "
        f"its trials in flight are recorded as failed in Optuna. {fix}, then re-run the same "
        "command to resume; `nnexp doctor` closes the runs left open.", "tracking")


def retrying(call: Callable[[], T], seconds: float, give_up: Callable[[BaseException], Exception],
             sleep: Callable[[float], None] = time.sleep) -> T:
    """``call()``, retried with backoff (``FIRST_DELAY`` doubling up to ``MAX_DELAY``, never
    past the bound) while it fails with an ``unreachable`` error, for up to ``seconds``; then
    ``give_up(last error)`` is raised. Other errors are raised at once. tenacity does the
    retrying."""
    import tenacity

    retry = tenacity.Retrying(
        retry=tenacity.retry_if_exception(unreachable),
        stop=tenacity.stop_before_delay(seconds),
        wait=tenacity.wait_exponential(multiplier=FIRST_DELAY, max=MAX_DELAY),
        sleep=sleep, reraise=False)
    try:
        return retry(call)
    except tenacity.RetryError as err:
        raise give_up(err.last_attempt.exception()) from None


def retrying_storage(storage, url: str, seconds: float):
    """``storage`` (an Optuna storage) with every call retried through an outage of up to
    ``seconds`` (see the module docstring). Its ``failed`` is the outage it gave up on, or
    None."""
    import optuna

    from nnexp.library_internals import forwarding_storage_class

    class RetryingStorage(forwarding_storage_class()):
        def __init__(self) -> None:
            super().__init__(storage)
            self._failed: StoreOutage | None = None

        @property
        def failed(self) -> StoreOutage | None:
            """The outage it gave up on, or None."""
            return self._failed

        def remove_session(self) -> None:
            try:
                self._inner.remove_session()
            except Exception:  # noqa: BLE001, S110 - nothing to release on a lost database
                pass

        def record_heartbeat(self, trial_id: int) -> None:
            try:
                self._inner.record_heartbeat(trial_id)
            except Exception:  # noqa: BLE001, S110 - a missed heartbeat: the next one counts
                pass

        def _call(self, name: str, args, kwargs) -> Any:
            if self._failed is not None:
                raise self._failed
            method = getattr(self._inner, name)
            attempts = [0]

            def once() -> Any:
                attempts[0] += 1
                try:
                    return method(*args, **kwargs)
                except optuna.exceptions.UpdateFinishedTrialError:
                    if attempts[0] > 1 and name == "set_trial_state_values":
                        return True  # the first attempt was committed, its answer was lost
                    raise

            def give_up(err: BaseException) -> StoreOutage:
                self._failed = storage_outage(url, seconds, err)
                return self._failed

            return retrying(once, seconds, give_up)

    return RetryingStorage()
