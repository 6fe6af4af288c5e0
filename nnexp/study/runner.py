"""``nnexp search``: create or resume an Optuna study, run its trials in one or more worker
processes, and record the study in MLflow (a parent run per invocation, a child per trial).

The workers (``--jobs N``, 1 included: ``nnexp.execution.pool``) train; the main process performs
their MLflow writes (``nnexp.tracking.relay``), shows the progress and summarises. When both
stores are files of this machine, the workers start while the main process is still opening
MLflow's store (importing MLflow alone takes ~1.5 s); the invocation's number, which seeds
the samplers, is claimed in the Optuna study (``nnexp.study.invocations``). Dask tasks
(``--dask``) write to MLflow themselves.

Resuming: the same study name in the same storage continues the study; ``n_trials`` more
trials are added. Ctrl-C or SIGTERM stops cleanly (the main process forwards it to its
workers, which stop after their current epoch): the running trial is recorded as
interrupted (Optuna FAIL, MLflow KILLED), the parent run is summarised and closed, and the
next invocation resumes. What a killed process (SIGKILL) left open is closed by the next
invocation before it starts (``nnexp.recovery.doctor``): the parent run records its process
(tags ``nnexp.host``, ``nnexp.pid``, ``nnexp.pid_start``) and every trial its worker, so a
dead one is told from a live one. A store that stops answering is retried for
``study.outage_seconds``, then the invocation stops with exit code 2 (``StoreOutage``).

Exit codes (``SearchResult.exit_code``; ``EXIT_CODES``): 0 when this invocation completed or
pruned at least one trial, or had nothing to do; 1 when every trial it ran failed or diverged
(``SearchResult.failure`` says why); 2 for bad input or an unusable store (``NnexpError``);
130 when interrupted. The parent run always ends, with the status matching the exit code
(``PARENT_STATUS``), whatever part of its summary fails.
"""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from contextlib import closing, nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from nnexp.errors import NnexpError, first_line, listing, mask_url, warn
from nnexp.execution.interrupt import Interrupt, caused_by_interrupt, terminate_as_interrupt
from nnexp.execution.pool import LocalWorkers, split_trials
from nnexp.outage import StoreOutage, retrying_storage
from nnexp.recovery import doctor, workers
from nnexp.serving.models import register_best, stage_column_report
from nnexp.stores.study_storage import (
    DEFAULT_JOURNAL,
    default_storage_url,
    open_storage,
    resolve_storage_url,
    storage_failure,
    use_heartbeat,
)
from nnexp.study import invocations
from nnexp.study.objective import Objective, StudyContext
from nnexp.study.plotter import Plotter
from nnexp.study.progress import Progress
from nnexp.tracking.runs import TAG_PREFIX, RunLogger, close_dangling_runs
from nnexp.tracking.states import TrialState, is_failed
from nnexp.tracking.writer import writing

EXIT_CODES = {0: "at least one trial completed (or was pruned), or there was nothing to do",
              1: "none of this invocation's trials completed: every one failed or diverged",
              2: "bad input (experiment file, options) or an unusable storage or tracking store",
              130: "interrupted (Ctrl-C or SIGTERM); the same command resumes the study"}
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
    accept_data_change: bool = False  # resume although the data differ from the study's


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
    storage: str | None = None  # the stores' URLs as given, to reopen them (never printed:
    tracking: str | None = None  # ``storage_url`` and ``tracking_uri`` are masked)


def predict_command(study_name: str, tracking_uri: str) -> str:
    """The ``nnexp predict`` command for the study's champion model, as it works from the
    current folder: with ``--tracking-uri`` unless the store is this folder's default."""
    import shlex

    from nnexp.stores.tracking_store import default_tracking_uri

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


