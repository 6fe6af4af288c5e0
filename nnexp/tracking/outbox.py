"""A worker's MLflow writes kept on local disk until they are performed: nothing a trial
recorded is lost when the main process, the worker, or both die.

A worker's ``RunLogger`` operations (plain data, ``nnexp.tracking.runs``) are appended to its
outbox file, ``<outbox>/<invocation key>/worker-<i>.ops``, before they go down the pipe to the
main process (``nnexp.tracking.relay``); an artifact's files (a trial's config.yaml, a model)
are kept inside its record. Each record is written as it comes, unbuffered (a worker killed,
say while the pipe is full, keeps what it wrote: the kernel has it), and a run's ``end`` is
fsync'd (one sync per run) before the trial's end is told to Optuna, so a trial that Optuna
holds as over has its whole record on disk. Each record is a 4-byte length and a pickle; a
torn last record (a kill mid-write) is ignored.

Who performs them:
- the main process, from the pipe as they come; after the pipes close it performs what the
  pipe did not carry (a worker killed between the file and the pipe: ``Outbox.catch_up``)
  and deletes the invocation's folder once every write succeeded;
- the next invocation of the study and ``nnexp doctor --fix``, for a folder whose main process
  and workers are gone (``recover``: each holds an ``flock`` on its file while it lives; the
  main process on ``main.lock``). Every run created carries the tag ``nnexp.record`` (a random
  id): a run already created is not created again, and MLflow drops a metric logged twice
  with the same key, value, step and time, so performing a record again leaves one run with
  one set of metrics.

``main.json`` in the folder names where the runs go (experiment, parent run), written by the
main process when it opens its parent run.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import pickle
import shutil
import struct
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from nnexp.outage import StoreOutage
from nnexp.tracking.runs import PARENT_TAG, RECORD_TAG, TAG_PREFIX, RunLogger

MAIN_LOCK, MAIN_FILE, SUFFIX = "main.lock", "main.json", ".ops"
_HEADER = struct.Struct("<I")


def outbox_root(tracking_uri: str) -> Path:
    """Where the outboxes of a tracking store's invocations live on this machine: beside
    MLflow's SQLite database (``mlruns/outbox``); for a tracking server or database, in this
    user's cache (``$XDG_CACHE_HOME/nnexp/outbox/<hash of the store's URI>``), found again by
    any folder's next invocation or ``nnexp doctor`` on that store."""
    if tracking_uri.startswith("sqlite:///"):
        return Path(tracking_uri[len("sqlite:///"):]).resolve().parent / "outbox"
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "nnexp" / "outbox" / hashlib.sha256(tracking_uri.encode()).hexdigest()[:16]


def _disk_refused(directory: Path, what: str, err: OSError) -> StoreOutage:
    """The one message of an outbox the disk refuses (full, read-only). Its store is
    ``outbox``: MLflow's store still works, so the runs left open are closed."""
    return StoreOutage(
        f"cannot keep {what} on disk in {directory} ({err.strerror or err}); this invocation "
        "stopped and the trial in flight is recorded as failed. Free space on that disk (or "
        "make it writable), then re-run the same command to resume.", "outbox")


def _lock(path: Path, blocking: bool = True, buffering: int = -1):
    """An open file holding an exclusive ``flock`` on ``path`` (None: held elsewhere)."""
    f = open(path, "ab", buffering=buffering)  # noqa: SIM115 - held for the lock's lifetime
    try:
        fcntl.flock(f, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
    except BlockingIOError:
        f.close()
        return None
    return f


def _contents(path: Path) -> dict[str, bytes]:
    """The files of an artifact folder (or one file), by path relative to it."""
    if path.is_file():
        return {path.name: path.read_bytes()}
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*"))
            if p.is_file()}


def as_performed(op: tuple) -> tuple:
    """A kept operation as ``RunLogger.perform`` takes it: an artifact whose staged folder is
    gone (sent already, or lost with its process) is written anew from the record (sending
    it again writes the same files)."""
    if op[0] != "artifact" or len(op) == 4:
        return op
    path, files = Path(op[1]), op[4]
    if not path.exists():
        path = Path(tempfile.mkdtemp(prefix="nnexp-recovered-"))
        for name, data in files.items():
            (path / name).parent.mkdir(parents=True, exist_ok=True)
            (path / name).write_bytes(data)
    return ("artifact", str(path), op[2], op[3])


