"""A background thread that performs MLflow writes in order, off the trial's critical path.

Each MLflow call on a SQLite store costs 7-50 ms; done inline they would add ~70 ms to every
trial. ``RunLogger`` submits its writes here instead; ``drain`` waits for all of them and
re-raises the first failure, so nothing is lost silently. One writer per process.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

from nnexp.errors import NnexpError


class Writer:
    """FIFO executor of write jobs on one daemon thread."""

    def __init__(self) -> None:
        self._jobs: queue.Queue = queue.Queue()
        self._errors: list[str] = []
        self._thread = threading.Thread(target=self._run, name="nnexp-mlflow-writer",
                                        daemon=True)
        self._thread.start()

    def submit(self, job: Callable[..., object], *args, **kwargs) -> None:
        self._jobs.put((job, args, kwargs))

    def drain(self) -> None:
        """Wait until every submitted job has run; raise ``NnexpError`` if any failed."""
        self._jobs.join()
        if self._errors:
            errors, self._errors = self._errors, []
            raise NnexpError(
                f"{len(errors)} MLflow write(s) failed; the first: {errors[0]}. Check that the "
                "tracking store is reachable and has space; Optuna's record of the trials is "
                "intact.")

    def _run(self) -> None:
        while True:
            job, args, kwargs = self._jobs.get()
            try:
                job(*args, **kwargs)
            except Exception as err:  # noqa: BLE001 - reported by drain()
                self._errors.append(f"{getattr(job, '__name__', job)}: {err}")
            finally:
                self._jobs.task_done()