def sampler_seed(study_seed: int | None, invocation: int, index: int) -> int | None:
    """The sampler seed of worker ``index`` of invocation ``invocation`` (numbered from 1):
    ``study_seed + index`` for the first invocation, shifted by 1000 per later one, so
    invocations running at once (several machines, one study) never sample alike, and the
    same sequence of invocations samples the same again."""
    if study_seed is None:
        return None
    return (study_seed + 1000 * (invocation - 1) + index) % 2**32


def study_storage(url: str | None, settings):
    """The Optuna storage of ``url`` for running trials: on RDB storage with heartbeats every
    ``settings.heartbeat_seconds`` (stale after three missed) and ``settings.retries`` retries
    of a stale trial (Optuna's ``RetryHeartbeatStaleTrialCallback``); every call retried
    through an outage of up to ``settings.outage_seconds`` (``nnexp.outage``)."""
    import optuna

    storage = open_storage(url)
    if isinstance(storage, optuna.storages.RDBStorage):
        use_heartbeat(storage, settings.heartbeat_seconds, settings.retries)
        storage = optuna.storages._CachedStorage(storage)
    return retrying_storage(storage, url or default_storage_url(), settings.outage_seconds)


def run_worker(ctx: StudyContext, n_trials: int | None, timeout: float | None, index: int,
               callbacks: list | None = None, watch_parent: bool = False,
               relay=None) -> None:
    """Run trials of the study in this process until ``n_trials`` are done or time is up.
    ``watch_parent``: a worker process, which stops when its main process is gone.
    ``relay``: a ``nnexp.tracking.relay.Relay`` to the main process, which performs this
    worker's MLflow writes (a local worker: it never imports MLflow); None: written from here
    (a Dask task)."""
    import optuna
    from threadpoolctl import threadpool_limits

    from nnexp.study.samplers import make_pruner, make_sampler

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    client = None
    if relay is None:
        from nnexp.stores.tracking_store import quiet_mlflow, use_tracking_uri

        quiet_mlflow()
        use_tracking_uri(ctx.tracking_uri)
        from mlflow import MlflowClient

        client = MlflowClient(tracking_uri=ctx.tracking_uri)
    exp = ctx.experiment
    seed = sampler_seed(ctx.study_seed, ctx.invocation, index)
    study = optuna.load_study(
        study_name=ctx.study_name, storage=study_storage(ctx.storage_url, exp.study),
        sampler=make_sampler(ctx.sampler, exp.study.sampler_options, seed, exp.space),
        pruner=make_pruner(ctx.pruner, ctx.pruner_options))
    if n_trials == 0:
        return

    def orphans(s, t=None) -> None:  # trials whose worker died meanwhile (stale heartbeats)
        if doctor.examine_trials(s, fix=True) and client is not None:
            doctor.examine_runs(s, client, [ctx.mlflow_experiment_id], fix=True)

    sink = nullcontext(relay) if relay is not None else \
        writing(outage_seconds=exp.study.outage_seconds, uri=ctx.tracking_uri)
    with sink as writer, threadpool_limits(limits=ctx.blas_threads), \
            Interrupt(watch_parent=watch_parent) as interrupt:  # an interruption wins
        rdb = bool(ctx.storage_url) and not ctx.storage_url.startswith("journal:")
        try:
            if rdb:
                orphans(study)
            study.optimize(Objective(ctx, client, writer, interrupt), n_trials=n_trials,
                           timeout=timeout, catch=(Exception,), gc_after_trial=False,
                           callbacks=[*(callbacks or []), lambda s, t: interrupt.check(),
                                      lambda s, t: writer.check(), *([orphans] if rdb else [])])
        except Exception as err:
            lost = study._storage.failed  # Optuna's own clean-up can fail on a lost database
            if lost is not None and err is not lost:
                raise lost from None
            failure = storage_failure(err)  # a failed journal append, which Optuna may hide
            if failure is not None:
                raise failure from None
            raise


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
    from nnexp.stores.tracking_store import connect, preflight, resolve_tracking_uri, sqlite_path

    exp = load_experiment(experiment_path)
    _check_options(options, exp.study.jobs)
    splits = prepare(exp.dataset)
    settings = exp.study
    study_name = options.study_name or settings.name or exp.name
    seed = options.seed if options.seed is not None else settings.seed
    jobs = options.jobs or settings.jobs
    storage_url = resolve_storage_url(options.storage, settings.storage)
    uri = resolve_tracking_uri(options.tracking_uri, exp.tracking.uri)
    if options.dask:  # checked before anything is written; --jobs default: its threads
        from nnexp.execution.dask_workers import check_cluster

        cluster = check_cluster(options.dask, storage_url, uri)
        jobs = options.jobs or cluster.threads
    pruner_name, pruning = settings.pruner, settings.pruner_options
    storage = study_storage(storage_url, settings)
    # both stores are checked before anything is written in either. When both are files of
    # this machine (the embedded journal, SQLite), MLflow's is checked without MLflow (a
    # folder, a file) and the workers start while MLflow opens it. A database or a server (or
    # Dask tasks, which write to it themselves) is opened first, and what dead processes left
    # open there is closed before any new trial starts (with MLflow's record at hand).
    early = not options.dask and sqlite_path(uri) is not None and \
        (storage_url is None or storage_url.startswith("journal:"))
    client = None
    if early:
        preflight(uri)
    else:
        client = connect(uri)
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    try:
        existing = optuna.load_study(study_name=study_name, storage=storage)
    except KeyError:
        existing = None
    where = storage_url or default_storage_url()
    notice(f"data: {data_summary(splits)}")
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
    # this process neither samples nor prunes (its workers do, with the experiment's sampler
    # and pruner): a sampler that imports nothing more
    study = optuna.create_study(
        storage=storage, study_name=study_name, directions=exp.directions, load_if_exists=True,
        sampler=optuna.samplers.RandomSampler(), pruner=optuna.pruners.NopPruner())
    resumed = existing is not None and len(study.trials) > 0
    changed = check_same_data(study, splits, resumed, options.accept_data_change)
    first_number = len(study.trials)
    study.set_user_attr(DATA_ATTR, data_record(splits))
    study.set_user_attr("heartbeat_seconds", settings.heartbeat_seconds)  # for nnexp doctor
    study.set_user_attr("retries", settings.retries)
    if not resumed:
        study.set_user_attr("experiment_file", str(exp.path))
        study.set_user_attr("seed", seed)
        for point in exp.baselines:
            study.enqueue_trial(point, skip_if_exists=True)
    n_trials, timeout = settings.budget(options.n_trials, options.timeout)
    key = invocations.new_key()
    invocation = invocations.claim(study, key)
    commit = git_commit(Path(exp.path).resolve())
    mlflow_name = exp.tracking.experiment_name or exp.name
    ctx = StudyContext(exp, splits, study_name, storage_url, uri, None, mlflow_name, None,
                       settings.sampler, pruner_name, pruning, seed,
                       workers.blas_threads(jobs), commit, invocation, key)
    progress = Progress(first_number, n_trials, timeout, exp.directions, options.quiet)
    plotter = Plotter(storage_url or default_storage_url())  # imports while the trials run
    metrics = [m for m, _ in exp.objective]
    pool = LocalWorkers(ctx, split_trials(n_trials, jobs), timeout, run_worker,
                        on_end=lambda: plotter.draw(
        study_name, plotter.directory, metrics)) if not options.dask else None
    restore = terminate_as_interrupt()  # SIGTERM: as Ctrl-C, so the parent run is ended
    try:
        with closing(plotter), pool or nullcontext():
            if early:  # a Ctrl-C meanwhile is seen by pool.wait, once the parent run exists
                pool.start()
                client = connect(uri)
            parent, experiment_id = _open_parent(
                client, uri, study, ctx, resumed, {
                    "sampler": settings.sampler, "pruner": pruner_name, "study_seed": seed,
                    **{f"pruner.{k}": v for k, v in pruning.items()},
                    "n_trials": n_trials, "timeout": timeout, "jobs": jobs,
                    "objective": [f"{m}:{d}" for m, d in exp.objective],
                    "dataset": exp.dataset.describe(),
                    **({"data_change_accepted": changed} if changed else {})}, splits)
            ctx = replace(ctx, mlflow_experiment_id=experiment_id, parent_run_id=parent.run_id)
            if resumed and not options.quiet:
                progress.remember(study.get_trials(deepcopy=False))  # the best so far
            result = _run(options, ctx, n_trials, jobs, timeout, study, progress, first_number,
                          pool, client, parent, exp, splits, plotter, resumed)
    finally:
        restore()
    return result


