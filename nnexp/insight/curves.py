"""What each trial's learning curve and update ratios say, read from its MLflow run: the train
cost per recorded epoch and the per-layer update ratios at the last sampled epoch, brought to
one update of the optimiser.

The recorded ``update_ratio`` of a layer is ||W(now) - W(previous sample)|| / ||W(previous
sample)|| over the epochs between two sampled epochs (``nnexp.core.signals``); the course's
rule of thumb (about ``HEALTHY_RATIO`` = 1e-3 per update) is per update, so the ratio is
divided by the number of updates between the last two samples (epochs between them times the
mini-batches of an epoch: ceil(n_train / batch_size), one for full batch). While the weights
move steadily in one direction (a learning rate far too small) that division is exact; where
they bounce it understates a single update.

``read_curves`` does the reading (two metric histories per trial, at most ``MAX_CURVES``
trials: the complete ones best first, then the others); everything else here is pure.
"""

from __future__ import annotations

import math
import re
import statistics
from dataclasses import dataclass, field

from nnexp.insight.evidence import StudyEvidence, Trial

HEALTHY_RATIO = 1e-3
"""The update ratio per update a healthy training shows (||dW|| / ||W|| about 1e-3)."""

MAX_CURVES = 60
"""Trials whose curves are read at most (two MLflow queries each)."""

LAYER_RATIO = re.compile(r"^(?:4_)?layer_(\d+)/update_ratio$")
"""A layer's update-ratio key: ``4_layer_02/update_ratio`` or, in older runs,
``layer_2/update_ratio``."""

TAIL = 0.5
"""The part of a curve (its last half) read for oscillation."""


@dataclass
class TrialCurve:
    """One trial's curve: ``costs`` (epoch, train cost) by epoch; ``ratio`` the median over
    layers of the update ratio per update at the last sampled epoch (None: no signals
    recorded), ``raw_ratio`` the same over the whole interval, ``updates`` the updates in that
    interval; ``high_bias`` the trial's own bias verdict (``nnexp.insight.diagnosis``; None:
    no final metrics)."""

    number: int
    state: str
    value: float
    learning_rate: float | None
    costs: list[tuple[int, float]] = field(default_factory=list)
    ratio: float | None = None
    raw_ratio: float | None = None
    updates: int | None = None
    signal: str | None = None
    high_bias: bool | None = None

    @property
    def epochs(self) -> int:
        return self.costs[-1][0] if self.costs else 0

    @property
    def diverged(self) -> bool:
        return self.state == "diverged" or self.signal == "diverged"


def learning_rate_of(trial: Trial) -> float | None:
    """The learning rate trial ``trial`` trained with: its sampled value, else its recorded
    configuration's."""
    value = trial.params.get("learning_rate", trial.config.get("learning_rate"))
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) and value > 0 else None


def updates_per_epoch(trial: Trial, n_train: int | None) -> int | None:
    """Mini-batches of one epoch: ceil(n_train / batch_size), 1 for full batch; None when the
    number of training rows is not known."""
    if "batch_size" in trial.params:
        batch = trial.params["batch_size"]
    elif "batch_size" in trial.config:
        batch = trial.config["batch_size"]
    else:
        return None
    if batch is None:
        return 1
    if not n_train:
        return None
    return max(1, math.ceil(n_train / int(batch)))


def layer_ratios(metrics: dict[str, float]) -> dict[int, float]:
    """Layer -> its last recorded update ratio, from a run's final (latest) metrics."""
    out = {}
    for key, value in metrics.items():
        m = LAYER_RATIO.match(key)
        if m and value is not None and math.isfinite(value):
            out[int(m.group(1))] = value
    return out


def per_update(raw: float, epochs_between: int, per_epoch: int | None) -> tuple[float, int]:
    """(ratio per update, updates) of a ratio ``raw`` measured over ``epochs_between`` epochs
    of ``per_epoch`` updates each (per epoch when that is unknown)."""
    updates = max(1, epochs_between) * (per_epoch or 1)
    return raw / updates, updates


def read_curves(ev: StudyEvidence, limit: int = MAX_CURVES) -> list[TrialCurve]:
    """The curves of the study's trials (complete ones best first, then the others), at most
    ``limit``; trials without a run give a curve without costs."""
    from nnexp.insight.diagnosis import diagnose_trial
    from nnexp.tracking.records import curve
    from nnexp.tracking.signals import layer_key

    client = ev.client
    out = []
    for t in ev.all_trials[:limit]:
        d = diagnose_trial(t, ev)
        c = TrialCurve(t.number, t.state, t.value, learning_rate_of(t),
                       signal=t.tags.get("nnexp.signal"),
                       high_bias=None if d.verdict == "unknown" else d.high_bias)
        out.append(c)
        if client is None or t.run_id is None:
            continue
        history = _history(client, t.run_id, (curve("train", "cost"), "train/cost"))
        c.costs = [(m.step, m.value) for m in history]
        ratios = layer_ratios(t.metrics)
        if not ratios:
            continue
        first = min(ratios)
        steps = [m.step for m in _history(client, t.run_id, (
            layer_key(first, "update_ratio"), f"layer_{first}/update_ratio"))]
        last, before = (steps[-1], steps[-2]) if len(steps) > 1 else \
            ((steps[-1], 0) if steps else (0, 0))
        c.raw_ratio = statistics.median(ratios.values())
        c.ratio, c.updates = per_update(c.raw_ratio, last - before,
                                        updates_per_epoch(t, ev.n_train))
    return out


def _history(client, run_id: str, keys) -> list:
    """The points of the first of ``keys`` that the run recorded, by step."""
    for key in dict.fromkeys(keys):
        points = client.get_metric_history(run_id, key)
        if points:
            return sorted(points, key=lambda m: m.step)
    return []


# ----- reading one curve ---------------------------------------------------------------------

def cost_fall(costs: list[tuple[int, float]]) -> float | None:
    """How much the train cost fell over the run, relative to its first recorded value:
    (first - last) / first (negative: it rose); None with fewer than two finite points."""
    values = [v for _, v in costs if math.isfinite(v)]
    if len(values) < 2 or values[0] == 0:
        return None
    return (values[0] - values[-1]) / abs(values[0])


def rising(costs: list[tuple[int, float]], by: float = 0.10) -> bool:
    """The train cost went uphill: it overflowed, or it ended at least ``by`` (10%) above its
    lowest point and that rise is at least 5% of what it had fallen before (so that a cost
    near zero wobbling by a few millionths is not called rising)."""
    values = [v for _, v in costs]
    if len(values) < 3:
        return False
    if not all(math.isfinite(v) for v in values):
        return True
    low = min(values)
    rise = values[-1] - low
    return rise > by * abs(low) and rise > 0.05 * (values[0] - low)


def oscillation(costs: list[tuple[int, float]]) -> float:
    """In the last ``TAIL`` of the curve (at least 4 points): the rises of the cost between
    recorded epochs, summed, over the falls, summed (0: it only fell; about 1: it goes up as
    much as down). A tail that moves by less than 5% of its level either way counts as 0."""
    values = [v for _, v in costs if math.isfinite(v)]
    tail = values[int(len(values) * (1 - TAIL)):]
    if len(tail) < 4:
        return 0.0
    steps = [b - a for a, b in zip(tail, tail[1:])]
    up = sum(s for s in steps if s > 0)
    down = -sum(s for s in steps if s < 0)
    level = max(statistics.median(abs(v) for v in tail), 1e-12)
    if max(up, down) < 0.05 * level:
        return 0.0
    return up / down if down > 0 else math.inf