def read_records(path: Path) -> list[tuple]:
    """The records of an outbox file, in order (a torn last record is left out)."""
    data = path.read_bytes()
    out, at = [], 0
    while at + _HEADER.size <= len(data):
        (size,) = _HEADER.unpack_from(data, at)
        end = at + _HEADER.size + size
        if end > len(data):
            break
        try:
            out.append(pickle.loads(data[at + _HEADER.size:end]))  # noqa: S301 - our own file
        except Exception:  # noqa: BLE001 - a torn record: nothing after it was written whole
            break
        at = end
    return out


class Outbox:
    """A worker's sink for ``RunLogger`` operations (``run_op``, ``check``): appended to its
    file, then handed to ``forward`` (the ``Relay`` to the main process)."""

    def __init__(self, directory: Path, index: int, forward) -> None:
        self.path = directory / f"worker-{index}{SUFFIX}"
        self._forward = forward
        try:
            directory.mkdir(parents=True, exist_ok=True)
            self._file = _lock(self.path, buffering=0)  # each record in the kernel at once
        except OSError as err:
            raise _disk_refused(directory, "this worker's MLflow records", err) from None
        self._count = 0
        self.failure: StoreOutage | None = None

    def run_op(self, logger: RunLogger, op: tuple) -> None:
        """Keep ``op`` on disk (fsync'd with what came before when it ends a run: one sync
        per run), then forward it. An artifact's files are kept inside the record (a
        trial's config.yaml, a model). A write the disk refuses stops the worker (``check``)
        and raises, so the trial is not told to Optuna as complete without its record."""
        if self.failure is not None:
            raise self.failure
        try:
            kept = (*op, _contents(Path(op[1]))) if op[0] == "artifact" else op
            record = pickle.dumps((logger.key, logger.name, kept))
            data = memoryview(_HEADER.pack(len(record)) + record)
            while data:  # an unbuffered write may take part of it
                data = data[self._file.write(data):]
            if op[0] == "end":
                self._file.flush()
                os.fsync(self._file.fileno())
        except OSError as err:
            self.failure = _disk_refused(self.path.parent,
                                         f"the MLflow record of {logger.name or 'a run'}", err)
            raise self.failure from None
        self._count += 1
        self._forward.run_op(logger, op)

    def check(self) -> None:
        if self.failure is not None:
            raise self.failure
        self._forward.check()

    def close(self) -> None:
        """Flush and release the file (the lock goes with it), then close the pipe. A flush
        the disk refuses is not raised: the worker is ending, what it kept went down the pipe
        too, and a full disk was said once already (``run_op``)."""
        try:
            self._file.close()  # flushes first; the file is closed even when that fails
        except OSError:
            pass
        finally:
            self._forward.close()