def data_summary(splits) -> str:
    """One line on the data a search trains on: rows, features, and for a table the columns
    used and dropped (the full table: ``nnexp validate``, and the parent run's
    ``data/columns.txt``)."""
    rows = len(splits.y_train) + len(splits.y_dev) + len(splits.y_test)
    text = f"{splits.name}: {rows} rows, {len(splits.feature_names)} features"
    prep = splits.preparation
    if prep is not None:
        dropped = [f"{c.name} ({c.role})" for c in prep.columns if not c.used]
        text += f" from {len(prep.inputs)} of {len(prep.columns)} columns"
        if dropped:
            text += f"; dropped: {listing(dropped)}"
    if splits.dropped_rows:
        text += (f"; {splits.dropped_rows} row{'s' if splits.dropped_rows != 1 else ''} "
                 "without a target left out")
    return text


DATA_ATTR = "data"
"""The study's user attribute recording the data its trials train on (``data_record``)."""


def data_record(splits) -> dict[str, Any]:
    """What a study records of its data: the fingerprint, and a table's column roles."""
    columns = {} if splits.preparation is None else \
        {c.name: c.role if c.used else f"{c.role} (dropped)"
         for c in splits.preparation.columns}
    return {"fingerprint": splits.fingerprint, "features": len(splits.feature_names),
            "columns": columns}


