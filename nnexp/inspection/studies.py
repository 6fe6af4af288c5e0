"""``nnexp studies`` and ``nnexp show``: what studies a storage holds, and one study in detail
(its best trial or Pareto front, their parameters and final metrics, counts by state,
parameter importances and the MLflow runs with their UI links)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from nnexp.stores.queries import (
    DEFAULT_UI_URL,
    ROLE_PARENT,
    StudyRuns,
    _all_experiment_ids,
    experiment_url,
    load_study,
    objective_metrics,
    open_existing_storage,
    run_url,
    search_all,
    study_names,
    study_runs,
    tracking_client,
)

MIN_TRIALS_FOR_IMPORTANCE = 3
"""Complete trials needed before parameter importances mean anything (PED-ANOVA compares a
top quantile with the rest)."""


@dataclass
class StudyInfo:
    """One line of ``nnexp studies``."""

    name: str
    directions: list[str]
    metrics: list[str]
    counts: dict[str, int]
    best: list[float] | None  # the best value (one objective); None for several or none yet
    pareto_size: int | None  # several objectives: trials on the Pareto front
    last_activity: datetime | None
    experiment_file: str | None
    mlflow_experiment: str | None

    @property
    def n_trials(self) -> int:
        return sum(self.counts.values())


def _last_activity(trials) -> datetime | None:
    times = [t.datetime_complete or t.datetime_start for t in trials]
    times = [t for t in times if t is not None]
    return max(times) if times else None


def list_studies(storage_url: str | None = None, tracking_uri: str | None = None
                 ) -> list[StudyInfo]:
    """Every study in the storage, by name. MLflow experiments are read with one query for
    the parent runs; without a tracking store they are left None."""
    import optuna

    from nnexp.tracking.runs import TAG_PREFIX
    from nnexp.tracking.summary import best_trials, state_counts

    storage = open_existing_storage(storage_url)
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    parents: dict[str, Any] = {}
    client = tracking_client(tracking_uri)
    if client is not None:
        ids = _all_experiment_ids(client)
        for run in (search_all(client, ids, f"tags.`{TAG_PREFIX}role` = '{ROLE_PARENT}'")
                    if ids else []):
            parents.setdefault(run.data.tags.get(TAG_PREFIX + "study"), run)  # newest
        names_of = {i: client.get_experiment(i).name
                    for i in {r.info.experiment_id for r in parents.values()}}
    out = []
    for name in sorted(study_names(storage)):
        study = optuna.load_study(study_name=name, storage=storage)
        trials = study.get_trials(deepcopy=False)
        parent = parents.get(name)
        metrics = objective_metrics(study, StudyRuns(parents=[parent] if parent else []))
        best = best_trials(study)
        single = len(study.directions) == 1
        out.append(StudyInfo(
            name=name, directions=[d.name.lower() for d in study.directions], metrics=metrics,
            counts=state_counts(trials), best=list(best[0].values) if best and single else None,
            pareto_size=None if single else len(best), last_activity=_last_activity(trials),
            experiment_file=study.user_attrs.get("experiment_file"),
            mlflow_experiment=names_of[parent.info.experiment_id] if parent else None))
    return out


@dataclass
class BestTrial:
    number: int
    values: list[float]
    params: dict[str, Any]
    metrics: dict[str, float]  # final_dev_*, test_* from its MLflow run
    run_id: str | None
    url: str | None


@dataclass
class StudyReport:
    """Everything ``nnexp show`` prints about one study."""

    name: str
    directions: list[str]
    metrics: list[str]
    counts: dict[str, int]
    best: list[BestTrial]
    importances: dict[str, float]
    importance_note: str | None
    experiment_id: str | None
    experiment_name: str | None
    experiment_url: str | None
    parent_runs: list[tuple[str, str, str | None]] = field(default_factory=list)
    # (run name, run id, UI link) of each search invocation, oldest first
    experiment_file: str | None = None
    storage: str | None = None
    """The Optuna storage as nnexp prints it (``shown_storage``: a journal also as the bare
    path that ``optuna --storage`` and optuna-dashboard take)."""


def final_metrics_of(run) -> dict[str, float]:
    """The final dev and test metrics of a trial run (``final_dev_*``, ``test_*``)."""
    if run is None:
        return {}
    return {k: v for k, v in sorted(run.data.metrics.items())
            if k.startswith(("final_dev_", "test_"))}


def importances(study) -> tuple[dict[str, float], str | None]:
    """Parameter importances (Optuna's default evaluator, PED-ANOVA; for several objectives
    the importance of reaching the Pareto front), or ({}, why) when there are too few complete
    trials or the evaluator cannot rank them."""
    import optuna
    from optuna.importance import PedAnovaImportanceEvaluator, get_param_importances

    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if len(complete) < MIN_TRIALS_FOR_IMPORTANCE:
        return {}, (f"parameter importances need at least {MIN_TRIALS_FOR_IMPORTANCE} complete "
                    f"trials ({len(complete)} so far); run more trials")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            found = get_param_importances(study, evaluator=PedAnovaImportanceEvaluator())
        except (ValueError, RuntimeError, ZeroDivisionError) as err:
            return {}, f"parameter importances could not be computed: {err}"
    equal = [w for w in caught if "equal" in str(w.message).lower()]
    note = "the trials do not separate the parameters yet: importances are equal" \
        if equal else None
    return dict(found), note


def show_study(name: str, storage_url: str | None = None, tracking_uri: str | None = None,
               ui_url: str = DEFAULT_UI_URL) -> StudyReport:
    """The report of study ``name`` (see ``StudyReport``); MLflow parts are empty when no
    tracking store exists."""
    from nnexp.stores.study_storage import default_storage_url, shown_storage
    from nnexp.tracking.summary import best_trials, state_counts

    study = load_study(name, storage_url)
    client = tracking_client(tracking_uri)
    runs = study_runs(client, name)
    exp_id = runs.experiment_id
    best = []
    for t in best_trials(study):
        run = runs.trials.get(t.number)
        run_id = run.info.run_id if run is not None else None
        best.append(BestTrial(t.number, list(t.values), dict(t.params), final_metrics_of(run),
                              run_id, run_url(ui_url, exp_id, run_id) if run_id else None))
    scores, note = importances(study)
    parents = [(p.info.run_name, p.info.run_id, run_url(ui_url, exp_id, p.info.run_id))
               for p in reversed(runs.parents)]
    return StudyReport(
        name=name, directions=[d.name.lower() for d in study.directions],
        metrics=objective_metrics(study, runs), counts=state_counts(study.get_trials(
            deepcopy=False)), best=best, importances=scores, importance_note=note,
        experiment_id=exp_id, experiment_name=runs.experiment_name,
        experiment_url=experiment_url(ui_url, exp_id) if exp_id else None,
        parent_runs=parents, experiment_file=study.user_attrs.get("experiment_file"),
        storage=shown_storage(storage_url or default_storage_url()))
