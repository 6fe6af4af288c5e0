"""Pruning that pays: epochs trained, wall time and best value with and without pruning.

Runs the same study (``experiments/pruning_digits.yaml``: the quickstart's search for 60
epochs; ``experiments/pruning_moons.yaml``: the same search on 1000 noisy moons for 100
epochs) once per study seed with ``pruner: none``, ``median`` and ``successive_halving``,
their ``pruner_options`` left empty, so that nnexp's defaults are what is measured. Every study
is a real ``run_search`` (``--quiet``, ``log_models: none``) in its own fresh folder (new
Optuna journal, new MLflow SQLite store), in this process.

Per study: the epochs trained (a pruned trial counts up to its pruned epoch, the Optuna user
attribute ``epoch``; any other trial up to its last reported epoch, the last key of its
``intermediate_values``), the trial loop's wall time (first trial start to last trial end:
imports, start-up and the summary do not depend on the pruner) and the invocation's wall time,
and the best value (the best complete trial's dev accuracy). Per dataset and pruner: the
mean and spread (min-max, standard deviation) over the seeds, the epochs saved against no
pruning, and the target:

* epochs trained at least 40 % fewer than without pruning (sum over the seeds), and
* the pruned mean best within the unpruned spread: mean best >= min of the unpruned bests
  over the seeds (dev accuracy is maximised, so only falling short counts; a pruned mean
  above the unpruned maximum passes).

    python bench/pruning.py                       # 2 datasets x 3 pruners x 5 seeds, 20 trials
    python bench/pruning.py --quick               # digits only, 2 seeds, 10 trials
    python bench/pruning.py --trials 30 --seeds 3 --datasets moons --pruners none,median

Trials train with one BLAS thread (``--blas-threads``): on this shared 2-core machine two
BLAS threads (nnexp's choice for one worker) made a depth-4, width-256 digits epoch 8x slower
while other jobs ran, which would drown the pruners' differences in noise. Epochs trained is
the robust figure; wall times on a shared machine are indicative.

Options: --trials N (per study, default 20), --seeds N (study seeds 0..N-1, default 5),
--datasets a,b (default digits,moons), --pruners a,b (default none,median,successive_halving),
--quick, --blas-threads N, --keep (keep the temporary folder), --json FILE (every study's figures).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
DATASETS = {"digits": REPO / "experiments" / "pruning_digits.yaml",
            "moons": REPO / "experiments" / "pruning_moons.yaml"}
PRUNERS = ("none", "median", "successive_halving")
TARGET_SAVED = 40.0  # % of the unpruned epochs


def study_file(source: Path, pruner: str, folder: Path) -> Path:
    """A copy of experiment ``source`` in ``folder`` with pruner ``pruner`` and its default
    options (the search space path made absolute)."""
    raw = yaml.safe_load(source.read_text())
    space = raw["search_space"]
    if isinstance(space, str):
        raw["search_space"] = str((source.parent / space).resolve())
    raw["study"] = {**raw.get("study", {}), "pruner": pruner}
    raw["study"].pop("pruner_options", None)
    raw["tracking"] = {**raw.get("tracking", {}), "log_models": "none"}
    path = folder / f"{source.stem}-{pruner}.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def epochs_trained(trial) -> int:
    """Epochs a finished trial trained: its pruned (or diverged) epoch, else its last report."""
    if trial.user_attrs.get("epoch") is not None:
        return int(trial.user_attrs["epoch"])
    steps = trial.intermediate_values
    return max(steps) if steps else int(trial.user_attrs.get("config", {}).get("epochs", 0))


def run_study(dataset: str, pruner: str, seed: int, trials: int, root: Path,
              blas_threads: int = 1) -> dict:
    """One ``run_search`` in a fresh folder under ``root``; its figures. ``blas_threads``:
    the BLAS threads of its trials (0: nnexp's own choice, all cores for one worker)."""
    import optuna

    from nnexp.study.runner import SearchOptions, run_search

    folder = root / f"{dataset}-{pruner}-{seed}"
    (folder / "mlruns").mkdir(parents=True)
    path = study_file(DATASETS[dataset], pruner, folder)
    storage = f"journal:{folder / 'mlruns' / 'optuna.journal'}"
    uri = f"sqlite:///{folder / 'mlruns' / 'mlflow.db'}"
    name = f"pruning-{dataset}-{pruner}-{seed}"
    here, cpu_count = os.getcwd(), os.cpu_count
    os.chdir(folder)
    if blas_threads:  # nnexp gives one worker cpu_count() BLAS threads
        os.cpu_count = lambda: blas_threads
    t0 = time.perf_counter()
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            result = run_search(path, SearchOptions(n_trials=trials, seed=seed, quiet=True,
                                                    storage=storage, tracking_uri=uri,
                                                    study_name=name))
    finally:
        os.chdir(here)
        os.cpu_count = cpu_count
    wall = time.perf_counter() - t0
    if result.exit_code != 0:
        raise RuntimeError(f"{name}: exit code {result.exit_code}: {result.failure}")
    from nnexp.stores.study_storage import open_storage

    study = optuna.load_study(study_name=name, storage=open_storage(storage))
    done = [t for t in study.trials if t.state.is_finished()]
    complete = [t for t in done if t.state.name == "COMPLETE"]
    starts = [t.datetime_start for t in done if t.datetime_start]
    ends = [t.datetime_complete for t in done if t.datetime_complete]
    return {"dataset": dataset, "pruner": pruner, "seed": seed, "trials": len(done),
            "complete": len(complete),
            "pruned": sum(t.state.name == "PRUNED" for t in done),
            "epochs": sum(epochs_trained(t) for t in done),
            "loop_seconds": (max(ends) - min(starts)).total_seconds(),
            "wall_seconds": wall,
            "best": max(t.value for t in complete) if complete else float("nan")}


def spread(values: list[float]) -> tuple[float, float, float, float]:
    """(mean, min, max, standard deviation) of ``values`` (sd 0 for one value)."""
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return statistics.fmean(values), min(values), max(values), sd


def table(runs: list[dict], datasets: list[str], pruners: list[str]) -> tuple[str, bool]:
    """The Markdown result table and whether every pruned case met the target."""
    lines = ["| dataset | pruner | epochs trained (sum over seeds) | saved | trial loop s "
             "(sum) | saved | trials pruned | best dev accuracy mean (min-max, sd) "
             "| within the unpruned spread | target |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    met_all = True
    for dataset in datasets:
        base = [r for r in runs if r["dataset"] == dataset and r["pruner"] == "none"]
        base_epochs = sum(r["epochs"] for r in base)
        base_loop = sum(r["loop_seconds"] for r in base)
        base_min = min(r["best"] for r in base) if base else None
        for pruner in pruners:
            rows = [r for r in runs if r["dataset"] == dataset and r["pruner"] == pruner]
            if not rows:
                continue
            epochs = sum(r["epochs"] for r in rows)
            loop = sum(r["loop_seconds"] for r in rows)
            mean, low, high, sd = spread([r["best"] for r in rows])
            pruned = sum(r["pruned"] for r in rows)
            total = sum(r["trials"] for r in rows)
            if pruner == "none" or not base:
                saved = saved_s = within = target = "-"
            else:
                cut = 100 * (1 - epochs / base_epochs)
                cut_s = 100 * (1 - loop / base_loop)
                ok_best = mean >= base_min - 1e-9  # the mean of the same grid of values
                ok = cut >= TARGET_SAVED and ok_best
                met_all &= ok
                saved, saved_s = f"{cut:.0f}%", f"{cut_s:.0f}%"
                within = f"{'yes' if ok_best else 'no'} ({mean:.4f} vs min {base_min:.4f})"
                target = "**met**" if ok else "not met"
            lines.append(f"| {dataset} | {pruner} | {epochs} | {saved} | {loop:.1f} | "
                         f"{saved_s} | {pruned}/{total} | {mean:.4f} ({low:.4f}-{high:.4f}, "
                         f"{sd:.4f}) | {within} | {target} |")
    return "\n".join(lines), met_all


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--trials", type=int, default=None, help="trials per study (20)")
    parser.add_argument("--seeds", type=int, default=None, help="study seeds 0..N-1 (5)")
    parser.add_argument("--datasets", default=None, help="comma-separated: digits,moons")
    parser.add_argument("--pruners", default=",".join(PRUNERS), help="comma-separated")
    parser.add_argument("--quick", action="store_true",
                        help="digits only, 2 seeds, 10 trials (unless given)")
    parser.add_argument("--blas-threads", type=int, default=1,
                        help="BLAS threads per trial (1; 0: nnexp's default, all cores)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--json", default=None, help="write every study's figures here")
    args = parser.parse_args(argv)
    trials = args.trials or (10 if args.quick else 20)
    seeds = args.seeds or (2 if args.quick else 5)
    datasets = (args.datasets or ("digits" if args.quick else "digits,moons")).split(",")
    pruners = args.pruners.split(",")
    for name in datasets:
        if name not in DATASETS:
            parser.error(f"--datasets: unknown {name!r}; known: {', '.join(DATASETS)}")
    for name in pruners:
        if name not in PRUNERS:
            parser.error(f"--pruners: unknown {name!r}; known: {', '.join(PRUNERS)}")
    if "none" not in pruners:
        parser.error("--pruners: include none, the reference the others are compared with")

    from nnexp.config import load_experiment

    root = Path(tempfile.mkdtemp(prefix="nnexp-pruning-"))
    print(f"{len(datasets)} dataset(s) x {len(pruners)} pruners x {seeds} seeds, "
          f"{trials} trials per study, in {root}", flush=True)
    for name in datasets:
        exp = load_experiment(DATASETS[name])
        print(f"  {name}: {exp.fixed['epochs']} epochs; default options: "
              + "; ".join(f"{p} {pruner_defaults(p, exp)}" for p in pruners if p != "none"),
              flush=True)
    runs = []
    t0 = time.perf_counter()
    try:
        for name in datasets:
            for seed in range(seeds):
                for pruner in pruners:
                    run = run_study(name, pruner, seed, trials, root, args.blas_threads)
                    runs.append(run)
                    print(f"  {name:7s} {pruner:18s} seed {seed}: {run['epochs']:5d} epochs, "
                          f"{run['pruned']:2d}/{run['trials']} pruned, loop "
                          f"{run['loop_seconds']:6.1f} s, wall {run['wall_seconds']:6.1f} s, "
                          f"best {run['best']:.4f}", flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    text, met = table(runs, datasets, pruners)
    print(f"\nbench wall time {time.perf_counter() - t0:.0f} s\n")
    print(text)
    print(f"\nTarget: epochs trained >= {TARGET_SAVED:.0f}% fewer than with pruner none (sum "
          "over the seeds) AND the pruned mean best dev accuracy >= the minimum of the "
          "unpruned bests over the seeds (within their [min, max] spread, or above it).")
    print("target met for every pruned case" if met else "target NOT met for some case")
    if args.json:
        Path(args.json).write_text(json.dumps(runs, indent=1))
    return 0 if met else 1


def pruner_defaults(pruner: str, exp) -> dict:
    """The options nnexp resolves for ``pruner`` in experiment ``exp`` (none given)."""
    from nnexp.config.study import pruner_options

    return pruner_options(pruner, {}, exp.fixed['epochs'])


if __name__ == "__main__":
    sys.exit(main())