def check_same_data(study, splits, resumed: bool, accept: bool) -> str | None:
    """Refuse (``NnexpError``, exit 2) to resume a study whose trials trained on other data
    than ``splits`` (another fingerprint or other column roles), unless ``accept``; returns
    'old -> new' fingerprints when a change was accepted, else None."""
    recorded = study.user_attrs.get(DATA_ATTR)
    if not resumed or not recorded:
        return None
    now = data_record(splits)
    if recorded["fingerprint"] == now["fingerprint"]:
        return None
    change = f"{recorded['fingerprint']} -> {now['fingerprint']}"
    if accept:
        warn(f"the data differ from the study's ({change}); resuming as asked "
             "(--accept-data-change, recorded on the parent run)")
        return change
    old, new = recorded["columns"], now["columns"]
    roles = [f"{name}: {old.get(name, 'absent')} -> {new.get(name, 'absent')}"
             for name in sorted({*old, *new}) if old.get(name) != new.get(name)]
    detail = (f" Column roles changed: {listing(roles)}." if roles else
              " The values changed (the file was edited or replaced).")
    raise NnexpError(
        f"study {study.study_name!r} was trained on other data: its trials saw data "
        f"fingerprint {recorded['fingerprint']} ({recorded['features']} features), the data "
        f"now have {now['fingerprint']} ({now['features']} features).{detail} Mixing them "
        "would compare trials that saw different inputs. Start a new study (--study-name "
        "NAME, or study.name in the experiment), or add --accept-data-change to resume "
        "anyway (recorded on the parent run).")


