"""What the advice is drawn from: one study's complete trials ranked by objective, their MLflow
runs (final train/dev metrics, tags), the trials that did not complete (diverged, failed,
pruned: their parameters, state and run), the search space the study sampled, the target error
and the experiment (for the training rows and, when asked, the data themselves).

The space is read from the study's experiment file (Optuna user attribute
``experiment_file``); when that file is gone or no longer validates, it is rebuilt from the
distributions Optuna stored with the trials (ranges, ``log`` and ``step`` are kept; ``when``
conditions and fixed values cannot be recovered, which ``space_note`` says).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nnexp.config.space import Parameter, SearchSpace
from nnexp.config.train import DEPTH, split_layer_name
from nnexp.errors import NnexpError

TOP_FRACTION = 0.10
MIN_TOP = 3
""""The best trials": the top 10% of complete trials by objective, at least 3."""


@dataclass
class Trial:
    """One trial: its number, objective value (NaN unless complete), sampled params, its MLflow
    run's final metrics and tags (empty when the run is missing), its state (``complete``,
    ``diverged``, ``failed``, ``pruned``, ...), the training configuration it ran (Optuna user
    attribute ``config``: learning_rate, optimizer, batch_size, epochs, ...) and its seed."""

    number: int
    value: float
    params: dict[str, Any]
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    run_id: str | None = None
    state: str = "complete"
    config: dict[str, Any] = field(default_factory=dict)
    seed: int | None = None


@dataclass
class StudyEvidence:
    """A study ready to be judged: ``trials`` complete, best first."""

    name: str
    metric: str
    maximize: bool
    task: str  # binary, multiclass, regression (from the run's metrics when the file is gone)
    trials: list[Trial]
    counts: dict[str, int]
    space: SearchSpace | None
    space_note: str | None
    experiment_file: str | None
    target_error: float | None
    baselines: list[dict[str, Any]]
    n_dev: int | None = None  # dev examples (from the experiment's dataset), None if unknown
    n_train: int | None = None  # training examples, likewise
    unfinished: list[Trial] = field(default_factory=list)  # diverged, failed, pruned trials
    experiment: Any = None  # nnexp.config.Experiment, None when the file is gone
    study: Any = None
    runs: Any = None  # nnexp.stores.queries.StudyRuns
    client: Any = None

    @property
    def top(self) -> list[Trial]:
        """The best trials: the top ``TOP_FRACTION`` (at least ``MIN_TOP``)."""
        return self.trials[:max(MIN_TOP, math.ceil(TOP_FRACTION * len(self.trials)))]

    @property
    def best(self) -> Trial:
        return self.trials[0]

    @property
    def is_classification(self) -> bool:
        return self.task != "regression"

    @property
    def all_trials(self) -> list[Trial]:
        """Complete trials (best first), then the others by number."""
        return self.trials + self.unfinished


def gather(study_name: str, storage: str | None = None,
           tracking_uri: str | None = None) -> StudyEvidence:
    """Load study ``study_name`` and everything the advice needs; raises ``NnexpError`` when it
    has no complete trial."""
    import optuna

    from nnexp.stores.queries import load_study, objective_metrics, study_runs, tracking_client
    from nnexp.tracking.summary import state_counts

    study = load_study(study_name, storage)
    client = tracking_client(tracking_uri)
    runs = study_runs(client, study_name)
    metric = objective_metrics(study, runs)[0]
    maximize = study.directions[0] == optuna.study.StudyDirection.MAXIMIZE
    complete = [t for t in study.get_trials(deepcopy=False,
                                            states=(optuna.trial.TrialState.COMPLETE,))
                if t.values and all(math.isfinite(v) for v in t.values)]
    if not complete:
        raise NnexpError(f"study {study_name!r} has no complete trial yet (nnexp show "
                         f"{study_name} counts its trials by state); run more with nnexp search.")
    complete.sort(key=lambda t: ((-t.values[0]) if maximize else t.values[0], t.number))
    trials = [_trial(t, runs, t.values[0]) for t in complete]
    done = {t.number for t in complete}
    unfinished = [_trial(t, runs, math.nan) for t in study.get_trials(deepcopy=False)
                  if t.number not in done and t.state.is_finished()]
    path = study.user_attrs.get("experiment_file")
    space, note, target, baselines, task, n_dev, n_train = None, None, None, [], None, None, None
    exp = None
    if path and Path(path).is_file():
        try:
            from nnexp.config import load_experiment

            exp = load_experiment(path)
            space, target, baselines, task = (exp.space, exp.target_error, exp.baselines,
                                              exp.task)
            if exp.schema.n_rows:
                n_dev = math.floor(exp.dataset.dev_size * exp.schema.n_rows + 0.5)
                n_test = math.floor(exp.dataset.test_size * exp.schema.n_rows + 0.5)
                n_train = max(1, exp.schema.n_rows - n_dev - n_test)
        except Exception as err:  # noqa: BLE001 - an edited file: fall back to Optuna's record
            exp = None
            note = f"the experiment file {path} no longer validates ({str(err).splitlines()[0]})"
    else:
        note = f"the experiment file {path or '(not recorded)'} is gone"
    if space is None:
        space = space_from_distributions(study)
        note = (note or "") + ("; the space was rebuilt from the ranges Optuna stored (its "
                               "'when' conditions and fixed values are not recorded there)")
    if task is None:
        task = "regression" if any("final_dev_rmse" in t.metrics for t in trials) \
            or metric.endswith(("rmse", "r2")) else "binary"
    return StudyEvidence(study_name, metric, maximize, task, trials,
                         state_counts(study.get_trials(deepcopy=False)), space, note, path,
                         target, baselines, n_dev, n_train, unfinished, exp, study, runs,
                         client)


def _trial(t, runs, value: float) -> Trial:
    """The ``Trial`` of Optuna trial ``t`` with its MLflow run (``runs.trials``), if any."""
    run = runs.trials.get(t.number)
    tags = dict(run.data.tags) if run else {}
    state = tags.get("nnexp.state") or t.user_attrs.get("state") or t.state.name.lower()
    return Trial(t.number, value, dict(t.params), dict(run.data.metrics) if run else {}, tags,
                 run.info.run_id if run else None, str(state),
                 dict(t.user_attrs.get("config") or {}), t.user_attrs.get("seed"))


def space_from_distributions(study) -> SearchSpace:
    """A ``SearchSpace`` from the distributions of a study's trials: ``width_1`` .. become
    one per-layer ``width`` (the union of their ranges)."""
    from optuna.distributions import CategoricalDistribution, IntDistribution

    found: dict[str, Parameter] = {}
    for trial in study.get_trials(deepcopy=False):
        for name, dist in trial.distributions.items():
            layer = split_layer_name(name)
            base = layer[0] if layer else name
            if isinstance(dist, CategoricalDistribution):
                param = Parameter(base, "categorical", choices=tuple(dist.choices),
                                  per_layer=bool(layer))
            else:
                kind = "int" if isinstance(dist, IntDistribution) else "float"
                param = Parameter(base, kind, low=dist.low, high=dist.high, step=dist.step,
                                  log=dist.log, per_layer=bool(layer))
            old = found.get(base)
            if old is not None and old.kind in ("int", "float") and param.kind == old.kind:
                param = Parameter(base, old.kind, low=min(old.low, param.low),
                                  high=max(old.high, param.high), step=old.step, log=old.log,
                                  per_layer=old.per_layer or param.per_layer)
            found[base] = param
    order = sorted(found, key=lambda n: (n != DEPTH, found[n].per_layer))
    return SearchSpace(tuple(found[n] for n in order))


def values_of(trial: Trial, param: Parameter) -> list[Any]:
    """The values ``param`` took in ``trial``: one, one per layer, or none (inactive)."""
    if param.per_layer:
        return [v for k, v in trial.params.items()
                if split_layer_name(k) and split_layer_name(k)[0] == param.name]
    return [trial.params[param.name]] if param.name in trial.params else []
