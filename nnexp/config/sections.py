"""Sections shared by experiment files and run files: top-level keys, objective, train, tracking.

Each ``parse_*`` reports every mistake to the ``Source`` and returns the parsed value, or
None when the section is unusable.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from nnexp.config.errors import ConfigError, Loc, did_you_mean, pydantic_messages, unknown_name
from nnexp.config.metrics import DIRECTIONS, METRICS, default_metric
from nnexp.config.source import Source, read_mapping
from nnexp.config.train import check_setting

M = TypeVar("M", bound=BaseModel)


class Tracking(BaseModel):
    """Where MLflow records runs (``uri`` null: MLflow's default), which models it keeps, and
    how often a trial records its epoch (``log_every`` null: often enough for about 200 points
    per learning curve; pruning sees the same epochs), and whether a trial records per-layer
    signals (``signals``) every ``signals_every`` epochs (null: about 12 samples per trial)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    uri: str | None = None
    experiment_name: str | None = None
    log_models: Literal["none", "best", "all"] = "best"
    log_every: int | None = Field(None, ge=1)
    signals: bool = True
    signals_every: int | None = Field(None, ge=1)


def read_top_level(path: Path, allowed: tuple[str, ...],
                   required: tuple[str, ...]) -> tuple[dict[str, Any], Source]:
    """Read a YAML file's mapping and check its top-level fields; raise ``ConfigError`` when
    the file cannot be read as a mapping at all (other problems are collected in the Source)."""
    raw, src = read_mapping(path, [])
    if raw is None:
        raise ConfigError(src.problems)
    check_top_level(raw, src, allowed, required)
    return raw, src


def check_top_level(raw: dict[str, Any], src: Source, allowed: tuple[str, ...],
                    required: tuple[str, ...]) -> None:
    """Unknown top-level fields (with did-you-mean) and missing required ones."""
    for key in raw:
        if key not in allowed:
            src.report((str(key),), f"unknown field {key!r}{did_you_mean(key, allowed)}; "
                                    f"allowed: {', '.join(allowed)}")
    for key in required:
        if key not in raw:
            src.report((key,), "required field is missing")


def parse_objective(raw: Any, task: str | None, src: Source,
                    loc: Loc = ("objective",)) -> list[tuple[str, str]] | None:
    """[(metric, direction), ...] from a metric name, a {metric, direction} or a list of them.

    Missing: accuracy for classification, rmse for regression (``task`` comes from the
    dataset's schema), the dev cost when the task is unknown.
    Checks metric names, directions, duplicates and that each metric suits the dataset's task.
    """
    if raw is None:
        metric = default_metric(task)
        return [(metric, METRICS[metric].direction)]
    items = raw if isinstance(raw, list) else [raw]
    if not items:
        src.report(loc, "an empty list: give at least one metric")
        return None
    out = []
    for i, item in enumerate(items):
        where = loc + (i,) if isinstance(raw, list) else loc
        if isinstance(item, str):
            item = {"metric": item}
        if not isinstance(item, dict):
            src.report(where, f"expected a metric name or {{metric: ..., direction: ...}}, "
                              f"got {item!r}")
            continue
        for key in set(item) - {"metric", "direction"}:
            src.report(where + (key,), f"unknown field {key!r}"
                                       f"{did_you_mean(key, ['metric', 'direction'])}; "
                                       "allowed: metric, direction")
        metric = item.get("metric")
        if metric not in METRICS:
            message = unknown_name("metric", metric, METRICS) if metric is not None \
                else "required field is missing"
            src.report(where + ("metric",), message)
            continue
        if task is not None and task not in METRICS[metric].tasks:
            src.report(where + ("metric",), f"{metric} needs a {' or '.join(METRICS[metric].tasks)}"
                                            f" dataset; this dataset is {task}")
        direction = item.get("direction", METRICS[metric].direction)
        if direction not in DIRECTIONS:
            src.report(where + ("direction",), unknown_name("direction", direction, DIRECTIONS))
            continue
        if metric in [m for m, _ in out]:
            src.report(where + ("metric",), f"{metric} is listed twice")
            continue
        out.append((metric, direction))
    return out if len(out) == len(items) else None


def parse_train(raw: Any, src: Source, loc: Loc = ("train",)) -> dict[str, Any] | None:
    """Fixed training settings: each key a ``TrainConfig`` field, each value checked alone."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        src.report(loc, f"expected a mapping of training settings, got {raw!r}")
        return None
    out, ok = {}, True
    for key, value in raw.items():
        out[key], error = check_setting(str(key), value)
        if error:
            src.report(loc + (str(key),), error)
            ok = False
    return out if ok else None


def parse_tracking(raw: Any, src: Source, loc: Loc = ("tracking",)) -> Tracking | None:
    """The ``tracking`` section (all optional)."""
    return validate_section(Tracking, raw, src, loc)


def validate_section(model: type[M], raw: Any, src: Source, loc: Loc) -> M | None:
    """``model`` from ``raw`` (None: all defaults), reporting every mistake to ``src``.

    After mistakes, returns the model built from the valid fields only (so later checks can
    still run and report theirs), or None if even that fails.
    """
    raw = {} if raw is None else raw
    try:
        return model.model_validate(raw)
    except ValidationError as err:
        for where, message in pydantic_messages(err, model.model_fields):
            src.report(loc + where, message)
        if not isinstance(raw, dict):
            return None
        bad = {e["loc"][0] for e in err.errors() if e["loc"]}
        try:
            return model.model_validate({k: v for k, v in raw.items() if k not in bad})
        except ValidationError:
            return None