def _open_parent(client, uri: str, study, ctx: StudyContext, resumed: bool,
                 params: dict[str, Any], splits):
    """The MLflow side of an invocation's start: its experiment, what a dead process left
    open (closed) and its parent run (named ``<study> #<invocation>``). Returns (parent
    ``RunLogger``, experiment id)."""
    from nnexp.stores.tracking_store import ensure_experiment

    experiment_id = ensure_experiment(client, ctx.mlflow_experiment_name, uri)
    fixed = [p for p in doctor.examine(study, client, [experiment_id], fix=True) if p.fixed] \
        if resumed else []
    if fixed:
        notice(f"closed {len(fixed)} record(s) left open by a process that died: "
               + "; ".join(p.what for p in fixed[:3]) + ("; ..." if len(fixed) > 3 else ""))
    exp, storage_url = ctx.experiment, ctx.storage_url
    parent = RunLogger.start(client, experiment_id, f"{ctx.study_name} #{ctx.invocation}", {
        TAG_PREFIX + "study": ctx.study_name, TAG_PREFIX + "role": "parent",
        **workers.current().tags(TAG_PREFIX),
        TAG_PREFIX + "invocation": ctx.invocation, TAG_PREFIX + "invocation_key": ctx.key,
        TAG_PREFIX + "resumed": resumed,
        TAG_PREFIX + "storage": mask_url(storage_url) if storage_url
        else "embedded journal (mlruns/optuna.journal)",
        TAG_PREFIX + "dataset": ctx.splits.name,
        TAG_PREFIX + "dataset_fingerprint": ctx.splits.fingerprint,
        TAG_PREFIX + "experiment_file": str(exp.path),
        **({TAG_PREFIX + "git_commit": ctx.git_commit} if ctx.git_commit else {})})
    parent.params({**params, "orphans_failed": sum(1 for p in fixed
                                                   if p.what.startswith("trial "))})
    if splits.preparation is not None:
        parent.artifact(stage_column_report(splits.preparation), "data")
    parent.flush()
    return parent, experiment_id


