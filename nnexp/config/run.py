"""Run files: one train-ready configuration (what ``export`` writes, ``nnexp train`` reads).

Fields: ``name`` (default: the file's stem), ``description``, ``dataset`` (as in experiments),
``train`` (a complete ``TrainConfig``; omitted settings take their defaults), optional
``objective`` and ``tracking``, and ``source`` (free-form provenance such as the study, trial
number and metric values, kept as written).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nnexp.config.dataset import DatasetSpec, known_task, parse_dataset
from nnexp.config.errors import ConfigError
from nnexp.config.sections import (
    Tracking,
    parse_objective,
    parse_tracking,
    parse_train,
    read_top_level,
)
from nnexp.core.config import TrainConfig

FIELDS = ("name", "description", "dataset", "train", "objective", "tracking", "source")
REQUIRED = ("dataset", "train")


@dataclass(frozen=True)
class RunConfig:
    """A validated run file: data plus one complete training configuration."""

    path: Path
    name: str
    dataset: DatasetSpec
    train: TrainConfig
    objective: list[tuple[str, str]]
    tracking: Tracking
    description: str | None = None
    source: dict[str, Any] = field(default_factory=dict)


def load_run_config(path: str | Path) -> RunConfig:
    """Read and validate a run file; raise ``ConfigError`` listing every mistake."""
    path = Path(path)
    raw, src = read_top_level(path, FIELDS, REQUIRED)
    name = raw.get("name", path.stem)
    description, source = raw.get("description"), raw.get("source") or {}
    for key, value, kind in (("name", name, str), ("description", description, str | None),
                             ("source", source, dict)):
        if not isinstance(value, kind):
            src.report((key,), f"expected a {'mapping' if kind is dict else 'string'}, "
                               f"got {value!r}")
    dataset = parse_dataset(raw["dataset"], src, ("dataset",)) if "dataset" in raw else None
    objective = parse_objective(raw.get("objective"), known_task(raw.get("dataset")), src)
    settings = parse_train(raw.get("train"), src) if "train" in raw else None
    tracking = parse_tracking(raw.get("tracking"), src)
    train = None
    if settings is not None:
        try:
            train = TrainConfig.from_dict(settings)
        except ValueError as err:
            src.report(("train",), str(err))
    if src.problems:
        raise ConfigError(src.problems)
    return RunConfig(path=path, name=name, dataset=dataset, train=train, objective=objective,
                     tracking=tracking, description=description, source=source)
