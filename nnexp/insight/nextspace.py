"""The suggested next search space: narrowed around the good region, widened at touched edges,
categorical choices pruned of consistently bad ones, everything else kept (kinds, ``log``,
``step``, ``when``, ``per_layer``, fixed values, the parameters' order).

Rules (``suggest_space``):

- a numeric parameter is narrowed to the span of the best trials' values (``StudyEvidence.top``)
  plus a margin of ``MARGIN`` (25%) of that span on each side, at least ``MIN_MARGIN`` (10%) of
  the original span (log scale for log parameters), never beyond the original range; ints and
  stepped floats stay on their grid; a log float's ends are rounded outwards to 3 significant
  digits;
- an end where the best trials crowd (``nnexp.insight.edges``) is moved outwards instead;
- a parameter that a ``when`` condition refers to is not narrowed (its values must stay
  reachable), only widened; depth keeps at least 1 when per-layer parameters need a layer;
- a categorical choice is dropped when it was tried by at least ``MIN_TRIES`` complete trials,
  none of them among the top half, and its mean objective is worse than the median trial's;
  choices a ``when`` refers to are kept, and at least one choice always remains;
- a parameter the advice has already moved (``moved``: a learning rate far too small or too
  large, ``nnexp.insight.rate``) takes that new form instead of the rules above, and one whose
  effect is within the noise between initialisations (``kept``) keeps its range: narrowing or
  widening it would read that noise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from nnexp.config.space import Condition, Parameter, SearchSpace
from nnexp.config.train import DEPTH
from nnexp.insight.edges import Edge
from nnexp.insight.evidence import StudyEvidence, values_of

MARGIN = 0.25
MIN_MARGIN = 0.10
MIN_TRIES = 2
MIN_TO_NARROW = 10
"""Complete trials a study needs before its ranges are narrowed (fewer say little about where
the good region is; edges are still widened)."""


@dataclass
class Change:
    param: str
    before: str
    after: str
    why: str

    def line(self) -> str:
        return f"{self.param}: {self.before} -> {self.after} ({self.why})"


def suggest_space(ev: StudyEvidence, edges: list[Edge],
                  moved: dict[str, tuple[Parameter, str]] | None = None,
                  kept: dict[str, str] | None = None) -> tuple[SearchSpace, list[Change]]:
    """The next space and the list of what changed, parameter by parameter. ``moved``: name ->
    (its new parameter, why); ``kept``: name -> why it keeps its range."""
    moved, kept = moved or {}, kept or {}
    space = ev.space
    referenced = {c.param for p in space.parameters for c in p.conditions}
    used_values = {(c.param, repr(v)) for p in space.parameters for c in p.conditions
                   for v in (c.values or ())}
    needs_layer = any(p.per_layer for p in space.parameters)
    by_name = {e.param: e for e in edges}
    params, changes = [], []
    for p in space.parameters:
        new, why = p, None
        if p.name in moved:
            new, why = moved[p.name]
        elif p.name in kept:
            why = kept[p.name]
        elif p.kind in ("int", "float"):
            new, why = _numeric(ev, p, by_name.get(p.name), p.name in referenced,
                                needs_layer and p.name == DEPTH)
        elif p.kind == "categorical":
            keep = [c for c in p.choices if (p.name, repr(c)) in used_values
                    or not _bad_choice(ev, p, c)]
            if keep and len(keep) < len(p.choices):
                dropped = [str(c) for c in p.choices if c not in keep]
                new, why = replace(p, choices=tuple(keep)), (
                    f"dropped {', '.join(dropped)}: never among the top half, mean worse "
                    "than the median trial")
        if why:
            changes.append(Change(p.name, p.describe(), new.describe(), why))
        params.append(new)
    return SearchSpace(tuple(params), space.description), changes


def _numeric(ev: StudyEvidence, p: Parameter, edge: Edge | None, referenced: bool,
             keep_a_layer: bool) -> tuple[Parameter, str | None]:
    low, high = p.low, p.high
    why = []
    values = [v for t in ev.top for v in values_of(t, p)]
    if values and not referenced and high > low and len(ev.trials) >= MIN_TO_NARROW:
        fwd, back = (math.log, math.exp) if p.log else ((lambda x: x), (lambda x: x))
        lo_t, hi_t = fwd(min(values)), fwd(max(values))
        margin = max(MARGIN * (hi_t - lo_t), MIN_MARGIN * (fwd(high) - fwd(low)))
        new_low, new_high = max(low, back(lo_t - margin)), min(high, back(hi_t + margin))
        new_low, new_high = _on_grid(p, new_low, "low"), _on_grid(p, new_high, "high")
        new_low, new_high = max(low, new_low), min(high, new_high)
        if (new_low, new_high) != (low, high):
            why.append(f"narrowed to the top {len(ev.top)} trials' span "
                       f"{_show(min(values))} .. {_show(max(values))} with a margin")
            low, high = new_low, new_high
    if edge is not None and edge.widened is not None:
        if edge.side == "high":
            high = edge.widened
        else:
            low = edge.widened
        why.append(f"widened at the {edge.side} end: the best trials sit at {_show(edge.bound)}")
    if keep_a_layer and high < 1:
        high = 1
    if p.kind == "int":
        low, high = int(low), int(high)
    if not why:
        return p, None
    return replace(p, low=low, high=high), "; ".join(why)


def _on_grid(p: Parameter, value: float, side: str) -> float:
    """``value`` moved outwards onto the parameter's grid (ints, steps) or rounded outwards to
    3 significant digits (floats without a step)."""
    rounder = math.floor if side == "low" else math.ceil
    if p.kind == "int" or p.step:
        step = p.step or 1
        k = rounder((value - p.low) / step - (1e-9 if side == "high" else -1e-9))
        v = p.low + k * step
        return int(v) if p.kind == "int" else float(f"{v:.12g}")
    if value <= 0:
        return value
    digits = 10 ** (math.floor(math.log10(value)) - 2)
    return float(f"{rounder(value / digits) * digits:.12g}")


def _bad_choice(ev: StudyEvidence, p: Parameter, choice: Any) -> bool:
    tries = [i for i, t in enumerate(ev.trials) if choice in values_of(t, p)]
    if len(tries) < MIN_TRIES:
        return False
    half = len(ev.trials) / 2
    if any(i < half for i in tries):
        return False
    median = ev.trials[len(ev.trials) // 2].value
    mean = sum(ev.trials[i].value for i in tries) / len(tries)
    return mean < median if ev.maximize else mean > median


# ----- writing the file ----------------------------------------------------------------------

def space_mapping(space: SearchSpace) -> dict[str, Any]:
    """The YAML mapping of ``space`` (the grammar of ``nnexp.config.space``)."""
    params: dict[str, Any] = {}
    for p in space.parameters:
        if p.kind == "fixed":
            params[p.name] = _plain(p.value)
            continue
        spec: dict[str, Any] = {"type": p.kind}
        if p.kind == "categorical":
            spec["choices"] = [_plain(c) for c in p.choices]
        else:
            number = int if p.kind == "int" else float
            spec["low"], spec["high"] = number(p.low), number(p.high)
            if p.step is not None and not (p.kind == "int" and p.step == 1):
                spec["step"] = number(p.step)
            if p.log:
                spec["log"] = True
        if p.per_layer:
            spec["per_layer"] = True
        if p.conditions:
            spec["when"] = {c.param: _condition(c) for c in p.conditions}
        params[p.name] = spec
    out: dict[str, Any] = {}
    if space.description:
        out["description"] = space.description
    out["parameters"] = params
    return out


def write_space(path: str | Path, space: SearchSpace, changes: list[Change],
                ev: StudyEvidence) -> Path:
    """Write the suggested space to ``path`` with a header comment naming the study and every
    change."""
    path = Path(path)
    when = datetime.now().strftime("%Y-%m-%d %H:%M")
    header = [f"# Suggested by nnexp advise from study {ev.name} ({len(ev.trials)} complete "
              f"trials, best {ev.metric} = {ev.best.value:.4g}, trial {ev.best.number}), {when}."]
    if ev.space_note:
        header.append(f"# Note: {ev.space_note}.")
    header += [f"#   {c.line()}" for c in changes] or ["#   no change suggested"]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(header) + "\n"
                    + yaml.safe_dump(space_mapping(space), sort_keys=False))
    return path


def _condition(c: Condition) -> Any:
    if c.values is not None:
        return _plain(c.values[0]) if len(c.values) == 1 else [_plain(v) for v in c.values]
    return {k: v for k, v in (("low", c.low), ("high", c.high)) if v is not None}


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def _show(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)
