"""Memory of nnexp's core and of one study worker.

1. tracemalloc peak of one training (the core's own arrays: parameters, gradients, Adam's
   moments, the per-batch-size buffers, the dev pass) for 1, 10 and 50 epochs, and for 1 and
   6 trainings in one process: flat if the buffers are allocated once per training and
   nothing accumulates. Network: the largest of the shipped experiments' search space
   (experiments/digits_depth_width.yaml: 4 hidden layers of 256, batch 64, on digits).
2. Peak resident memory of each process of ``nnexp search`` of that experiment with
   ``--n-trials N --quiet --jobs 1`` in a temporary directory: the main process (MLflow, the
   summary), its one worker (the trials; no MLflow) and the plot helper. Each one's
   ``VmHWM`` (Linux's peak resident set) is read from ``/proc`` every 50 ms while it lives;
   it only grows, so the last reading is its peak up to then. Next to it: the peak of a
   process that only imports the CLI and does nothing (``ru_maxrss``).

    python bench/memory.py [--search-trials 20]
"""

from __future__ import annotations

import argparse
import gc
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from dataclasses import replace
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits

from nnexp.core import TrainConfig, train

ROOT = Path(__file__).resolve().parent.parent
EXPERIMENT = ROOT / "experiments" / "digits_depth_width.yaml"


def traced_peak(fn) -> tuple[int, int]:
    """(peak, retained) bytes traced while fn runs, relative to the start."""
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    fn()
    gc.collect()
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak - base, current - base


def child_maxrss(args: list[str], cwd: str) -> int:
    """Peak resident set of a child process running ``python args``, in bytes (Linux: KiB)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    subprocess.run([sys.executable, *args], cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if after <= before:
        raise RuntimeError("the child's peak did not exceed an earlier child's; run it first")
    return after * 1024


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return out


def _status_kib(pid: int, field: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _role(pid: int) -> str | None:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return None
    if "multiprocessing" in command and "spawn_main" in command:
        return "worker"
    if "nnexp.study.plotter" in command:
        return "plot helper"
    return None


def search_peaks(args: list[str], cwd: str) -> dict[str, int]:
    """Peak resident set (bytes) of each role's process of ``python args`` (see above)."""
    proc = subprocess.Popen([sys.executable, *args], cwd=cwd, stdout=subprocess.DEVNULL)
    peaks: dict[str, int] = {}
    while proc.poll() is None:
        roles = {proc.pid: "main process"}
        for child in _children(proc.pid):
            role = _role(child)
            if role is not None:
                roles[child] = role
        for pid, role in roles.items():
            kib = _status_kib(pid, "VmHWM")
            if kib is not None:
                peaks[role] = max(peaks.get(role, 0), kib * 1024)
        time.sleep(0.05)
    if proc.returncode != 0:
        raise SystemExit(f"nnexp search exited {proc.returncode}")
    return peaks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--search-trials", type=int, default=20,
                        help="trials of the nnexp search whose peak RSS is measured (0: skip)")
    args = parser.parse_args()

    X, y = load_digits(return_X_y=True)
    X = ((X - X.mean(0)) / (X.std(0) + 1e-8)).astype(np.float32)
    X_dev, y_dev = X[1400:], y[1400:]
    X, y = X[:1400], y[:1400]
    config = TrainConfig(hidden_layers=(256, 256, 256, 256), optimizer="adam", batch_size=64,
                         epochs=1, seed=0)
    print("tracemalloc peak of one training, 64-256-256-256-256-10, batch 64, 1400 rows:")
    for epochs in (1, 10, 50):
        peak, left = traced_peak(
            lambda e=epochs: train(X, y, replace(config, epochs=e), X_dev, y_dev))
        print(f"  {epochs:3d} epoch(s): peak {peak / 2**20:6.2f} MiB, retained {left} B")
    for n in (1, 6):
        def several(n=n) -> None:
            for seed in range(n):
                train(X, y, replace(config, epochs=5, seed=seed), X_dev, y_dev)
        peak, left = traced_peak(several)
        print(f"  {n} training(s) of 5 epochs in one process: peak {peak / 2**20:6.2f} MiB, "
              f"retained {left} B")

    if args.search_trials:
        with tempfile.TemporaryDirectory() as tmp:
            # The import-only child runs first: RUSAGE_CHILDREN keeps the maximum over children.
            imports = child_maxrss(["-c", "import nnexp.cli"], tmp)
            peaks = search_peaks(["-m", "nnexp.cli", "search", str(EXPERIMENT), "--n-trials",
                                  str(args.search_trials), "--quiet", "--jobs", "1"], tmp)
        print(f"\npeak RSS, python -c 'import nnexp.cli': {imports / 2**20:.0f} MiB")
        print(f"peak RSS, nnexp search {EXPERIMENT.name} --n-trials {args.search_trials} "
              "--quiet --jobs 1:")
        for role, peak in peaks.items():
            print(f"  {role}: {peak / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
