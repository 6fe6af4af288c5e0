"""Study workers as tasks on a Dask cluster people already run (``nnexp search --dask ADDRESS``).

nnexp does not schedule anything itself: it submits ``--jobs`` tasks to the cluster's
scheduler, and each task is one study worker (``run_worker`` with its own index, so its own
sampler seed ``study_seed + index``) pinned to its Dask worker's threads. The tasks share the
study through the Optuna storage, which must therefore be reachable from every Dask worker: a
database server (``postgresql://...``), or a journal file on a shared file system. MLflow is
reached through the tracking URI: a server (``http://...``) or a database; a SQLite file only
works when every Dask worker runs on this machine.

Failures: a Dask worker that dies (killed, out of memory, machine lost) is seen by the
scheduler, which runs its task again on another worker (``distributed.scheduler.allowed-failures``
times, then the task fails with ``KilledWorker``). The retried task only runs what is left of
this invocation's trial budget and time. The trial the dead worker was running is failed here
as ``interrupted`` (reason: the Dask worker died), as soon as its process is seen gone, so
nothing is left RUNNING; across invocations the storage's heartbeat and the next invocation do
the same. Waits are bounded: a cluster without workers, or a scheduler that cannot be reached,
ends the invocation with an error instead of a hang. Ctrl-C asks the tasks to stop after their
current trial (a second Ctrl-C stops waiting) and cancels the tasks not yet started.
"""

from __future__ import annotations

import math
import os
import socket
import time
from dataclasses import dataclass, replace
from pathlib import Path

from nnexp.errors import NnexpError, first_line, mask_url, url_scheme, warn

CONNECT_TIMEOUT = 10  # seconds to reach the scheduler
NO_WORKERS_WAIT = 60  # seconds a cluster may have no worker at all before the study stops
STOP_WAIT = 60  # seconds Ctrl-C waits for the running trials to end (a second Ctrl-C: no wait)
POLL = 0.5  # seconds between progress updates
PIDS_EVERY = 2.0  # seconds between looks at the Dask workers' processes
# file systems a journal file (or a SQLite tracking file) can be shared on between machines
SHARED_FILESYSTEMS = {"nfs", "nfs4", "cifs", "smb3", "smbfs", "ceph", "fuse.cephfs", "glusterfs",
                      "fuse.glusterfs", "lustre", "gpfs", "beegfs", "ocfs2", "gfs2",
                      "fuse.juicefs", "efs"}


@dataclass(frozen=True)
class Cluster:
    """What ``check_cluster`` found: the scheduler's address, its workers and their threads."""

    address: str
    workers: int
    threads: int
    hosts: frozenset[str]


def shared_filesystem(path: str | Path) -> str | None:
    """The type of the network file system holding ``path`` (e.g. ``nfs4``), or None when it
    is on a local disk (or the mount table cannot be read: not Linux)."""
    target = Path(path).expanduser().resolve()
    best, kind = "", None
    try:
        mounts = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return None
    for line in mounts:
        fields = line.split()
        if len(fields) < 3:
            continue
        point = fields[1].replace("\\040", " ")
        if (target == Path(point) or Path(point) in target.parents) and len(point) > len(best):
            best, kind = point, fields[2]
    return kind if kind in SHARED_FILESYSTEMS else None


def check_storage(storage_url: str | None) -> None:
    """Refuse an Optuna storage the Dask workers cannot share: the embedded journal or a
    journal file on a local disk, and SQLite (raises ``NnexpError``, exit 2)."""
    from nnexp.stores.study_storage import default_storage_url

    url = storage_url or default_storage_url()
    fix = ("Dask workers on other machines cannot share it. Use a database server: "
           "--storage postgresql://USER@HOST:5432/DB (password in PGPASSWORD; pip install -e "
           "'.[postgres]' on every machine), or a journal:PATH on a shared file system (NFS).")
    if url.startswith("journal:"):
        path = url[len("journal:"):]
        if shared_filesystem(Path(path).parent if not Path(path).exists() else path) is None:
            what = "the embedded journal" if storage_url is None else "the journal file"
            raise NnexpError(f"--dask needs an Optuna storage every Dask worker can reach, but "
                             f"{what} {path} is on this machine's local disk. {fix}")
    elif url_scheme(url) == "sqlite":
        raise NnexpError(f"--dask needs an Optuna storage every Dask worker can reach, but "
                         f"{mask_url(url)} is a SQLite file (SQLite must not be shared over a "
                         f"network file system). {fix}")


