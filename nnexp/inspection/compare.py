"""``nnexp compare``: MLflow runs side by side (parameters that differ first, then the rest,
then final metrics) and one figure of their learning curves (dev metric and dev cost per
epoch, from ``MlflowClient.get_metric_history``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nnexp.errors import NnexpError, first_line
from nnexp.tracking.records import curve, legacy_key, metric_history

DEV_METRICS = (curve("dev", "accuracy"), curve("dev", "rmse"))
SHOWN_METRICS = ("final_", "test_")
EXTRA_METRICS = ("epochs_run", "n_params", "train_seconds")


@dataclass
class Comparison:
    """table: rows are parameters then metrics, one column per run (labels in ``labels``);
    differing: the parameters whose values differ between the runs (the first rows);
    figure: a matplotlib ``Figure`` with two axes (dev metric, dev cost) and one line per run
    on each; path: where the figure was saved."""

    table: Any
    differing: list[str]
    parameters: list[str]
    labels: list[str]
    run_ids: list[str]
    figure: Any
    path: Path


def study_run_ids(study, top: int, storage: str | None = None,
                  tracking_uri: str | None = None) -> list[str]:
    """The MLflow run ids of a study's ``top`` best trials (or of its Pareto front)."""
    from nnexp.stores.queries import require_client, resolve_study, study_runs, top_trials

    study = resolve_study(study, storage)
    chosen = top_trials(study, top)
    runs = study_runs(require_client(tracking_uri), study.study_name)
    ids = [runs.run_id(t.number) for t in chosen]
    if None in ids:
        missing = [t.number for t, i in zip(chosen, ids) if i is None]
        raise NnexpError(f"trial(s) {missing} of study {study.study_name!r} have no MLflow run "
                         "in this tracking store. Give the store the study logged to with "
                         "--tracking-uri (or MLFLOW_TRACKING_URI).")
    return ids


def compare_runs(run_ids: list[str], tracking_uri: str | None = None,
                 output: Path | None = Path("compare.png")) -> Comparison:
    """Compare the MLflow runs ``run_ids`` (at least one); save the figure to ``output``
    (None: do not save)."""
    import pandas as pd

    from nnexp.stores.queries import require_client

    if not run_ids:
        raise NnexpError("give run ids to compare (nnexp compare RUN_ID RUN_ID ...) or a "
                         "study (nnexp compare --study STUDY --top 3).")
    client = require_client(tracking_uri)
    runs = []
    for run_id in dict.fromkeys(run_ids):
        try:
            runs.append(client.get_run(run_id))
        except Exception as err:  # noqa: BLE001 - MLflow raises its own exception for a bad id
            raise NnexpError(f"no MLflow run {run_id!r} in this tracking store "
                             f"({first_line(err)}). Copy run ids from nnexp show STUDY or "
                             "nnexp trials STUDY (column run_id), or give the store with "
                             "--tracking-uri.") from None
    labels = [f"{r.info.run_name or 'run'} ({r.info.run_id[:8]})" for r in runs]
    params = sorted({k for r in runs for k in r.data.params})
    differing = [k for k in params if len({r.data.params.get(k) for r in runs}) > 1]
    same = [k for k in params if k not in differing]
    metrics = sorted({k for r in runs for k in r.data.metrics
                      if k.startswith(SHOWN_METRICS) or k in EXTRA_METRICS})
    rows = {k: [r.data.params.get(k) for r in runs] for k in differing + same}
    rows.update({k: [r.data.metrics.get(k) for r in runs] for k in metrics})
    table = pd.DataFrame.from_dict(rows, orient="index", columns=labels)
    figure = learning_curves(client, runs, labels)
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(output, dpi=100, bbox_inches="tight")
    return Comparison(table, differing, differing + same, labels,
                      [r.info.run_id for r in runs], figure, output)


def learning_curves(client, runs: list, labels: list[str]):
    """A ``Figure`` (Agg, no pyplot state) with the dev metric (left) and dev cost (right) per
    epoch, one line per run."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(11, 4.2))
    FigureCanvasAgg(figure)
    metric_ax, cost_ax = figure.subplots(1, 2)
    names = set()
    for run, label in zip(runs, labels):
        name = next((m for m in DEV_METRICS if m in run.data.metrics
                     or legacy_key(m) in run.data.metrics), DEV_METRICS[0])
        names.add(name)
        for ax, key in ((metric_ax, name), (cost_ax, curve("dev", "cost"))):
            history = metric_history(client, run.info.run_id, key)
            ax.plot([m.step for m in history], [m.value for m in history], marker=".",
                    label=label)
    metric_ax.set_title(" / ".join(sorted(names)) + " per epoch")
    metric_ax.set_ylabel(" / ".join(sorted(names)))
    cost_ax.set_title("dev cost per epoch")
    cost_ax.set_ylabel(curve("dev", "cost"))
    for ax in (metric_ax, cost_ax):
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    cost_ax.legend(fontsize=8)
    figure.tight_layout()
    return figure
