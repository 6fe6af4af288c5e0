"""Per-layer signals of the best trial, when its run recorded them: per-epoch metrics
``4_layer_<ii>/act_mean``, ``act_std``, ``dead_fraction``, ``saturation``, ``grad_norm``,
``update_ratio`` (``nnexp.tracking.signals.layer_key``; ``layer_<i>/...`` in runs recorded
before the numbered sections) and the tag ``nnexp.signal`` (diverged, stalled, dead_layer) with
``nnexp.signal_evidence``. Runs without them give None ("no per-layer signals recorded")."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from nnexp.insight.evidence import StudyEvidence
from nnexp.tracking.signals import layer_key

LAYER_KEY = re.compile(r"^(?:4_)?layer_(\d+)/(\w+)$")
COLUMNS = ("act_mean", "act_std", "dead_fraction", "saturation", "grad_norm", "update_ratio")
SIGNAL_TAG = "nnexp.signal"
EVIDENCE_TAG = "nnexp.signal_evidence"


@dataclass
class LayerSignals:
    """``layers``: layer number -> {metric: last recorded value}; ``signal`` and its evidence
    from the run's tags (None when the run carries no signal)."""

    trial: int
    run_id: str | None
    layers: dict[int, dict[str, float]] = field(default_factory=dict)
    signal: str | None = None
    signal_evidence: str | None = None

    def keys(self) -> list[str]:
        return [layer_key(i, m) for i in sorted(self.layers) for m in self.layers[i]]


def layer_signals(ev: StudyEvidence) -> LayerSignals | None:
    best = ev.best
    layers: dict[int, dict[str, float]] = {}
    for key, value in best.metrics.items():
        m = LAYER_KEY.match(key)
        if m:
            layers.setdefault(int(m.group(1)), {})[m.group(2)] = value
    signal = best.tags.get(SIGNAL_TAG)
    if not layers and not signal:
        return None
    ordered = {i: dict(sorted(layers[i].items(), key=lambda kv: _order(kv[0])))
               for i in sorted(layers)}
    return LayerSignals(best.number, best.run_id, ordered, signal, best.tags.get(EVIDENCE_TAG))


def _order(name: str) -> tuple[int, str]:
    return (COLUMNS.index(name) if name in COLUMNS else len(COLUMNS), name)