def _client(address: str):
    """A client of the scheduler at ``address`` (``NnexpError`` when Dask is missing or the
    scheduler does not answer within ``CONNECT_TIMEOUT`` seconds)."""
    try:
        from distributed import Client
    except ImportError:
        raise NnexpError("--dask needs Dask's distributed scheduler client, which is not "
                         "installed: pip install -e '.[dask]' (or pip install "
                         "'dask[distributed]').") from None
    from urllib.parse import urlsplit

    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    try:  # fail fast on a refused connection (the client would retry until its timeout)
        if parts.scheme == "tcp" and parts.hostname and parts.port:
            socket.create_connection((parts.hostname, parts.port), timeout=CONNECT_TIMEOUT).close()
    except (OSError, ValueError) as err:
        raise NnexpError(f"cannot reach the Dask scheduler at {address!r}: "
                         f"{getattr(err, 'strerror', None) or err}. Check --dask (e.g. "
                         "tcp://scheduler-host:8786) and that the scheduler is running.") from None
    try:
        return Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except Exception as err:  # noqa: BLE001 - any failure to connect is the user's address
        raise NnexpError(f"cannot reach the Dask scheduler at {address!r} within "
                         f"{CONNECT_TIMEOUT} s: {first_line(err)}. Check --dask (e.g. "
                         "tcp://scheduler-host:8786) and that the scheduler is running.") \
            from None


def _identity() -> tuple[str, int]:
    return socket.gethostname(), os.getpid()


def check_cluster(address: str, storage_url: str | None, tracking_uri: str) -> Cluster:
    """Check, before anything is written, that a study can run on the Dask cluster at
    ``address``: a shared Optuna storage, a reachable scheduler with workers, and a tracking
    store the workers can reach (a SQLite file: only when every worker runs on this machine,
    with a warning). Raises ``NnexpError`` (exit 2) otherwise."""
    check_storage(storage_url)
    client = _client(address)
    try:
        threads = client.nthreads()
        if not threads:
            raise NnexpError(f"the Dask cluster at {address!r} has no workers. Start some "
                             "(dask worker ADDRESS --nthreads K) and run the command again.")
        answers = client.run(_identity, on_error="return")
        broken = {a: v for a, v in answers.items() if isinstance(v, BaseException)}
        if broken:
            address_, err = next(iter(broken.items()))
            raise NnexpError(
                f"{len(broken)} Dask worker(s) cannot run nnexp (e.g. {address_}: "
                f"{type(err).__name__}: {first_line(err)}). Install this repository with "
                "pip install -e '.[dask]' where the Dask workers run, then start them again.")
        hosts = frozenset(host for host, _ in answers.values())
    finally:
        client.close()
    if url_scheme(tracking_uri) == "sqlite":
        path = tracking_uri[len("sqlite:///"):]
        elsewhere = sorted(hosts - {socket.gethostname()})
        if elsewhere and shared_filesystem(Path(path).parent) is None:
            raise NnexpError(
                f"the MLflow tracking store {tracking_uri} is a SQLite file on this machine, but "
                f"Dask workers run on {', '.join(elsewhere)}: their runs would not reach it. "
                "Start an MLflow server (mlflow server --backend-store-uri postgresql://... "
                "--artifacts-destination DIR) and pass --tracking-uri http://HOST:5000.")
        warn(f"the MLflow tracking store is a SQLite file ({path}): this works because every "
             "Dask worker runs on this machine; workers on other machines need an MLflow "
             "server (--tracking-uri http://HOST:5000)")
    return Cluster(address, len(threads), sum(threads.values()), hosts)


