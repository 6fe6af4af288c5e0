"""The embedded journal's lock (``fcntl.flock`` on ``<journal>.flock``): appends wait for
another process that holds it, a holder killed with SIGKILL leaves no stale lock, and a forked
child takes the lock for itself instead of sharing its parent's."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import optuna

from nnexp.stores.study_storage import journal_lock, open_storage


def _holder(lock: Path) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c",
         "import fcntl, sys, time; f = open(sys.argv[1], 'a'); "
         "fcntl.flock(f, fcntl.LOCK_EX); print('held', flush=True); time.sleep(60)", str(lock)],
        stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_an_append_waits_for_the_holder_and_a_killed_holder_frees_the_lock(workdir):
    storage = open_storage(None)  # mlruns/optuna.journal
    journal = workdir / "mlruns" / "optuna.journal"
    holder = _holder(Path(f"{journal}.flock"))
    done = threading.Event()

    def create() -> None:
        optuna.create_study(study_name="waits", storage=storage)
        done.set()

    thread = threading.Thread(target=create, daemon=True)
    thread.start()
    try:
        assert not done.wait(1.0)  # blocked behind the other process's lock
        assert b"waits" not in journal.read_bytes()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert done.wait(10)  # the kernel released the killed holder's lock
    thread.join()
    assert optuna.load_study(study_name="waits", storage=open_storage(None)).trials == []


def test_a_forked_child_does_not_share_its_parents_lock(workdir):
    storage = open_storage(None)
    optuna.create_study(study_name="forked", storage=storage)
    with journal_lock(workdir / "mlruns" / "optuna.journal"):
        pid = os.fork()
        if pid == 0:  # the child: this append must block (the parent holds the lock)
            signal.alarm(1)
            storage._backend.append_logs([])
            os._exit(0)  # appended under a lock the parent holds: wrong
        _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGALRM
