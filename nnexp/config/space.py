"""Search spaces: the YAML grammar, its validation, and the define-by-run function it becomes.

A search-space file is a mapping ``parameters: {name: spec}`` (and an optional
``description``). A spec is one of::

    epochs: 30                                          # a bare value: fixed
    depth: {type: int, low: 1, high: 4}                 # int, optional step (default 1), log
    learning_rate: {type: float, low: 1.0e-4, high: 0.1, log: true}   # float, optional step
    init: {type: categorical, choices: [he, xavier]}    # null, booleans, numbers or strings

and any sampled spec may carry ``when`` (sample it only if every listed parameter matches:
a value, a list of values, or ``{low: .., high: ..}``, both ends included). ``depth`` and
``width`` build ``hidden_layers``; ``width`` and ``keep_prob`` may set ``per_layer: true``
to be sampled as ``width_1`` .. ``width_<depth>``. Other names are ``TrainConfig`` fields,
or helper parameters that only serve in some ``when`` (e.g. ``regularization``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from nnexp.config.errors import ConfigError, Loc, did_you_mean, pydantic_messages
from nnexp.config.source import Source, read_mapping
from nnexp.config.train import (
    DEPTH,
    PER_LAYER,
    WIDTH,
    check_setting,
    layer_name,
    number_kind,
    split_layer_name,
)
from nnexp.core.config import FIELD_NAMES

KINDS = ("int", "float", "categorical")


@dataclass(frozen=True)
class Condition:
    """``param`` must equal one of ``values``, or lie in [low, high] when ``values`` is None."""

    param: str
    values: tuple[Any, ...] | None = None
    low: float | None = None
    high: float | None = None

    def holds(self, known: dict[str, Any]) -> bool:
        """True when ``known[param]`` matches; False when the parameter is absent (inactive)."""
        if self.param not in known:
            return False
        value = known[self.param]
        if self.values is not None:
            return any(value == v and isinstance(value, bool) == isinstance(v, bool)
                       for v in self.values)
        if not _is_number(value):
            return False
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)

    def __str__(self) -> str:
        if self.values is not None:
            if len(self.values) == 1:
                return f"{self.param} == {_show(self.values[0])}"
            return f"{self.param} in [{', '.join(map(_show, self.values))}]"
        if self.low is not None and self.high is not None:
            return f"{_show(self.low)} <= {self.param} <= {_show(self.high)}"
        return f"{self.param} >= {_show(self.low)}" if self.low is not None \
            else f"{self.param} <= {_show(self.high)}"


@dataclass(frozen=True)
class Parameter:
    """One entry of the space: ``kind`` is 'int', 'float', 'categorical' or 'fixed'."""

    name: str
    kind: str
    low: float | None = None
    high: float | None = None
    step: float | None = None
    log: bool = False
    choices: tuple[Any, ...] = ()
    value: Any = None
    per_layer: bool = False
    conditions: tuple[Condition, ...] = ()

    def values(self) -> list[Any] | None:
        """Every value it can take (grid order), or None when there are infinitely many."""
        if self.kind == "categorical":
            return list(self.choices)
        if self.kind == "int":
            return list(range(int(self.low), int(self.high) + 1, int(self.step)))
        if self.kind == "float" and self.step is not None:
            n = round((self.high - self.low) / self.step)
            return [round(self.low + k * self.step, 12) for k in range(n + 1)]
        return [self.value] if self.kind == "fixed" else None

    def contains(self, value: Any) -> bool:
        """Whether ``value`` is one this parameter can take."""
        if self.kind in ("categorical", "fixed"):
            return Condition(self.name, self.values()).holds({self.name: value})
        if not _is_number(value) or (self.kind == "int" and not isinstance(value, int)):
            return False
        if not self.low <= value <= self.high:
            return False
        if self.step is None:
            return True
        k = (value - self.low) / self.step
        return abs(k - round(k)) < 1e-8

    def suggest(self, trial: Any, name: str) -> Any:
        """Ask an Optuna trial for this parameter's value under ``name``."""
        if self.kind == "int":
            return trial.suggest_int(name=name, low=int(self.low), high=int(self.high),
                                     step=int(self.step), log=self.log)
        if self.kind == "float":
            return trial.suggest_float(name=name, low=self.low, high=self.high,
                                       step=self.step, log=self.log)
        return trial.suggest_categorical(name=name, choices=list(self.choices))

    def describe(self) -> str:
        """'1 .. 4', '0.0001 .. 0.1 step 0.01', 'he, xavier' or the fixed value."""
        if self.kind == "categorical":
            return ", ".join(map(_show, self.choices))
        if self.kind == "fixed":
            return _show(self.value)
        step = f" step {_show(self.step)}" if self.step not in (None, 1) else ""
        return f"{_show(self.low)} .. {_show(self.high)}{step}"


