"""Search that finds more per minute: nnexp's search against itself without pruning and
against scikit-learn's random search and successive halving, side by side in one run.

Contenders, per table and seed (run one after the other, A B C D A B C D ..., so that the
load of this shared machine hits them alike):

* ``nnexp``: ``nnexp.search(...)`` with the defaults under test: the experiment gives only the
  dataset and the search space (``search_spaces/depth_width_lr_init.yaml``: depth 1-4, width
  16-256 log, learning rate 1e-4-1e-1 log, init he / xavier / random), so sampler (TPE),
  pruner, epochs (50), batch (64), optimiser (Adam), tracking (best model logged, signals) are
  nnexp's defaults; ``study.n_trials`` and ``study.seed`` set. A real invocation in a fresh
  folder (new Optuna journal, new MLflow SQLite store), ``quiet``.
* ``nnexp-none``: the same with ``pruner: none``. When the default resolves to ``none`` on a
  table the two are the same study and it runs once (the table says so).
* ``random``: scikit-learn's ``RandomizedSearchCV`` over ``MLPClassifier`` / ``MLPRegressor``.
* ``halving``: ``HalvingRandomSearchCV`` (successive halving with ``max_iter`` as the
  resource: the first rung at a tenth of the epochs, as nnexp's pruners judge, factor 3: 30
  candidates at 5 epochs, 10 at 15, 4 at 45).

The scikit-learn searches get the very matrices nnexp trains on (``nnexp.data.prepare`` of
the same ``dataset:`` section: the table's preparation and the scaler fitted on the training
rows), as float32 (nnexp trains in float32), and ONE train / dev split (``PredefinedSplit``,
no k-fold, ``refit=False``: nnexp keeps its trials' models and retrains nothing). The space
as closely as scikit-learn allows: ``hidden_layer_sizes`` = (width,) * depth with depth and
width drawn as Optuna draws them (width log-uniform), ``learning_rate_init`` log-uniform over
the same range, ReLU, Adam, batch 64, ``max_iter`` = nnexp's epochs, ``alpha=0`` (nnexp's
``l2`` is 0); scikit-learn has one initialisation (Glorot uniform), so ``init`` is not
searched there; its own stopping rule (``tol``, ``n_iter_no_change``) is left at its
defaults, as its users run it. BLAS is pinned to 1 thread (threadpoolctl here, nnexp's one
worker uses 1 on 2 cores).

Figures per run: the best dev value the search reports (nnexp: its best complete trial;
scikit-learn: ``best_score_``, for halving the best of its last rung) and its wall time
(nnexp: the whole ``nnexp.search`` call, start-up, records and summary included;
scikit-learn: ``fit``, with the training-row scores halving computes by default). The
best-so-far curve of each run (nnexp: complete trials at their end times, pruned trials never
count; scikit-learn: each candidate at the time its dev score was computed, halving's lower
rungs never count) is read at the others' total times: "best at equal wall time". The main process's
imports are paid once before the first measured run (one small unmeasured run of each kind),
as in a notebook's second search; ``nnexp search`` on the command line pays them each time
(~1.5 s for MLflow). Targets per table (every seed must meet them):

* nnexp's defaults find at least what no pruning finds at equal wall time: at both runs'
  total times the defaults' best so far >= no pruning's;
* against ``random``: its best (within 0.005 accuracy; for RMSE within 0.5 % of it) in at most
  a third of its wall time;
* against ``halving``: at least its best in less than its wall time.

    python bench/search_quality.py                   # 7 tables x 3 seeds, 30 trials
    python bench/search_quality.py --tables wine,digits --seeds 1 --trials 10
    python bench/search_quality.py --epochs 150 --contenders nnexp,nnexp-none --json out.json

    python bench/search_quality.py --timeout 60 --contenders nnexp,nnexp-none --pruner median
    python bench/search_quality.py --replay out.json     # median pruning's rules, replayed

Options: --tables a,b (default all but blobs20k), --seeds N (0..N-1, 3), --trials N (30),
--timeout S (nnexp's studies bounded by time instead, nnexp contenders only), --epochs N
(nnexp's default when not given; sets ``train.epochs`` and ``max_iter``), --contenders a,b
(default nnexp,nnexp-none,random,halving), --pruner NAME (what "nnexp" runs: the default
when not given), --json FILE (every run's figures and its nnexp trials' learning curves,
written as the run goes), --keep (keep the temporary folder). ``--replay FILE`` replays
nnexp's median pruning on the unpruned studies of such a file, for each number of trials
completed before judging (``--startups``) and first epoch judged (``--warmups``, shares of
the epochs): the epochs and trial time it would save and whether the best is kept (no sampler
feedback: the same trials are drawn).

``--warm-start``: does the next study start from what the last one learnt? Per table and
seed, in ONE folder's stores (one journal, one MLflow SQLite store: a warm start needs the
same storage): study A, nnexp's defaults on the default space, ``--trials`` trials, study
seed = the seed; the next space, written by nnexp's own advice (``nnexp advise A
--write-space``: ``nnexp.insight.advice.advise`` and ``nnexp.insight.nextspace.write_space``);
then on that space study B, warm-started from A (``nnexp.search(..., warm_start=A)``), and
study C, cold, each ``--new-trials`` new trials with study seed 100 + the seed (B and C
seeded alike, neither replaying A's draws). Figures: how many of A's trials were carried into
B; A's best; for B and C how many NEW trials until the best so far reaches A's best (within
0.005 accuracy, RMSE within 0.5 %: ``relaxed``), 0 when a carried trial already reaches it
(said so), or never; B's new trials alone (the carried ones left out) likewise; each study's
final best (B's marked when it is a carried trial) and wall time. Only nnexp's defaults:
``--timeout``, ``--pruner`` and ``--contenders`` do not apply.

    python bench/search_quality.py --warm-start                  # 7 tables x 3 seeds, 30 + 30
    python bench/search_quality.py --warm-start --tables wine,cars --seeds 1 --json w.json
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parent.parent
SPACE = REPO / "search_spaces" / "depth_width_lr_init.yaml"
CONTENDERS = ("nnexp", "nnexp-none", "random", "halving")
ACCURACY_TOLERANCE = 0.005
RMSE_TOLERANCE = 0.005  # relative: 0.5 % of the random search's best RMSE


# ----- the tables ---------------------------------------------------------------------------

def _blobs(n: int, seed: int = 0):
    """n rows, 20 numeric features (8 informative), 4 classes, 10 % of labels flipped."""
    import pandas as pd
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=n, n_features=20, n_informative=8,
                               n_redundant=4, n_classes=4, n_clusters_per_class=2,
                               flip_y=0.1, class_sep=1.0, random_state=seed)
    frame = pd.DataFrame(X.round(4), columns=[f"f{i}" for i in range(X.shape[1])])
    frame["label"] = np.array(["a", "b", "c", "d"])[y]
    return frame


def _from_tables(name: str):
    """A table of ``bench/tables.py`` (weather, cars, customers) with its default size."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import tables

    make, target, rows = tables.TABLES[name]
    return make(rows, seed=0), target


