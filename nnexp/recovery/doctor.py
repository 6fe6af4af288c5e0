"""Records left open by a process that died: find them, and close them with what happened.

A process killed with SIGKILL (or a machine that lost power) cannot close what it was
recording. Afterwards the Optuna trial it ran is still RUNNING, and so are the trial's MLflow
run and its invocation's parent run. ``examine`` finds them and, with ``fix``, closes them:

- an Optuna trial RUNNING whose worker is gone (``nnexp.recovery.workers.alive`` is False: same
  host, the pid is absent or has another start time) or, on RDB storage, whose heartbeat is
  stale: FAIL, with user attributes ``state`` = interrupted and ``reason`` (``DIED`` or
  ``STALE``). When the storage retries stale trials (``study.retries``), a retry is queued, as
  Optuna's own heartbeat check would. A dead worker's trial whose MLflow run was ended with
  its outcome (the worker died after its record was kept, before Optuna was told) gets that
  outcome instead: complete with the values its run recorded, pruned, failed;
- an MLflow parent run RUNNING whose invocation process is gone (tags ``nnexp.host``,
  ``nnexp.pid``, ``nnexp.pid_start``): KILLED, tag ``nnexp.reason`` = ``INVOCATION_DIED``;
- an MLflow trial run RUNNING whose trial is over and whose worker or invocation is gone (or
  whose trial was failed above): ended with the status of the trial's outcome (KILLED /
  interrupted with the trial's reason when it did not finish).

- an outbox folder (``nnexp.tracking.outbox``) whose invocation's processes are gone: the
  MLflow records its workers kept and nobody wrote; written, exactly once;
- a trial that is over in Optuna (complete, pruned, failed) and has no MLflow run: a run made
  from the Optuna trial itself (its configuration, parameters, value, state and reason),
  nested under its invocation's parent run and tagged ``nnexp.recovered = optuna``.

A trial or run of another host is left alone (this machine cannot tell whether it lives)
unless its heartbeat is stale. Used by ``nnexp search`` before it starts (its orphan check)
and by ``nnexp doctor``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nnexp.recovery import workers
from nnexp.tracking.runs import TAG_PREFIX, close_run, tag_is, trial_filter
from nnexp.tracking.states import TrialState

DIED = "worker process died (SIGKILL?)"
STALE = "stale heartbeat: the worker stopped sending signs of life"
INVOCATION_DIED = "invocation process died (SIGKILL?)"
CLEANUP_REASONS = (DIED, STALE)


@dataclass
class Problem:
    """One inconsistent record: what it is, and whether it was fixed."""

    what: str
    fixed: bool = False

    def __str__(self) -> str:
        return ("fixed: " if self.fixed else "found: ") + self.what


def fail_trial(study, trial, reason: str, retry: bool = True,
               state: str = TrialState.INTERRUPTED.value) -> bool:
    """Mark RUNNING ``trial`` FAIL with state interrupted and ``reason``; queue a retry when
    the storage has a stale-trial callback (``retry``). False if another process ended it
    first."""
    import copy

    import optuna

    from nnexp.library_internals import heartbeat_enabled, storage_of, trial_id

    storage, ident = storage_of(study), trial_id(trial)
    try:
        storage.set_trial_user_attr(ident, "state", state)
        storage.set_trial_user_attr(ident, "reason", reason)
        if not storage.set_trial_state_values(ident, optuna.trial.TrialState.FAIL):
            return False
    except optuna.exceptions.UpdateFinishedTrialError:
        return False
    callback = storage.get_heartbeat_stale_trial_callback() \
        if retry and heartbeat_enabled(storage) else None
    if callback is not None:
        callback(study, copy.deepcopy(trial))
    return True


def examine_trials(study, fix: bool, client=None, experiment_ids: list[str] | None = None
                   ) -> list[Problem]:
    """Optuna's side: RUNNING trials without a live worker or heartbeat (see the module
    docstring). With ``client``, a trial whose MLflow run was closed with an outcome (the
    worker recorded it there but could not reach the Optuna storage) gets that outcome."""
    import optuna

    from nnexp.library_internals import stale_trial_ids, trial_id

    problems = []
    stale = stale_trial_ids(study)
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        worker = t.user_attrs.get("worker")
        if workers.alive(worker) is False:
            reason = DIED
        elif trial_id(t) in stale:
            reason = STALE
        else:
            continue
        what = f"trial {t.number} of study {study.study_name!r} is RUNNING but " + \
            (f"its worker {worker} is gone" if reason == DIED else "its heartbeat is stale")
        state, values = TrialState.INTERRUPTED.value, None
        recorded = _recorded_outcome(study, t.number, client, experiment_ids) \
            if reason == DIED and client is not None and experiment_ids else None
        if recorded is not None:
            state, reason, values = recorded
        if state in (TrialState.COMPLETE.value, TrialState.PRUNED.value):
            fixed = fix and _end_as_recorded(study, t, state, reason, values)
            problems.append(Problem(what + (f"; now {state.upper()}, as its MLflow run "
                                            "recorded" if fixed else ""), fixed))
            continue
        fixed = fix and fail_trial(study, t, reason, state=state)
        problems.append(Problem(what + ("; now FAIL (interrupted)" if fixed else ""), fixed))
    return problems


def _recorded_outcome(study, number: int, client, experiment_ids: list[str]
                      ) -> tuple[str, str, list[float] | None] | None:
    """(state, reason, objective values) of trial ``number``'s MLflow run when it was ended
    with an outcome: a failure with its reason, pruned, or complete with every objective
    value (``objective``, or ``objective_<i>`` for several)."""
    try:
        found = client.search_runs(experiment_ids, max_results=1,
                                   filter_string=trial_filter(study.study_name, number))
    except Exception:  # noqa: BLE001 - only a better reason; the default one stands
        return None
    if not found or found[0].info.status == "RUNNING":
        return None
    tags, metrics = found[0].data.tags, found[0].data.metrics
    state, reason = tags.get(TAG_PREFIX + "state"), tags.get(TAG_PREFIX + "reason")
    if state in (TrialState.FAILED.value, TrialState.INTERRUPTED.value) and reason:
        return state, reason, None
    if state == TrialState.PRUNED.value and found[0].info.status == "FINISHED":
        return state, reason or "", None
    keys = ["objective"] if len(study.directions) == 1 else \
        [f"objective_{i}" for i in range(len(study.directions))]
    if state == TrialState.COMPLETE.value and found[0].info.status == "FINISHED" and \
            all(k in metrics for k in keys):
        return state, "", [metrics[k] for k in keys]
    return None


def _end_as_recorded(study, trial, state: str, reason: str, values: list[float] | None
                     ) -> bool:
    """End RUNNING ``trial`` as its MLflow run recorded it: COMPLETE with ``values``, or
    PRUNED (valued by its last report, as Optuna does). False if another process ended it
    first."""
    import optuna

    from nnexp.library_internals import storage_of, trial_id

    storage, ident = storage_of(study), trial_id(trial)
    try:
        if state == TrialState.COMPLETE.value:
            return storage.set_trial_state_values(ident, optuna.trial.TrialState.COMPLETE,
                                                  values)
        storage.set_trial_user_attr(ident, "state", state)
        if reason:
            storage.set_trial_user_attr(ident, "reason", reason)
        last = trial.last_step
        return storage.set_trial_state_values(
            ident, optuna.trial.TrialState.PRUNED,
            [trial.intermediate_values[last]] if last is not None and len(study.directions) == 1
            else None)
    except optuna.exceptions.UpdateFinishedTrialError:
        return False


def examine_runs(study, client, experiment_ids: list[str], fix: bool) -> list[Problem]:
    """MLflow's side: parent and trial runs RUNNING whose invocation or trial is over (see
    the module docstring)."""
    from nnexp.stores.queries import search_all

    running = search_all(client, experiment_ids, f"{tag_is('study', study.study_name)} and "
                                                 "attributes.status = 'RUNNING'")
    problems = []
    over: set[str] = set()  # parent runs whose invocation is over
    for run in running:
        tags = run.data.tags
        if tags.get(TAG_PREFIX + "role") != "parent":
            continue
        if workers.alive(workers.from_tags(tags, TAG_PREFIX)) is not False:
            continue
        over.add(run.info.run_id)
        what = f"parent run {run.info.run_id} ({run.info.run_name}) is RUNNING but its " \
               f"invocation process {tags.get(TAG_PREFIX + 'pid')} is gone"
        if fix:
            close_run(client, run.info.run_id, "KILLED", {TAG_PREFIX + "reason": INVOCATION_DIED,
                                                          TAG_PREFIX + "exit_code": "killed"})
        problems.append(Problem(what + ("; now KILLED" if fix else ""), fix))
    trials = {t.number: t for t in study.get_trials(deepcopy=False)}
    parents: dict[str, bool] = {}
    for run in running:
        tags = run.data.tags
        number = tags.get(TAG_PREFIX + "trial_number", "")
        if tags.get(TAG_PREFIX + "role") == "parent" or not number.isdigit():
            continue
        trial = trials.get(int(number))
        ended = _invocation_over(client, tags.get("mlflow.parentRunId"), over, parents)
        worker_gone = trial is not None and workers.alive(trial.user_attrs.get("worker")) is False
        trial_over = trial is None or trial.state.is_finished()
        cleaned = trial is not None and trial.user_attrs.get("reason") in CLEANUP_REASONS \
            and trial.user_attrs.get("state") == TrialState.INTERRUPTED.value
        if not (trial_over or worker_gone) or not (ended or worker_gone or cleaned):
            continue
        status, close_tags = outcome(trial)
        what = f"trial run {run.info.run_id} (trial {number}) is RUNNING but " + \
            ("its trial is over" if trial_over else "its worker is gone")
        if fix:
            close_run(client, run.info.run_id, status, close_tags)
        problems.append(Problem(what + (f"; now {status}" if fix else ""), fix))
    return problems


def _invocation_over(client, parent_id: str | None, over: set[str],
                     cache: dict[str, bool]) -> bool:
    """Whether the invocation of parent run ``parent_id`` has ended (its run is not RUNNING, or
    its process is gone)."""
    if not parent_id:
        return True
    if parent_id in over:
        return True
    if parent_id not in cache:
        try:
            parent = client.get_run(parent_id)
        except Exception:  # noqa: BLE001 - a deleted parent: its invocation is over
            cache[parent_id] = True
        else:
            cache[parent_id] = parent.info.status != "RUNNING" or workers.alive(
                workers.from_tags(parent.data.tags, TAG_PREFIX)) is False
    return cache[parent_id]


def outcome(trial) -> tuple[str, dict[str, str]]:
    """The MLflow status and tags that close the run of ``trial`` (None: no such trial)."""
    state = trial.user_attrs.get("state") if trial is not None else None
    reason = (trial.user_attrs.get("reason") if trial is not None else None) or DIED
    if trial is not None and trial.state.name == "COMPLETE":
        state = TrialState.COMPLETE.value
    if state in {s.value for s in TrialState} and state != TrialState.RUNNING.value:
        tags = {TAG_PREFIX + "state": state}
        if state != TrialState.COMPLETE.value and trial.user_attrs.get("reason"):
            tags[TAG_PREFIX + "reason"] = reason[:5000]
        return TrialState(state).status, tags
    return "KILLED", {TAG_PREFIX + "state": TrialState.INTERRUPTED.value,
                      TAG_PREFIX + "reason": reason[:5000]}


def examine(study, client, experiment_ids: list[str] | None, fix: bool) -> list[Problem]:
    """Both stores of ``study`` (see the module docstring); ``experiment_ids`` None: every
    MLflow experiment; ``client`` None: Optuna's side only."""
    if client is not None and experiment_ids is None:
        from nnexp.stores.queries import _all_experiment_ids

        experiment_ids = _all_experiment_ids(client)
    problems = examine_trials(study, fix, client, experiment_ids)
    if client is not None:
        if experiment_ids:
            problems += examine_runs(study, client, experiment_ids, fix)
    return problems