class SummaryRow(NamedTuple):
    """One line of ``SearchSpace.summary()``."""

    parameter: str
    type: str
    range: str
    log: str
    condition: str


@dataclass(frozen=True)
class SearchSpace:
    """A validated search space, its parameters in dependency order (file order otherwise)."""

    parameters: tuple[Parameter, ...]
    description: str | None = None

    @property
    def fixed(self) -> dict[str, Any]:
        """The fixed values, name -> value."""
        return {p.name: p.value for p in self.parameters if p.kind == "fixed"}

    @property
    def sampled(self) -> tuple[Parameter, ...]:
        """The parameters a trial samples (per-layer ones stand for all their layers)."""
        return tuple(p for p in self.parameters if p.kind != "fixed")

    @property
    def is_conditional(self) -> bool:
        """Whether the set of sampled names can change from trial to trial."""
        depth = self.get(DEPTH)
        return any(p.conditions or (p.per_layer and depth.kind != "fixed")
                   for p in self.sampled)

    def get(self, name: str) -> Parameter | None:
        """The parameter called ``name``, or None."""
        return next((p for p in self.parameters if p.name == name), None)

    def names(self, param: Parameter, known: dict[str, Any]) -> list[str]:
        """Trial names of ``param`` given the values so far: [] if inactive, one per layer."""
        if not all(c.holds(known) for c in param.conditions):
            return []
        if param.per_layer:
            return [layer_name(param.name, i) for i in range(1, known.get(DEPTH, 0) + 1)]
        return [param.name]

    def suggest(self, trial: Any) -> dict[str, Any]:
        """Sample one configuration from an Optuna trial; returns exactly ``trial.params``."""
        known, sampled = self.fixed, {}
        for param in self.sampled:
            for name in self.names(param, known):
                known[name] = sampled[name] = param.suggest(trial, name)
        return sampled

    def example(self) -> dict[str, Any]:
        """A configuration the space can produce: each low end or first choice."""
        known, sampled = self.fixed, {}
        for param in self.sampled:
            for name in self.names(param, known):
                known[name] = sampled[name] = param.values()[0] if param.values() else param.low
        return sampled

    def summary(self) -> list[SummaryRow]:
        """One row per parameter: name, type, range or choices, log scale, condition."""
        rows = []
        for p in self.parameters:
            name = f"{p.name}_1 .. {p.name}_<depth>" if p.per_layer else p.name
            condition = " and ".join(map(str, p.conditions))
            if p.per_layer:
                condition = " and ".join(filter(None, ["one per hidden layer", condition]))
            rows.append(SummaryRow(name, p.kind, p.describe(), "log" if p.log else "", condition))
        return rows

    def grid_size(self) -> int | None:
        """How many distinct configurations the space holds, or None if infinitely many."""
        if any(p.values() is None for p in self.sampled):
            return None
        controllers = {c.param for p in self.parameters for c in p.conditions}
        if any(p.per_layer for p in self.parameters):
            controllers.add(DEPTH)
        sampled = self.sampled

        def count(i: int, known: dict[str, Any]) -> int:
            if i == len(sampled):
                return 1
            param, values = sampled[i], sampled[i].values()
            names = self.names(param, known)
            if param.name in controllers and names:
                return sum(count(i + 1, {**known, param.name: v}) for v in values)
            return len(values) ** len(names) * count(i + 1, known)

        return count(0, self.fixed)

    def grid(self) -> dict[str, list[Any]]:
        """Name -> values for Optuna's ``GridSampler``; the space must be finite, unconditional."""
        if self.grid_size() is None:
            infinite = [p.name for p in self.sampled if p.values() is None]
            raise ConfigError(f"the grid sampler needs a finite space; {', '.join(infinite)} "
                              "can take infinitely many values (give floats a step, or use "
                              "categorical)")
        if self.is_conditional:
            raise ConfigError("the grid sampler needs a space without conditions ('when', or "
                              "per-layer values with a searched depth)")
        return {name: p.values() for p in self.sampled for name in self.names(p, self.fixed)}

    def check_point(self, point: dict[str, Any]) -> list[tuple[str, str]]:
        """Problems (name, message) of a given configuration such as a baseline, or []."""
        problems = []
        searched = {p.name: p for p in self.sampled if not p.per_layer}
        for p in self.sampled:
            if p.per_layer:
                high = self.get(DEPTH).values() or [0]
                searched.update({layer_name(p.name, i): p for i in range(1, max(high) + 1)})
        for name, value in point.items():
            if name in self.fixed:
                problems.append((name, f"is fixed in the search space ({_show(self.fixed[name])})"
                                       "; only searched parameters can be given"))
            elif name not in searched:
                problems.append((name, f"is not a parameter of the search space"
                                       f"{did_you_mean(name, searched)}; searched: "
                                       f"{', '.join(searched)}"))
            elif not searched[name].contains(value):
                problems.append((name, f"{_show(value)} is outside the search space "
                                       f"({searched[name].describe()})"))
        known = {**self.fixed, **point}
        for name in point:
            param = searched.get(name)
            if param is None:
                continue
            layer = split_layer_name(name) if param.per_layer else None
            refs = [c.param for c in param.conditions] + ([DEPTH] if layer else [])
            if not all(r in known for r in refs):
                continue
            failed = [str(c) for c in param.conditions if not c.holds(known)]
            if layer and layer[1] > known[DEPTH]:
                failed.append(f"{DEPTH} >= {layer[1]}")
            if failed:
                problems.append((name, f"is not used by this configuration: it needs "
                                       f"{' and '.join(failed)}"))
        return problems


