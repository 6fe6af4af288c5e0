"""A background thread that performs MLflow writes in order, off the trial's critical path.

Each MLflow call on a SQLite store costs 7-50 ms; done inline they would add ~70 ms to every
trial. ``RunLogger`` submits its writes here instead, each with a description such as
``log_batch for trial-3``. A failed job never stops the thread (whatever it raises) and never
stops later jobs: the failure is kept, announced once on stderr when the first one happens
(``warn``), handed to the job's ``on_error`` (which tags the run), and re-raised by ``drain``
so nothing is lost silently. One writer per process; ``close`` stops it.

A write that fails because the store cannot be reached (``nnexp.outage.unreachable``) is
retried with backoff for up to ``outage_seconds``; past that the store is ``lost``: the
remaining writes are dropped at once (each reported as not run) and ``check`` raises
``StoreOutage``, which stops the trial; a write refused by a full or read-only disk loses
the store at once. ``drain`` and ``close`` never wait longer than
``wait_seconds`` (a store that hangs cannot keep the command from ending), and a caller
interrupted while it waits (Ctrl-C, SIGTERM) ``abandon``s the rest: nothing more is written
and nothing waits for the write in progress.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from nnexp.errors import NnexpError, first_line, warn
from nnexp.outage import (
    DEFAULT_OUTAGE_SECONDS,
    StoreOutage,
    cannot_write,
    retrying,
    tracking_full,
    tracking_outage,
)

_STOP = object()


class Writer:
    """FIFO executor of write jobs on one daemon thread."""

    def __init__(self, announce: Callable[[str], None] | None = warn,
                 outage_seconds: float | None = None, uri: str = "",
                 wait_seconds: float | None = None, group=None) -> None:
        """``group(items, one)``: performs several queued ``RunLogger`` operations at once
        (``nnexp.tracking.grouped.perform_group``; None: one by one)."""
        self.group = group
        self.outage_seconds = outage_seconds
        self.uri = uri
        self.lost: StoreOutage | None = None
        self.wait_seconds = wait_seconds if wait_seconds is not None else \
            2 * (outage_seconds or DEFAULT_OUTAGE_SECONDS) + 30
        self._jobs: queue.Queue = queue.Queue()
        self._errors: list[str] = []
        self.failed = False  # a write failed (or was not run) at some point
        self._announce = announce
        self._announced = False
        self._closed = False
        self._abandoned = False
        self._thread = threading.Thread(target=self._run, name="nnexp-mlflow-writer",
                                        daemon=True)
        self._thread.start()

    def submit(self, job: Callable[..., object], *args, description: str | None = None,
               on_error: Callable[[str], None] | None = None, **kwargs) -> None:
        """Queue ``job(*args, **kwargs)``. ``description`` names it in error messages (default:
        the function's name); ``on_error(message)`` runs on the writer thread if it fails."""
        if self._closed:
            raise RuntimeError("the MLflow writer is closed")
        what = description or getattr(job, "__name__", repr(job))
        self._jobs.put((job, args, kwargs, what, on_error, None))

    def run_op(self, logger, op: tuple) -> None:
        """Queue an operation of a ``nnexp.tracking.runs.RunLogger``: ``logger.perform(op)``,
        named by ``logger.describe(op)``; a failure is handed to ``logger``. Operations queued
        one after another may be performed together (``group``)."""
        if self._closed:
            raise RuntimeError("the MLflow writer is closed")
        self._jobs.put((logger.perform, (op,), {}, logger.describe(op), logger.write_failed,
                        (logger, op)))

    def check(self) -> None:
        """Raise ``StoreOutage`` once the tracking store is lost (see the module docstring)."""
        if self.lost is not None:
            raise self.lost

    def drain(self) -> None:
        """Wait until every submitted job has run (at most ``wait_seconds``); raise
        ``StoreOutage`` if the store was lost, ``NnexpError`` if any write failed."""
        self._wait()
        self.check()
        errors = self.take_errors()
        if errors:
            raise NnexpError(
                f"{len(errors)} MLflow write(s) failed; the first: {errors[0]}. Check that the "
                "tracking store is reachable and has space; Optuna's record of the trials is "
                "intact.")

    def _error(self, message: str) -> None:
        self._errors.append(message)
        self.failed = True

    def settle(self) -> None:
        """Wait until every write submitted so far has run (at most ``wait_seconds``)."""
        self._wait()

    def take_errors(self) -> list[str]:
        """The failures so far (each ``description: message``), forgotten once taken."""
        errors, self._errors = self._errors, []
        return errors

    def close(self, raise_errors: bool = True) -> list[str]:
        """Run every queued job, stop the thread and return the failures (raise them as
        ``drain`` does when ``raise_errors``). Calling it again does nothing."""
        if not self._closed:
            self._closed = True
            self._jobs.put((_STOP, (), {}, "stop", None, None))
            self._wait()
            self._thread.join(timeout=5)
        if raise_errors:
            self.drain()
            return []
        return self.take_errors()

    def abandon(self) -> None:
        """Write nothing more: the jobs still queued are dropped, each reported as not run
        (the caller keeps them elsewhere: the workers' outbox), and the thread ends after the
        job it is performing, which nobody waits for. For an interrupted ``close``."""
        self._abandoned = self._closed = self.failed = True
        self._jobs.put((_STOP, (), {}, "stop", None, None))

    def finish(self, err: BaseException | None) -> None:
        """Close after the work that used it ended: without ``err``, raising as ``drain`` does;
        with it (a ``KeyboardInterrupt``, say), that exception wins: failed writes are only
        reported, in one ``warning:`` line (none once the store is lost: its one message says
        it all), and a lost store is raised unless ``err`` is an interruption or an outage."""
        if err is None:
            self.close()
            return
        messages = self.close(raise_errors=False)
        if self.lost is not None and not isinstance(err, (StoreOutage, KeyboardInterrupt)):
            raise self.lost from None
        if self.lost is None and messages:  # one line, however many failed (a full disk)
            more = f" (and {len(messages) - 1} more)" if len(messages) > 1 else ""
            warn(f"MLflow write failed: {messages[0]}{more}")

    def _wait(self) -> None:
        import time

        jobs = self._jobs
        deadline = time.monotonic() + self.wait_seconds
        with jobs.all_tasks_done:
            while jobs.unfinished_tasks:
                if not self._thread.is_alive():
                    self._error(f"{jobs.unfinished_tasks} write(s) not run: the "
                                        "writer thread stopped")
                    return
                if time.monotonic() > deadline:
                    message = f"{jobs.unfinished_tasks} write(s) not run: the tracking store " \
                              f"did not answer within {self.wait_seconds:g} s"
                    self._error(message)
                    if self.lost is None:
                        self.lost = tracking_outage(self.uri, self.wait_seconds, message)
                    return
                jobs.all_tasks_done.wait(0.2)

    GROUP_MAX = 2000
    """At most this many queued operations are performed together."""

    def _run(self) -> None:
        pending = None
        while True:
            entry, pending = pending or self._jobs.get(), None
            if entry[0] is _STOP:
                self._jobs.task_done()
                return
            if self._abandoned:
                self._error(f"{entry[3]}: not run, the writes were abandoned (interrupted)")
                self._jobs.task_done()
                continue
            group = [entry]
            while self.group is not None and entry[5] is not None and \
                    len(group) < self.GROUP_MAX:
                try:
                    following = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if following[5] is None:  # a job of another kind: after this group
                    pending = following
                    break
                group.append(following)
            try:
                if len(group) == 1:
                    self._attempt(*entry[:5])
                else:
                    def one(i: int, group=group) -> None:
                        self._attempt(*group[i][:5])

                    self.group([e[5] for e in group], one)
            except BaseException as err:  # noqa: BLE001 - reported; the thread goes on
                self._failed(f"{len(group)} MLflow write(s): {first_line(err)}", None)
            finally:
                for _ in group:
                    self._jobs.task_done()

    def _attempt(self, job, args, kwargs, what: str, on_error) -> None:
        """Run one job; a failure is kept and reported (see the module docstring)."""
        try:
            if self.lost is not None:
                self._error(f"{what}: not run, the tracking store is lost")
                return
            self._perform(job, args, kwargs)
        except BaseException as err:  # noqa: BLE001 - kept and reported; the thread goes on
            if isinstance(err, StoreOutage):
                self.lost = err
                self._error(f"{what}: {first_line(err)}")
            elif cannot_write(err):  # a full disk: stop now, not after every trial
                self.lost = tracking_full(self.uri, f"{what}: {first_line(err)}")
                self._error(f"{what}: {first_line(err)}")
            else:
                self._failed(f"{what}: {first_line(err)}", on_error)

    def _perform(self, job, args, kwargs) -> None:
        if not self.outage_seconds:
            job(*args, **kwargs)
            return
        seconds = self.outage_seconds
        retrying(lambda: job(*args, **kwargs), seconds,
                 lambda err: tracking_outage(self.uri, seconds, first_line(err)))

    def _failed(self, message: str, on_error: Callable[[str], None] | None) -> None:
        self._error(message)
        if self._announce is not None and not self._announced:
            self._announced = True
            self._announce(f"MLflow write failed ({message}); the study goes on and the "
                           "failures are reported when its workers end.")
        if on_error is not None:
            try:
                on_error(message)
            except BaseException:  # noqa: BLE001, S110 - the store refused: the failure is kept
                pass


@contextmanager
def writing(announce: Callable[[str], None] | None = warn, outage_seconds: float | None = None,
            uri: str = "") -> Iterator[Writer]:
    """A ``Writer`` for the block, ended by ``Writer.finish`` with what the block raised."""
    writer = Writer(announce, outage_seconds, uri)
    try:
        yield writer
    except BaseException as err:
        writer.finish(err)
        raise
    writer.finish(None)