def _task(work, ctx, n_trials: int | None, deadline: float | None, index: int,
          first_number: int, total: int | None, stop_name: str, per_worker: int) -> int:
    """One study worker, run by a Dask worker: ``run_worker`` pinned to the Dask worker's
    threads (shared by the nnexp tasks it runs at once), within what is left of the
    invocation's budget (``total`` trials numbered from ``first_number``; wall-clock
    ``deadline``), stopping between trials once the stop event is set. Returns how many
    trials the study gained while it ran (for the record; the study is the truth)."""
    import optuna
    from distributed import Event, get_worker

    from nnexp.stores.study_storage import open_storage
    from nnexp.stores.tracking_store import apply_http_defaults

    apply_http_defaults()  # quiet_mlflow (run_worker) does the rest
    threads = get_worker().state.nthreads
    ctx = replace(ctx, blas_threads=max(1, threads // max(1, min(threads, per_worker))))
    stop = Event(stop_name)
    if stop.is_set():
        return 0
    timeout = None if deadline is None else deadline - time.time()
    if timeout is not None and timeout <= 0:
        return 0
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.load_study(study_name=ctx.study_name, storage=open_storage(ctx.storage_url))
    before = _started(study)
    if total is not None and n_trials is not None:  # a retried task: only what is left
        n_trials = min(n_trials, first_number + total - before)
        if n_trials <= 0:
            return 0

    def enough(study, trial) -> None:
        if stop.is_set() or (total is not None and _started(study) >= first_number + total):
            study.stop()

    work(ctx, n_trials, timeout, index, callbacks=[enough])
    return _started(study) - before


def _started(study) -> int:
    """Trials of the study that have started (enqueued baselines still WAITING are part of
    the budget still to run, not started)."""
    import optuna

    waiting = optuna.trial.TrialState.WAITING
    return sum(t.state != waiting for t in study.get_trials(deepcopy=False))


def _processes(client) -> dict[str, tuple[str, int]]:
    """(host, pid) of the Dask worker processes that answer now, by worker address."""
    try:
        found = client.run(_identity, on_error="ignore")
    except Exception:  # noqa: BLE001 - a worker leaving during the call; try again later
        return {}
    return {address: tuple(v) for address, v in found.items()}


def _gone(client, seen: dict[str, tuple[str, int]]) -> set[tuple[str, int]]:
    """The processes in ``seen`` whose worker the scheduler has removed (dead or left), taken
    out of ``seen``; the processes that answer now are added to it."""
    try:
        known = set(client.nthreads())
    except Exception:  # noqa: BLE001 - scheduler unreachable: decide later
        return set()
    gone = {seen.pop(address) for address in list(seen) if address not in known}
    seen.update(_processes(client))
    return gone


def fail_dead_trials(study, first_number: int, dead: set[tuple[str, int]]) -> list[int]:
    """Fail (as interrupted) this invocation's RUNNING trials whose worker process is one of
    the ``dead`` (host, pid); returns their numbers."""
    import optuna

    from nnexp.recovery.doctor import fail_trial
    from nnexp.recovery.workers import parse

    failed = []
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        worker = parse(t.user_attrs.get("worker"))
        if t.number < first_number or worker is None or (worker.host, worker.pid) not in dead:
            continue
        reason = f"the Dask worker process {t.user_attrs['worker']} died"
        if fail_trial(study, t, reason, retry=False):  # else its heartbeat got there first
            failed.append(t.number)
    return failed


def run_dask(address: str, ctx, n_trials: int | None, jobs: int, timeout: float | None,
             study, progress, first_number: int, work) -> None:
    """Run the study as ``jobs`` tasks on the Dask cluster at ``address`` and wait for them,
    showing progress; see the module docstring. ``work``: what each task runs
    (``nnexp.study.worker.run_worker``, handed in: this package imports nothing of the
    study's). Raises ``NnexpError`` when tasks failed (the
    completed trials are kept) and ``KeyboardInterrupt`` after Ctrl-C."""
    import uuid

    from distributed import Event

    from nnexp.execution.pool import split_trials

    client = _client(address)
    try:
        tag = uuid.uuid4().hex[:8]
        stop = Event(f"nnexp-stop-{tag}", client=client)
        per_worker = math.ceil(jobs / max(1, len(client.nthreads())))
        deadline = None if timeout is None else time.time() + timeout
        futures = [client.submit(_task, work, ctx, share, deadline, i, first_number, n_trials,
                                 f"nnexp-stop-{tag}", per_worker, pure=False,
                                 key=f"nnexp-{ctx.study_name}-{tag}-{i}")
                   for i, share in enumerate(split_trials(n_trials, jobs))]
        seen = _processes(client)
        died: set[tuple[str, int]] = set()
        failed_trials: list[int] = []
        looked, empty_since = time.monotonic(), None
        try:
            while not all(f.done() for f in futures):
                progress.update(study.get_trials(deepcopy=False))
                time.sleep(POLL)
                if time.monotonic() - looked < PIDS_EVERY:
                    continue
                looked = time.monotonic()
                if client.status != "running" or not client.nthreads():
                    empty_since = empty_since or looked
                    if looked - empty_since > NO_WORKERS_WAIT:
                        raise NnexpError(
                            f"the Dask cluster at {address!r} has had no workers (or could not "
                            f"be reached) for {NO_WORKERS_WAIT} s; completed trials are kept. "
                            "Restart the workers and re-run the same command to resume.")
                    continue
                empty_since = None
                gone = _gone(client, seen)
                if gone:
                    died |= gone
                    failed_trials += fail_dead_trials(study, first_number, gone)
        except KeyboardInterrupt:
            _stop(client, stop, futures)
            raise
        died |= _gone(client, seen)
        failed_trials += fail_dead_trials(study, first_number, died)
        if died:
            warn(f"{len(died)} Dask worker process(es) died during the study "
                 f"({', '.join(f'{h}:{p}' for h, p in sorted(died))}); their tasks were run "
                 f"again" + (f"; trial(s) {sorted(set(failed_trials))} recorded as interrupted"
                             if failed_trials else ""))
        errors = [(i, f.exception()) for i, f in enumerate(futures) if f.status == "error"]
        lost = [i for i, f in enumerate(futures) if f.status not in ("finished", "error")]
        if errors or lost:
            what = "; ".join(f"task {i}: {type(e).__name__}: {first_line(e)}" for i, e in errors)
            raise NnexpError(
                f"{len(errors) + len(lost)} of {jobs} Dask task(s) did not finish"
                + (f" ({what})" if what else "") + "; completed trials are kept. Re-run the "
                "same command to resume.")
    finally:
        client.close()


def _stop(client, stop, futures) -> None:
    """Ctrl-C: ask the tasks to stop after their current trial, wait for them (at most
    ``STOP_WAIT`` s; a second Ctrl-C stops waiting), cancel the rest."""
    from distributed import wait

    try:
        stop.set()
        wait(futures, timeout=STOP_WAIT)
    except (KeyboardInterrupt, Exception):  # noqa: BLE001 - stopping anyway
        pass
    try:
        client.cancel(futures)
    except Exception:  # noqa: BLE001 - the scheduler may be gone
        pass
