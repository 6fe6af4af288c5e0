"""What is recorded about a training run: per-epoch metrics and final metrics, by MLflow key.

Per epoch (step = epoch), as learning curves in the sections of MLflow's run page: a key
``section/name`` draws chart ``name`` in section ``section``; sections come in name order,
before the one-value charts (section "Model metrics"), so a digit in front orders them:

1. ``1_<metric>/dev``, ``1_<metric>/train``: the metric, accuracy (classification) or rmse
   (regression), on dev and train, side by side (bias and variance read at a glance);
2. ``2_cost/dev``, ``2_cost/train``;
3. ``3_epoch/learning_rate`` (only when a schedule changes it over the run: a constant rate
   is the ``learning_rate`` parameter, not a flat chart), ``3_epoch/seconds``;
4. the per-layer signals, ``4_layer_<ii>/<signal>`` (``nnexp.tracking.signals``).

``curve(split, name)`` and ``epoch_key(name)`` build the keys; runs recorded before these
names (``dev/accuracy``, ``epoch/seconds``, ``layer_1/grad_norm``) are still read
(``legacy_key``, ``metric_history``).

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
    """The MLflow key of a learning curve on ``split`` (dev, train): the metric in section 1,
    the cost in section 2. ('dev', 'accuracy') -> '1_accuracy/dev', ('train', 'cost') ->
    '2_cost/train'."""
    return f"{2 if name == 'cost' else 1}_{name}/{split}"


def epoch_key(name: str) -> str:
    """The MLflow key of a per-epoch quantity of the training itself (section 3):
    'seconds' -> '3_epoch/seconds'."""
    return f"3_epoch/{name}"


LEARNING_RATE = epoch_key("learning_rate")
EPOCH_SECONDS = epoch_key("seconds")


def legacy_key(key: str) -> str | None:
    """The name ``key`` had in runs recorded before the numbered sections, else None:
    '1_accuracy/dev' -> 'dev/accuracy', '3_epoch/seconds' -> 'epoch/seconds',
    '4_layer_02/grad_norm' -> 'layer_2/grad_norm'."""
    section, slash, name = key.rpartition("/")
    number, _, section = section.partition("_")
    if not slash or number not in ("1", "2", "3", "4"):
        return None
    if number == "4" and section.startswith("layer_") and section[6:].isdigit():
        section = f"layer_{int(section[6:])}"
    return f"{name}/{section}" if number in ("1", "2") else f"{section}/{name}"


def metric_history(client, run_id: str, key: str) -> list:
    """The points of metric ``key`` of a run, by step; a run recorded before the numbered
    sections gives those of its ``legacy_key``."""
    points = client.get_metric_history(run_id, key)
    old = legacy_key(key)
    if not points and old:
        points = client.get_metric_history(run_id, old)
    return sorted(points, key=lambda m: m.step)


def epoch_record(m: EpochMetrics, learning_rate: bool = True) -> dict[str, float]:
    """MLflow keys of one epoch's metrics (logged with step = epoch); ``learning_rate``:
    with the epoch's rate (a run whose rate changes)."""
    out = {curve("dev", m.metric): m.dev_metric, curve("train", m.metric): m.train_metric,
           curve("dev", "cost"): m.dev_cost, curve("train", "cost"): m.train_cost,
           EPOCH_SECONDS: m.epoch_seconds}
    if learning_rate:
        out[LEARNING_RATE] = m.learning_rate
    return out


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
