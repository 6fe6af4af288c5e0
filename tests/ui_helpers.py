"""Shared helpers for the ``nnexp ui`` tests: a small study with pruned trials, and ``nnexp ui``
run as a real process whose output and server processes the tests can watch."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from cluster_helpers import environment, free_port  # noqa: F401 - free_port for the ui tests
from search_helpers import write_experiment

STUDY = "uistudy"


def nnexp(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nnexp.cli", *args], cwd=cwd, env=environment(),
                          capture_output=True, text=True, timeout=timeout)


def run_pruned_study(directory: Path) -> None:
    """Three trials on moons: a good learning rate first, then two far lower ones that the
    median pruner (no warm-up, one startup trial) stops at an early epoch."""
    exp = write_experiment(
        directory, name=STUDY,
        search_space={"parameters": {"depth": 1, "width": 8, "learning_rate": {
            "type": "float", "low": 1.0e-4, "high": 0.05, "log": True}}},
        train={"epochs": 8, "batch_size": 32, "optimizer": "adam"},
        baselines=[{"learning_rate": 0.05}, {"learning_rate": 1.0e-4},
                   {"learning_rate": 2.0e-4}],
        study={"n_trials": 3, "seed": 1, "pruner": "median",
               "pruner_options": {"n_warmup_steps": 0, "n_startup_trials": 1}})
    done = nnexp("search", str(exp), "--quiet", cwd=directory)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 complete" in done.stdout and "pruned" in done.stdout, done.stdout


class UiProcess:
    """``nnexp ui ARGS`` as a subprocess; ``url()`` waits for the printed URL."""

    def __init__(self, cwd: Path, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "nnexp.cli", "ui", *args], cwd=cwd, env=environment(),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line)

    def url(self, timeout: float = 150) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=1)
            except queue.Empty:
                if self.process.poll() is not None:
                    break
                continue
            self.output.append(line)
            if line.startswith("MLflow UI: "):
                return line.split(": ", 1)[1].strip()
        raise AssertionError(f"nnexp ui printed no URL within {timeout} s:\n"
                             + "".join(self.output))

    def server_group(self) -> int:
        """The process group of the MLflow server (its leader is nnexp ui's child)."""
        found = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True,
                               text=True).stdout.split()
        assert found, "nnexp ui has no child process"
        return os.getpgid(int(found[0]))

    def stop(self, sig: int = signal.SIGINT, timeout: float = 60) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(timeout=10)


def group_alive(pgid: int) -> list[str]:
    """Pids still in process group ``pgid``."""
    return subprocess.run(["pgrep", "-g", str(pgid)], capture_output=True,
                          text=True).stdout.split()
