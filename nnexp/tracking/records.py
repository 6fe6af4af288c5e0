"""What is recorded about a training run: per-epoch metrics and final metrics, by MLflow key.

Per epoch (step = epoch), as learning curves grouped the way MLflow's run page draws them
(a key ``section/name`` opens a section, and sections come before the one-value charts): dev/cost,
dev/<metric>, train/cost, train/<metric>, epoch/learning_rate, epoch/seconds, where <metric>
is accuracy (classification) or rmse (regression); ``curve(split, name)`` builds a key.
At the end: final_train_*, final_dev_*, test_* (accuracy, log_loss, cost or rmse, r2, cost),
train_seconds, n_params and last_train_cost (the last epoch's mean mini-batch cost, L2 penalty
included) as metrics; epochs_run, best_epoch, flops_per_epoch as tags (``nnexp.<name>``, see
``FACTS``). ``nnexp.config.metrics.METRICS`` names, for each optimisable metric, the key here
that holds its value.
"""

from __future__ import annotations

from nnexp.core import EpochMetrics, flops_per_epoch
from nnexp.tracking.runs import TAG_PREFIX

FACTS = ("epochs_run", "best_epoch", "flops_per_epoch")
"""Final numbers recorded as tags, not metrics: MLflow's run page draws every metric as a
chart, in name order, and a one-value metric as a single bar among the learning curves."""


def curve(split: str, name: str) -> str:
    """The MLflow key of a learning curve: ('dev', 'accuracy') -> 'dev/accuracy'."""
    return f"{split}/{name}"


def epoch_record(m: EpochMetrics) -> dict[str, float]:
    """MLflow keys of one epoch's metrics (logged with step = epoch)."""
    return {curve("dev", m.metric): m.dev_metric, curve("dev", "cost"): m.dev_cost,
            curve("train", m.metric): m.train_metric, curve("train", "cost"): m.train_cost,
            curve("epoch", "learning_rate"): m.learning_rate,
            curve("epoch", "seconds"): m.epoch_seconds}


def final_metrics(result, splits) -> dict[str, float]:
    """Metrics of the trained model on train, dev and test (final_*, test_*)."""
    model = result.model
    out: dict[str, float] = {}
    for prefix, X, y in (("final_train", splits.X_train, splits.y_train),
                         ("final_dev", splits.X_dev, splits.y_dev),
                         ("test", splits.X_test, splits.y_test)):
        if len(y) == 0:
            continue
        scores = model.evaluate(X, y, scaled=True)
        scores["cost"] = scores["log_loss"] if model.is_classifier else scores["rmse"] ** 2
        out.update({f"{prefix}_{k}": v for k, v in scores.items()})
    out.update(epochs_run=len(result.history), best_epoch=result.best_epoch,
               last_train_cost=result.history[-1].train_cost if result.history else None,
               train_seconds=result.seconds, n_params=model.n_params,
               flops_per_epoch=flops_per_epoch(model.layer_dims, len(splits.y_train)))
    return out


def log_final(run, final: dict[str, float]) -> None:
    """Record ``final_metrics``: scores, n_params and train_seconds as metrics (runs are
    sorted by them), ``FACTS`` as ``nnexp.<name>`` tags."""
    run.metrics({k: v for k, v in final.items() if k not in FACTS})
    run.tags({TAG_PREFIX + k: final[k] for k in FACTS if k in final})
