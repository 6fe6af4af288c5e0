"""Per-layer signals of a trial in MLflow: metrics at sampled epochs and one diagnosis tag.

Metrics (step = epoch, at the epochs ``nnexp.core.signals`` samples), one section of MLflow's
run page per layer, after the learning curves (``nnexp.tracking.records``; ``layer_key``):
``4_layer_<ii>/act_mean``, ``act_std``, ``dead_fraction`` (relu, leaky_relu), ``saturation``
(sigmoid, tanh), ``grad_norm``, ``update_ratio`` for the measured layers i
(every layer 1..L of a network of up to 16 layers; beyond, 16 evenly spaced ones, the first and
the last always, and at a sampled epoch the first entirely dead hidden ReLU layer between them:
``nnexp.core.signals.measured_layers``; activation statistics for the hidden layers only).
Definitions: ``nnexp.core.signals``. So a sampled epoch records at most 15 x 5 + 2 + 3 = 80
values (``MAX_VALUES``), however deep the network, and a trial at most ``SIGNAL_POINTS`` + 2
sampled epochs by default.

Tags, when the trial shows one (first match in this order): ``nnexp.signal`` = ``diverged``
(training raised ``DivergenceError``), ``dead_layer`` (every unit of a hidden ReLU layer dead on
the dev sample at a sampled epoch, the first such), ``stalled`` (``find_stall``), with
``nnexp.signal_evidence`` = "epoch E, layer L, <what> V".

``tracking.signals: false`` in the experiment file switches all of it off (no metrics, no
tags); ``tracking.signals_every`` sets the sampling (null: ``default_every``).
"""

from __future__ import annotations

import math

from nnexp.core import DivergenceError, EpochMetrics
from nnexp.core.signals import MAX_LAYERS, LayerSignals, Sample, find_dead_layer, find_stall
from nnexp.tracking.runs import TAG_PREFIX

SIGNAL_POINTS = 12
"""Sampled epochs per trial aimed at by default: ~12 (the first and last epoch included)."""

MAX_VALUES = (MAX_LAYERS - 1) * 5 + 2 + 3
"""Signal values of one sampled epoch at most: 15 hidden layers x (act_mean, act_std,
dead_fraction or saturation, grad_norm, update_ratio), the output layer's grad_norm and
update_ratio, and a dead layer's act_mean, act_std and dead_fraction."""

SIGNAL_TAG = TAG_PREFIX + "signal"
EVIDENCE_TAG = TAG_PREFIX + "signal_evidence"
FIELDS = ("act_mean", "act_std", "dead_fraction", "saturation", "grad_norm", "update_ratio")


def default_every(configured: int | None, epochs: int) -> int:
    """Sample every k-th epoch: ``configured``, or a k that gives about ``SIGNAL_POINTS``
    samples (11-13 for 30-1000 epochs; every epoch below 12)."""
    return configured or max(1, math.ceil(epochs / SIGNAL_POINTS))


LAYER_PREFIX = "4_layer_"
"""Every layer signal's key starts so: section 4 of the run page (``nnexp.tracking.records``)."""


def layer_key(layer: int, name: str) -> str:
    """The MLflow key of one layer signal: (2, 'grad_norm') -> '4_layer_02/grad_norm'. Two
    digits, so that MLflow, which sorts sections by name, puts layer 10 after layer 9."""
    return f"{LAYER_PREFIX}{layer:02d}/{name}"


def layer_record(layers: tuple[LayerSignals, ...]) -> dict[str, float]:
    """MLflow keys of one sampled epoch's signals (the fields that apply to each layer)."""
    out = {}
    for sig in layers:
        for name in FIELDS:
            value = getattr(sig, name)
            if value is not None:
                out[layer_key(sig.layer, name)] = value
    return out


def _g(value: float) -> str:
    return f"{value:.4g}"


class TrialSignals:
    """One trial's signals: ``every`` for ``train(signals_every=...)`` (0: off), a callback
    that logs each sampled epoch to the run, and the diagnosis tags at the end."""

    def __init__(self, enabled: bool, configured: int | None, epochs: int) -> None:
        self.every = default_every(configured, epochs) if enabled else 0
        self.samples: list[Sample] = []
        self.divergence: DivergenceError | None = None

    def callback(self, run):
        """The per-epoch callback: logs the sampled epochs' layer metrics (step = epoch)."""

        def on_epoch(m: EpochMetrics) -> None:
            if m.layers is None:
                return
            self.samples.append(Sample(m.epoch, m.train_cost, m.layers))
            run.metrics(layer_record(m.layers), step=m.epoch)

        return on_epoch

    def diverged(self, err: DivergenceError) -> None:
        self.divergence = err

    def tags(self) -> dict[str, str]:
        """``nnexp.signal`` and ``nnexp.signal_evidence`` when the trial shows a signal."""
        if not self.every:
            return {}
        found = self.diagnose()
        return {} if found is None else {SIGNAL_TAG: found[0], EVIDENCE_TAG: found[1]}

    def diagnose(self) -> tuple[str, str] | None:
        err = self.divergence
        if err is not None:
            evidence = f"epoch {err.epoch}, {err.what} {err.cost}"
            if self.samples:  # the largest gradient at the last sample before it
                last = self.samples[-1]
                top = max((s for s in last.layers if s.grad_norm is not None),
                          key=lambda s: s.grad_norm if math.isfinite(s.grad_norm) else math.inf)
                evidence += (f"; at epoch {last.epoch}, layer {top.layer}, grad_norm "
                             f"{_g(top.grad_norm)}")
            return "diverged", evidence
        dead = find_dead_layer(self.samples)
        if dead is not None:
            epoch, layer, fraction = dead
            return "dead_layer", f"epoch {epoch}, layer {layer}, dead_fraction {_g(fraction)}"
        stall = find_stall(self.samples)
        if stall is not None:
            return "stalled", stall
        return None
