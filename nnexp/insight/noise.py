"""Noise between initialisations against the effect being read: the same configuration
trained from other initial weights (another seed) scores differently, and an effect smaller
than that spread is not an effect anyone can read from the study.

The spread: trials of (nearly) the same configuration (``replicates``: every sampled value
equal, numbers within ``NEAR`` (2%) of each other; ``seed`` left out) with different seeds,
such as baselines repeated with small changes, or the same point sampled twice. Their pooled
standard deviation sigma (within each group, over sum(n_g - 1) >= ``MIN_DF`` (2) degrees of
freedom) is the noise between initialisations.

The effect: ``nnexp.insight.effects.Effect``'s best and worst bins of mean objective, y =
|mean_best - mean_worst|. It is **within the noise** when y < 2 sigma sqrt(1/n_best +
1/n_worst), two standard errors of that difference: then the advice says so instead of
naming a shape. Pure functions over the evidence.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from nnexp.insight.effects import Effect
from nnexp.insight.evidence import Trial

NEAR = 0.02
MIN_DF = 2
IGNORED = ("seed",)


@dataclass
class Noise:
    """Noise between initialisations (``sigma`` over ``runs`` runs in ``groups`` groups of
    nearly one configuration) against ``param``'s effect ``effect`` (best bin minus worst
    bin), which needed more than ``needed`` (two standard errors of that difference)."""

    param: str
    metric: str
    sigma: float
    runs: int
    groups: int
    effect: float
    needed: float

    def title(self) -> str:
        return (f"noise between initialisations (±{self.needed:.2g}) is larger than the effect "
                f"of {self.param} ({self.effect:.2g}); not naming an effect")

    def evidence(self) -> str:
        group = "one configuration" if self.groups == 1 else \
            f"{self.groups} configurations"
        return (f"{self.runs} runs of {group} from different seeds (values within {NEAR:.0%}) "
                f"differ in {self.metric} by a standard deviation of {self.sigma:.3g}; the "
                f"best and worst bins of {self.param} differ by {self.effect:.3g}, less than "
                f"two standard errors of the difference of their means ({self.needed:.3g})")


def same(a: dict, b: dict, near: float = NEAR) -> bool:
    """Whether two trials' sampled values are (nearly) the same configuration."""
    keys = set(a) | set(b)
    for k in keys:
        if k in IGNORED:
            continue
        if k not in a or k not in b:
            return False
        x, y = a[k], b[k]
        numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (x, y))
        if numbers and (isinstance(x, float) or isinstance(y, float)):
            if abs(x - y) > near * max(abs(x), abs(y)):
                return False
        elif x != y:
            return False
    return True


def replicates(trials: list[Trial]) -> list[list[Trial]]:
    """Groups (two or more) of complete trials of nearly the same configuration that started
    from different seeds (a group's first trial sets its configuration)."""
    groups: list[list[Trial]] = []
    for t in trials:
        for g in groups:
            if same(g[0].params, t.params):
                g.append(t)
                break
        else:
            groups.append([t])
    out = []
    for g in groups:
        seeds = {t.seed for t in g}
        if len(g) > 1 and (None in seeds or len(seeds) == len(g)):
            out.append(g)
    return out


def spread(groups: list[list[Trial]]) -> tuple[float, int] | None:
    """(pooled standard deviation of the objective within groups, degrees of freedom), or
    None with fewer than ``MIN_DF`` degrees of freedom."""
    df = sum(len(g) - 1 for g in groups)
    if df < MIN_DF:
        return None
    squares = 0.0
    for g in groups:
        mean = sum(t.value for t in g) / len(g)
        squares += sum((t.value - mean) ** 2 for t in g)
    return math.sqrt(squares / df), df


def within_noise(trials: list[Trial], eff: Effect | None) -> Noise | None:
    """A ``Noise`` when ``eff`` (the effect being read) is within the noise between
    initialisations measured on ``trials`` (complete, best first), else None."""
    if eff is None or len(eff.bins) < 2 or eff.shape == "flat":
        return None
    groups = replicates(trials)
    found = spread(groups)
    if found is None:
        return None
    sigma, _ = found
    best = eff.bins[eff.best_bin]
    worst = max(eff.bins, key=lambda b: abs(b.mean - best.mean))
    difference = abs(best.mean - worst.mean)
    needed = 2 * sigma * math.sqrt(1 / best.count + 1 / worst.count)
    if difference >= needed:
        return None
    return Noise(eff.param, eff.metric, sigma, sum(len(g) for g in groups), len(groups),
                 difference, needed)
