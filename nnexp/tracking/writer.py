"""A background thread that performs MLflow writes in order, off the trial's critical path.

Each MLflow call on a SQLite store costs 7-50 ms; done inline they would add ~70 ms to every
trial. ``RunLogger`` submits its writes here instead, each with a description such as
``log_batch for trial-3``. A failed job never stops the thread (whatever it raises) and never
stops later jobs: the failure is kept, announced once on stderr when the first one happens
(``warn``), handed to the job's ``on_error`` (which tags the run), and re-raised by ``drain``
so nothing is lost silently. One writer per process; ``close`` stops it.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from nnexp.errors import NnexpError, first_line, warn

_STOP = object()


class Writer:
    """FIFO executor of write jobs on one daemon thread."""

    def __init__(self, announce: Callable[[str], None] | None = warn) -> None:
        self._jobs: queue.Queue = queue.Queue()
        self._errors: list[str] = []
        self._announce = announce
        self._announced = False
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="nnexp-mlflow-writer",
                                        daemon=True)
        self._thread.start()

    @property
    def failures(self) -> int:
        """How many jobs failed and were not yet reported by ``drain``/``close``."""
        return len(self._errors)

    def submit(self, job: Callable[..., object], *args, description: str | None = None,
               on_error: Callable[[str], None] | None = None, **kwargs) -> None:
        """Queue ``job(*args, **kwargs)``. ``description`` names it in error messages (default:
        the function's name); ``on_error(message)`` runs on the writer thread if it fails."""
        if self._closed:
            raise RuntimeError("the MLflow writer is closed")
        what = description or getattr(job, "__name__", repr(job))
        self._jobs.put((job, args, kwargs, what, on_error))

    def drain(self) -> None:
        """Wait until every submitted job has run; raise ``NnexpError`` if any failed."""
        self._wait()
        errors = self.take_errors()
        if errors:
            raise NnexpError(
                f"{len(errors)} MLflow write(s) failed; the first: {errors[0]}. Check that the "
                "tracking store is reachable and has space; Optuna's record of the trials is "
                "intact.")

    def take_errors(self) -> list[str]:
        """The failures so far (each ``description: message``), forgotten once taken."""
        errors, self._errors = self._errors, []
        return errors

    def close(self, raise_errors: bool = True) -> list[str]:
        """Run every queued job, stop the thread and return the failures (raise them as
        ``drain`` does when ``raise_errors``). Calling it again does nothing."""
        if not self._closed:
            self._closed = True
            self._jobs.put((_STOP, (), {}, "stop", None))
            self._wait()
            self._thread.join(timeout=5)
        if raise_errors:
            self.drain()
            return []
        return self.take_errors()

    def _wait(self) -> None:
        jobs = self._jobs
        with jobs.all_tasks_done:
            while jobs.unfinished_tasks:
                if not self._thread.is_alive():
                    self._errors.append(f"{jobs.unfinished_tasks} write(s) not run: the "
                                        "writer thread stopped")
                    return
                jobs.all_tasks_done.wait(0.2)

    def _run(self) -> None:
        while True:
            job, args, kwargs, what, on_error = self._jobs.get()
            try:
                if job is _STOP:
                    return
                job(*args, **kwargs)
            except BaseException as err:  # noqa: BLE001 - kept and reported; the thread goes on
                self._failed(f"{what}: {first_line(err)}", on_error)
            finally:
                self._jobs.task_done()

    def _failed(self, message: str, on_error: Callable[[str], None] | None) -> None:
        self._errors.append(message)
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
def writing(announce: Callable[[str], None] | None = warn) -> Iterator[Writer]:
    """A ``Writer`` for the block, closed at its end. If the block raised (a
    ``KeyboardInterrupt``, say), that exception wins: failed writes are only reported, one
    ``warning:`` line each; otherwise they are raised as ``drain`` does."""
    writer = Writer(announce)
    try:
        yield writer
    except BaseException:
        for message in writer.close(raise_errors=False):
            warn(f"MLflow write failed: {message}")
        raise
    writer.close()
