"""MLflow writes of worker processes, carried out by their main process.

A worker process of this machine never imports MLflow (about 2 s and 100 MB each): its
``RunLogger`` operations (plain data, see ``nnexp.tracking.runs``) go down a pipe to the main
process, which performs them in order on its one ``Writer``. So the workers start training
while the main process is still opening the store, and one process writes the SQLite store.

``Relay`` is the worker's end: ``run_op`` sends, ``check`` raises ``StoreOutage`` once the main
process has lost the store (it sets a shared event). ``Receiver`` is the main process's end: a
thread reads every worker's pipe, holds the operations until ``attach`` gives it the client,
writer, experiment and parent run, then hands them on as they come (a run's ``experiment_id``
and ``parent_run_id`` None become the main process's own). A worker killed mid-message only
closes its pipe: what it sent before is kept. ``discard`` drops what was not performed (and
deletes the artifact folders it handed over) when the main process stops before attaching.
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

from nnexp.outage import StoreOutage
from nnexp.tracking.runs import TAG_PREFIX, RunLogger

LOST = "the MLflow tracking store was lost (the main process says why)"


class Relay:
    """A worker's end: sends ``RunLogger`` operations to the main process."""

    def __init__(self, connection, lost) -> None:
        self._connection = connection
        self._lost = lost
        self.broken = False  # the main process is gone; the worker stops (main_gone)

    def run_op(self, logger: RunLogger, op: tuple) -> None:
        if self.broken:
            return
        try:
            self._connection.send((logger.key, logger.name, op))
        except (OSError, EOFError):
            self.broken = True

    def check(self) -> None:
        """Raise ``StoreOutage`` once the main process has lost the tracking store."""
        if self._lost.is_set():
            raise StoreOutage(LOST, "tracking")

    def close(self) -> None:
        self._connection.close()


class Receiver:
    """The main process's end: one thread reading the workers' pipes (see the module
    docstring)."""

    def __init__(self, connections: list) -> None:
        self._lock = threading.Lock()
        self._held: list[tuple] = []
        self._target: tuple | None = None  # (client, writer, experiment_id, parent_run_id)
        self._discarded = False
        self._mirrors: dict[tuple[int, int], RunLogger] = {}
        self.received = [0] * len(connections)  # operations read from each worker's pipe
        self._thread = threading.Thread(target=self._read, args=(list(connections),),
                                        name="nnexp-relay", daemon=True)
        self._thread.start()

    def attach(self, client, writer, experiment_id: str, parent_run_id: str) -> None:
        """Perform the operations held so far, and from now on each as it comes."""
        with self._lock:
            self._target = (client, writer, experiment_id, parent_run_id)
            for message in self._held:
                self._apply(*message)
            self._held = []

    def discard(self) -> None:
        """Drop the operations not performed (their artifact folders deleted), now and later
        (a worker's outbox keeps them for the next invocation)."""
        with self._lock:
            self._discarded = True
            for _, _, _, op in self._held:
                _drop(op)
            self._held = []

    def perform_late(self, worker: int, records: list[tuple]) -> None:
        """Perform worker ``worker``'s operations that its pipe did not carry (read from its
        outbox once it has ended: ``nnexp.tracking.outbox``), after all that it did."""
        with self._lock:
            if self._target is None or self._discarded:
                return
            for key, name, op in records:
                self._apply(worker, key, name, op)

    def join(self, timeout: float) -> bool:
        """Wait until every worker's pipe is closed; False if one still is open."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _read(self, connections: list) -> None:
        from multiprocessing.connection import wait

        index = {id(c): i for i, c in enumerate(connections)}
        while connections:
            for connection in wait(connections):
                try:
                    key, name, op = connection.recv()
                except Exception:  # noqa: BLE001 - closed, or a worker killed mid-message
                    connection.close()
                    connections.remove(connection)
                    continue
                self.received[index[id(connection)]] += 1
                with self._lock:
                    if self._discarded:
                        _drop(op)
                    elif self._target is None:
                        self._held.append((index[id(connection)], key, name, op))
                    else:
                        self._apply(index[id(connection)], key, name, op)

    def _apply(self, worker: int, key: int, name: str, op: tuple) -> None:
        client, writer, experiment_id, parent_run_id = self._target
        mirror = self._mirrors.get((worker, key))
        if mirror is None:
            mirror = self._mirrors[(worker, key)] = RunLogger(client, None, writer=writer,
                                                              name=name)
        if op[0] == "create":
            _, experiment, run_name, tags, parent = op
            op = ("create", experiment or experiment_id, run_name, tags, parent or parent_run_id)
            if TAG_PREFIX + "retry_of" in tags and TAG_PREFIX + "retry_of_run" not in tags:
                writer.submit(_link_retry, client, op[1], tags,
                              description=f"find the run retried by {name}")
        if op[0] == "end":  # its last operation: the writer's job holds it from here
            del self._mirrors[(worker, key)]
        mirror.send(op)


def _link_retry(client, experiment_id: str, tags: dict[str, str]) -> None:
    """Add ``nnexp.retry_of_run`` (the MLflow run of the trial retried) to a run's tags before
    it is created (they are the same dict)."""
    from nnexp.tracking.summary import run_of_trial

    run_id = run_of_trial(client, experiment_id, tags[TAG_PREFIX + "study"],
                          int(tags[TAG_PREFIX + "retry_of"]))
    if run_id:
        tags[TAG_PREFIX + "retry_of_run"] = run_id


def _drop(op: tuple) -> None:
    if op[0] == "artifact":
        path = Path(op[1])
        shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
