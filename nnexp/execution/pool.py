"""The worker processes of one invocation on this machine (``--jobs N``, 1 included).

Each worker is a process running the study's worker function (``work``:
``nnexp.study.worker.run_worker``, handed in, so this package imports nothing of the study's)
with its share of the trials (``split_trials``). Workers are forked from this process's worker
server (multiprocessing's fork server, started by ``start_server`` as the invocation begins,
importing what a worker needs while the main process reads the data; a notebook's next search
finds it running), so a worker is ready in milliseconds, not the ~0.5 s a new interpreter
takes to import them; where there is no fork server, workers are spawned.
Its MLflow writes go to the main process through a ``nnexp.tracking.relay.Relay``; the main
process performs them on one ``Writer`` once it has opened the tracking store and created
the parent run (``attach``), so the workers start training while it does. ``wait`` shows the
progress until they are done; ``on_end`` runs as soon as they are (the plots start then).
Ctrl-C or SIGTERM is forwarded (``STOP``, then SIGTERM on the second); a worker killed
meanwhile has its trial failed by the caller; a store lost by the main process's writer
stops the workers at their next epoch (a shared event) and is the one message said; a worker
that stopped on a lost Optuna storage gives its message (``StoreOutage``). Leaving the
``with`` block by an exception stops and joins the workers and drops the writes not yet
performed.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.connection
import os
import pickle
import signal
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from nnexp.errors import NnexpError, warn
from nnexp.execution.interrupt import STOP, Interrupt, caused_by_interrupt
from nnexp.library_internals import fork_server_apart
from nnexp.outage import StoreOutage
from nnexp.tracking.grouped import perform_group
from nnexp.tracking.outbox import Invocation as OutboxFolder
from nnexp.tracking.outbox import Outbox
from nnexp.tracking.relay import Receiver, Relay
from nnexp.tracking.writer import Writer

STOP_WAIT = 30.0
"""Seconds the main process waits for its workers to stop after Ctrl-C or SIGTERM before it
kills them (they stop after their current epoch: usually well under a second)."""
READ_WAIT = 10.0
"""Seconds to wait for the last messages of workers that have exited."""


def _context():
    """The multiprocessing context workers start from: the fork server where the platform has
    one (Linux, macOS), else spawn."""
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    return multiprocessing.get_context(method)


def start_server(modules: Sequence[str]) -> None:
    """Start this process's worker server now, importing ``modules`` (what a worker imports
    before its first trial) while the caller goes on; nothing when it runs already (its
    modules are those of its first start) or there is none. It runs in a process group of
    its own, so a terminal's Ctrl-C reaches neither it (a traceback from the middle of an
    import) nor the workers it forks: this process forwards it (``STOP``). It ends once this
    process and its workers have."""
    from multiprocessing import forkserver

    context = _context()
    if context.get_start_method() != "forkserver":
        return
    context.set_forkserver_preload(list(modules))
    fork_server_apart(forkserver.ensure_running)


def split_trials(total: int | None, jobs: int) -> list[int | None]:
    """Split ``total`` trials over ``jobs`` workers (None: unbounded, a timeout stops them)."""
    if total is None:
        return [None] * jobs
    return [total // jobs + (1 if i < total % jobs else 0) for i in range(jobs)]


def _worker_entry(work, context: str, n_trials: int | None, timeout: float | None, index: int,
                  errors, connection, lost, lifeline) -> None:
    relay = Relay(connection, lost)
    try:
        # a spawned worker started with SIGINT blocked (``LocalWorkers._spawn``): a terminal's
        # Ctrl-C meanwhile is delivered now, as a KeyboardInterrupt handled below, not as a
        # traceback from the middle of an import (a forked one is out of the terminal's
        # reach: its server has a process group of its own, ``start_server``)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
        with open(context, "rb") as f:
            ctx = pickle.load(f)  # noqa: S301 - written by this worker's own main process
        os.unlink(context)  # its own copy: the storage URL in it may hold a password
        if ctx.outbox:  # every write kept on disk before it goes down the pipe
            relay = Outbox(Path(ctx.outbox), index, relay)
        # the main process holds the lifeline's other end: end-of-file once it is gone (a
        # worker's parent is the worker server, which outlives the main process while it
        # has workers)
        work(ctx, n_trials, timeout, index, main_gone=lifeline.poll, relay=relay)
    except KeyboardInterrupt:
        pass  # the objective has recorded the interrupted trial; the parent summarises
    except NnexpError as err:  # one message, said by the main process
        errors.put((type(err).__name__, getattr(err, "store", None), str(err)))
        raise SystemExit(2) from None
    except Exception as err:
        if not caused_by_interrupt(err):  # a Ctrl-C inside an import: as the one above
            raise
    finally:
        relay.close()


@contextlib.contextmanager
def _main_module_left_out():
    """Start workers without the caller's ``__main__``: multiprocessing re-runs the main
    script in every spawned or fork-server process (so a script without an ``if __name__ ==
    "__main__"`` guard ran its search twice, and code fed on stdin failed: ``'<stdin>'`` is
    no file). A worker needs nothing from it (its entry point and context are nnexp's), so while the
    workers start, ``sys.modules["__main__"]`` is an empty module, which multiprocessing does
    not re-import; the caller's is put back at once. From a notebook this changes nothing (a
    kernel's ``__main__`` has no file)."""
    import sys
    import types

    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


class LocalWorkers:
    """Context manager: the workers run from ``start`` until the block ends; see the module
    docstring."""

    def __init__(self, ctx, shares: list[int | None], timeout: float | None, work,
                 on_end=None) -> None:
        """``work(ctx, n_trials, timeout, index, main_gone=, relay=)``: what a worker runs
        (a module-level function, pickled by name); ``on_end()``: called on a thread of its
        own as soon as every worker has ended."""
        # the context (with the data) goes through a file: what a spawned process is handed
        # on its pipe must fit the pipe's buffer, or starting it blocks until it has read it,
        # for ever if it died first (a Ctrl-C while it starts). One file per worker, which
        # it removes once read (a SIGKILL of this process then leaves none behind)
        data = pickle.dumps(ctx)
        self._contexts = []
        for _ in shares:
            with tempfile.NamedTemporaryFile(prefix="nnexp-worker-", suffix=".pickle",
                                             delete=False) as f:
                f.write(data)
            self._contexts.append(f.name)
        start = _context()
        self._errors = start.Queue()
        self._lost = start.Event()
        pipes = [start.Pipe(duplex=False) for _ in shares]
        self._ends = [send for _, send in pipes]
        lifeline, self._lifeline = start.Pipe(duplex=False)  # never written: see _worker_entry
        self._ends.append(lifeline)  # closed here once the workers hold it
        self.processes = [
            start.Process(target=_worker_entry, daemon=False,
                          args=(work, context, n, timeout, i, self._errors, send, self._lost,
                                lifeline))
            for i, (n, (_, send), context) in enumerate(zip(shares, pipes, self._contexts))]
        self._receiver = Receiver([receive for receive, _ in pipes])
        self._outbox = OutboxFolder(Path(ctx.outbox), ctx.mlflow_experiment_name) \
            if ctx.outbox else None
        self._interrupt = Interrupt(on_signal=self._forward)
        self.writer: Writer | None = None
        self._client = None
        self._closed = False
        self._started = False
        self._spawned = threading.Event()
        self._on_end = on_end

    def __enter__(self) -> LocalWorkers:
        return self

    def start(self) -> None:
        """Start the workers (once; from here Ctrl-C and SIGTERM are forwarded to them)."""
        if self._started:
            return
        self._started = True
        self._interrupt.__enter__()
        threading.Thread(target=self._spawn, name="nnexp-spawn", daemon=True).start()

    def _spawn(self) -> None:
        """Start the processes, on a thread: starting one waits for the worker server to have
        imported what it preloads (or, spawned, for the new interpreter to import enough to
        read its arguments), time in which this process opens MLflow's store. SIGINT is
        blocked on this thread, so the workers start with it blocked (see ``_worker_entry``);
        the main thread still receives it."""
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            with _main_module_left_out():
                for p in self.processes:
                    p.start()
        finally:
            for end in self._ends:  # the workers hold them now: a worker's exit closes its pipe
                end.close()
            self._spawned.set()
        if self._on_end is not None:
            self._watch()

    def _started_all(self) -> None:
        """Wait until every process is started (or failed to start)."""
        if self._started:
            self._spawned.wait()

    def _watch(self) -> None:
        """Call ``on_end`` once every worker has ended, seen on their sentinels without
        reaping them: the main thread reads their exit codes (``wait``), and a fork-server
        worker's can be read once (two threads polling one process: one of them got EOF and
        took the exit code for 255, failing a search that had gone well)."""
        pending = [p.sentinel for p in self.processes if p.pid is not None]
        while pending:
            ready = multiprocessing.connection.wait(pending)
            pending = [s for s in pending if s not in ready]
        self._on_end()

    def __exit__(self, kind, err, traceback) -> None:
        try:
            self._stop(kind, err)
        finally:
            for context in self._contexts:  # those of workers that never read theirs
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(context)
            self._lifeline.close()  # a worker still running stops at its next safe point

    def _stop(self, kind, err) -> None:
        if not self._started:
            self._receiver.discard()
            if self._outbox is not None:
                self._outbox.done()  # no worker ran: nothing was kept
            return
        self._started_all()
        try:
            if kind is not None:
                self._forward(STOP, True)
            _join(self.processes, STOP_WAIT)
            if self.writer is None:  # what the workers kept waits for the next invocation
                self._receiver.discard()
                if self._outbox is not None:
                    self._outbox.release()
            elif not self._closed:
                self._close_writes(err)
        finally:
            self._interrupt.__exit__(None, None, None)

    def attach(self, client, experiment_id: str, parent_run_id: str,
               outage_seconds: float | None, uri: str) -> None:
        """Start performing the workers' MLflow writes (held until now) in this process."""
        self._client = client
        if self._outbox is not None:
            self._outbox.target(experiment_id, parent_run_id)
        self.writer = Writer(outage_seconds=outage_seconds, uri=uri, group=perform_group)
        self._receiver.attach(client, self.writer, experiment_id, parent_run_id)

    def wait(self, study, progress) -> None:
        """Show the progress until every worker has ended, then raise what stopped them."""
        self._started_all()
        try:
            while any(p.is_alive() for p in self.processes):
                if self._interrupt.requested:
                    raise KeyboardInterrupt
                if self.writer is not None and self.writer.lost is not None:
                    self._lost.set()
                try:
                    progress.update(study.get_trials(deepcopy=False))
                except StoreOutage:
                    pass  # the workers meet the outage too and say so
                # the progress every 0.5 s; the summary as soon as the last worker ends
                multiprocessing.connection.wait(
                    [p.sentinel for p in self.processes if p.is_alive()], 0.5)
            if self._interrupt.requested:  # the workers stopped on it before the loop saw it
                raise KeyboardInterrupt
        except KeyboardInterrupt as err:
            self._forward(STOP, True)
            _join(self.processes, STOP_WAIT)
            self._close_writes(err)
            raise
        _join(self.processes, STOP_WAIT)
        self._close_writes(None)
        if self._interrupt.requested:  # while the last workers ended
            raise KeyboardInterrupt
        reported = []
        while True:  # the workers have ended: what they sent is in the pipe
            try:
                reported.append(self._errors.get_nowait())
            except Exception:  # noqa: BLE001 - queue.Empty: every message is read
                break
        for kind, store, message in reported:
            if kind == "StoreOutage":
                raise StoreOutage(message, store)
        if reported:
            raise NnexpError(reported[0][2])
        failed = [p.exitcode for p in self.processes if p.exitcode not in (0, None)]
        if failed:
            raise NnexpError(f"{len(failed)} worker process(es) exited with codes {failed}; "
                             "completed trials are kept (the trials they were running are "
                             "recorded as failed). Re-run the same command to resume.")

    def _close_writes(self, err: BaseException | None) -> None:
        """Perform every write the workers kept (what their pipes carried, then what only
        their outboxes hold), then stop the writer (``Writer.finish``). The outbox folder is
        removed once all of it was performed; else the next invocation or ``nnexp doctor
        --fix`` performs it. The workers are gone: from here Ctrl-C and SIGTERM interrupt at
        once (``KeyboardInterrupt``), the first one included, and one that lands while the
        writes are performed abandons the rest (they stay in the outbox)."""
        self._closed = True
        self._interrupt.__exit__(None, None, None)
        outbox = self._outbox
        joined = False
        try:
            joined = self._receiver.join(READ_WAIT)
            if not joined:
                warn("a worker's pipe stayed open; its last MLflow writes stay in its outbox")
            if outbox is not None and joined and self.writer is not None:
                for i in range(len(self.processes)):
                    self._receiver.perform_late(i, outbox.unsent(i, self._receiver.received[i]))
            if self.writer is not None:
                self.writer.finish(err)
        except KeyboardInterrupt:
            if self.writer is not None:
                self.writer.abandon()
            warn("interrupted while the workers' MLflow writes were performed: the rest stay "
                 f"in {outbox.directory if outbox else 'their outbox'}, performed by the next "
                 "invocation (or nnexp doctor --fix)")
            raise
        finally:
            if outbox is not None and self.writer is not None:
                if joined and not self.writer.failed and self.writer.lost is None and \
                        all(not p.is_alive() for p in self.processes) and self._safe():
                    outbox.done()
                else:
                    outbox.release()

    def _safe(self) -> bool:
        """Whether what was written is on disk (a SQLite store checkpointed), so that the
        outbox may go."""
        from nnexp.stores.tracking_store import checkpoint

        try:
            checkpoint(self._client)
        except Exception:  # noqa: BLE001 - the outbox stays; the next invocation writes it
            return False
        return True

    def _forward(self, signum: int, first: bool) -> None:
        for p in self.processes:
            if p.pid is not None and p.exitcode is None:
                try:
                    os.kill(p.pid, STOP if first else signal.SIGTERM)
                except ProcessLookupError:
                    pass


def _join(processes, seconds: float) -> None:
    """Wait up to ``seconds`` for the processes to end; kill those still running."""
    deadline = time.monotonic() + seconds
    for p in processes:
        if p.pid is not None:
            p.join(max(0.0, deadline - time.monotonic()))
    for p in processes:
        if p.pid is not None and p.is_alive():
            p.kill()
            p.join(5)