# ----- the YAML grammar ----------------------------------------------------------------------

class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    when: dict[str, Any] = Field(default_factory=dict)
    per_layer: bool = False


class _IntSpec(_Spec):
    type: Literal["int"]
    low: int
    high: int
    step: int = Field(1, ge=1)
    log: bool = False


class _FloatSpec(_Spec):
    type: Literal["float"]
    low: float = Field(allow_inf_nan=False)
    high: float = Field(allow_inf_nan=False)
    step: float | None = Field(None, gt=0, allow_inf_nan=False)
    log: bool = False


class _CategoricalSpec(_Spec):
    type: Literal["categorical"]
    choices: list[Any] = Field(min_length=1)


_SPECS = {"int": _IntSpec, "float": _FloatSpec, "categorical": _CategoricalSpec}


class _SpaceFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str | None = None
    parameters: dict[str, Any]


def load_space(path: str | Path) -> SearchSpace:
    """Read and validate a search-space file; raise ``ConfigError`` listing every mistake."""
    path = Path(path)
    raw, src = read_mapping(path, [])
    space = parse_space(raw, src, ()) if raw is not None else None
    if src.problems or space is None:
        raise ConfigError(src.problems)
    return space


def parse_space(raw: Any, src: Source, loc: Loc) -> SearchSpace | None:
    """Validate a search-space mapping; report every mistake to ``src``, None if any."""
    before = len(src.problems)
    if not isinstance(raw, dict):
        src.report(loc, f"expected a mapping with parameters: {{...}}, got {raw!r}")
        return None
    try:
        top = _SpaceFile.model_validate(raw)
    except ValidationError as err:
        for where, message in pydantic_messages(err, _SpaceFile.model_fields):
            src.report(loc + where, message)
        return None
    ploc = loc + ("parameters",)
    params = {}
    for name, spec in top.parameters.items():
        param = _parse_parameter(str(name), spec, src, ploc + (str(name),))
        if param is not None:
            params[param.name] = param
    params = _parse_conditions(params, top.parameters, src, ploc)
    _check_structure(params, top.parameters, src, ploc)
    order = _dependency_order(params, src, ploc)
    if len(src.problems) > before or order is None:
        return None
    return SearchSpace(tuple(params[n] for n in order), top.description)


