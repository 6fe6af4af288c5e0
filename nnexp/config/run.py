"""Run files: one train-ready configuration, read and written here and nowhere else.

A trial writes one as its ``config.yaml`` artifact (``run_file`` + ``run_file_text``) and
``nnexp train`` reads it back (``load_run_config``), so any trial retrains without its study.

Fields: ``name`` (default: the file's stem), ``description``, ``dataset`` (as in experiments),
``train`` (a complete ``TrainConfig``; omitted settings take their defaults), optional
``objective`` and ``tracking``, and ``source`` (free-form provenance such as the study, trial
number and metric values, kept as written).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

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
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
"""libyaml's safe dumper where PyYAML has it (a run file per trial: ~10x faster), the same
YAML either way."""


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


def dataset_section(spec: DatasetSpec, relative_to: Path | None = None,
                    fingerprint: str | None = None) -> dict[str, Any]:
    """A ``DatasetSpec`` as a YAML mapping (generator parameters under ``params``, where a
    generator's own ``seed`` cannot clash with the split seed).

    relative_to : the directory of the file being written: a data file's path is then written
        relative to it (``os.path.relpath``), so the file and the data can move together;
        None writes it absolute.
    fingerprint : the data's fingerprint to record (default: ``spec.fingerprint``, if any);
        ``nnexp.data.prepare`` refuses data with another one.
    """
    import os

    out: dict[str, Any] = {}
    if spec.name is not None:
        out["name"] = spec.name
    else:
        path = Path(spec.path).resolve()
        out["path"] = os.path.relpath(path, Path(relative_to).resolve()) \
            if relative_to is not None else str(path)
        if spec.target is not None:
            out["target"] = spec.target
        if spec.task is not None:
            out["task"] = spec.task
        out.update(spec.table_settings())
    if spec.params:
        out["params"] = dict(spec.params)
    out.update(dev_size=spec.dev_size, test_size=spec.test_size, seed=spec.seed,
               scale=spec.scale, stratify=spec.stratify)
    fingerprint = fingerprint or spec.fingerprint
    if fingerprint:
        out["fingerprint"] = fingerprint
    return out


def run_file(name: str, dataset_spec: DatasetSpec, train: dict[str, Any],
             objective: list[tuple[str, str]] | None = None,
             source: dict[str, Any] | None = None,
             tracking: dict[str, Any] | None = None,
             dataset: dict[str, Any] | None = None) -> dict[str, Any]:
    """The mapping of a run file (the fields ``load_run_config`` reads); ``dataset``: an
    already built ``dataset_section`` to use instead of ``dataset_section(dataset_spec)``."""
    out: dict[str, Any] = {"name": name,
                           "dataset": dataset or dataset_section(dataset_spec),
                           "train": train}
    if objective:
        out["objective"] = [{"metric": m, "direction": d} for m, d in objective]
    if tracking:
        out["tracking"] = tracking
    if source:
        out["source"] = source
    return out


def run_file_text(content: dict[str, Any], header: str | None = None) -> str:
    """``content`` (see ``run_file``) as block-style YAML, after ``header`` as ``#`` comment
    lines if given."""
    text = yaml.dump(content, Dumper=_DUMPER, sort_keys=False, default_flow_style=None)
    if header:
        text = "".join(f"# {line}".rstrip() + "\n" for line in header.splitlines()) + text
    return text


def write_run_file(path: Path, content: dict[str, Any], header: str | None = None) -> Path:
    """Write ``content`` (see ``run_file``) as YAML to ``path`` (``header``: comment lines)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(run_file_text(content, header))
    return path
