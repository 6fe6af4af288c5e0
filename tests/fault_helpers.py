"""Helpers for the fault tests: start ``nnexp search`` as a real process, wait for trials
to run, and check that neither store holds a RUNNING record afterwards."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from search_helpers import runs, study

from nnexp.recovery import workers

SLOW_TRAIN = {"epochs": 6000, "batch_size": 16, "optimizer": "adam"}  # seconds per trial


def env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}


def start(directory, *args) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "nnexp.cli", *args], cwd=directory,
                            env=env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)


def nnexp(directory, *args, timeout=180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nnexp.cli", *args], cwd=directory,
                          env=env(), capture_output=True, text=True, timeout=timeout)


def trials_of(directory, name, load=study):
    try:
        return load(directory, name).trials
    except (KeyError, FileNotFoundError):
        return []


def wait_running(directory, name, count=1, complete=0, timeout=120, load=study) -> list:
    """Wait until ``count`` trials are RUNNING with a worker recorded (and ``complete`` trials
    are complete); returns the running trials."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        trials = trials_of(directory, name, load)
        running = [t for t in trials if t.state.name == "RUNNING" and "worker" in t.user_attrs
                   and "config" in t.user_attrs]
        done = [t for t in trials if t.state.name == "COMPLETE"]
        if len(running) >= count and len(done) >= complete:
            return running
        time.sleep(0.1)
    raise AssertionError(f"{count} running trial(s) not seen in time")


def worker_pid(trial) -> int:
    return workers.parse(trial.user_attrs["worker"]).pid


def wait_gone(pids, timeout=30) -> float:
    """Wait until none of ``pids`` lives (zombies count as gone); returns the seconds taken."""
    start_time = time.monotonic()
    while time.monotonic() - start_time < timeout:
        if not any(workers.alive(workers.Worker(workers.current().host, p)) for p in pids):
            return time.monotonic() - start_time
        time.sleep(0.05)
    raise AssertionError(f"processes {pids} still alive after {timeout} s")


def assert_nothing_running(directory, name, load=study, experiment=None):
    """Neither store holds a RUNNING trial or run of study ``name``."""
    trials = trials_of(directory, name, load)
    assert not [t.number for t in trials if t.state.name == "RUNNING"], "Optuna RUNNING"
    found = runs(directory, experiment or name)
    left = [(r.info.run_name, r.data.tags.get("nnexp.study")) for r in found
            if r.info.status == "RUNNING" and r.data.tags.get("nnexp.study") == name]
    assert not left, f"MLflow runs RUNNING: {left}"
    return trials, found


def exit_2_with_one_error(proc, since: float, what: str, timeout: float):
    """Wait for ``proc`` (from ``start``), whose store stopped answering at ``since``
    (``time.monotonic()``): exit code 2, no traceback, exactly one ``Error:`` line. Prints the
    seconds taken after ``what``; returns the output, that line and the seconds."""
    output, _ = proc.communicate(timeout=timeout)
    took = time.monotonic() - since
    print(f"{what}: exit after {took:.1f} s")
    assert proc.returncode == 2, output
    assert "Traceback" not in output, output
    errors = [line for line in output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, output
    return output, errors[0], took


def wait_runs(directory, experiment, numbers, timeout=60) -> None:
    """Wait until the MLflow runs of trials ``numbers`` exist (so a
    kill lands in a trial that both stores know)."""
    deadline = time.monotonic() + timeout
    want = {str(n) for n in numbers}
    database = directory / "mlruns" / "mlflow.db"
    while time.monotonic() < deadline:
        if not database.exists():  # the workers train while nnexp creates it: MLflow's client
            time.sleep(0.1)  # would create it too, racing with nnexp (never done by nnexp's
            continue  # own commands, which refuse a missing store)
        try:
            found = runs(directory, experiment, child=True)
        except Exception:  # noqa: BLE001 - the store is being created
            found = []
        have = {r.data.tags.get("nnexp.trial_number") for r in found}
        if want <= have:
            return
        time.sleep(0.2)
    raise AssertionError(f"runs of trials {sorted(want)} not seen in time")


@contextlib.contextmanager
def tmpfs(directory: Path, size: str):
    """A tmpfs of ``size`` mounted on ``directory`` (made if absent) for the block, unmounted
    afterwards; the test is skipped where nothing can be mounted."""
    directory.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs",
                           str(directory)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip() or done.returncode}")
    try:
        yield directory
    finally:
        subprocess.run(["umount", "-l", str(directory)], check=False)
