"""Per-trial fixed cost along one long study: does it stay flat at trial 10, 100 and 1000?

Runs ``run_search`` (``--jobs 1``: one worker process, as the command runs it) in a fresh
temporary folder on the embedded journal (``mlruns/optuna.journal``) and MLflow's SQLite
store, with a study of near-zero training: the quickstart's search space (depth, width,
learning rate, init), TPE + median pruner, 3 full-batch epochs on 100 rows of the planar
flower, no models logged. In the worker, for every trial, it records when the core's
``train()`` started and how long it trained (``time_worker_training``; its epoch callbacks,
which report to Optuna and ask the pruner, are counted as overhead, not training). The fixed
cost of trial k is the time from the start of its training to the start of the next trial's
training, minus its training: everything Optuna and nnexp do around it in the worker,
including handing its MLflow writes to the main process. Reported: the median and mean over
11 trials around trial 10, 100 and 1000 (or the last trials), beside the same loop on
Optuna's in-memory storage with a trivial objective (Optuna's own floor; it runs after
nnexp's study in the same process, so with the TPE that
``nnexp.study.samplers.make_sampler`` gave SciPy's ``log_ndtr``). Also reported: the CPU
time the main process's MLflow writer spent per trial (mean over the study; it performs every
trial's writes, in another process than the trials); the time from the last trial's training
to the end of the command (the writer lags behind trials that barely train, so its queue is
drained there, before the summary); and the invocation's wall time per trial.

    python bench/flat.py                  # 1000 trials (a few minutes)
    python bench/flat.py --n-trials 200   # quicker
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

EXPERIMENT = {
    "name": "flat",
    "dataset": {"name": "planar_flower", "n_samples": 100, "dev_size": 0.25, "test_size": 0.0},
    "search_space": {"parameters": {
        "depth": {"type": "int", "low": 1, "high": 4},
        "width": {"type": "int", "low": 16, "high": 256, "log": True},
        "learning_rate": {"type": "float", "low": 1.0e-4, "high": 1.0e-1, "log": True},
        "init": {"type": "categorical", "choices": ["he", "xavier", "random"]},
    }},
    "objective": {"metric": "dev_accuracy"},
    "train": {"epochs": 3, "batch_size": None, "optimizer": "adam"},
    "study": {"sampler": "tpe", "pruner": "median", "seed": 42},
    "tracking": {"log_models": "none"},
}
TARGET_MS = 20.0


def windows(n: int) -> list[tuple[str, int, int]]:
    """(label, first, last + 1) of the trials measured around 10, 100, 1000 (within n)."""
    out = []
    for centre in (10, 100, 1000):
        if centre <= n:
            lo = max(0, min(centre - 5, n - 11))
            out.append((f"trial {centre}", lo, min(n, lo + 11)))
    return out


TIMES_ENV = "NNEXP_BENCH_TRIAL_TIMES"
"""The file a worker process appends "start trained" lines to (set for the study only)."""


def time_worker_training(path: str) -> None:
    """In a study's worker process: time the core's ``train()`` minus its epoch callbacks (which
    report to Optuna and ask the pruner, so they are overhead) and append, per trial, its start
    (``time.perf_counter``, one clock for every process of the machine) and its training to
    ``path``. Installed at import in a worker: multiprocessing's spawn imports the parent's
    main module there (this file, or ``overhead.py``, which imports it)."""
    import nnexp.study.objective as objective

    core_train = objective.train

    def train(*args, callbacks=(), **kwargs):
        spent = [0.0]

        def timed(cb):
            def call(m):
                t0 = time.perf_counter()
                try:
                    return cb(m)
                finally:
                    spent[0] += time.perf_counter() - t0
            return call

        t0 = time.perf_counter()
        try:
            return core_train(*args, callbacks=[timed(cb) for cb in callbacks], **kwargs)
        finally:
            with open(path, "a") as out:
                out.write(f"{t0!r} {time.perf_counter() - t0 - spent[0]!r}\n")

    objective.train = train


if os.environ.get(TIMES_ENV) and __name__ != "__main__":
    time_worker_training(os.environ[TIMES_ENV])


def nnexp_costs(n_trials: int) -> tuple[list[float], dict]:
    """Per-trial fixed cost (seconds) of trials 0..n-2 in one nnexp study, and run facts."""
    from nnexp.study.runner import SearchOptions, run_search
    from nnexp.tracking.writer import Writer

    writer_cpu = [0.0]
    perform = Writer._perform

    def timed_perform(self, job, args, kwargs):
        t0 = time.thread_time()
        try:
            return perform(self, job, args, kwargs)
        finally:
            writer_cpu[0] += time.thread_time() - t0

    workdir = Path(tempfile.mkdtemp(prefix="nnexp-flat-"))
    path = workdir / "experiments" / "flat.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump(EXPERIMENT, sort_keys=False))
    cwd, stderr = os.getcwd(), sys.stderr
    times = workdir / "trial-times.txt"
    os.environ[TIMES_ENV] = str(times)
    Writer._perform = timed_perform
    os.chdir(workdir)
    sys.stderr = io.StringIO()  # the progress lines (one per trial)
    try:
        t0 = time.perf_counter()
        result = run_search(path, SearchOptions(n_trials=n_trials, jobs=1))
        done = time.perf_counter()
        wall = done - t0
    finally:
        sys.stderr = stderr
        os.environ.pop(TIMES_ENV, None)
        Writer._perform = perform
        os.chdir(cwd)
        lines = [line.split() for line in times.read_text().splitlines()] \
            if times.is_file() else []
        shutil.rmtree(workdir, ignore_errors=True)
    starts = [float(a) for a, _ in lines]
    trained = [float(b) for _, b in lines]
    costs = [b - a - t for a, b, t in zip(starts, starts[1:], trained)]
    facts = {"counts": result.counts, "wall": wall,
             "training": sum(trained), "exit_code": result.exit_code,
             "writer_cpu_ms": writer_cpu[0] * 1000 / max(1, len(trained)),
             # after the last trial's training: its epilogue, the MLflow writes still queued
             # (the writer lags when trials barely train) and the end-of-study summary
             "after_last": done - starts[-1] - trained[-1] if starts else 0.0}
    return costs, facts


def optuna_floor(n_trials: int) -> list[float]:
    """Per-trial time of the same sampler and pruner on Optuna's in-memory storage, with an
    objective that suggests the same parameters and reports 3 epochs (no training)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study(direction="maximize",
                                sampler=optuna.samplers.TPESampler(seed=42),
                                pruner=optuna.pruners.MedianPruner())
    marks: list[float] = []

    def objective(trial):
        marks.append(time.perf_counter())
        depth = trial.suggest_int("depth", 1, 4)
        width = trial.suggest_int("width", 16, 256, log=True)
        lr = trial.suggest_float("learning_rate", 1e-4, 1e-1, log=True)
        trial.suggest_categorical("init", ["he", "xavier", "random"])
        value = 0.0
        for step in range(1, 4):
            value = 1 - abs(lr - 0.01) - 0.01 * depth - width / 1e4 + 0.001 * step
            trial.report(value, step)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return value

    study.optimize(objective, n_trials=n_trials)
    return [b - a for a, b in zip(marks, marks[1:])]