TABLES = {
    "breast_cancer": "built-in, 569 x 30, binary",
    "wine": "built-in, 178 x 13, 3 classes",
    "digits": "built-in, 1797 x 64, 10 classes",
    "blobs5k": "generated CSV, 5000 x 20 numeric, 4 classes, 10 % labels flipped",
    "customers": "generated CSV, 3000 x 10 (id, 3 string categories, free text), 4 classes",
    "weather": "generated CSV, 1461 x 8 (date, station names, a string category), binary",
    "cars": "generated CSV, 392 x 9 (names, date strings, a string category), regression",
    "blobs20k": "blobs5k's generator with 20000 rows (long trials; not run unless named)",
}
DEFAULT_TABLES = [name for name in TABLES if name != "blobs20k"]


def dataset_section(name: str, folder: Path) -> dict:
    """The experiment's ``dataset:`` section for table ``name`` (a CSV written to ``folder``
    for the generated ones); dev 0.2, test 0.2, split seed 0, standard scaling (defaults)."""
    if name in ("breast_cancer", "wine", "digits"):
        return {"name": name}
    if name in ("blobs5k", "blobs20k"):
        frame, target = _blobs(5000 if name == "blobs5k" else 20000), "label"
    else:
        frame, target = _from_tables(name)
    path = folder / f"{name}.csv"
    if not path.exists():
        frame.to_csv(path, index=False)
    return {"path": str(path), "target": target}


def write_experiment(folder: Path, dataset: dict, trials: int | None, seed: int,
                     pruner: str | None, epochs: int | None, space: Path = SPACE) -> Path:
    """An experiment file with nnexp's defaults but the dataset, the space (``space``), the
    budget (None: a timeout given to the search bounds it), the seed, and ``pruner`` /
    ``epochs`` when given."""
    study: dict = {"seed": seed} if trials is None else {"n_trials": trials, "seed": seed}
    if pruner is not None:
        study["pruner"] = pruner
    raw = {"name": folder.name, "dataset": dataset, "search_space": str(space), "study": study}
    if epochs is not None:
        raw["train"] = {"epochs": epochs}
    path = folder / "experiment.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


# ----- nnexp ------------------------------------------------------------------------------

