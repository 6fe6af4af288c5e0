"""What a study's parent run holds at the end: best trial, counts by state, the trials table,
the study plots and the best model, registered in the model registry."""

from __future__ import annotations

import math
import tempfile
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

from nnexp.errors import first_line, warn
from nnexp.tracking.runs import TAG_PREFIX, RunLogger, trial_filter
from nnexp.tracking.states import TrialState

PLOTS = ("optimization_history", "param_importances", "parallel_coordinate", "slice",
         "intermediate_values")


def trial_state(trial) -> str:
    """nnexp's outcome of a trial (a ``TrialState`` value), or Optuna's state in lower case
    (``running``, ``waiting``, ``fail``) for a trial nnexp did not record."""
    state = trial.user_attrs.get("state")
    if state in TrialState.__members__.values():
        return TrialState(state)
    return state or trial.state.name.lower()


def state_counts(trials) -> dict[str, int]:
    return dict(Counter(trial_state(t) for t in trials))


RUN_METRICS = ("n_params", "train_seconds")


def trials_table(study, metrics: list[str], runs: dict | None = None):
    """The one trials table: one row per trial, as a pandas DataFrame (``nnexp trials``, the
    API's ``Study.trials()``, the parent run's ``trials.csv``). Columns: ``number``,
    ``state``, the objective value of complete trials (``value``; ``value_<metric>`` for each
    of several ``metrics``), the parameters (``params_<name>``), the final metrics of each
    trial's MLflow run in ``runs`` (by trial number: ``final_*``, ``test_*``, ``n_params``,
    ``train_seconds``), ``epochs`` (epochs run), ``duration_seconds``, ``run_id``,
    ``reason`` (why a trial was pruned or failed) and, when a trial was carried over from an
    earlier study, ``from`` (``<study>#<number>``)."""
    import pandas as pd

    runs = runs or {}
    value_columns = ["value"] if len(metrics) == 1 else [f"value_{m}" for m in metrics]
    rows = []
    for t in study.get_trials(deepcopy=False):
        row: dict[str, Any] = {"number": t.number, "state": str(trial_state(t))}
        done = t.state.name == "COMPLETE"  # a pruned trial's value is only its last report
        values = t.values if done and t.values else [None] * len(value_columns)
        row.update(zip(value_columns, values))
        row.update({f"params_{k}": v for k, v in t.params.items()})
        run = runs.get(t.number)
        final = run.data.metrics if run is not None else {}
        row.update({k: v for k, v in sorted(final.items())
                    if k.startswith(("final_", "test_")) or k in RUN_METRICS})
        epochs = t.user_attrs.get("epoch") or final.get("epochs_run") or t.last_step
        row["epochs"] = int(epochs) if epochs is not None else None
        row["duration_seconds"] = t.duration.total_seconds() if t.duration else None
        row["run_id"] = run.info.run_id if run is not None else None
        row["reason"] = t.user_attrs.get("reason") or None
        row["from"] = t.user_attrs.get("warm_start_from")  # carried over from a study
        rows.append(row)
    df = pd.DataFrame(rows)
    if df.empty:
        return df
    tail = ["epochs", "duration_seconds", "run_id", "reason", "from"]
    if df["from"].isna().all():  # no trial carried over: no column
        df = df.drop(columns="from")
    return df[[c for c in df.columns if c not in tail] + [c for c in tail if c in df]]


def best_trials(study, top: int | None = None) -> list:
    """The one ranking of a study's trials: one objective, its complete trials best first
    (ties: the lower final dev cost, then the earlier trial), the best one unless ``top``;
    several, the Pareto front by trial number (all of it unless ``top``). [] when none
    completed."""
    import optuna

    if len(study.directions) > 1:
        chosen = sorted(study.best_trials, key=lambda t: t.number)
        return chosen[:top] if top else chosen
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if not complete:
        return []
    sign = -1 if study.direction == optuna.study.StudyDirection.MAXIMIZE else 1

    def rank(t) -> tuple:
        tie = t.user_attrs.get("dev_cost")  # nnexp.study.objective.TIE_BREAK
        return sign * t.value, tie if tie is not None else math.inf, t.number

    return sorted(complete, key=rank)[:top or 1]