def summary(costs: list[float], lo: int, hi: int) -> tuple[float, float]:
    part = costs[lo:hi] or costs[-11:]
    return statistics.median(part) * 1000, statistics.fmean(part) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-trials", type=int, default=1000)
    args = parser.parse_args()
    rows = measure(args.n_trials)
    print_rows(rows)


def measure(n_trials: int) -> dict:
    costs, facts = nnexp_costs(n_trials)
    floor = optuna_floor(n_trials)
    return {"n": n_trials, "costs": costs, "floor": floor, **facts}


def print_rows(data: dict) -> list[tuple[str, str, str, str]]:
    n, costs, floor = data["n"], data["costs"], data["floor"]
    counts = ", ".join(f"{k} {v}" for k, v in sorted(data["counts"].items()))
    print(f"flat study: {n} trials ({counts}), exit {data['exit_code']}, wall "
          f"{data['wall']:.1f} s, training {data['training']:.1f} s, "
          f"main process's MLflow writer "
          f"{data['writer_cpu_ms']:.1f} ms CPU per trial; after the last trial's training "
          f"{data['after_last']:.1f} s (queued MLflow writes, summary); all in "
          f"{data['wall'] * 1000 / n:.1f} ms per trial (wall / trials)")
    rows = []
    print(f"{'where':<11} {'nnexp median ms':>16} {'nnexp mean ms':>14} "
          f"{'optuna in-memory ms':>20}  target <= {TARGET_MS:.0f} ms")
    for label, lo, hi in windows(n):
        med, mean = summary(costs, lo, hi)
        fmed, _ = summary(floor, lo, hi)
        verdict = "met" if med <= TARGET_MS else "MISSED"
        print(f"{label:<11} {med:16.1f} {mean:14.1f} {fmed:20.1f}  {verdict}")
        rows.append((label, f"{med:.1f}", f"{mean:.1f}", f"{fmed:.1f}"))
    return rows


if __name__ == "__main__":
    main()
