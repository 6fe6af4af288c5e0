"""``nnexp search``: create or resume an Optuna study, run its trials in one or more worker
processes, and record the study in MLflow (a parent run per invocation, a child per trial).

Resuming: the same study name in the same storage continues the study; ``n_trials`` more
trials are added. Ctrl-C stops cleanly: the running trial is recorded as interrupted (Optuna
FAIL, MLflow KILLED), the parent run is summarised and closed, and the next invocation
resumes.

Exit codes (``SearchResult.exit_code``; ``EXIT_CODES``): 0 when this invocation completed or
pruned at least one trial, or had nothing to do; 1 when every trial it ran failed or diverged
(``SearchResult.failure`` says why); 2 for bad input or an unusable store (``NnexpError``);
130 when interrupted. The parent run always ends, with the status matching the exit code
(``PARENT_STATUS``), whatever part of its summary fails.
"""

from __future__ import annotations

import multiprocessing
import os
import re
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nnexp.errors import NnexpError, first_line, mask_url, warn
from nnexp.search.interrupt import Interrupt
from nnexp.search.objective import Objective, StudyContext
from nnexp.search.progress import Progress
from nnexp.search.samplers import make_pruner, make_sampler
from nnexp.search.storage import (
    DEFAULT_JOURNAL,
    default_storage_url,
    open_storage,
    resolve_storage_url,
    storage_failure,
)
from nnexp.tracking.runs import TAG_PREFIX, RunLogger, close_dangling_runs
from nnexp.tracking.states import TrialState
from nnexp.tracking.writer import writing

EXIT_CODES = {0: "at least one trial completed (or was pruned), or there was nothing to do",
              1: "none of this invocation's trials completed: every one failed or diverged",
              2: "bad input (experiment file, options) or an unusable storage or tracking store",
              130: "interrupted (Ctrl-C); the same command resumes the study"}
PARENT_STATUS = {0: "FINISHED", 1: "FAILED", 2: "FAILED", 130: "KILLED"}


@dataclass(frozen=True)
class SearchOptions:
    """Command-line overrides of the experiment's ``study`` and ``tracking`` sections."""

    n_trials: int | None = None
    timeout: float | None = None
    jobs: int | None = None
    storage: str | None = None
    tracking_uri: str | None = None
    study_name: str | None = None
    seed: int | None = None
    quiet: bool = False
    dask: str | None = None  # a Dask scheduler's address: workers are tasks there (issue 9)


@dataclass
class SearchResult:
    """What one invocation did, for the command to display."""

    study_name: str
    storage_url: str
    tracking_uri: str
    parent_run_id: str
    resumed: bool
    interrupted: bool
    new_trials: int
    counts: dict[str, int] = field(default_factory=dict)
    best: list = field(default_factory=list)
    directions: list[str] = field(default_factory=list)
    metrics: list[str] = field(default_factory=list)
    model_uri: str | None = None
    exit_code: int = 0
    failure: str | None = None
    warnings: list[str] = field(default_factory=list)
    model_new: bool = False
    model_trial: int | None = None
    predict_command: str | None = None


def predict_command(study_name: str, tracking_uri: str) -> str:
    """The ``nnexp predict`` command for the study's champion model, as it works from the
    current folder: with ``--tracking-uri`` unless the store is this folder's default."""
    import shlex

    from nnexp.tracking.store import default_tracking_uri

    command = f"nnexp predict {shlex.quote(f'models:/{study_name}@champion')} ROWS.csv"
    if tracking_uri != default_tracking_uri():
        command += f" --tracking-uri {shlex.quote(mask_url(tracking_uri))}"
    return command


