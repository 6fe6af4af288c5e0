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

from nnexp.errors import NnexpError, first_line, mask_url, warn
from nnexp.execution.interrupt import (
    caused_by_interrupt,
    deferred_interrupts,
    signalled,
    terminate_as_interrupt,
)
from nnexp.execution.pool import LocalWorkers, split_trials, start_server
from nnexp.outage import StoreOutage
from nnexp.recovery import doctor, workers
from nnexp.serving.models import register_best, stage_column_report
from nnexp.stores.study_storage import (
    DEFAULT_JOURNAL,
    default_storage_url,
    name_metrics,
    open_storage,
    resolve_storage_url,
    shown_storage,
)
from nnexp.stores.tracking_store import checkpoint, ensure_experiment
from nnexp.study import invocations, warm_start
from nnexp.study.data_record import DATA_ATTR, check_same_data, data_record, data_summary
from nnexp.study.objective import TIE_BREAK, StudyContext
from nnexp.study.plotter import Plotter
from nnexp.study.progress import Progress
from nnexp.study.worker import PRELOAD, run_worker, study_storage
from nnexp.tracking.outbox import outbox_root, recover
from nnexp.tracking.runs import TAG_PREFIX, RunLogger, close_dangling_runs
from nnexp.tracking.states import TrialState, is_failed
from nnexp.tracking.summary import best_trials

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
    warm_start: str | None = None  # an earlier study whose trials start this one


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
    return Invocation(experiment_path, options).run()


@dataclass
class _Outcome:
    """How the wait for the trials ended (``Invocation.wait``)."""

    interrupted: bool = False
    failed: bool = True  # until the wait returns
    fatal: StoreOutage | None = None  # a store lost: its one message says it all


class _Steps:
    """The steps of an invocation's summary (``Invocation.summarise``) and what they found:
    ``info`` (counts, best, model, warnings), the study's trials by number."""

    def __init__(self, outcome: _Outcome) -> None:
        self.outcome = outcome
        self.info: dict[str, Any] = {"counts": {}, "best": [], "model_uri": None,
                                     "warnings": [], "model_new": False,
                                     "model_trial": None, "new_trials": 0}
        self.by_number: dict[int, Any] = {}

    def warn(self, message: str) -> None:
        self.info["warnings"].append(message)
        warn(message)

    def attempt(self, what: str, action, closes: bool = False) -> Any:
        """``action()``, or None and a warning line when it fails. An interruption ends the
        summary (``KeyboardInterrupt``): one recorded before the step starts
        (``signalled``), unless the step ``closes`` the records, or one raised in it."""
        if signalled() and not closes:
            raise KeyboardInterrupt
        try:
            return action()
        except Exception as err:  # noqa: BLE001 - reported; the parent must still end
            if caused_by_interrupt(err):
                raise KeyboardInterrupt from err
            self.warn(f"could not {what}: {first_line(err)}")
            return None

    def closing(self, what: str, action) -> None:
        """A step that closes the records: an interruption stops it, not the next."""
        try:
            self.attempt(what, action, closes=True)
        except KeyboardInterrupt:
            self.outcome.interrupted = True