def run_nnexp(folder: Path, experiment: Path, trials: int | None, seed: int,
              timeout: float | None = None, store: Path | None = None,
              warm_start: str | None = None) -> dict:
    """One ``nnexp.search`` in ``folder`` (``trials`` trials, or for ``timeout`` seconds);
    its figures, best-so-far events and trials. ``store``: the folder whose ``mlruns/``
    holds the journal and the MLflow store (default ``folder``: new stores);
    ``warm_start``: an earlier study of that store to start from (then each trial says
    where it came from, ``from``, and ``carried`` counts the carried ones)."""
    import nnexp
    from nnexp.recovery import workers

    store = folder if store is None else store
    (store / "mlruns").mkdir(parents=True, exist_ok=True)
    here, blas = os.getcwd(), workers.blas_threads
    os.chdir(folder)
    workers.blas_threads = lambda jobs, cpus=None: 1  # one BLAS thread, whatever the machine
    t0, p0 = time.time(), time.perf_counter()
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            study = nnexp.search(experiment, n_trials=trials, timeout=timeout, seed=seed,
                                 quiet=True,
                                 storage=f"journal:{store / 'mlruns' / 'optuna.journal'}",
                                 tracking_uri=f"sqlite:///{store / 'mlruns' / 'mlflow.db'}",
                                 study_name=folder.name, warm_start=warm_start)
    finally:
        os.chdir(here)
        workers.blas_threads = blas
    wall = time.perf_counter() - p0
    maximize = study.directions[0] == "maximize"
    done = [t for t in study.optuna.trials if t.state.is_finished()]
    events, records = [], []
    for t in done:
        end = t.datetime_complete.timestamp() - t0
        if t.state.name == "COMPLETE" and t.value is not None and math.isfinite(t.value):
            events.append((end, t.value))
        epochs = t.user_attrs.get("config", {}).get("epochs")
        records.append({
            "number": t.number, "state": t.user_attrs.get("state", t.state.name.lower()),
            "value": t.value, "start": t.datetime_start.timestamp() - t0, "end": end,
            "epochs": epochs, "epoch": t.user_attrs.get("epoch"),
            "params": t.params, "curve": [t.intermediate_values[k]
                                          for k in sorted(t.intermediate_values)]})
        if warm_start is not None:
            records[-1]["from"] = t.user_attrs.get("warm_start_from")
    trained = sum(r["epoch"] or (len(r["curve"]) or r["epochs"] or 0) for r in records)
    out = {"wall": wall, "events": sorted(events), "maximize": maximize,
           "trials": records, "epochs_trained": trained,
           "pruned": sum(r["state"] == "pruned" for r in records),
           "complete": sum(r["state"] == "complete" for r in records)}
    if warm_start is not None:
        out["carried"] = sum(r["from"] is not None for r in records)
    return out


# ----- scikit-learn -----------------------------------------------------------------------

class DepthWidth:
    """``hidden_layer_sizes`` drawn as Optuna draws the space's depth and width: depth
    uniform in 1..4, width log-uniform in 16..256 (rounded), the same width for every layer."""

    def __init__(self, depth=(1, 4), width=(16, 256)) -> None:
        self.depth, self.width = depth, width

    def rvs(self, random_state=None):
        rng = np.random.RandomState(random_state) if not isinstance(
            random_state, np.random.RandomState) else random_state
        depth = int(rng.randint(self.depth[0], self.depth[1] + 1))
        low, high = math.log(self.width[0] - 0.5), math.log(self.width[1] + 0.5)
        width = round(math.exp(rng.uniform(low, high)))
        return (min(self.width[1], max(self.width[0], width)),) * depth


class TimedScorer:
    """A scorer that notes when each candidate was scored on the dev rows: (seconds since
    ``t0``, value, resource). Accuracy, or RMSE (returned negated: scikit-learn maximises).
    Scores of the training rows (``HalvingRandomSearchCV`` computes them by default) are
    returned but not noted: they are told apart by their row count, ``dev_rows``."""

    def __init__(self, regression: bool, dev_rows: int) -> None:
        self.regression, self.dev_rows = regression, dev_rows
        self.t0 = time.perf_counter()
        self.events: list[tuple[float, float, int]] = []

    def __call__(self, estimator, X, y) -> float:
        pred = estimator.predict(X)
        if self.regression:
            value = float(np.sqrt(np.mean((np.asarray(pred, float) - y) ** 2)))
            score = -value if math.isfinite(value) else -np.inf
        else:
            value = score = float(np.mean(pred == y))
        if len(y) == self.dev_rows:
            self.events.append((time.perf_counter() - self.t0, value, int(estimator.max_iter)))
        return score