def trial_run_id(client, experiment_id: str, study, number: int) -> str | None:
    """The MLflow run of trial ``number`` of ``study`` (found by its tags), or None. A trial
    carried over from an earlier study (``nnexp.study.warm_start``) has the run it had
    there."""
    trials = study.get_trials(deepcopy=False)
    origin = trials[number].user_attrs.get("warm_start_from") if number < len(trials) else None
    if origin:
        name, _, original = origin.rpartition("#")
        return run_of_trial(client, experiment_id, name, int(original))
    return run_of_trial(client, experiment_id, study.study_name, number)


def run_of_trial(client, experiment_id: str, study_name: str, number: int) -> str | None:
    """The MLflow run of trial ``number`` of study ``study_name``, or None."""
    found = client.search_runs([experiment_id], max_results=1,
                               filter_string=trial_filter(study_name, number))
    return found[0].info.run_id if found else None


OWN_BBOX = ("slice", "parallel_coordinate", "pareto_front")
"""Plots saved with a tight bounding box; the others are laid out with ``tight_layout``."""

LEGEND_TRIALS = 10
"""The intermediate-values plot keeps its per-trial legend up to this many trials."""


def _plots(study, directory: Path, metrics: list[str] | None = None) -> list[Path]:
    """The study plots as PNG files in ``directory``; axes named after the objective
    ``metrics`` (default: the study's metric names, else "objective")."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import optuna.visualization.matplotlib as vis
    from optuna.importance import PedAnovaImportanceEvaluator

    multi = len(study.directions) > 1
    metrics = metrics or study.metric_names or (
        [f"objective {i}" for i in range(len(study.directions))] if multi else ["objective"])
    target = {"target": (lambda t: t.values[0])} if multi else {}
    target["target_name"] = metrics[0]
    names = PLOTS + (("pareto_front",) if multi else ())
    trials = study.get_trials(deepcopy=False)
    ints = _int_distributions(trials)
    written = []
    for name in names:
        kwargs = {} if name in ("intermediate_values", "pareto_front") else dict(target)
        if name == "param_importances":  # PED-ANOVA: ~50x faster than the fANOVA default
            kwargs["evaluator"] = PedAnovaImportanceEvaluator()
        if name == "pareto_front":
            kwargs["target_names"] = metrics
        with warnings.catch_warnings(), plt.rc_context(STYLE):
            warnings.simplefilter("ignore")  # experimental-API and layout warnings are noise
            try:
                ax = getattr(vis, f"plot_{name}")(study, **kwargs)
            except (ValueError, RuntimeError, ZeroDivisionError):
                continue  # too few trials or parameters for this plot yet
            fig = ax.figure if hasattr(ax, "figure") else ax.flat[0].figure
            if name == "intermediate_values":
                _per_epoch_axes(ax, metrics[0], len(trials))
            _integer_ticks(fig, ints, name)
            path = directory / f"{name}.png"
            if name in OWN_BBOX:  # a colorbar beside the axes, which tight_layout misplaces
                fig.savefig(path, dpi=110, bbox_inches="tight")
            else:  # laid out once: a tight bounding box costs a second full draw
                fig.tight_layout()
                fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    return written


STYLE = {"figure.figsize": (8.0, 5.0), "font.size": 11, "axes.titlesize": 12}


def _per_epoch_axes(ax, metric: str, n_trials: int) -> None:
    ax.set_ylabel(f"{metric} (per epoch)")
    ax.set_xlabel("epoch")
    legend = ax.get_legend()
    if legend is not None and n_trials > LEGEND_TRIALS:  # a 50-entry legend outgrows the plot
        legend.remove()
        ax.set_title(f"{ax.get_title()} ({n_trials} trials)")


def _int_distributions(trials) -> dict:
    """The integer parameters of ``trials``: name -> ``IntDistribution``."""
    from optuna.distributions import IntDistribution

    return {k: d for t in trials for k, d in t.distributions.items()
            if isinstance(d, IntDistribution)}


def _integer_ticks(fig, ints: dict, name: str) -> None:
    """Whole-number ticks on the axes of the integer parameters ``ints`` (log-scaled ones in
    powers of 2)."""
    from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullLocator

    if name == "parallel_coordinate":  # one twin y-axis per parameter, named by the x ticks
        main = fig.axes[0]
        labels = [t.get_text() for t in main.get_xticklabels()]
        twins = [ax for ax in fig.axes[1:] if main.get_shared_x_axes().joined(main, ax)]
        axes = [(ax.yaxis, label) for ax, label in zip(twins, labels[1:])]
    else:
        axes = [(axis, axis.get_label_text()) for ax in fig.axes for axis in (ax.xaxis, ax.yaxis)]
    for axis, label in axes:
        dist = ints.get(label)
        if dist is None:
            continue
        if dist.log and axis.get_scale() == "log":
            axis.set_major_locator(LogLocator(base=2))
            axis.set_minor_locator(NullLocator())
            axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0f}"))
        else:
            axis.set_major_locator(MaxNLocator(integer=True))


def summarize(study, parent: RunLogger, experiment_id: str, registered_name: str | None,
              example=None, python_model=None, metrics: list[str] | None = None,
              plotter=None, register=None, stop=lambda: False) -> dict:
    """Write the study's summary into its parent run; returns what was logged (for display).

    Each part (counts and best trial, trials table, plots, model registration) is attempted
    on its own: a part that fails is reported as a ``warning:`` line, listed under
    ``warnings`` in the result, and the others go on, so the caller can always end the parent
    run. ``python_model``: the pyfunc wrapper to register the best model with (None: the model
    is not registered); ``registered_name``: the registered model (the study's name);
    ``metrics``: the objective's metric names (they label the plots' axes and name the metric
    in the version's description).
    ``plotter``: a ``nnexp.study.plotter.Plotter`` that draws the plots in its own process
    while the rest is written (None, or a plotter that fails: drawn here). ``register``:
    ``nnexp.serving.models.register_best``, which registers the best model (handed in: this
    package records runs and knows nothing of model directories). ``stop()``: True once
    the caller was interrupted (its signals deferred): no further part is started.
    """
    info: dict[str, Any] = {"counts": {}, "best": [], "model_uri": None, "warnings": [],
                            "model_new": False, "model_trial": None}

    def step(what: str, action) -> None:
        if stop():
            raise KeyboardInterrupt
        try:
            action()
        except Exception as err:  # noqa: BLE001 - one part failing must not lose the others
            if isinstance(err.__cause__ or err.__context__, KeyboardInterrupt):
                raise  # a Ctrl-C that failed an import, say: the interruption, not a part
            message = f"the study summary could not {what}: {first_line(err)}"
            info["warnings"].append(message)
            warn(message)

    trials = study.get_trials(deepcopy=False)
    info["counts"] = state_counts(trials)
    info["best"] = best = best_trials(study)
    found: dict[str, str | None] = {}

    def best_trial() -> None:
        parent.metrics({f"trials_{state}": n for state, n in info["counts"].items()})
        parent.metrics({"trials_total": len(trials)})
        found["best"] = trial_run_id(parent.client, experiment_id, study, best[0].number) \
            if best else None
        if best and len(study.directions) == 1:
            t = best[0]
            parent.metrics({"best_value": t.value, "best_trial_number": t.number})
            parent.tags({TAG_PREFIX + "best_trial": t.number,
                         TAG_PREFIX + "best_run_id": found["best"] or ""})
            parent.tags({f"best.{k}": v for k, v in t.params.items()})
        elif best:
            parent.metrics({"pareto_front_size": len(best)})
            parent.tags({TAG_PREFIX + "pareto_trials": [t.number for t in best]})
        parent.flush()

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        plot_dir = tmp / "plots"
        plot_dir.mkdir()
        asked = plotter is not None and plotter.draw(study.study_name, plot_dir, metrics)
        step("record the counts and the best trial", best_trial)

        def table() -> None:
            path = tmp / "trials.csv"
            trials_table(study, metrics or ["objective"] * len(study.directions)).to_csv(
                path, index=False)
            _upload(parent, path)

        def plots() -> None:
            paths = plotter.result() if asked else None  # None: draw them here
            for path in _plots(study, plot_dir, metrics) if paths is None else paths:
                _upload(parent, path, "plots")

        step("write the trials table (trials.csv)", table)
        with_model = [t for t in best if t.user_attrs.get("model_logged")]
        if with_model and python_model is not None and registered_name and register:
            def register_model() -> None:
                known = found.get("best") if with_model[0] is best[0] else None
                register(study, parent.client, experiment_id, registered_name,
                              with_model[0], [t.number for t in best], metrics or [],
                              example, python_model, tmp, info, run_id=known)

            step(f"register the best model as {registered_name!r}", register_model)
        step("draw the study plots", plots)
    return info


def _upload(parent: RunLogger, path: Path, artifact_path: str | None = None) -> None:
    """Upload one file to the parent run now; raise if it failed (``summarize`` warns)."""
    before = len(parent.write_errors)
    parent.artifact(path, artifact_path)
    if len(parent.write_errors) > before:
        raise OSError(parent.write_errors[-1])
