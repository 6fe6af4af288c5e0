"""The metrics a study may optimise, their natural direction and the tasks they apply to."""

from __future__ import annotations

from typing import NamedTuple

CLASSIFICATION = ("binary", "multiclass")
REGRESSION = ("regression",)
ANY_TASK = (*CLASSIFICATION, *REGRESSION)


class Metric(NamedTuple):
    """A metric's default direction ('maximize' or 'minimize') and the tasks it is defined for."""

    direction: str
    tasks: tuple[str, ...]


METRICS: dict[str, Metric] = {
    "dev_accuracy": Metric("maximize", CLASSIFICATION),
    "dev_log_loss": Metric("minimize", CLASSIFICATION),
    "dev_cost": Metric("minimize", ANY_TASK),
    "dev_rmse": Metric("minimize", REGRESSION),
    "dev_r2": Metric("maximize", REGRESSION),
    "train_cost": Metric("minimize", ANY_TASK),
    "n_params": Metric("minimize", ANY_TASK),
    "train_seconds": Metric("minimize", ANY_TASK),
}

DIRECTIONS = ("maximize", "minimize")


def default_metric(task: str | None) -> str:
    """What a study optimises when the experiment does not say: accuracy, rmse, or the cost."""
    if task in CLASSIFICATION:
        return "dev_accuracy"
    if task in REGRESSION:
        return "dev_rmse"
    return "dev_cost"
