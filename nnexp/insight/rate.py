"""The learning rate read from the learning curves and the update ratios, as the course reads
them: a rate far too small barely moves the weights and the cost; one too large makes the
cost rise, oscillate or diverge. Pure functions over ``nnexp.insight.curves.TrialCurve``.

**Far too small** (``too_small``): the best trial and the trial with the largest learning
rate both moved their weights by less than ``SMALL_RATIO`` (1e-4, a tenth of the healthy
1e-3) per update at the last sampled epoch, their train cost fell by less than ``FLAT_FALL``
(5%) over the run, and the best trial still has high avoidable bias (there was something left
to learn). The whole range is moved up by the factor that brings the median update ratio to
about 1e-3 (the ratio grows in proportion to the rate while it is this small: the factor is
1e-3 / median(ratio / rate), divided by the range's geometric centre), rounded to one
significant digit and capped at ``MAX_FACTOR`` (1000x).

**Too large** (``too_large``): a trial went bad when it diverged, or when it ended with high
avoidable bias (it did not learn what it could) and its train cost rose (ended at least 10%
above its lowest point, ``curves.rising``), oscillated (in the second half of the run it went
up at least ``OSCILLATING`` (half) as much as it went down, ``curves.oscillation``) or froze
after falling (its weights moved less than ``FROZEN_RATIO`` (1e-6) per update at the end: dead
or saturated units; its cost had fallen by more than ``FLAT_FALL``, so the rate was not too
small, typically from an epoch 1 that blew up). A trial that scores fine bounces only around a
low cost: mini-batch noise at its plateau, not a rate to lower.

When every trial read went bad (the whole range, the best trial too), that explains the
study: the range moves down so that its high end is a tenth of the smallest rate that went bad
or below (the factor rounded up to one significant digit; at least 10x, at most
``MAX_FACTOR``). When only the trials above every good one went bad and the best trial did
not, the high end comes down to between the largest good rate and the smallest bad one above
it.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field, replace

from nnexp.config.space import Parameter
from nnexp.insight.curves import HEALTHY_RATIO, TrialCurve, cost_fall, oscillation, rising

SMALL_RATIO = HEALTHY_RATIO / 10
FLAT_FALL = 0.05
OSCILLATING = 0.5
MAX_FACTOR = 1000.0
MIN_DOWN = 10.0
FROZEN_RATIO = 1e-6
NAME = "learning_rate"


@dataclass
class RateFinding:
    """A finding about the learning rate: ``whole`` when it holds for every trial read (it
    explains the study); ``factor`` the range's move (> 1 up, < 1 down) or None;
    ``new_high`` a lowered high end (a partial too-large) or None; ``param`` the moved
    learning-rate parameter of the next space (None when the space has none) and ``why``
    its line in the written space's header."""

    kind: str  # "too small" or "too large"
    whole: bool
    title: str
    evidence: str
    moves: list[str] = field(default_factory=list)
    factor: float | None = None
    new_high: float | None = None
    param: Parameter | None = None
    why: str = ""


def _g(value: float, digits: int = 2) -> str:
    return f"{value:.{digits}g}"


def _pct(value: float) -> str:
    return f"{100 * value:.2g}%"


def nice(factor: float, up: bool = False) -> float:
    """``factor`` rounded to one significant digit (``up``: upwards): 437 -> 400 (500),
    66.7 -> 70."""
    digits = math.floor(math.log10(factor))
    lead = factor / 10 ** digits
    return (math.ceil(lead - 1e-9) if up else round(lead)) * 10 ** digits


def range_of(param: Parameter | None, curves: list[TrialCurve]) -> tuple[float, float]:
    """(low, high) of the learning rate: the space's range, fixed value or choices, else the
    rates the trials used."""
    if param is not None:
        if param.kind in ("int", "float"):
            return float(param.low), float(param.high)
        if param.kind == "fixed" and _positive(param.value):
            return float(param.value), float(param.value)
        if param.kind == "categorical":
            numbers = [float(c) for c in param.choices if _positive(c)]
            if numbers:
                return min(numbers), max(numbers)
    rates = [c.learning_rate for c in curves if c.learning_rate]
    return min(rates), max(rates)


