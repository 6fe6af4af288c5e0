"""Which parameters matter (Optuna's importance evaluators) and how the most important one acts.

Importances: PED-ANOVA (Optuna's default, fast) below ``FANOVA_TRIALS`` complete trials,
fANOVA from there on (``nnexp.inspection.studies.importances`` for the PED-ANOVA part).

Shape: the complete trials are cut into ``n`` bins of about equal count along the parameter
(log scale for log parameters; one bin per value for ints with few values; one per choice for
categoricals), and the mean objective per bin is read as a curve, better = higher for a
maximised objective. It is monotone, **larger is better** or **smaller is better**, when
every step between neighbouring bins goes the same way (steps smaller than ``STEP_TOLERANCE``
(10%) of the curve's range count as either way); **best in the middle** when an inner bin is
the best and both end bins are worse; **flat** when the whole curve spans less than ``FLAT``
(0.2%) of its mean's magnitude; **irregular** otherwise.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

from nnexp.config.space import Parameter
from nnexp.insight.evidence import StudyEvidence, values_of

FANOVA_TRIALS = 30
FLAT = 0.002
STEP_TOLERANCE = 0.10
MAX_BINS = 5


@dataclass
class Bin:
    label: str
    low: float | None
    high: float | None
    mean: float
    count: int


@dataclass
class Effect:
    """The shape of ``param``'s effect on the objective ``metric``."""

    param: str
    metric: str
    shape: str  # larger is better, smaller is better, best in the middle, flat, irregular,
    #             or for a categorical "best choice X"
    bins: list[Bin]
    best_bin: int

    def evidence(self) -> str:
        return "; ".join(f"{b.label}: {b.mean:.4g} (n={b.count})" for b in self.bins)


def importances(ev: StudyEvidence) -> tuple[dict[str, float], str, str | None]:
    """(name -> importance, evaluator name, note). fANOVA from ``FANOVA_TRIALS`` complete
    trials, PED-ANOVA below."""
    from nnexp.inspection.studies import importances as ped_anova

    if len(ev.trials) >= FANOVA_TRIALS:
        from optuna.importance import FanovaImportanceEvaluator, get_param_importances

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                found = get_param_importances(ev.study,
                                              evaluator=FanovaImportanceEvaluator(seed=0))
            return dict(found), "fANOVA", None
        except (ValueError, RuntimeError, ZeroDivisionError):
            pass
    found, note = ped_anova(ev.study)
    return found, "PED-ANOVA", note


def _base(name: str) -> str:
    from nnexp.config.train import split_layer_name

    layer = split_layer_name(name)
    return layer[0] if layer else name


def effect(ev: StudyEvidence, name: str) -> Effect | None:
    """The shape of parameter ``name``'s effect (``width_2`` is read as per-layer ``width``:
    a trial's mean width), or None when too few trials or values."""
    param = ev.space.get(_base(name)) if ev.space is not None else None
    if param is None:
        return None
    points = []
    for t in ev.trials:
        vs = values_of(t, param)
        if vs:
            value = vs[0] if param.kind == "categorical" else sum(vs) / len(vs)
            points.append((value, t.value))
    if len(points) < 3:
        return None
    sign = 1 if ev.maximize else -1
    if param.kind == "categorical":
        bins = []
        for choice in param.choices:
            ys = [y for v, y in points if v == choice]
            if ys:
                bins.append(Bin(str(choice), None, None, sum(ys) / len(ys), len(ys)))
        if len(bins) < 2:
            return None
        best = max(range(len(bins)), key=lambda i: sign * bins[i].mean)
        return Effect(param.name, ev.metric, f"best choice {bins[best].label}", bins, best)
    bins = _numeric_bins(param, points)
    if len(bins) < 2:
        return None
    best = max(range(len(bins)), key=lambda i: sign * bins[i].mean)
    return Effect(param.name, ev.metric, shape([b.mean for b in bins], ev.maximize), bins, best)


def _numeric_bins(param: Parameter, points: list[tuple[float, float]]) -> list[Bin]:
    points = sorted(points)
    distinct = sorted({v for v, _ in points})
    if param.kind == "int" and len(distinct) <= MAX_BINS:
        groups = [[p for p in points if p[0] == v] for v in distinct]
    else:
        n = max(2, min(MAX_BINS, len(points) // 3))
        groups, start = [], 0
        for k in range(n):
            end = round((k + 1) * len(points) / n)
            # never split equal values across two bins
            while 0 < end < len(points) and points[end][0] == points[end - 1][0]:
                end += 1
            if end > start:
                groups.append(points[start:end])
            start = end
    out = []
    for g in groups:
        low, high = g[0][0], g[-1][0]
        label = _fmt(low) if low == high else f"{_fmt(low)} .. {_fmt(high)}"
        out.append(Bin(label, low, high, sum(y for _, y in g) / len(g), len(g)))
    return out


def shape(means: list[float], maximize: bool) -> str:
    """The shape of a curve of bin means (bins in increasing parameter order), better meaning
    higher when ``maximize``: 'larger is better', 'smaller is better', 'best in the middle',
    'flat' or 'irregular'."""
    ys = [m if maximize else -m for m in means]
    spread = max(ys) - min(ys)
    scale = max(abs(sum(means) / len(means)), 1e-12)
    if not math.isfinite(spread) or spread < FLAT * scale:
        return "flat"
    tol = STEP_TOLERANCE * spread
    steps = [b - a for a, b in zip(ys, ys[1:])]
    if all(s >= -tol for s in steps):
        return "larger is better"
    if all(s <= tol for s in steps):
        return "smaller is better"
    best = max(range(len(ys)), key=lambda i: ys[i])
    if 0 < best < len(ys) - 1 and ys[0] < ys[best] - tol and ys[-1] < ys[best] - tol:
        return "best in the middle"
    return "irregular"


def _fmt(v: float) -> str:
    return f"{v:.3g}" if isinstance(v, float) else str(v)