class Invocation:
    """One ``nnexp search`` invocation, phase by phase: ``open_stores`` (both checked before
    anything is written), ``open_study`` (create or resume, check the data, claim the
    invocation's number), ``start`` (the workers; the parent run), ``wait`` and
    ``summarise`` (into the parent run, which always ends). ``run`` runs them in order."""

    def __init__(self, experiment_path: str | Path, options: SearchOptions) -> None:
        from nnexp.config import load_experiment
        from nnexp.data import prepare
        from nnexp.stores.tracking_store import resolve_tracking_uri

        if not options.dask:  # the workers' imports while this process reads the data
            start_server(PRELOAD)
        self.options = options
        self.exp = exp = load_experiment(experiment_path)
        _check_options(options, exp.study.jobs)
        self.splits = prepare(exp.dataset)
        self.settings = exp.study
        self.study_name = options.study_name or self.settings.name or exp.name
        self.seed = options.seed if options.seed is not None else self.settings.seed
        self.jobs = options.jobs or self.settings.jobs
        self.storage_url = resolve_storage_url(options.storage, self.settings.storage)
        self.uri = resolve_tracking_uri(options.tracking_uri, exp.tracking.uri)
        self.metrics = [m for m, _ in exp.objective]
        self.outbox_root = outbox_root(self.uri)
        self.client = None
        self.parent: RunLogger | None = None

    def run(self) -> SearchResult:
        """Every phase in order; SIGTERM is taken as Ctrl-C meanwhile, so the parent run is
        ended."""
        self.open_stores()
        self.open_study()
        plotter = Plotter(self.storage_url or default_storage_url())  # imports while trials run
        restore = terminate_as_interrupt()
        try:
            with closing(plotter), self._workers(plotter) as pool:
                self.start(pool)
                outcome = _Outcome()
                try:
                    self.wait(pool, outcome)
                finally:  # whatever failed above or fails here, the parent run is ended
                    with deferred_interrupts():
                        info, code, failure = self.summarise(plotter, outcome)
        finally:
            restore()
        return self.result(info, code, failure, outcome.interrupted)

    def _experiment_of(self, name: str) -> str:
        """The MLflow experiment ``name`` of this store (created beside it if absent)."""
        return ensure_experiment(self.client, name, self.uri)

    def _workers(self, plotter):
        """The local worker processes (a context manager), or nothing for Dask tasks."""
        if self.options.dask:
            return nullcontext()
        return LocalWorkers(
            self.ctx, split_trials(self.n_trials, self.jobs), self.timeout, run_worker,
            on_end=lambda: plotter.draw(self.study_name, plotter.directory, self.metrics))

    def open_stores(self) -> None:
        """Open Optuna's storage, and check MLflow's store (a file of this machine: without
        MLflow, so that the workers start while MLflow opens it; a database or a server, or
        Dask tasks, which write to it themselves: opened now). A Dask cluster is checked
        before anything is written."""
        from nnexp.stores.tracking_store import connect, preflight, sqlite_path

        if self.options.dask:  # --jobs default: the cluster's threads
            from nnexp.execution.dask_workers import check_cluster

            cluster = check_cluster(self.options.dask, self.storage_url, self.uri)
            self.jobs = self.options.jobs or cluster.threads
        self.storage = study_storage(self.storage_url, self.settings)
        self.early = not self.options.dask and sqlite_path(self.uri) is not None and \
            (self.storage_url is None or self.storage_url.startswith("journal:"))
        if self.early:
            preflight(self.uri)
        else:
            self.client = connect(self.uri)

    def open_study(self) -> None:
        """Create or resume the study (same directions, same data), record its data and
        settings, enqueue the baselines of a new one, and claim this invocation's number."""
        import optuna

        exp, settings, study_name = self.exp, self.settings, self.study_name
        optuna.logging.set_verbosity(optuna.logging.ERROR)
        try:
            existing = optuna.load_study(study_name=study_name, storage=self.storage)
        except KeyError:
            existing = None
        where = self.storage_url or default_storage_url()
        notice(f"data: {data_summary(self.splits)}")
        notice(f"stores: Optuna {shown_storage(where)}, MLflow {mask_url(self.uri)}")
        if existing is None:
            self._announce_new(where)
        elif [d.name.lower() for d in existing.directions] != exp.directions:
            raise NnexpError(
                f"study {study_name!r} already exists in the storage with directions "
                f"{[d.name.lower() for d in existing.directions]}, but {exp.path} now asks for "
                f"{exp.directions}. Use another --study-name (or study.name) for the new "
                "objective.")
        # this process neither samples nor prunes (its workers do, with the experiment's
        # sampler and pruner): a sampler that imports nothing more
        study = self.study = optuna.create_study(
            storage=self.storage, study_name=study_name, directions=exp.directions,
            load_if_exists=True, sampler=optuna.samplers.RandomSampler(),
            pruner=optuna.pruners.NopPruner())
        name_metrics(study, [metric for metric, _ in exp.objective])
        self.resumed = existing is not None and len(study.trials) > 0
        self.data_change = check_same_data(study, self.splits, self.resumed,
                                           self.options.accept_data_change)
        self.warm_started = self._warm_start(study)
        self.first_number = len(study.trials)
        study.set_user_attr(DATA_ATTR, data_record(self.splits))
        study.set_user_attr("heartbeat_seconds", settings.heartbeat_seconds)  # nnexp doctor
        study.set_user_attr("retries", settings.retries)
        if not self.resumed:
            study.set_user_attr("experiment_file", str(exp.path))
            study.set_user_attr("seed", self.seed)
            for point in exp.baselines:
                study.enqueue_trial(point, skip_if_exists=True)
        self.n_trials, self.timeout = settings.budget(self.options.n_trials,
                                                      self.options.timeout)
        key = invocations.new_key()
        self.ctx = StudyContext(
            experiment=exp, splits=self.splits, study_name=study_name,
            storage_url=self.storage_url, tracking_uri=self.uri, mlflow_experiment_id=None,
            mlflow_experiment_name=exp.tracking.experiment_name or exp.name,
            parent_run_id=None, sampler=settings.sampler, pruner=settings.pruner,
            pruner_options=settings.pruner_options, study_seed=self.seed,
            blas_threads=workers.blas_threads(self.jobs),
            git_commit=git_commit(Path(exp.path).resolve()),
            invocation=invocations.claim(study, key), key=key,
            outbox=None if self.options.dask else str(self.outbox_root / key))
        self.progress = Progress(self.first_number, self.n_trials, self.timeout,
                                 exp.directions, self.options.quiet)

    def _warm_start(self, study) -> dict | None:
        """Carry over the finished trials of the earlier study named by ``--warm-start`` or
        the experiment's ``warm_start`` (once per study: ``nnexp.study.warm_start``); returns
        what the parent run records, or None."""
        import optuna

        name = self.options.warm_start or self.exp.warm_start
        if not name or study.user_attrs.get(warm_start.STUDY_ATTR):
            return None
        try:
            source = optuna.load_study(study_name=name, storage=self.storage)
        except KeyError:
            where = mask_url(self.storage_url or default_storage_url())
            raise NnexpError(
                f"warm start: no study {name!r} in {where}; nnexp studies lists them. Fix "
                "--warm-start or the experiment's warm_start.") from None
        carried = warm_start.carry_over(study, source, self.exp, self.splits.fingerprint)
        notice(f"warm start: {carried} finished trial(s) of study {name!r} carried over")
        return {"warm_start_from": name, "warm_start_trials": carried}

    def _announce_new(self, where: str) -> None:
        notice(f"new study {self.study_name!r} in {mask_url(where)}")
        elsewhere = study_elsewhere(self.study_name, self.exp.path, where)
        if elsewhere is not None:
            warn(f"a study {self.study_name!r} already exists in {elsewhere} (beside the "
                 f"experiment file), not in the storage used here; to resume it instead, "
                 f"press Ctrl-C and run from {elsewhere.parent.parent} or add --storage "
                 f"journal:{elsewhere} --tracking-uri "
                 f"sqlite:///{elsewhere.parent / 'mlflow.db'}")

    def start(self, pool) -> None:
        """Start the local workers first when MLflow's store is a local file (a Ctrl-C
        meanwhile is seen by ``pool.wait``, once the parent run exists), then open MLflow's
        store, close what dead processes left open and open the parent run."""
        from nnexp.stores.tracking_store import connect

        if self.early:
            pool.start()
            self.client = connect(self.uri)
        settings = self.settings
        recovered = recover(self.outbox_root, self.client, self._experiment_of, checkpoint)
        if recovered:
            notice(f"recorded {recovered} MLflow run(s) that a process which died had kept in "
                   f"its outbox ({self.outbox_root})")
        parent, experiment_id = _open_parent(self.client, self.uri, self.study, self.ctx,
                                             self.resumed, {
            "sampler": settings.sampler, "pruner": settings.pruner, "study_seed": self.seed,
            **{f"pruner.{k}": v for k, v in settings.pruner_options.items()},
            "n_trials": self.n_trials, "timeout": self.timeout, "jobs": self.jobs,
            "objective": [f"{m}:{d}" for m, d in self.exp.objective],
            "tie_break": f"{TIE_BREAK} (lower first)",
            "dataset": self.exp.dataset.describe(),
            **({"data_change_accepted": self.data_change} if self.data_change else {}),
            **(self.warm_started or {})},
            self.splits)
        self.parent = parent
        self.ctx = replace(self.ctx, mlflow_experiment_id=experiment_id,
                           parent_run_id=parent.run_id)
        if self.resumed and not self.options.quiet:
            self.progress.remember(self.study.get_trials(deepcopy=False))  # the best so far

    def wait(self, pool, outcome: _Outcome) -> None:
        """Wait for the trials: local workers (started, and told the parent run), or Dask
        tasks started here. Sets ``outcome``; a lost store is raised after it is noted."""
        try:
            if pool is None:
                from nnexp.execution.dask_workers import run_dask

                run_dask(self.options.dask, self.ctx, self.n_trials, self.jobs, self.timeout,
                         self.study, self.progress, self.first_number, run_worker)
            else:
                pool.start()  # unless it started before the tracking store was opened
                pool.attach(self.client, self.ctx.mlflow_experiment_id, self.parent.run_id,
                            self.settings.outage_seconds, self.uri)
                pool.wait(self.study, self.progress)
            outcome.failed = False
        except KeyboardInterrupt:
            outcome.interrupted, outcome.failed = True, False
        except StoreOutage as err:
            outcome.fatal = err
            raise
        except Exception as err:
            if not caused_by_interrupt(err):  # a Ctrl-C inside an import, say
                raise
            outcome.interrupted, outcome.failed = True, False

    def summarise(self, plotter, outcome: _Outcome) -> tuple[dict, int, str | None]:
        """Summarise the study into the parent run (the best model is registered under the
        study's name) and end it with the status of the exit code; every failure here is a
        warning line. A store lost is not asked again: its one message says it all (a lost
        tracking store leaves the parent run to the next invocation or ``nnexp doctor``).
        Ctrl-C or SIGTERM during the summary (the table, the plots, the registration) ends it
        at its next step (the wait for the plots included; a second one at once): the trial
        runs left running and the parent run are still closed (KILLED, exit code 130), and
        the next invocation summarises the study. After an interruption
        the workers' writes not yet performed stay in the outbox for the next invocation, and
        the best model is not registered before they are.
        Returns (summary info, exit code, failure text)."""
        steps = _Steps(outcome)
        if outcome.fatal is not None:
            self._close_after_outage(outcome.fatal)
            return steps.info, 2, None
        closed, failure = False, None
        try:
            mine = self._read_trials(steps)
            self._close_records(steps)
            closed = True
            failure = self._summarise_study(steps, plotter, mine)
        except KeyboardInterrupt:
            outcome.interrupted = True
            steps.warn("interrupted: the study summary is incomplete (the next invocation "
                       "summarises the study)")
        if not closed:
            steps.closing("close the trial runs left running", lambda: self._close_runs(steps))
        if outcome.interrupted:
            failure = None
        code = 130 if outcome.interrupted else 2 if outcome.failed else 1 if failure else 0
        parent = self.parent
        steps.closing("record the exit code",
                      lambda: parent.tags({TAG_PREFIX + "exit_code": code}))
        steps.closing(f"end the parent run {parent.run_id}",
                      lambda: parent.end(PARENT_STATUS[code]))
        return steps.info, code, failure

    def _read_trials(self, steps: _Steps) -> list:
        """Fail the trials of workers that died, read the study (its counts are said even if
        the summary is interrupted) and close the progress display; returns this
        invocation's trials."""
        from nnexp.tracking.summary import state_counts

        study = self.study
        steps.attempt("fail the trials of workers that died", lambda: doctor.examine_trials(
            study, True, self.client, [self.ctx.mlflow_experiment_id]))
        trials = steps.attempt("read the study's trials",
                               lambda: study.get_trials(deepcopy=False)) or []
        steps.info["counts"] = state_counts(trials)
        mine = [t for t in trials if t.number >= self.first_number
                and t.user_attrs.get("invocation") == self.ctx.key]
        steps.info["new_trials"] = len(mine)
        if not self.progress.quiet:
            steps.attempt("show the progress",
                          lambda: (self.progress.update(trials), self.progress.close()))
        steps.by_number.update((t.number, t) for t in trials)
        return mine

    def _close_records(self, steps: _Steps) -> None:
        """Perform what dead processes kept in their outboxes (Dask: make the runs of tasks
        that died), then close the trial runs left running (not after an interruption: the
        next invocation does)."""
        client = self.client
        if not steps.outcome.interrupted:
            steps.attempt("perform the MLflow records left by processes that died",
                          lambda: recover(self.outbox_root, client, self._experiment_of,
                                          checkpoint))
            if self.options.dask:  # a task killed before its writes: no outbox there
                steps.attempt("record the trials whose Dask task died",
                              lambda: doctor.examine_missing_runs(self.study, client, True,
                                                                  self.ctx.key))
        steps.attempt("close the trial runs left running", lambda: self._close_runs(steps))

    def _close_runs(self, steps: _Steps) -> None:
        close_dangling_runs(self.client, self.ctx.mlflow_experiment_id, self.parent.run_id,
                            lambda n: doctor.outcome(steps.by_number.get(n)))

    def _summarise_study(self, steps: _Steps, plotter, mine: list) -> str | None:
        """The trials table, plots and registered best model in the parent run (the model
        waits while the workers' writes kept in their outbox are not performed); returns the
        failure text of a run none of whose trials completed."""
        from nnexp.tracking.summary import summarize

        study, client, experiment_id = self.study, self.client, self.ctx.mlflow_experiment_id
        kept = self.ctx.outbox is not None and Path(self.ctx.outbox).is_dir()
        if kept:  # the best trial's model may be among them
            notice("the best model is registered once the workers' MLflow writes kept in "
                   f"{self.ctx.outbox} are performed (by the next invocation)")
        summary = steps.attempt("summarise the study", lambda: summarize(
            study, self.parent, experiment_id, study.study_name, _example(self.splits),
            _python_model(), self.metrics, plotter, None if kept else register_best,
            stop=signalled))
        if summary:
            steps.info.update({**summary, "warnings": steps.info["warnings"]
                               + summary["warnings"]})
        if steps.outcome.interrupted or steps.outcome.failed:
            return None
        return failure_summary(mine, lambda number: _run_id(client, experiment_id, study,
                                                            number))

    def _close_after_outage(self, fatal: StoreOutage) -> None:
        """Optuna's storage lost: the MLflow side still works, so close what is open there.
        (MLflow's store lost: nothing more is asked of it.)"""
        if fatal.store in ("storage", "outbox") and self.parent is not None:
            reason = first_line(fatal)[:5000]
            _quietly(lambda: close_dangling_runs(
                self.client, self.ctx.mlflow_experiment_id, self.parent.run_id,
                lambda number: ("FAILED", {TAG_PREFIX + "state": TrialState.FAILED.value,
                                           TAG_PREFIX + "reason": reason})))
            self.parent.tags({TAG_PREFIX + "exit_code": 2, TAG_PREFIX + "reason": reason})
            _quietly(lambda: self.parent.end(PARENT_STATUS[2]))
        if not self.progress.quiet:
            _quietly(self.progress.close)

    def result(self, info: dict, code: int, failure: str | None,
               interrupted: bool) -> SearchResult:
        """What the command displays."""
        exp, uri = self.exp, self.uri
        best = info["best"] if len(exp.directions) > 1 else best_trials(self.study, 5)
        return SearchResult(
            study_name=self.study_name, storage_url=mask_url(self.storage_url or "embedded"),
            tracking_uri=mask_url(uri), parent_run_id=self.parent.run_id,
            resumed=self.resumed, interrupted=interrupted, new_trials=info["new_trials"],
            counts=info["counts"], best=best, directions=exp.directions,
            metrics=self.metrics, model_uri=info["model_uri"], exit_code=code,
            failure=failure, warnings=info["warnings"], model_new=info["model_new"],
            model_trial=info["model_trial"],
            predict_command=predict_command(self.study_name, uri) if info["model_uri"]
            else None, storage=self.storage_url, tracking=uri)


def _open_parent(client, uri: str, study, ctx: StudyContext, resumed: bool,
                 params: dict[str, Any], splits):
    """The MLflow side of an invocation's start: its experiment, what a dead process left
    open (closed) and its parent run (named ``<study> #<invocation>``). Returns (parent
    ``RunLogger``, experiment id)."""
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