def _positive(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


def _describe(low: float, high: float) -> str:
    return f"[{low:g}, {high:g}]" if low != high else f"{low:g}"


def scaled(param: Parameter, factor: float) -> Parameter:
    """``param`` (the learning rate) with every value multiplied by ``factor``, ends rounded
    to 3 significant digits."""
    def r(v: float) -> float:
        return float(f"{v * factor:.3g}")

    if param.kind in ("int", "float"):
        step = None if param.step is None else r(param.step)
        return replace(param, kind="float", low=r(param.low), high=r(param.high), step=step)
    if param.kind == "fixed":
        return replace(param, value=r(param.value))
    return replace(param, choices=tuple(r(c) if _positive(c) else c for c in param.choices))


def too_small(curves: list[TrialCurve], best: int, param: Parameter | None,
              high_bias: bool) -> RateFinding | None:
    """The finding "far too small" (see the module's docstring), or None. ``best``: the best
    trial's number; ``high_bias``: its diagnosis found high avoidable bias."""
    read = [c for c in curves if c.ratio is not None and c.learning_rate and
            cost_fall(c.costs) is not None and not c.diverged]
    by_number = {c.number: c for c in read}
    if not high_bias or best not in by_number:
        return None
    top = max(read, key=lambda c: c.learning_rate)
    key = [by_number[best]] + ([top] if top.number != best else [])
    if not all(c.ratio < SMALL_RATIO and cost_fall(c.costs) < FLAT_FALL for c in key):
        return None
    moved = [c for c in read if c.ratio > 0]
    if not moved:
        return None
    per_rate = statistics.median(c.ratio / c.learning_rate for c in moved)
    target = HEALTHY_RATIO / per_rate
    low, high = range_of(param, curves)
    raw = target / math.sqrt(low * high)
    factor = nice(min(max(raw, 1.0), MAX_FACTOR))
    ratios = [c.ratio for c in read]
    falls = [cost_fall(c.costs) for c in read]
    b = by_number[best]
    evidence = (
        f"median update ratio {_g(statistics.median(ratios))} per update at the last sampled "
        f"epoch (largest {_g(top.ratio)}, trial {top.number} at {NAME} {_g(top.learning_rate, 3)}"
        f"), where about {HEALTHY_RATIO:g} is healthy; the train cost fell "
        f"{_pct(cost_fall(b.costs))} over {b.epochs} epochs in the best trial {best} (at most "
        f"{_pct(max(falls))} in any of the {len(read)} trials read); {NAME} "
        f"{_describe(low, high)}")
    new_low, new_high = float(f"{low * factor:.3g}"), float(f"{high * factor:.3g}")
    capped = " (capped)" if raw > MAX_FACTOR else ""
    where = (f"range up {factor:g}x, to {_describe(new_low, new_high)}" if low != high else
             f"up {factor:g}x, to {new_low:g}")
    move = (f"move {NAME}'s {where}{capped}: about {_g(target)} brings the median update ratio "
            f"to {HEALTHY_RATIO:g}")
    if param is None:
        move += f" (set train.{NAME} in the experiment; the search space does not hold it)"
    return RateFinding(
        "too small", True, f"{NAME} far too small: the weights and the cost barely move",
        evidence, [move, "then read bias and variance again: an untrained network says "
                   "nothing about its size"], factor, None,
        None if param is None else scaled(param, factor),
        f"far too small: moved up {factor:g}x{capped}, where the median update ratio "
        f"becomes about {HEALTHY_RATIO:g}")


def went_bad(c: TrialCurve) -> str | None:
    """Why trial curve ``c`` shows a learning rate too large ('diverged', 'rising',
    'oscillating', 'frozen'), or None (see the module's docstring)."""
    if c.diverged:
        return "diverged"
    if not c.high_bias:
        return None
    if rising(c.costs):
        return "rising"
    if oscillation(c.costs) >= OSCILLATING:
        return "oscillating"
    fall = cost_fall(c.costs)
    if c.ratio is not None and c.ratio < FROZEN_RATIO and fall is not None and fall > FLAT_FALL:
        return "frozen"
    return None


def _symptom(c: TrialCurve, why: str) -> str:
    text = f"trial {c.number} ({NAME} {_g(c.learning_rate, 3)}): "
    if why == "diverged":
        return text + "diverged (its cost overflowed)"
    if why == "frozen":
        return text + (f"its cost fell from {_g(c.costs[0][1], 3)} at epoch {c.costs[0][0]} "
                       f"and its weights froze (update ratio {_g(c.ratio)} per update)")
    values = [v for _, v in c.costs]
    if why == "rising":
        finite = [v for v in values if math.isfinite(v)]
        return text + (f"train cost rose from {_g(min(finite), 3)} to {_g(values[-1], 3)}"
                       if finite and math.isfinite(values[-1]) else "train cost overflowed")
    return text + (f"train cost went up {_g(oscillation(c.costs))}x as much as down in the "
                   f"second half of its run")


def too_large(curves: list[TrialCurve], best: int,
              param: Parameter | None) -> RateFinding | None:
    """The finding "too large" (see the module's docstring), or None."""
    read = [c for c in curves if c.learning_rate and (c.costs or c.diverged)]
    why = {c.number: went_bad(c) for c in read}
    bad = [c for c in read if why[c.number]]
    good = [c for c in read if not why[c.number]]
    if not bad:
        return None
    low, high = range_of(param, curves)
    if not good:
        smallest_bad = min(c.learning_rate for c in bad)
        raw = high / (smallest_bad / MIN_DOWN)
        factor = nice(min(max(raw, MIN_DOWN), MAX_FACTOR), up=True)
        new_low, new_high = float(f"{low / factor:.3g}"), float(f"{high / factor:.3g}")
        where = (f"range down {factor:g}x, to {_describe(new_low, new_high)}" if low != high
                 else f"down {factor:g}x, to {new_low:g}")
        reason = f"its high end a tenth of the smallest rate that went bad ({_g(smallest_bad, 3)})"
        move = f"move {NAME}'s {where}: {reason}"
        if param is None:
            move += f" (set train.{NAME} in the experiment; the search space does not hold it)"
        return RateFinding(
            "too large", True, f"{NAME} too large: every trial went bad (its cost rose, "
            "oscillated or diverged, or its weights froze)",
            _evidence(bad, why, read, best, low, high), [move], 1 / factor, None,
            None if param is None else scaled(param, 1 / factor),
            f"too large: moved down {factor:g}x, {reason}")
    if best not in {c.number for c in good} or param is None or param.kind != "float":
        return None
    largest_good = max(c.learning_rate for c in good)
    above = [c for c in bad if c.learning_rate > largest_good]
    if not above:
        return None
    smallest_bad = min(c.learning_rate for c in above)
    new_high = float(f"{math.sqrt(largest_good * smallest_bad):.3g}")
    if not low < new_high < high:
        return None
    return RateFinding(
        "too large", False, f"{NAME}'s high end too large: the trials above "
        f"{_g(largest_good, 3)} went bad", _evidence(above, why, read, best, low, high),
        [f"lower {NAME}'s high end from {high:g} to {new_high:g}, between the largest rate "
         f"that trained well ({_g(largest_good, 3)}) and the smallest above it that went bad "
         f"({_g(smallest_bad, 3)})"], None, new_high, replace(param, high=new_high),
        f"high end too large: the trials from {_g(smallest_bad, 3)} up went bad")


def _evidence(bad: list[TrialCurve], why: dict[int, str | None], read: list[TrialCurve],
              best: int, low: float, high: float) -> str:
    counts = {w: sum(1 for c in bad if why[c.number] == w)
              for w in ("diverged", "rising", "oscillating", "frozen")}
    shown = sorted(bad, key=lambda c: (c.number != best, -c.learning_rate))[:3]
    return (", ".join(f"{n} {w}" for w, n in counts.items() if n) + f" of the {len(read)} "
            f"trials read ({NAME} {_describe(low, high)}); "
            + "; ".join(_symptom(c, why[c.number]) for c in shown))