def run_sklearn(kind: str, splits, trials: int, seed: int, epochs: int, batch: int) -> dict:
    """``RandomizedSearchCV`` (kind ``random``) or ``HalvingRandomSearchCV`` (``halving``)
    on nnexp's train / dev matrices; its figures and best-so-far events."""
    from scipy.stats import loguniform
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.experimental import enable_halving_search_cv  # noqa: F401
    from sklearn.model_selection import (
        HalvingRandomSearchCV,
        PredefinedSplit,
        RandomizedSearchCV,
    )
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from threadpoolctl import threadpool_limits

    regression = splits.task == "regression"
    X = np.vstack([splits.X_train, splits.X_dev]).astype(np.float32)
    y = np.concatenate([splits.y_train, splits.y_dev])
    if regression:
        y = y.astype(np.float32)
    fold = PredefinedSplit(np.r_[np.full(len(splits.y_train), -1), np.zeros(len(splits.y_dev))])
    Estimator = MLPRegressor if regression else MLPClassifier
    estimator = Estimator(activation="relu", solver="adam", alpha=0.0, batch_size=batch,
                          max_iter=epochs, random_state=seed)
    space = {"hidden_layer_sizes": DepthWidth(), "learning_rate_init": loguniform(1e-4, 1e-1)}
    scorer = TimedScorer(regression, len(splits.y_dev))
    if kind == "random":
        search = RandomizedSearchCV(estimator, space, n_iter=trials, scoring=scorer, cv=fold,
                                    refit=False, random_state=seed)
    else:
        search = HalvingRandomSearchCV(estimator, space, n_candidates=trials, scoring=scorer,
                                       cv=fold, refit=False, random_state=seed,
                                       resource="max_iter", max_resources=epochs,
                                       min_resources=max(1, epochs // 10), factor=3)
    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", UserWarning)  # a diverged candidate's NaN score
        warnings.simplefilter("ignore", RuntimeWarning)
        p0 = time.perf_counter()
        scorer.t0 = p0
        search.fit(X, y)
        wall = time.perf_counter() - p0
    # halving: only the last rung's candidates count (its best_score_), as nnexp's pruned
    # trials do not; a model stopped at a lower rung is not one the search offers
    last = max(r for _, _, r in scorer.events)
    events = sorted((t, v) for t, v, r in scorer.events if r == last and math.isfinite(v))
    return {"wall": wall, "events": events, "maximize": not regression,
            "scored": len(scorer.events), "rungs": sorted({r for _, _, r in scorer.events}),
            "epochs_trained": sum(r for _, _, r in scorer.events)}


# ----- best so far ------------------------------------------------------------------------

def better(a: float, b: float, maximize: bool) -> bool:
    """a at least as good as b (NaN: never)."""
    if math.isnan(a):
        return False
    if math.isnan(b):
        return True
    return a >= b if maximize else a <= b


def best_at(run: dict, t: float) -> float:
    """The run's best value among its results at or before ``t`` seconds (NaN if none)."""
    values = [v for end, v in run["events"] if end <= t + 1e-9]
    if not values:
        return float("nan")
    return max(values) if run["maximize"] else min(values)


def best(run: dict) -> float:
    return best_at(run, float("inf"))


def time_to(run: dict, goal: float) -> float:
    """Seconds until the run's best so far is at least ``goal`` (inf if never)."""
    for end, _ in run["events"]:
        if better(best_at(run, end), goal, run["maximize"]):
            return end
    return float("inf")


def relaxed(goal: float, maximize: bool) -> float:
    """``goal`` less the tolerance of the random-search target."""
    return goal - ACCURACY_TOLERANCE if maximize else goal * (1 + RMSE_TOLERANCE)


# ----- the run ----------------------------------------------------------------------------

def resolved_pruner(experiment: Path) -> tuple[str, dict]:
    """The pruner (and its options) ``nnexp`` resolves for ``experiment``."""
    from nnexp.config import load_experiment

    study = load_experiment(experiment).study
    return study.pruner, dict(study.pruner_options)


def one_case(table: str, seed: int, args, root: Path, contenders: list[str]) -> dict:
    """Every contender on ``table`` with study seed ``seed``, one after the other."""
    from nnexp.config import load_experiment
    from nnexp.data import prepare

    dataset = dataset_section(table, root)
    runs: dict[str, dict] = {}
    folders = {}
    for name in ("nnexp", "nnexp-none"):
        folders[name] = root / f"{table}-{name}-{seed}"
        folders[name].mkdir(parents=True, exist_ok=True)
    trials = None if args.timeout else args.trials
    default = write_experiment(folders["nnexp"], dataset, trials, seed, args.pruner,
                               args.epochs)
    none = write_experiment(folders["nnexp-none"], dataset, trials, seed, "none", args.epochs)
    pruner, options = resolved_pruner(default)
    exp = load_experiment(none)
    epochs, batch = exp.fixed.get("epochs", 50), exp.fixed.get("batch_size", 64)
    splits = prepare(exp.dataset)
    for name in contenders:
        if name == "nnexp-none" and pruner == "none" and "nnexp" in runs:
            runs[name] = {**runs["nnexp"], "same_as": "nnexp"}
            continue
        if name == "nnexp":
            runs[name] = run_nnexp(folders[name], default, trials, seed, args.timeout)
        elif name == "nnexp-none":
            runs[name] = run_nnexp(folders[name], none, trials, seed, args.timeout)
        else:
            runs[name] = run_sklearn(name, splits, args.trials, seed, epochs, batch)
        r = runs[name]
        extra = (f", {r['complete']} complete, {r['pruned']} pruned" if "pruned" in r
                 else f", {r['scored']} scored")
        print(f"  {table:13s} seed {seed} {name:10s}: best {best(r):.4f}, wall "
              f"{r['wall']:6.1f} s, {r['epochs_trained']} epochs{extra}", flush=True)
    if "nnexp" in runs and "nnexp-none" in runs and pruner == "none":
        runs["nnexp-none"] = {**runs["nnexp"], "same_as": "nnexp"}
    return {"table": table, "seed": seed, "pruner": pruner, "pruner_options": options,
            "epochs": epochs, "train_rows": len(splits.y_train),
            "dev_rows": len(splits.y_dev), "features": splits.X_train.shape[1],
            "task": splits.task, "runs": runs}


def warm_up(root: Path) -> None:
    """One small run of each kind, not measured: the main process's imports (MLflow,
    scikit-learn's searches, a table's preparation: skops) and the worker server are then
    paid before the first measured run, as in a notebook's second search, so that the first
    contender, or the first table read from a file, is not the only one to pay them."""
    from nnexp.config import load_experiment
    from nnexp.data import prepare

    folder = root / "warm-up"
    folder.mkdir()
    path = write_experiment(folder, {"name": "wine"}, 2, 0, None, 5)
    run_nnexp(folder, path, 2, 0)
    table = write_experiment(folder, dataset_section("weather", folder), 2, 0, None, 5)
    prepare(load_experiment(table).dataset)
    splits = prepare(load_experiment(path).dataset)
    for kind in ("random", "halving"):
        run_sklearn(kind, splits, 3, 0, 5, 64)


def mean(values: list[float]) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return statistics.fmean(finite) if finite else float("nan")


def fmt(value: float, digits: int = 4) -> str:
    return "-" if math.isnan(value) else f"{value:.{digits}f}"


def report(cases: list[dict], contenders: list[str]) -> str:
    """The Markdown tables: per table and contender the best and wall time, the best at the
    others' total times, and the targets."""
    lines = ["| table | pruner (default) | contender | best dev, mean (min-max) | wall s, mean "
             "| " + " | ".join(f"best at {c}'s time" for c in contenders) + " |",
             "|---|---|---|---|---|" + "---|" * len(contenders)]
    targets = ["| table | train rows x epochs | defaults vs no pruning at equal time "
               "(at the defaults' time; at no pruning's) | time to random's best "
               "(-tol) / random's wall | time to halving's best / halving's wall | "
               "targets |", "|---|---|---|---|---|---|"]
    for table in dict.fromkeys(c["table"] for c in cases):
        rows = [c for c in cases if c["table"] == table]
        metric = "RMSE" if rows[0]["task"] == "regression" else "accuracy"
        for name in contenders:
            runs = [c["runs"][name] for c in rows]
            bests = [best(r) for r in runs]
            at = [fmt(mean([best_at(c["runs"][name], c["runs"][other]["wall"])
                            for c in rows])) for other in contenders]
            same = " (= nnexp)" if runs[0].get("same_as") else ""
            lines.append(f"| {table} ({metric}) | {rows[0]['pruner']} | {name}{same} | "
                         f"{fmt(mean(bests))} ({fmt(min(bests))}-{fmt(max(bests))}) | "
                         f"{mean([r['wall'] for r in runs]):.1f} | " + " | ".join(at) + " |")
        targets.append(target_row(table, rows, contenders))
    return "\n".join(lines) + "\n\n" + "\n".join(targets)


def target_row(table: str, rows: list[dict], contenders: list[str]) -> str:
    """One table's targets, every seed: defaults vs none, vs random, vs halving."""
    out, verdicts = [f"{table}", f"{rows[0]['train_rows']} x {rows[0]['epochs']}"], []
    if "nnexp" in contenders and "nnexp-none" in contenders:
        cells, ok = [], True
        for c in rows:
            d, n = c["runs"]["nnexp"], c["runs"]["nnexp-none"]
            pair = [(best_at(d, t), best_at(n, t)) for t in (d["wall"], n["wall"])]
            ok &= all(better(a, b, d["maximize"]) for a, b in pair)
            cells.append("; ".join(f"{fmt(a)} vs {fmt(b)}" for a, b in pair))
        out.append(" / ".join(cells))
        verdicts.append("none " + ("met" if ok else "MISSED"))
    else:
        out.append("-")
    for other, limit in (("random", 1 / 3), ("halving", 1.0)):
        if "nnexp" not in contenders or other not in contenders:
            out.append("-")
            continue
        ratios = []
        for c in rows:
            o = c["runs"][other]
            goal = relaxed(best(o), o["maximize"]) if other == "random" else best(o)
            ratios.append(time_to(c["runs"]["nnexp"], goal) / o["wall"])
        met = sum(r <= limit if other == "random" else r < limit for r in ratios)
        out.append(", ".join("never" if math.isinf(r) else f"{r:.2f}" for r in ratios))
        verdicts.append(f"{other} " + ("met" if met == len(ratios) else
                                       f"MISSED ({met}/{len(ratios)})"))
    return "| " + " | ".join(out) + " | " + "; ".join(verdicts) + " |"


# ----- warm start: trials to reach the first study's best ------------------------------------

def write_next_space(study_name: str, store: Path, path: Path) -> list[str]:
    """The next search space of study ``study_name`` written to ``path`` by nnexp's own
    advice, as ``nnexp advise STUDY --write-space PATH`` writes it; its changes, one line
    each."""
    from nnexp.insight.advice import advise
    from nnexp.insight.nextspace import write_space

    advice = advise(study_name, f"journal:{store / 'mlruns' / 'optuna.journal'}",
                    f"sqlite:///{store / 'mlruns' / 'mlflow.db'}")
    if advice.next_space is None:
        raise RuntimeError(f"nnexp advise wrote no next space for study {study_name!r}")
    write_space(path, advice.next_space, advice.changes, advice.evidence)
    return [c.line() for c in advice.changes]


def trials_to(run: dict, goal: float, carried: bool = True) -> tuple[int | None, bool]:
    """How many of the run's NEW trials (in the order they were numbered: one worker) until
    its best so far reaches ``goal``, and whether a carried trial already reached it (then
    0); None: never. ``carried=False``: the new trials alone, the carried ones left out."""
    def reaches(r: dict) -> bool:
        return (r["state"] == "complete" and r["value"] is not None
                and math.isfinite(r["value"]) and better(r["value"], goal, run["maximize"]))

    trials = sorted(run["trials"], key=lambda r: r["number"])
    if carried and any(r.get("from") and reaches(r) for r in trials):
        return 0, True
    new = [r for r in trials if not r.get("from")]
    for count, r in enumerate(new, start=1):
        if reaches(r):
            return count, False
    return None, False


def best_of(run: dict, carried: bool | None = None) -> tuple[float, bool]:
    """The run's best complete value (``carried``: None all trials, False the new ones
    alone) and whether it is a carried trial's (NaN, False: none complete)."""
    pick = max if run["maximize"] else min
    done = [r for r in run["trials"] if r["state"] == "complete" and r["value"] is not None
            and math.isfinite(r["value"]) and (carried is None or not r.get("from"))]
    if not done:
        return float("nan"), False
    top = pick(done, key=lambda r: (r["value"], -r["number"]) if run["maximize"]
               else (r["value"], r["number"]))
    return top["value"], bool(top.get("from"))


def warm_case(table: str, seed: int, args, root: Path) -> dict:
    """On ``table``: study A (nnexp's defaults, the default space, seed ``seed``), its next
    space by nnexp's advice, then in the same stores study B (the next space, warm-started
    from A) and study C (the next space, cold), B and C with study seed ``100 + seed``."""
    from nnexp.config import load_experiment
    from nnexp.data import prepare

    dataset = dataset_section(table, root)
    store = root / f"{table}-warm-{seed}"
    names = {k: f"{table}-{k}-{seed}" for k in ("A", "B", "C")}
    folders = {k: store / name for k, name in names.items()}
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    first = write_experiment(folders["A"], dataset, args.trials, seed, None, args.epochs)
    a = run_nnexp(folders["A"], first, args.trials, seed, store=store)
    space = store / "next.yaml"
    t0 = time.perf_counter()
    changes = write_next_space(names["A"], store, space)
    advise_s = time.perf_counter() - t0
    runs, goal = {"A": a}, relaxed(best(a), a["maximize"])
    for key in ("B", "C"):
        exp = write_experiment(folders[key], dataset, args.new_trials, 100 + seed, None,
                               args.epochs, space=space)
        runs[key] = run_nnexp(folders[key], exp, args.new_trials, 100 + seed, store=store,
                              warm_start=names["A"] if key == "B" else None)
    b, c = runs["B"], runs["C"]
    splits = prepare(load_experiment(first).dataset)
    out = {"table": table, "seed": seed, "task": splits.task,
           "train_rows": len(splits.y_train), "dev_rows": len(splits.y_dev),
           "a_trials": len(a["trials"]), "carried": b["carried"], "a_best": best(a),
           "goal": goal, "next_space": changes, "advise_s": advise_s,
           "b_to": trials_to(b, goal)[0], "b_carried_reaches": trials_to(b, goal)[1],
           "b_best": best_of(b)[0], "b_best_carried": best_of(b)[1],
           "b_alone_to": trials_to(b, goal, carried=False)[0],
           "b_alone_best": best_of(b, carried=False)[0],
           "c_to": trials_to(c, goal)[0], "c_best": best_of(c)[0],
           "wall": {k: r["wall"] for k, r in runs.items()}, "runs": runs}
    print(f"  {table:13s} seed {seed}: A best {out['a_best']:.4f} ({a['wall']:.1f} s); next "
          f"space: {'; '.join(changes) or 'no change'}", flush=True)
    print(f"  {'':13s}         B: {out['carried']} carried, {cell(out, 'b')} "
          f"({b['wall']:.1f} s); its new trials alone {count(out['b_alone_to'])} / "
          f"{fmt(out['b_alone_best'])}; C: {cell(out, 'c')} ({c['wall']:.1f} s)", flush=True)
    return out


def count(value: int | None) -> str:
    return "never" if value is None else str(value)


def cell(case: dict, key: str) -> str:
    """"new trials to A's best / best" of run B or C, saying when a carried trial did it."""
    to = count(case[f"{key}_to"]) + (" (a carried trial)" if case.get(f"{key}_carried_reaches")
                                     else "")
    return f"{to} / {fmt(case[f'{key}_best'])}" + (" (carried)" if case.get(f"{key}_best_carried")
                                                  else "")


def mean_count(values: list[int | None]) -> str:
    """The mean of the counts that reached the goal, and how many never did."""
    reached = [v for v in values if v is not None]
    never = len(values) - len(reached)
    text = f"{statistics.fmean(reached):.1f}" if reached else "never"
    return text + (f" ({never} never)" if never and reached else "")


def by_carried(rows: list[dict]) -> str:
    """How many seeds' B reached A's best with a carried trial, and had one as its best."""
    reach = sum(c["b_carried_reaches"] for c in rows)
    top = sum(c["b_best_carried"] for c in rows)
    return (f" ({reach}/{len(rows)} by a carried trial; best carried {top}/{len(rows)})"
            if reach or top else "")


def warm_report(cases: list[dict]) -> str:
    """Per table, one row per seed and one of means: carried trials, A's best, and for B
    (warm), B's new trials alone and C (cold) the new trials to A's best (less the
    tolerance) and the final best; the wall times."""
    lines = ["| table | seed | carried / A's trials | A best | B (warm): new trials to A's "
             "best / best | B's new trials alone: to A's best / their best | C (cold): new "
             "trials to A's best / best | wall s: A / B / C |",
             "|---|---|---|---|---|---|---|---|"]
    for table in dict.fromkeys(c["table"] for c in cases):
        rows = [c for c in cases if c["table"] == table]
        name = f"{table} (RMSE)" if rows[0]["task"] == "regression" else table
        for c in rows:
            w = c["wall"]
            lines.append(f"| {name} | {c['seed']} | {c['carried']} / {c['a_trials']} | "
                         f"{fmt(c['a_best'])} | {cell(c, 'b')} | {count(c['b_alone_to'])} / "
                         f"{fmt(c['b_alone_best'])} | {cell(c, 'c')} | {w['A']:.1f} / "
                         f"{w['B']:.1f} / {w['C']:.1f} |")
        walls = {k: mean([c["wall"][k] for c in rows]) for k in "ABC"}
        lines.append(
            f"| {name} | mean | {mean([c['carried'] for c in rows]):.1f} / "
            f"{mean([c['a_trials'] for c in rows]):.0f} | {fmt(mean([c['a_best'] for c in rows]))}"
            f" | {mean_count([c['b_to'] for c in rows])}{by_carried(rows)} / "
            f"{fmt(mean([c['b_best'] for c in rows]))}"
            f" | {mean_count([c['b_alone_to'] for c in rows])} / "
            f"{fmt(mean([c['b_alone_best'] for c in rows]))} | "
            f"{mean_count([c['c_to'] for c in rows])} / {fmt(mean([c['c_best'] for c in rows]))}"
            f" | {walls['A']:.1f} / {walls['B']:.1f} / {walls['C']:.1f} |")
    return "\n".join(lines)


# ----- replay: median pruning's rules on the unpruned studies' learning curves --------------

def replay_study(trials: list[dict], maximize: bool, startup: int, warmup: int) -> dict:
    """nnexp's median pruning (``compare: best_so_far``) replayed on one unpruned study's
    trials, in their order: which would stop, at which epoch. No sampler feedback (the same
    trials are drawn); each trial's time is scaled by the share of its epochs it trains, so
    the time saved is an upper bound (the per-trial fixed cost stays)."""
    pick = np.fmax if maximize else np.fmin
    kept: list[np.ndarray] = []  # running bests of the trials the replay completes
    events, clock, epochs, full, stopped = [], 0.0, 0, 0, 0
    for t in sorted(trials, key=lambda r: r["number"]):
        curve = np.asarray(t["curve"], float)
        if t["state"] != "complete" or not len(curve):
            continue
        running = pick.accumulate(curve)
        stop = None
        if len(kept) >= startup:
            for step in range(max(warmup, 1), len(curve) + 1):
                others = [k[step - 1] for k in kept if len(k) >= step]
                if others and (running[step - 1] < np.median(others) if maximize
                               else running[step - 1] > np.median(others)):
                    stop = step
                    break
        duration = t["end"] - t["start"]
        full += len(curve)
        if stop is None:
            clock += duration
            epochs += len(curve)
            kept.append(running)
            events.append((clock, t["value"]))
        else:
            clock += duration * stop / len(curve)
            epochs += stop
            stopped += 1
    best_value = (max if maximize else min)(v for _, v in events)
    return {"epochs": epochs, "full": full, "clock": clock, "events": events,
            "best": best_value, "stopped": stopped}


def replay(cases: list[dict], startups: list[int], warmups: list[float]) -> str:
    """Per table and rule (trials completed before judging, warm-up as a share of the
    epochs): epochs saved, trial time saved (upper bound), the best against the unpruned one
    and the best at the pruned replay's time of the unpruned study (equal time)."""
    lines = ["| table | train rows x epochs | dev rows | judged after | from epoch | "
             "epochs saved | trial time saved | best: replay vs unpruned (mean) | seeds "
             "best kept | unpruned best at the replay's time (mean) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for table in dict.fromkeys(c["table"] for c in cases):
        rows = [c for c in cases if c["table"] == table]
        for startup in startups:
            for share in warmups:
                out = []
                for c in rows:
                    none = c["runs"]["nnexp-none"]
                    warmup = max(1, int(c["epochs"] * share))
                    r = replay_study(none["trials"], none["maximize"], startup, warmup)
                    base = replay_study(none["trials"], none["maximize"], 10**9, 1)
                    at = best_at({"events": base["events"], "maximize": none["maximize"]},
                                 r["clock"])
                    out.append((r, base, at, none["maximize"]))
                saved = 1 - sum(r["epochs"] for r, *_ in out) / sum(r["full"] for r, *_ in out)
                saved_t = 1 - sum(r["clock"] for r, *_ in out) / sum(b["clock"] for _, b, *_ in out)
                kept = sum(better(r["best"], b["best"], m) for r, b, _, m in out)
                lines.append(
                    f"| {table} | {rows[0]['train_rows']} x {rows[0]['epochs']} | "
                    f"{rows[0]['dev_rows']} | {startup} | {max(1, int(rows[0]['epochs'] * share))}"
                    f" | {saved:.0%} | {saved_t:.0%} | "
                    f"{mean([r['best'] for r, *_ in out]):.4f} vs "
                    f"{mean([b['best'] for _, b, *_ in out]):.4f} | {kept}/{len(out)} | "
                    f"{mean([a for *_, a, _ in out]):.4f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--tables", default=",".join(DEFAULT_TABLES))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--contenders", default=",".join(CONTENDERS))
    parser.add_argument("--pruner", default=None, help="what 'nnexp' runs (default: nnexp's)")
    parser.add_argument("--timeout", type=float, default=None,
                        help="bound nnexp's studies by seconds instead of --trials (no "
                             "scikit-learn contenders then)")
    parser.add_argument("--json", default=None)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--replay", default=None, metavar="JSON",
                        help="replay median pruning on the unpruned studies of a --json file")
    parser.add_argument("--startups", default="1,2,5", help="--replay: trials completed "
                        "before judging")
    parser.add_argument("--warmups", default="0.05,0.1,0.2,0.3",
                        help="--replay: first epoch judged, as a share of the epochs")
    parser.add_argument("--warm-start", action="store_true",
                        help="study A, its next space by nnexp advise, then that space warm-"
                             "started from A (B) and cold (C): new trials to A's best")
    parser.add_argument("--new-trials", type=int, default=30,
                        help="--warm-start: new trials of B and of C")
    args = parser.parse_args(argv)
    if args.replay:
        cases = json.loads(Path(args.replay).read_text())
        print(replay(cases, [int(v) for v in args.startups.split(",")],
                     [float(v) for v in args.warmups.split(",")]))
        return 0
    tables = args.tables.split(",")
    contenders = args.contenders.split(",")
    for name in tables:
        if name not in TABLES:
            parser.error(f"--tables: unknown {name!r}; known: {', '.join(TABLES)}")
    if args.warm_start:
        if args.timeout or args.pruner:
            parser.error("--warm-start: nnexp's defaults and a number of trials only")
        return warm_main(args, tables, argv)
    for name in contenders:
        if name not in CONTENDERS:
            parser.error(f"--contenders: unknown {name!r}; known: {', '.join(CONTENDERS)}")
        if args.timeout and name not in ("nnexp", "nnexp-none"):
            parser.error("--timeout: only the nnexp contenders take a time budget")

    import sklearn

    cases, summary = run_cases(args, argv, tables, "nnexp-search-quality-",
                               f"scikit-learn {sklearn.__version__}, ",
                               lambda table, seed, root: one_case(table, seed, args, root,
                                                                  contenders))
    print(f"{summary}\n")
    for table in tables:
        case = next(c for c in cases if c["table"] == table)
        print(f"{table}: {TABLES[table]}; {case['train_rows']} train / {case['dev_rows']} "
              f"dev rows, {case['features']} features, {case['epochs']} epochs; default "
              f"pruner {case['pruner']} {case['pruner_options'] or ''}")
    print()
    print(report(cases, contenders))
    return 0


def run_cases(args, argv: list[str] | None, tables: list[str], prefix: str, versions: str,
              case) -> tuple[list[dict], str]:
    """Print the command and the machine, warm up, then ``case(table, seed, root)`` per seed
    and table in a temporary folder (kept with ``--keep``; the cases written to ``--json``
    as they come). Returns the cases and the line that closes the run (wall time, load)."""
    import nnexp  # noqa: F401 - imported before the clock starts

    command = "python bench/search_quality.py " + " ".join(sys.argv[1:] if argv is None
                                                            else argv)
    load = os.getloadavg()
    print(f"{command.strip()}\n{os.cpu_count()} CPUs, load average {load[0]:.2f} "
          f"{load[1]:.2f} {load[2]:.2f} at the start; {versions}NumPy {np.__version__}",
          flush=True)
    root = Path(tempfile.mkdtemp(prefix=prefix))
    cases, t_start, loads = [], time.perf_counter(), [load[0]]
    try:
        warm_up(root)
        for seed in range(args.seeds):
            for table in tables:
                cases.append(case(table, seed, root))
                loads.append(os.getloadavg()[0])
                if args.json:  # kept as it grows: a long run stopped early keeps its cases
                    Path(args.json).write_text(json.dumps(cases, indent=1, default=str))
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    load = os.getloadavg()
    return cases, (f"\nbench wall time {time.perf_counter() - t_start:.0f} s; load average "
                   f"(1 min) {min(loads):.1f}-{max(loads):.1f} during the run, {load[0]:.2f} "
                   f"{load[1]:.2f} {load[2]:.2f} at the end")


def warm_main(args, tables: list[str], argv: list[str] | None) -> int:
    """The ``--warm-start`` mode: per seed and table ``warm_case``, then ``warm_report``."""
    cases, summary = run_cases(args, argv, tables, "nnexp-warm-start-", "",
                               lambda table, seed, root: warm_case(table, seed, args, root))
    print(f"{summary}; A {args.trials} trials, B and C {args.new_trials} new trials each; "
          f"A's best reached: within {ACCURACY_TOLERANCE} accuracy, RMSE within "
          f"{RMSE_TOLERANCE:.1%}\n")
    print(warm_report(cases))
    return 0


if __name__ == "__main__":
    sys.exit(main())