def examine_outboxes(root: Path, client, fix: bool) -> list[Problem]:
    """Outbox folders under ``root`` left by invocations whose processes are gone: each a
    problem; with ``fix`` (and a tracking store) their records are written."""
    from nnexp.tracking.outbox import SUFFIX, pending, read_records, recover

    found = []
    for directory in pending(root):
        records = sum(len(read_records(p)) for p in directory.glob(f"*{SUFFIX}"))
        found.append(f"outbox {directory}: {records} MLflow write(s) kept by an invocation "
                     "whose processes died")
    if not found or not fix or client is None:
        return [Problem(what) for what in found]
    from nnexp.stores.tracking_store import checkpoint, ensure_experiment

    written = recover(root, client,
                      lambda name: ensure_experiment(client, name, client.tracking_uri),
                      checkpoint)
    return [Problem(what + f"; written ({written} run(s))", True) for what in found]


def examine_missing_runs(study, client, fix: bool, ended: str | None = None
                         ) -> list[Problem]:
    """Trials over in Optuna (complete, pruned, failed) with no MLflow run; with ``fix`` a
    run is made from each Optuna trial (see the module docstring). The trials of a live
    invocation are left to it, except those of invocation ``ended`` (its key: an invocation
    whose workers have all ended, checking its own trials)."""
    from nnexp.stores.queries import study_runs

    runs = study_runs(client, study.study_name)
    live = {p.data.tags.get(TAG_PREFIX + "invocation_key") for p in runs.parents
            if p.info.status == "RUNNING"
            and workers.alive(workers.from_tags(p.data.tags, TAG_PREFIX)) is not False}
    live.discard(ended)
    missing = [t for t in study.get_trials(deepcopy=False)  # a live invocation's: on their way
               if t.state.is_finished() and t.number not in runs.trials
               and t.user_attrs.get("invocation") not in live
               and not t.user_attrs.get("warm_start_from")]  # its run is its own study's
    if not missing:
        return []
    numbers = ", ".join(str(t.number) for t in missing[:10]) + \
        (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
    what = (f"study {study.study_name!r}: {len(missing)} trial(s) over in Optuna have no "
            f"MLflow run (trials {numbers})")
    if not fix:
        return [Problem(what)]
    experiment_id = runs.experiment_id or _experiment_of(client, study)
    parents = {p.data.tags.get(TAG_PREFIX + "invocation_key"): p.info.run_id
               for p in runs.parents}
    for trial in missing:
        _run_from_trial(client, experiment_id, study, trial,
                        parents.get(trial.user_attrs.get("invocation")))
    return [Problem(what + "; made from the Optuna trials (tag nnexp.recovered = optuna)",
                    True)]


def _experiment_of(client, study) -> str:
    """The MLflow experiment of a study none of whose runs exist: named after its experiment
    file's name (the study's name when that cannot be read)."""
    name = study.study_name
    path = study.user_attrs.get("experiment_file")
    if path and Path(path).is_file():
        try:
            from nnexp.config import load_experiment

            exp = load_experiment(path)
            name = exp.tracking.experiment_name or exp.name
        except Exception:  # noqa: BLE001 - the study's own name will do
            pass
    from nnexp.stores.tracking_store import ensure_experiment

    return ensure_experiment(client, name, client.tracking_uri)


def _run_from_trial(client, experiment_id: str, study, trial, parent_run_id: str | None
                    ) -> None:
    """An MLflow run recording what Optuna knows of ``trial``."""
    from nnexp.tracking.runs import RunLogger

    state = trial.user_attrs.get("state") or (
        TrialState.COMPLETE.value if trial.state.name == "COMPLETE" else
        TrialState.PRUNED.value if trial.state.name == "PRUNED" else TrialState.FAILED.value)
    tags = {TAG_PREFIX + "study": study.study_name, TAG_PREFIX + "trial_number": trial.number,
            TAG_PREFIX + "state": state, TAG_PREFIX + "recovered": "optuna",
            **({TAG_PREFIX + "reason": str(trial.user_attrs["reason"])[:5000]}
               if trial.user_attrs.get("reason") else {}),
            **({TAG_PREFIX + "seed": trial.user_attrs["seed"]}
               if "seed" in trial.user_attrs else {})}
    run = RunLogger.start(client, experiment_id, f"trial-{trial.number}", tags,
                          parent_run_id=parent_run_id)
    run.params(trial.user_attrs.get("config") or {})
    run.params({f"sampled.{k}": v for k, v in trial.params.items()})
    if trial.state.name == "COMPLETE" and trial.values:
        run.metrics({f"objective_{i}" if len(trial.values) > 1 else "objective": v
                     for i, v in enumerate(trial.values)})
    try:
        status = TrialState(state).status
    except ValueError:  # a state this version does not know
        status = "FAILED"
    run.end(status)


def repair_journal(url: str | None, fix: bool) -> list[Problem]:
    """A journal whose last record is torn (a process killed mid-write, a power cut): found,
    and with ``fix`` cut off after a backup copy (``nnexp.stores.study_storage.repair_journal``)."""
    from nnexp.stores.study_storage import DEFAULT_JOURNAL, torn_tail
    from nnexp.stores.study_storage import repair_journal as repair

    if url is None:
        path = DEFAULT_JOURNAL.resolve()
    elif url.startswith("journal:"):
        path = Path(url[len("journal:"):]).expanduser()
    else:
        return []
    if not path.is_file() or torn_tail(path) is None:
        return []
    if not fix:
        return [Problem(f"journal {path}: its last record is torn (a write that never "
                        "finished); --fix cuts it off after a backup copy, then checks the "
                        "trials and runs", False)]
    message = repair(path)
    return [Problem(f"journal {path}: {message}", True)] if message else []


def open_study(name: str, storage_url: str | None):
    """Study ``name`` with its storage configured as its invocations run it: on RDB storage
    the heartbeat and retries they recorded (study user attributes ``heartbeat_seconds``,
    ``retries``), so stale trials are found and retried alike."""
    import optuna

    from nnexp.stores.queries import open_existing_storage
    from nnexp.stores.study_storage import use_heartbeat

    storage = open_existing_storage(storage_url)
    study = optuna.load_study(study_name=name, storage=storage)
    if isinstance(storage, optuna.storages.RDBStorage):
        attrs = study.user_attrs
        if attrs.get("heartbeat_seconds"):
            use_heartbeat(storage, int(attrs["heartbeat_seconds"]), attrs.get("retries") or 0)
    return study


def run_doctor(study_name: str | None, storage_url: str | None, tracking_uri: str | None,
               fix: bool) -> list[Problem]:
    """``nnexp doctor``: every problem of study ``study_name`` (None: every study of the
    storage) in both stores, fixed when ``fix``."""
    import optuna

    from nnexp.stores.queries import load_study, open_existing_storage, study_names
    from nnexp.stores.tracking_store import quiet_mlflow

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    quiet_mlflow()
    problems = repair_journal(storage_url, fix)
    if problems and not fix:  # opening a torn journal repairs it: report, and change nothing
        return problems
    if study_name is not None:
        load_study(study_name, storage_url)  # an unknown name: NnexpError listing the known
        names = [study_name]
    else:
        names = study_names(open_existing_storage(storage_url))
    from nnexp.stores.queries import tracking_client
    from nnexp.stores.tracking_store import resolve_tracking_uri
    from nnexp.tracking.outbox import outbox_root

    client = tracking_client(tracking_uri)
    problems += examine_outboxes(outbox_root(resolve_tracking_uri(tracking_uri)),
                                 client, fix)
    for name in names:
        study = open_study(name, storage_url)
        problems += examine(study, client, None, fix)
        if client is not None:
            problems += examine_missing_runs(study, client, fix)
    return problems
