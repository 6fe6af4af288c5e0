"""Worker identity and liveness, the outage retry and the bounded MLflow writer, in-process."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest

from nnexp.outage import StoreOutage, retrying, unreachable
from nnexp.recovery import workers
from nnexp.tracking.writer import Writer, writing


def test_a_worker_is_host_pid_and_start_time_and_a_reused_pid_is_not_it():
    me = workers.current()
    assert me.pid == os.getpid() and me.start is not None
    assert workers.parse(str(me)) == me
    assert workers.alive(str(me)) is True
    assert workers.alive(workers.Worker(me.host, me.pid, me.start + 1)) is False  # reused pid
    assert workers.alive(f"{me.host}:{me.pid}") is True  # older records: the pid alone
    assert workers.alive(f"another-host:{me.pid}:{me.start}") is None  # cannot tell
    assert workers.alive(None) is None and workers.parse("garbage") is None
    assert workers.from_tags(me.tags("nnexp."), "nnexp.") == me


def test_a_dead_or_unreaped_process_is_gone():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    worker = workers.Worker(workers.current().host, child.pid, workers.start_time(child.pid))
    deadline = time.monotonic() + 10
    while workers.alive(worker) and time.monotonic() < deadline:  # exited, not yet reaped
        time.sleep(0.02)
    assert workers.alive(worker) is False
    child.wait()
    assert workers.alive(worker) is False


def test_only_errors_about_reaching_the_store_are_retried_and_only_for_the_bound():
    try:
        raise RuntimeError("commit failed") from ConnectionRefusedError("refused")
    except RuntimeError as err:
        assert unreachable(err)
    assert not unreachable(ValueError("param value too long"))
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionRefusedError("connection refused")
        return "ok"

    assert retrying(flaky, 10, lambda e: StoreOutage("x"), sleep=lambda s: None) == "ok"
    with pytest.raises(ValueError):
        retrying(lambda: (_ for _ in ()).throw(ValueError("bad")), 10, StoreOutage)
    start = time.monotonic()
    with pytest.raises(StoreOutage):
        retrying(lambda: (_ for _ in ()).throw(TimeoutError()), 0.3,
                 lambda e: StoreOutage("gone"))
    assert time.monotonic() - start < 2


def test_a_lost_tracking_store_stops_the_writer_quickly_and_drain_is_bounded():
    writer = Writer(announce=None, outage_seconds=0.3, uri="http://127.0.0.1:1")
    done = []
    writer.submit(lambda: (_ for _ in ()).throw(ConnectionRefusedError("connection refused")))
    for _ in range(50):
        writer.submit(done.append, 1)
    start = time.monotonic()
    with pytest.raises(StoreOutage, match="did not answer"):
        writer.close()
    assert time.monotonic() - start < 5 and not done  # the rest dropped, not waited for

    hung = Writer(announce=None, wait_seconds=0.5)
    release = threading.Event()
    hung.submit(release.wait)  # a store that never answers
    start = time.monotonic()
    with pytest.raises(StoreOutage):
        hung.drain()
    assert time.monotonic() - start < 3
    release.set()


def test_writing_reports_a_lost_store_as_its_one_error():
    with pytest.raises(StoreOutage):
        with writing(announce=None, outage_seconds=0.2, uri="http://x") as writer:
            writer.submit(lambda: (_ for _ in ()).throw(TimeoutError("timed out")))
            time.sleep(0.5)
            raise RuntimeError("the trial failed because of it")


def test_a_full_disk_is_not_an_outage_and_loses_the_tracking_store_at_once():
    import sqlite3

    from nnexp.outage import StoreOutage, cannot_write, unreachable
    from nnexp.tracking.writer import Writer

    full = sqlite3.OperationalError("database or disk is full")
    assert cannot_write(full) and not unreachable(full)  # waiting would not help
    assert unreachable(sqlite3.OperationalError("unable to open database file"))
    assert cannot_write(OSError(28, "No space left on device"))

    writer = Writer(announce=None, outage_seconds=30, uri="sqlite:////data/mlruns/mlflow.db")
    ran = []

    def write() -> None:
        raise full

    writer.submit(write, description="log_batch for trial-4")
    writer.submit(ran.append, 1, description="log_batch for trial-5")
    errors = writer.close(raise_errors=False)
    assert ran == []  # dropped at once, not retried for 30 s
    assert isinstance(writer.lost, StoreOutage)
    assert "Free space on the disk holding '/data/mlruns'" in str(writer.lost)
    assert errors[0].startswith("log_batch for trial-4: database or disk is full")