def _run(options: SearchOptions, ctx: StudyContext, n_trials: int | None, jobs: int,
         timeout: float | None, study, progress: Progress, first_number: int, pool, client,
         parent: RunLogger, exp, splits, plotter, resumed: bool) -> SearchResult:
    """Wait for the trials (local workers, or Dask tasks started here), then summarise the
    invocation into its parent run, which always ends (see ``_finish``)."""
    interrupted, failed, fatal = False, True, None
    try:
        if pool is None:  # issue 9: the workers are tasks on an existing Dask cluster
            from nnexp.execution.dask_workers import run_dask

            run_dask(options.dask, ctx, n_trials, jobs, timeout, study, progress, first_number,
                     run_worker)
        else:
            pool.start()  # unless it started before the tracking store was opened
            pool.attach(client, ctx.mlflow_experiment_id, parent.run_id,
                        exp.study.outage_seconds, ctx.tracking_uri)
            pool.wait(study, progress)
        failed = False
    except KeyboardInterrupt:
        interrupted, failed = True, False
    except StoreOutage as err:
        fatal = err
        raise
    except Exception as err:
        if not caused_by_interrupt(err):
            raise
        interrupted, failed = True, False
    finally:  # whatever failed above or fails here, the parent run is ended
        info, code, failure = _finish(study, parent, client, ctx.mlflow_experiment_id,
                                      [m for m, _ in exp.objective], splits, progress,
                                      first_number, interrupted, failed, fatal, plotter,
                                      ctx.key)
    best = info["best"]
    if len(exp.directions) == 1:
        complete = [t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"]
        best = sorted(complete, key=lambda t: t.values[0],
                      reverse=exp.directions[0] == "maximize")[:5]
    uri, storage_url = ctx.tracking_uri, ctx.storage_url
    return SearchResult(ctx.study_name, mask_url(storage_url or "embedded"), mask_url(uri),
                        parent.run_id, resumed, interrupted, info["new_trials"], info["counts"],
                        best, exp.directions, [m for m, _ in exp.objective], info["model_uri"],
                        code, failure, info["warnings"], info["model_new"], info["model_trial"],
                        predict_command(ctx.study_name, uri) if info["model_uri"] else None,
                        storage=storage_url, tracking=uri)


def _finish(study, parent: RunLogger, client, experiment_id: str, metrics: list[str], splits,
            progress: Progress, first_number: int, interrupted: bool, failed: bool,
            fatal: StoreOutage | None = None, plotter=None, key: str | None = None
            ) -> tuple[dict, int, str | None]:
    """Summarise the study into the parent run (the best model is registered under the
    study's name) and end it with the status of the exit code; every failure here is a
    warning line. A store lost (``fatal``) is not asked again: its one message says it all
    (a lost tracking store leaves the parent run to the next invocation or ``nnexp doctor``).
    Returns (summary info, exit code, failure text)."""
    from nnexp.tracking.summary import summarize

    info: dict[str, Any] = {"counts": {}, "best": [], "model_uri": None, "warnings": [],
                            "model_new": False, "model_trial": None, "new_trials": 0}
    if fatal is not None:
        if fatal.store == "storage":  # the MLflow side still works: close what is open
            _quietly(lambda: close_dangling_runs(
                client, experiment_id, parent.run_id,
                lambda number: ("FAILED", {TAG_PREFIX + "state": TrialState.FAILED.value,
                                           TAG_PREFIX + "reason": first_line(fatal)[:5000]})))
            parent.tags({TAG_PREFIX + "exit_code": 2,
                         TAG_PREFIX + "reason": first_line(fatal)[:5000]})
            _quietly(lambda: parent.end(PARENT_STATUS[2]))
        if not progress.quiet:
            _quietly(progress.close)
        return info, 2, None

    def attempt(what: str, action) -> Any:
        try:
            return action()
        except Exception as err:  # noqa: BLE001 - reported; the parent must still be ended
            message = f"could not {what}: {first_line(err)}"
            info["warnings"].append(message)
            warn(message)
            return None

    attempt("fail the trials of workers that died",
            lambda: doctor.examine_trials(study, fix=True))
    trials = attempt("read the study's trials", lambda: study.get_trials(deepcopy=False)) or []
    mine = [t for t in trials if t.number >= first_number
            and t.user_attrs.get("invocation") == key]
    info["new_trials"] = len(mine)
    if not progress.quiet:
        attempt("show the progress", lambda: (progress.update(trials), progress.close()))
    by_number = {t.number: t for t in trials}
    attempt("close the trial runs left running",
            lambda: close_dangling_runs(client, experiment_id, parent.run_id,
                                        lambda n: doctor.outcome(by_number.get(n))))
    summary = attempt("summarise the study", lambda: summarize(
        study, parent, experiment_id, study.study_name, _example(splits), _python_model(),
        metrics, plotter, register_best))
    if summary:
        info.update({**summary, "warnings": info["warnings"] + summary["warnings"]})
    failure = None if interrupted or failed else failure_summary(
        mine, lambda number: _run_id(client, experiment_id, study, number))
    code = 130 if interrupted else 2 if failed else 1 if failure else 0
    parent.tags({TAG_PREFIX + "exit_code": code})
    attempt(f"end the parent run {parent.run_id}", lambda: parent.end(PARENT_STATUS[code]))
    return info, code, failure


def _quietly(action) -> None:
    try:
        action()
    except Exception:  # noqa: BLE001, S110 - the store is gone; its one message is said
        pass


def _python_model():
    from nnexp.serving.pyfunc import NnexpPyfunc

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
    if not all(is_failed(trial_state(t)) for t in finished):
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


def _example(splits, n: int = 5) -> Any:
    """A few raw dev rows as a DataFrame of the original columns, the pyfunc model's input
    example: a table's rows as read, or a model of arrays' features unscaled."""
    import pandas as pd

    if splits.example is not None:
        return splits.example.head(n).reset_index(drop=True)
    X = splits.X_dev if len(splits.X_dev) else splits.X_train
    rows = X[:n] * splits.scaler.scale + splits.scaler.shift
    return pd.DataFrame(rows, columns=splits.feature_names)