def git_commit(path: Path) -> str | None:
    """The commit of the git repository holding ``path``, or None outside a repository."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=path.parent, capture_output=True,
                             text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def _shares(total: int | None, jobs: int) -> list[int | None]:
    """Split ``total`` trials over ``jobs`` workers (None: unbounded, a timeout stops them)."""
    if total is None:
        return [None] * jobs
    return [total // jobs + (1 if i < total % jobs else 0) for i in range(jobs)]


def run_worker(ctx: StudyContext, n_trials: int | None, timeout: float | None, index: int,
               callbacks: list | None = None) -> None:
    """Run trials of the study in this process until ``n_trials`` are done or time is up."""
    import mlflow
    import optuna
    from threadpoolctl import threadpool_limits

    from nnexp.tracking.store import quiet_mlflow

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    quiet_mlflow()
    mlflow.set_tracking_uri(ctx.tracking_uri)
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=ctx.tracking_uri)
    exp = ctx.experiment
    seed = None if ctx.study_seed is None else ctx.study_seed + index
    study = optuna.load_study(
        study_name=ctx.study_name, storage=open_storage(ctx.storage_url),
        sampler=make_sampler(ctx.sampler, exp.study.sampler_options, seed, exp.space),
        pruner=make_pruner(ctx.pruner, ctx.pruner_options))
    if n_trials == 0:
        return
    with writing() as writer, threadpool_limits(limits=ctx.blas_threads), \
            Interrupt() as interrupt:  # an interruption wins over failed writes (writing)
        try:
            study.optimize(Objective(ctx, client, writer, interrupt), n_trials=n_trials,
                           timeout=timeout, catch=(Exception,), gc_after_trial=False,
                           callbacks=[*(callbacks or []), lambda s, t: interrupt.check()])
        except Exception as err:  # a failed journal append, which Optuna may hide
            failure = storage_failure(err)
            if failure is None:
                raise
            raise failure from None


def _worker_entry(ctx: StudyContext, n_trials: int | None, timeout: float | None,
                  index: int) -> None:
    try:
        run_worker(ctx, n_trials, timeout, index)
    except KeyboardInterrupt:
        pass  # the objective has recorded the interrupted trial; the parent summarises


def _fail_orphans(study) -> int:
    """Mark RUNNING trials whose worker process on this host is gone as failed (left behind by
    a killed run); returns how many."""
    import socket

    import optuna

    host = socket.gethostname()
    count = 0
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        worker = t.user_attrs.get("worker", "")
        name, _, pid = worker.rpartition(":")
        if name != host or not pid.isdigit() or _alive(int(pid)):
            continue
        study._storage.set_trial_user_attr(t._trial_id, "state", "interrupted")
        study._storage.set_trial_user_attr(t._trial_id, "reason", "worker process died")
        study._storage.set_trial_state_values(t._trial_id, optuna.trial.TrialState.FAIL)
        count += 1
    return count


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _check_options(options: SearchOptions, jobs: int) -> None:
    """Command-line values the experiment file could not have checked: the seed and the study
    name (raises ``NnexpError``, exit 2)."""
    from nnexp.config import check_name, check_seed

    problems = []
    if options.seed is not None:
        problems.append(check_seed(options.seed, "--seed", options.jobs or jobs))
    if options.study_name is not None:
        message = check_name(options.study_name, ("study", "mlflow"))
        problems.append(message and f"--study-name: {message}")
    problems = [p for p in problems if p]
    if problems:
        raise NnexpError("; ".join(problems) + ". Fix the command-line option.")


def notice(message: str) -> None:
    """One line on stderr that a person needs whatever the verbosity (``--quiet`` included):
    where the stores are, a new study."""
    import sys

    print(message, file=sys.stderr, flush=True)


def study_elsewhere(study_name: str, experiment_path: Path, storage: str) -> Path | None:
    """The default journal of another folder that holds study ``study_name``: the
    ``mlruns/optuna.journal`` beside the experiment file or in its parent folder (the project
    root for ``experiments/x.yaml``), when that is not ``storage``; None if there is none. It
    is read only when it exists, so this costs nothing in the usual case."""
    import optuna

    used = Path(storage[len("journal:"):]).resolve() if storage.startswith("journal:") else None
    folder = Path(experiment_path).resolve().parent
    for candidate in (folder / DEFAULT_JOURNAL, folder.parent / DEFAULT_JOURNAL):
        if candidate == used or not candidate.is_file():
            continue
        try:
            if study_name in optuna.get_all_study_names(open_storage(f"journal:{candidate}")):
                return candidate
        except Exception:  # noqa: BLE001 - only a hint: an unreadable journal is not ours
            continue
    return None


def run_search(experiment_path: str | Path, options: SearchOptions = SearchOptions()
               ) -> SearchResult:
    """Run (or resume) the study of an experiment file; see the module docstring."""
    import optuna

    from nnexp.config import load_experiment
    from nnexp.data import prepare
    from nnexp.tracking.store import connect, ensure_experiment, resolve_tracking_uri

    exp = load_experiment(experiment_path)
    _check_options(options, exp.study.jobs)
    splits = prepare(exp.dataset)
    settings = exp.study
    study_name = options.study_name or settings.name or exp.name
    seed = options.seed if options.seed is not None else settings.seed
    jobs = options.jobs or settings.jobs
    storage_url = resolve_storage_url(options.storage, settings.storage)
    if options.dask:  # checked before anything is written; --jobs default: its threads
        from nnexp.search.dask_workers import check_cluster

        cluster = check_cluster(options.dask, storage_url, resolve_tracking_uri(
            options.tracking_uri, exp.tracking.uri))
        jobs = options.jobs or cluster.threads
    pruner_name, pruning = settings.pruner, settings.pruner_options
    storage = open_storage(storage_url)
    uri = resolve_tracking_uri(options.tracking_uri, exp.tracking.uri)
    client = connect(uri)  # both stores reached before anything is written in either
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    try:
        existing = optuna.load_study(study_name=study_name, storage=storage)
    except KeyError:
        existing = None
    where = storage_url or default_storage_url()
    notice(f"stores: Optuna {mask_url(where)}, MLflow {mask_url(uri)}")
    if existing is None:
        notice(f"new study {study_name!r} in {mask_url(where)}")
        elsewhere = study_elsewhere(study_name, exp.path, where)
        if elsewhere is not None:
            warn(f"a study {study_name!r} already exists in {elsewhere} (beside the experiment "
                 f"file), not in the storage used here; to resume it instead, press Ctrl-C and "
                 f"run from {elsewhere.parent.parent} or add --storage journal:{elsewhere} "
                 f"--tracking-uri sqlite:///{elsewhere.parent / 'mlflow.db'}")
    if existing is not None and [d.name.lower() for d in existing.directions] != exp.directions:
        raise NnexpError(
            f"study {study_name!r} already exists in the storage with directions "
            f"{[d.name.lower() for d in existing.directions]}, but {exp.path} now asks for "
            f"{exp.directions}. Use another --study-name (or study.name) for the new objective.")
    study = optuna.create_study(
        storage=storage, study_name=study_name, directions=exp.directions, load_if_exists=True,
        sampler=make_sampler(settings.sampler, settings.sampler_options, seed, exp.space),
        pruner=make_pruner(pruner_name, pruning))
    resumed = existing is not None and len(study.trials) > 0
    orphans = _fail_orphans(study) if resumed else 0
    first_number = len(study.trials)
    if not resumed:
        study.set_user_attr("experiment_file", str(exp.path))
        study.set_user_attr("seed", seed)
        for point in exp.baselines:
            study.enqueue_trial(point, skip_if_exists=True)
    n_trials, timeout = settings.budget(options.n_trials, options.timeout)

    mlflow_name = exp.tracking.experiment_name or exp.name
    experiment_id = ensure_experiment(client, mlflow_name, uri)
    previous = client.search_runs(
        [experiment_id], filter_string=f"tags.`{TAG_PREFIX}study` = '{study_name}' and "
                                       f"tags.`{TAG_PREFIX}role` = 'parent'")
    invocation = len(previous) + 1
    commit = git_commit(Path(exp.path).resolve())
    parent = RunLogger.start(client, experiment_id, f"{study_name} #{invocation}", {
        TAG_PREFIX + "study": study_name, TAG_PREFIX + "role": "parent",
        TAG_PREFIX + "invocation": invocation, TAG_PREFIX + "resumed": resumed,
        TAG_PREFIX + "storage": mask_url(storage_url) if storage_url
        else "embedded journal (mlruns/optuna.journal)",
        TAG_PREFIX + "dataset": splits.name,
        TAG_PREFIX + "dataset_fingerprint": splits.fingerprint,
        TAG_PREFIX + "experiment_file": str(exp.path),
        **({TAG_PREFIX + "git_commit": commit} if commit else {})})
    parent.params({"sampler": settings.sampler, "pruner": pruner_name, "study_seed": seed,
                   **{f"pruner.{k}": v for k, v in pruning.items()},
                   "n_trials": n_trials, "timeout": timeout, "jobs": jobs,
                   "objective": [f"{m}:{d}" for m, d in exp.objective],
                   "dataset": exp.dataset.describe(), "orphans_failed": orphans})
    parent.flush()
    cpus = os.cpu_count() or 1
    ctx = StudyContext(exp, splits, study_name, storage_url, uri, experiment_id, mlflow_name,
                       parent.run_id, settings.sampler, pruner_name, pruning, seed,
                       max(1, cpus // jobs), commit)
    progress = Progress(first_number, n_trials, timeout, exp.directions, options.quiet)
    interrupted, failed = False, True
    try:
        if options.dask:  # issue 9: the workers are tasks on an existing Dask cluster
            from nnexp.search.dask_workers import run_dask

            run_dask(options.dask, ctx, n_trials, jobs, timeout, study, progress, first_number)
        elif jobs == 1:
            run_worker(ctx, n_trials, timeout, 0,
                       callbacks=[lambda s, t: progress.update(s.get_trials(deepcopy=False))])
        else:
            _run_processes(ctx, _shares(n_trials, jobs), timeout, study, progress)
        failed = False
    except KeyboardInterrupt:
        interrupted, failed = True, False
    finally:  # whatever failed above or fails here, the parent run is ended
        info, code, failure = _finish(study, parent, client, experiment_id,
                                      [m for m, _ in exp.objective], splits, progress,
                                      first_number, interrupted, failed)
    best = info["best"]
    if len(exp.directions) == 1:
        complete = [t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"]
        best = sorted(complete, key=lambda t: t.values[0],
                      reverse=exp.directions[0] == "maximize")[:5]
    return SearchResult(study_name, mask_url(storage_url or "embedded"), mask_url(uri),
                        parent.run_id,
                        resumed, interrupted, len(study.trials) - first_number, info["counts"],
                        best, exp.directions, [m for m, _ in exp.objective], info["model_uri"],
                        code, failure, info["warnings"], info["model_new"], info["model_trial"],
                        predict_command(study_name, uri) if info["model_uri"] else None)


def _finish(study, parent: RunLogger, client, experiment_id: str, metrics: list[str], splits,
            progress: Progress, first_number: int, interrupted: bool, failed: bool
            ) -> tuple[dict, int, str | None]:
    """Summarise the study into the parent run (the best model is registered under the
    study's name) and end it with the status of the exit code; every failure here is a
    warning line. Returns (summary info, exit code, failure text)."""
    from nnexp.tracking.summary import summarize

    info: dict[str, Any] = {"counts": {}, "best": [], "model_uri": None, "warnings": [],
                            "model_new": False, "model_trial": None}

    def attempt(what: str, action) -> Any:
        try:
            return action()
        except Exception as err:  # noqa: BLE001 - reported; the parent must still be ended
            message = f"could not {what}: {first_line(err)}"
            info["warnings"].append(message)
            warn(message)
            return None

    trials = attempt("read the study's trials", lambda: study.get_trials(deepcopy=False)) or []
    if not progress.quiet:
        attempt("show the progress", lambda: (progress.update(trials), progress.close()))
    attempt("close the trial runs left running",
            lambda: close_dangling_runs(client, experiment_id, parent.run_id))
    summary = attempt("summarise the study", lambda: summarize(
        study, parent, experiment_id, study.study_name, _example(splits), _python_model(),
        metrics))
    if summary:
        info.update({**summary, "warnings": info["warnings"] + summary["warnings"]})
    mine = [t for t in trials if t.number >= first_number]
    failure = None if interrupted or failed else failure_summary(
        mine, lambda number: _run_id(client, experiment_id, study, number))
    code = 130 if interrupted else 2 if failed else 1 if failure else 0
    parent.tags({TAG_PREFIX + "exit_code": code})
    attempt(f"end the parent run {parent.run_id}", lambda: parent.end(PARENT_STATUS[code]))
    return info, code, failure


def _python_model():
    from nnexp.export.pyfunc import NnexpPyfunc

    return NnexpPyfunc()


def _run_id(client, experiment_id: str, study, number: int) -> str | None:
    from nnexp.tracking.summary import trial_run_id

    try:
        return trial_run_id(client, experiment_id, study, number)
    except Exception:  # noqa: BLE001 - only a hint in a message
        return None


def failure_summary(trials, run_id=lambda number: None) -> str | None:
    """Why none of ``trials`` (this invocation's) completed, or None when one completed or was
    pruned, or there were none: the most common reason (numbers ignored when grouping) and
    the latest trial with it, to look at. ``run_id(number)``: its MLflow run id, or None."""
    from nnexp.tracking.summary import trial_state

    finished = [t for t in trials if t.state.is_finished()]
    if not finished or any(trial_state(t) in (TrialState.COMPLETE, TrialState.PRUNED)
                           for t in finished):
        return None
    if not all(trial_state(t) in (TrialState.FAILED, TrialState.DIVERGED, "fail")
               for t in finished):
        return None
    groups: dict[str, list] = {}
    for t in finished:
        reason = t.user_attrs.get("reason") or "no reason recorded"
        groups.setdefault(re.sub(r"[-+]?\d[\d.e+-]*", "#", reason), []).append(t)
    pattern, _ = Counter({k: len(v) for k, v in groups.items()}).most_common(1)[0]
    example = max(groups[pattern], key=lambda t: t.number)
    reason = example.user_attrs.get("reason") or "no reason recorded"
    run = run_id(example.number)
    look = f"look at trial {example.number}" + (
        f": MLflow run {run} (mlflow runs describe --run-id {run})" if run else "")
    return (f"none of the {len(finished)} trial(s) of this invocation completed; most common "
            f"reason ({len(groups[pattern])} trial(s)): {reason}; {look}")


def _run_processes(ctx: StudyContext, shares: list[int | None], timeout: float | None,
                   study, progress: Progress) -> None:
    spawn = multiprocessing.get_context("spawn")
    workers = [spawn.Process(target=_worker_entry, args=(ctx, n, timeout, i), daemon=False)
               for i, n in enumerate(shares)]
    for w in workers:
        w.start()
    try:
        while any(w.is_alive() for w in workers):
            progress.update(study.get_trials(deepcopy=False))
            time.sleep(0.5)
    except KeyboardInterrupt:
        for w in workers:
            w.join()
        raise
    failed = [w.exitcode for w in workers if w.exitcode not in (0, None)]
    if failed:
        raise NnexpError(f"{len(failed)} worker process(es) exited with codes {failed}; "
                         "completed trials are kept. Re-run the same command to resume.")


def _example(splits, n: int = 5) -> Any:
    """A few raw dev rows as a DataFrame of the original columns, the pyfunc model's input
    example: features unscaled, one-hot blocks turned back into the original category."""
    import numpy as np
    import pandas as pd

    X = splits.X_dev if len(splits.X_dev) else splits.X_train
    rows = X[:n] * splits.scaler.scale + splits.scaler.shift
    index = {name: j for j, name in enumerate(splits.feature_names)}
    columns: dict[str, Any] = {}
    for j, name in enumerate(splits.feature_names):
        column = name.split("=", 1)[0]
        if "=" in name and column in splits.encoding:
            if column not in columns:
                cats = splits.encoding[column]
                block = rows[:, [index[f"{column}={c}"] for c in cats]]
                columns[column] = [cats[k] for k in np.argmax(block, axis=1)]
        else:
            columns[name] = rows[:, j]
    return pd.DataFrame(columns)
