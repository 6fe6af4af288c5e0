"""Search-space edges: the best trials crowd against the end of a range.

A numeric parameter (int or float, per-layer ones counting each layer's value) is **at an
edge** when the best trial and at least half of the best trials (``StudyEvidence.top``) lie
within ``EDGE_MARGIN`` (15%) of the range's span from that end, measured on the log scale for
``log`` parameters. The suggested wider range moves that end outwards:

- a log float: one decade (x10 or /10);
- a log int: a factor of 2;
- a linear float or int: 50% of the span (rounded up to whole steps), at least one step;

then clipped to the values the setting accepts (learning rate > 0, keep_prob <= 1, depth
>= 0, widths >= 1, ...). An end already at its valid limit cannot move: the finding says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from nnexp.config.space import Parameter, _check_value
from nnexp.insight.evidence import StudyEvidence, values_of

EDGE_MARGIN = 0.15


@dataclass
class Edge:
    """``param`` sits at its ``side`` ('low' or 'high') end ``bound``; ``widened`` is the
    suggested new end (None: the end is the setting's valid limit)."""

    param: str
    side: str
    bound: float
    widened: float | None
    best_value: float
    near: int  # how many of the top trials are near that end
    top: int
    log: bool

    def evidence(self) -> str:
        scale = " (log scale)" if self.log else ""
        return (f"best trial at {_num(self.best_value)}; {self.near} of the top {self.top} "
                f"trials within {EDGE_MARGIN:.0%} of the range{scale} from the {self.side} "
                f"end {_num(self.bound)}")


def position(param: Parameter, value: float) -> float:
    """Where ``value`` lies in the range, 0 (low) .. 1 (high), on the log scale if ``log``."""
    low, high = param.low, param.high
    if high == low:
        return 0.5
    if param.log:
        return (math.log(value) - math.log(low)) / (math.log(high) - math.log(low))
    return (value - low) / (high - low)


def find_edges(ev: StudyEvidence) -> list[Edge]:
    """Every numeric parameter whose best trials sit at one end of its range."""
    if ev.space is None:
        return []
    top = ev.top
    out = []
    for param in ev.space.sampled:
        if param.kind not in ("int", "float") or param.low == param.high:
            continue
        best = values_of(ev.best, param)
        if not best:
            continue
        per_trial = [values_of(t, param) for t in top]
        active = [vs for vs in per_trial if vs]
        for side in ("high", "low"):
            def near(v: float, side: str = side, param: Parameter = param) -> bool:
                p = position(param, v)
                return p >= 1 - EDGE_MARGIN if side == "high" else p <= EDGE_MARGIN

            if not any(near(v) for v in best):
                continue
            count = sum(any(near(v) for v in vs) for vs in active)
            if 2 * count < len(active):
                continue
            bound = param.high if side == "high" else param.low
            value = max(best) if side == "high" else min(best)
            out.append(Edge(param.name, side, bound, widen(param, side), value, count,
                            len(active), param.log))
            break
    return out


def widen(param: Parameter, side: str) -> float | None:
    """The moved end of ``param``'s range on ``side`` (see the module's docstring), or None
    when no valid value lies beyond it."""
    low, high = param.low, param.high
    span = high - low
    if param.log:
        factor = 2.0 if param.kind == "int" else 10.0
        new = high * factor if side == "high" else low / factor
    else:
        delta = 0.5 * span
        if param.step:
            delta = max(param.step, math.ceil(delta / param.step - 1e-9) * param.step)
        elif param.kind == "int":
            delta = max(1, round(delta))
        new = high + delta if side == "high" else low - delta
    if param.kind == "int":
        new = int(math.ceil(new) if side == "high" else math.floor(new))
        if param.log:
            new = max(new, 1)
    old = high if side == "high" else low
    new = _clip(param, new, old)
    if new is None or new == old:
        return None
    return new


def _clip(param: Parameter, new: float, old: float) -> float | None:
    """``new`` moved back towards ``old`` until the setting accepts it (bisection on the way
    back; ints and steps stay on their grid), None when nothing beyond ``old`` is valid."""
    step = param.step if param.kind == "float" and param.step else (1 if param.kind == "int"
                                                                    else None)
    if _valid(param, new):
        return new
    if param.log and new > 0 and old > 0:
        candidates = [old * (new / old) ** (k / 16) for k in range(15, 0, -1)]
    else:
        candidates = [old + (new - old) * k / 16 for k in range(15, 0, -1)]
    for c in candidates:
        if step:
            n = round((c - param.low) / step)
            c = param.low + n * step
            c = int(c) if param.kind == "int" else round(c, 12)
        if c != old and _valid(param, c) and (c > old) == (new > old):
            return c
    return None


def _valid(param: Parameter, value: float) -> bool:
    if param.log and value <= 0:
        return False
    if param.name == "keep_prob" and not 0 < value <= 1:
        return False
    if param.kind == "int":
        value = int(value)
    _, error = _check_value(param.name, value)
    return error is None


def _num(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)