def _parse_parameter(name: str, spec: Any, src: Source, loc: Loc) -> Parameter | None:
    """One ``name: spec`` entry, with its values checked against the training setting."""
    if split_layer_name(name):
        base = split_layer_name(name)[0]
        src.report(loc, f"{name!r} is reserved for per-layer values: declare {base!r} with "
                        "per_layer: true")
        return None
    if not isinstance(spec, dict):
        value, error = _check_value(name, spec)
        if error:
            src.report(loc, error)
            return None
        return Parameter(name, "fixed", value=value)
    kind = spec.get("type")
    if kind not in _SPECS:
        what = ("missing type" if kind is None
                else f"unknown type {kind!r}{did_you_mean(kind, KINDS)}")
        src.report(loc + ("type",) if kind is not None else loc,
                   f"{what}: use one of {', '.join(KINDS)} (or a bare value to fix the parameter)")
        return None
    model = _SPECS[kind]
    try:
        s = model.model_validate(spec)
    except ValidationError as err:
        for where, message in pydantic_messages(err, model.model_fields):
            src.report(loc + where, message)
        return None
    wrong: set[str] = set()

    def bad(field: str, message: str) -> None:
        wrong.add(field)
        src.report(loc + (field,), message)

    if s.per_layer and name not in PER_LAYER:
        bad("per_layer", f"only {' and '.join(PER_LAYER)} can be sampled per layer")
    if kind == "categorical":
        choices = []
        for i, choice in enumerate(s.choices):
            if not (choice is None or isinstance(choice, bool | int | float | str)):
                bad(f"choices[{i}]", f"{choice!r}: choices must be null, booleans, numbers or "
                                     "strings (to search layer sizes use depth and width)")
                continue
            value, error = _check_value(name, choice)
            if error:
                bad("choices", error)
            choices.append(value)
        if len(set(map(repr, choices))) != len(choices):
            bad("choices", f"duplicate choices in {s.choices!r}")
        if wrong:
            return None
        return Parameter(name, kind, choices=tuple(choices), per_layer=s.per_layer)
    if s.low > s.high:
        bad("low", f"low ({s.low}) must be <= high ({s.high})")
    if s.log and s.low <= 0:
        bad("low", f"a log scale needs low > 0 (got {s.low})")
    if s.log and kind == "float" and s.step is not None:
        bad("step", "step and log cannot be combined (Optuna samples one or the other)")
    if s.log and kind == "int" and s.step != 1:
        bad("step", "an int on a log scale must have step 1")
    if s.step is not None and s.low <= s.high:
        k = (s.high - s.low) / s.step
        if abs(k - round(k)) > 1e-8:
            bad("high", f"high - low ({s.high - s.low:g}) must be a multiple of step ({s.step:g})")
    number = number_kind(name)
    if number is None:
        bad("type", f"{name} is not a number: use type: categorical or a bare value")
    elif kind == "float" and number == "int":
        bad("type", f"{name} takes whole numbers: use type: int")
    else:
        for field in ("low", "high"):
            _, error = _check_value(name, getattr(s, field))
            if error and field not in wrong:
                bad(field, error)
    if wrong:
        return None
    return Parameter(name, kind, low=s.low, high=s.high, step=s.step, log=s.log,
                     per_layer=s.per_layer)


def _check_value(name: str, value: Any) -> tuple[Any, str | None]:
    """One value of parameter ``name``, coerced to its training setting's type when it has one."""
    if name == DEPTH:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            return value, f"depth={value!r}: must be a whole number >= 0 (hidden layers)"
        return value, None
    if name == WIDTH:
        value, error = check_setting("hidden_layers", [value])
        return (value[0], None) if not error else (value, error.replace("hidden_layers[0]",
                                                                        "width"))
    if name in FIELD_NAMES:
        return check_setting(name, value)
    return value, None


def _parse_conditions(params: dict[str, Parameter], raw: dict[str, Any], src: Source,
                      loc: Loc) -> dict[str, Parameter]:
    """Attach each ``when`` to its parameter, checking what it refers to and compares with."""
    out = dict(params)
    for name, param in params.items():
        spec = raw[name]
        when = spec.get("when", {}) if isinstance(spec, dict) else {}
        conditions = []
        for ref, test in when.items():
            where = loc + (name, "when", ref)
            target = params.get(ref)
            if ref == name:
                src.report(where, "a parameter cannot depend on itself")
            elif target is None and ref in raw:
                continue  # declared but invalid: already reported
            elif target is None:
                src.report(where, f"refers to unknown parameter {ref!r}"
                                  f"{did_you_mean(ref, raw)}; parameters: {', '.join(raw)}")
            elif target.per_layer:
                src.report(where, f"{ref} is sampled per layer; conditions cannot refer to it")
            else:
                condition = _parse_condition(ref, test, target, src, where)
                if condition is not None:
                    conditions.append(condition)
        out[name] = replace(param, conditions=tuple(conditions))
    return out