class Invocation:
    """The main process's side of one invocation's outbox folder: holds ``main.lock`` while
    it lives, says where the runs go (``target``), performs what the pipes did not carry
    (``catch_up``) and removes the folder once everything was performed (``done``)."""

    def __init__(self, directory: Path, experiment_name: str) -> None:
        self.directory = directory
        self._lock = None
        self._where = {"experiment_name": experiment_name, "experiment_id": None,
                       "parent_run_id": None}
        try:
            directory.mkdir(parents=True, exist_ok=True)
            self._lock = _lock(directory / MAIN_LOCK)
            self._write()
        except OSError as err:
            self.release()
            raise _disk_refused(directory, "the workers' MLflow records", err) from None

    def target(self, experiment_id: str, parent_run_id: str) -> None:
        """Where the runs go: the experiment and the parent run, once opened."""
        self._where.update(experiment_id=experiment_id, parent_run_id=parent_run_id)
        try:
            self._write()
        except OSError as err:
            raise _disk_refused(self.directory, "where the MLflow records go", err) from None

    def _write(self) -> None:
        temporary = self.directory / (MAIN_FILE + ".new")
        temporary.write_text(json.dumps(self._where))
        os.replace(temporary, self.directory / MAIN_FILE)

    def unsent(self, index: int, received: int) -> list[tuple]:
        """Worker ``index``'s records after the first ``received`` (those its pipe did not
        carry), once the worker has ended."""
        path = self.directory / f"worker-{index}{SUFFIX}"
        return [(key, name, as_performed(op)) for key, name, op in read_records(path)[received:]]\
            if path.exists() else []

    def done(self) -> None:
        """Every write was performed: remove the folder (and the lock)."""
        shutil.rmtree(self.directory, ignore_errors=True)
        self.release()

    def release(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None


def _idle(directory: Path) -> list | None:
    """The locks of an outbox folder nobody holds (its main process and workers are gone),
    taken; None when one is still held."""
    held = []
    for name in [MAIN_LOCK, *sorted(p.name for p in directory.glob(f"*{SUFFIX}"))]:
        f = _lock(directory / name, blocking=False)
        if f is None:
            for g in held:
                g.close()
            return None
        held.append(f)
    return held


def pending(root: Path) -> Iterator[Path]:
    """The outbox folders under ``root`` left by invocations whose processes are gone."""
    if not root.is_dir():
        return
    for directory in sorted(p for p in root.iterdir() if p.is_dir()):
        held = _idle(directory)
        if held is not None:
            for f in held:
                f.close()
            yield directory


def recover(root: Path, client, experiment_of: Callable[[str], str],
            settle: Callable[[Any], None]) -> int:
    """Perform, exactly once, the records of every outbox folder under ``root`` whose
    processes are gone (see the module docstring), and remove the folders. Runs go to the
    experiment and parent run named in ``main.json`` (a main process that died before it
    opened its parent run: top-level runs of its experiment, ``experiment_of(name)``, the
    store's own ``ensure_experiment``). Returns how many runs were created or completed.
    ``settle(client)`` makes what was written safe on disk before a folder goes
    (``nnexp.stores.tracking_store.checkpoint``)."""
    written = 0
    if not root.is_dir():
        return 0
    for directory in sorted(p for p in root.iterdir() if p.is_dir()):
        held = _idle(directory)
        if held is None:
            continue
        try:
            target = directory / MAIN_FILE
            records = [read_records(p) for p in sorted(directory.glob(f"*{SUFFIX}"))]
            if any(records) and target.exists():
                where = json.loads(target.read_text())
                if where["experiment_id"] is None:
                    where["experiment_id"] = experiment_of(where["experiment_name"])
                existing = _recorded_runs(client, where)
                for worker in records:
                    written += _perform(client, worker, where, existing)
                settle(client)
            shutil.rmtree(directory, ignore_errors=True)
        finally:
            for f in held:
                f.close()
    return written


def _perform(client, records: list[tuple], where: dict, existing: dict) -> int:
    """Perform one worker's records: each run's operations in order, on the run of
    ``existing`` (by record id) that already carries its record id when there is one.
    Returns how many runs were created or ended."""
    runs: dict[int, RunLogger] = {}
    ended: set[int] = set()
    written = 0
    for key, name, op in records:
        logger = runs.get(key)
        if op[0] == "create":
            _, experiment, run_name, tags, parent = op
            logger = runs[key] = RunLogger(client, None, name=name)
            run = existing.get(tags.get(RECORD_TAG))
            if run is not None:
                logger.run_id, logger.artifact_uri = run.info.run_id, run.info.artifact_uri
                if run.info.status in ("FINISHED", "FAILED"):  # ended by its own record:
                    ended.add(key)  # only its files again (copied after the rows)
                else:  # half written, or closed as KILLED by a check meanwhile
                    written += 1
                continue
            written += 1
            op = ("create", experiment or where["experiment_id"], run_name,
                  {**tags, TAG_PREFIX + "recovered": "outbox"},
                  parent or where["parent_run_id"])
        if logger is None:  # a run created by a record no longer here: nothing to add to
            continue
        if key in ended and op[0] != "artifact":
            continue
        logger.send(as_performed(op))
    return written


def _recorded_runs(client, where: dict) -> dict:
    """The runs of the target experiment that carry a record id, by record id."""
    found, token = {}, None
    query = f"tags.`{RECORD_TAG}` != ''"
    if where["parent_run_id"]:
        query += f" and tags.`{PARENT_TAG}` = '{where['parent_run_id']}'"
    while True:
        page = client.search_runs([where["experiment_id"]], filter_string=query,
                                  max_results=1000, page_token=token)
        found.update({r.data.tags[RECORD_TAG]: r for r in page})
        token = page.token
        if not token:
            return found
