"""The metrics a study may optimise: one registry, one entry per metric.

Each ``Metric`` says everything nnexp needs to know about it:

- ``direction``: the natural direction, 'maximize' or 'minimize' (an experiment may override);
- ``tasks``: the tasks it is defined for (config validation refuses the others);
- ``per_epoch``: how to read it after each epoch for the pruner: the name of an
  ``nnexp.core.EpochMetrics`` field, a function ``(epoch_metrics, dev_variance) -> float |
  None``, or None when it has no per-epoch value (then the trial is not pruned on it);
- ``final``: the key of the trained run's final metrics (``nnexp.tracking.records.
  final_metrics``) that holds its value: what the objective returns to Optuna.

Adding a metric is adding one entry (and, if it is new, its key in ``final_metrics``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

CLASSIFICATION = ("binary", "multiclass")
REGRESSION = ("regression",)
ANY_TASK = (*CLASSIFICATION, *REGRESSION)


def _dev_r2(m: Any, dev_variance: float) -> float | None:
    """r2 on the dev set from its rmse: 1 - mse / var(y_dev); undefined for a constant target."""
    return 1.0 - m.dev_metric ** 2 / dev_variance if dev_variance > 0 else None


class Metric(NamedTuple):
    """One optimisable metric (see the module docstring)."""

    direction: str
    tasks: tuple[str, ...]
    per_epoch: str | Callable[[Any, float], float | None] | None
    final: str

    def epoch_value(self, m: Any, dev_variance: float = 0.0) -> float | None:
        """The value after one epoch (``m``: an ``EpochMetrics``), None when not per epoch."""
        if self.per_epoch is None:
            return None
        if isinstance(self.per_epoch, str):
            return float(getattr(m, self.per_epoch))
        return self.per_epoch(m, dev_variance)

    def final_value(self, final: dict[str, float]) -> float:
        """The value for a trained run, from its final metrics."""
        return float(final[self.final])


METRICS: dict[str, Metric] = {
    "dev_accuracy": Metric("maximize", CLASSIFICATION, "dev_metric", "final_dev_accuracy"),
    "dev_log_loss": Metric("minimize", CLASSIFICATION, "dev_cost", "final_dev_log_loss"),
    "dev_cost": Metric("minimize", ANY_TASK, "dev_cost", "final_dev_cost"),
    "dev_rmse": Metric("minimize", REGRESSION, "dev_metric", "final_dev_rmse"),
    "dev_r2": Metric("maximize", REGRESSION, _dev_r2, "final_dev_r2"),
    "train_cost": Metric("minimize", ANY_TASK, "train_cost", "last_train_cost"),
    "n_params": Metric("minimize", ANY_TASK, None, "n_params"),
    "train_seconds": Metric("minimize", ANY_TASK, None, "train_seconds"),
}

DIRECTIONS = ("maximize", "minimize")


def default_metric(task: str | None) -> str:
    """What a study optimises when the experiment does not say: accuracy, rmse, or the cost."""
    if task in CLASSIFICATION:
        return "dev_accuracy"
    if task in REGRESSION:
        return "dev_rmse"
    return "dev_cost"