def _parse_condition(ref: str, test: Any, target: Parameter, src: Source,
                     where: Loc) -> Condition | None:
    if isinstance(test, dict):
        unknown = set(test) - {"low", "high"}
        if unknown or not test or not all(_is_number(v) for v in test.values()):
            src.report(where, f"a range condition is {{low: number, high: number}} (either may "
                              f"be left out), got {test!r}")
            return None
        condition = Condition(ref, low=test.get("low"), high=test.get("high"))
        if condition.low is not None and condition.high is not None \
                and condition.low > condition.high:
            src.report(where, f"low ({_show(condition.low)}) > high ({_show(condition.high)}): "
                              "no value lies in this range, so the parameter is never sampled; "
                              "swap them")
            return None
        if not _range_reachable(condition, target):
            src.report(where, f"{ref} never lies in this range (it takes "
                              f"{target.describe()}), so the parameter is never sampled; give "
                              "a range that overlaps it")
            return None
        return condition
    values = tuple(test) if isinstance(test, list) else (test,)
    if not values:
        src.report(where, "an empty list never matches; list the values that enable it")
        return None
    possible = target.values()
    for value in values:
        if possible is not None and not target.contains(value):
            shown = ", ".join(map(_show, possible))
            hint = did_you_mean(value, [str(v) for v in possible])
            src.report(where, f"{ref} never takes the value {_show(value)}{hint}; "
                              f"it takes: {shown}")
            return None
        if possible is None and not target.contains(value):
            src.report(where, f"{_show(value)} is outside {ref}'s range {target.describe()}")
            return None
    return Condition(ref, values=values)


def _range_reachable(condition: Condition, target: Parameter) -> bool:
    """Whether some value of ``target`` lies in the range of ``condition``."""
    possible = target.values()
    if possible is not None:
        return any(condition.holds({target.name: v}) for v in possible)
    low = target.low if condition.low is None else max(target.low, condition.low)
    high = target.high if condition.high is None else min(target.high, condition.high)
    return low <= high


def _check_structure(params: dict[str, Parameter], raw: dict[str, Any], src: Source,
                     loc: Loc) -> None:
    """depth and width come together, replace hidden_layers; helpers must serve a condition.

    ``params`` are the valid parameters, ``raw`` every declared one as written.
    """
    has = set(raw)
    if (DEPTH in has) != (WIDTH in has):
        missing, given = (WIDTH, DEPTH) if DEPTH in has else (DEPTH, WIDTH)
        src.report(loc + (given,), f"{given} needs {missing} too (hidden_layers = depth x width)"
                                   "; or fix hidden_layers directly")
    if "hidden_layers" in has and has & {DEPTH, WIDTH}:
        src.report(loc + ("hidden_layers",), "give either hidden_layers or depth and width")
    if any(p.per_layer for p in params.values()) and DEPTH not in has:
        src.report(loc, "per-layer parameters need a depth parameter (fixed or searched)")
    depth = params.get(DEPTH)
    depths = depth.values() if depth is not None else None
    if depths is not None and all(isinstance(d, int) for d in depths) and max(depths) == 0:
        for p in params.values():
            if p.per_layer:
                src.report(loc + (p.name, "per_layer"),
                           f"depth is always 0, so there is no hidden layer to sample "
                           f"{p.name}_1 .. for; allow depth >= 1 or drop per_layer")
    if depth is not None and depth.kind == "float":
        src.report(loc + (DEPTH, "type"), "depth takes whole numbers: use type: int")
    referenced = {ref for spec in raw.values() if isinstance(spec, dict)
                  and isinstance(spec.get("when"), dict) for ref in spec["when"]}
    for name in set(params) - set(FIELD_NAMES) - {DEPTH, WIDTH} - referenced:
        src.report(loc + (name,), f"{name!r} is not a training setting"
                                  f"{did_you_mean(name, [*FIELD_NAMES, DEPTH, WIDTH])} and no "
                                  "'when' refers to it (a helper parameter only serves in "
                                  "conditions)")


def _dependency_order(params: dict[str, Parameter], src: Source, loc: Loc) -> list[str] | None:
    """Names ordered so every parameter comes after those its conditions (and depth) read."""
    deps = {n: {c.param for c in p.conditions} | ({DEPTH} if p.per_layer else set())
            for n, p in params.items()}
    order: list[str] = []
    while len(order) < len(params):
        ready = [n for n in params if n not in order and deps[n] <= set(order)]
        if not ready:
            cycle = sorted(set(params) - set(order))
            src.report(loc, f"conditions form a cycle among {', '.join(cycle)}")
            return None
        order.append(ready[0])
    return order


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _show(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list | tuple):
        return f"[{', '.join(map(_show, value))}]"
    return str(value)

