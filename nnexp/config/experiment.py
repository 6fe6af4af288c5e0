"""Experiment files: which data, which search space, which metric, which budget.

``load_experiment(path)`` reads ``experiments/<name>.yaml`` and the search space it refers to,
reads the dataset's schema cheaply (``nnexp.data.read_schema``: task, features, outputs,
rows), checks everything that can be checked without training (including that the largest
network of the space fits in memory), and returns an ``Experiment`` or raises
``ConfigError`` listing every mistake. Only ``dataset`` and ``search_space`` are required;
every other field has a default documented here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nnexp.config.dataset import DatasetSpec, known_task, parse_dataset
from nnexp.config.errors import ConfigError, Loc
from nnexp.config.memory import MemoryEstimate, estimate_memory, human, memory_limit
from nnexp.config.names import check_name
from nnexp.config.sections import (
    Tracking,
    parse_objective,
    parse_tracking,
    parse_train,
    read_top_level,
)
from nnexp.config.source import Source, read_mapping
from nnexp.config.space import SearchSpace, parse_space
from nnexp.config.study import StudySettings, parse_study
from nnexp.config.train import for_task, to_train_config, trial_seed
from nnexp.core.config import TrainConfig

if TYPE_CHECKING:
    from nnexp.data import DataSchema

FIELDS = ("name", "description", "dataset", "search_space", "objective", "train", "study",
          "baselines", "tracking", "target_error", "warm_start")
REQUIRED = ("dataset", "search_space")


@dataclass(frozen=True)
class Experiment:
    """A validated experiment file and its search space."""

    path: Path
    name: str
    description: str | None
    dataset: DatasetSpec
    space: SearchSpace
    objective: list[tuple[str, str]]
    train: dict[str, Any]
    study: StudySettings
    baselines: list[dict[str, Any]]
    tracking: Tracking
    schema: DataSchema
    memory: MemoryEstimate | None = None
    target_error: float | None = None
    """Human-level (or Bayes-proxy) error for ``nnexp advise``: 1 - accuracy for
    classification, rmse in the target's units for regression; None: not known."""
    warm_start: str | None = None
    """An earlier study (same storage) whose finished trials inside this space start this
    study (``nnexp.study.warm_start``)."""

    @property
    def directions(self) -> list[str]:
        """Optuna directions, one per objective."""
        return [direction for _, direction in self.objective]

    @property
    def fixed(self) -> dict[str, Any]:
        """Settings shared by every trial: ``train`` overridden by the space's fixed values."""
        return {**self.train, **self.space.fixed}

    @property
    def task(self) -> str:
        """The dataset's task: ``"binary"``, ``"multiclass"`` or ``"regression"``."""
        return self.schema.task

    def train_config(self, params: dict[str, Any], number: int,
                     study_seed: int | None = None) -> TrainConfig:
        """The ``TrainConfig`` trial ``number`` trains when it samples ``params``: its seed is
        ``trial_seed(study_seed, number)`` (``study_seed`` defaults to ``study.seed``; the
        command line may override it) unless ``seed`` is fixed or sampled, and ``output`` is
        pinned to linear for a regression dataset."""
        seed = trial_seed(self.study.seed if study_seed is None else study_seed, number)
        return for_task(to_train_config(params, self.fixed, seed), self.task)


def load_experiment(path: str | Path) -> Experiment:
    """Read and validate an experiment file; raise ``ConfigError`` listing every mistake."""
    path = Path(path)
    raw, src = read_top_level(path, FIELDS, REQUIRED)
    name = raw.get("name", path.stem)
    description = raw.get("description")
    for key, value in (("name", name), ("description", description)):
        if value is not None and not isinstance(value, str):
            src.report((key,), f"expected a string, got {value!r}")
    dataset = parse_dataset(raw["dataset"], src, ("dataset",)) if "dataset" in raw else None
    schema = _read_schema(dataset, src)
    task = schema.task if schema is not None else known_task(raw.get("dataset"))
    space, space_src, space_loc = (_parse_space_field(raw["search_space"], src)
                                   if "search_space" in raw else (None, src, ("search_space",)))
    objective = parse_objective(raw.get("objective"), task, src)
    train = parse_train(raw.get("train"), src)
    fixed = {**train, **space.fixed} if train is not None and space is not None else None
    study = parse_study(raw.get("study"), objective, space, fixed, src)
    baselines = _parse_baselines(raw.get("baselines"), space, src)
    tracking = parse_tracking(raw.get("tracking"), src)
    target_error = _parse_target_error(raw.get("target_error"), src)
    warm_start = raw.get("warm_start")
    if warm_start is not None and (not isinstance(warm_start, str) or not warm_start):
        src.report(("warm_start",), f"expected the name of an earlier study, got {warm_start!r}")
    _check_names(raw, name, study, tracking, src)
    if src.problems:
        raise ConfigError(src.problems)
    experiment = Experiment(path=path, name=name, description=description, dataset=dataset,
                            space=space, objective=objective, train=train, study=study,
                            baselines=baselines, tracking=tracking, schema=schema,
                            target_error=target_error, warm_start=warm_start)
    example = space.example()
    try:
        experiment.train_config(example, 0)
    except ValueError as err:
        src.report(("train",), f"with the search space this gives an invalid configuration: "
                               f"{err} (for example at {example})")
        raise ConfigError(src.problems) from None
    memory = estimate_memory(space, experiment.fixed, schema.n_features, schema.n_outputs,
                             schema.n_rows, 1 - dataset.dev_size - dataset.test_size)
    limit = memory_limit()
    if memory.total > limit:
        where_src, loc = _memory_location(memory.culprit, space, train, src,
                                           space_src, space_loc)
        fix = {"width": "lower the high end of width (or of depth)",
               "hidden_layers": "use fewer or smaller hidden_layers",
               "batch_size": "use a smaller batch_size",
               "data": "use a smaller data file, or fewer features"}[memory.culprit]
        where_src.report(loc, f"training would need {memory.describe()}; that is more than "
                              f"the {human(limit)} nnexp allows on this machine (the smaller of "
                              f"its memory and 8 GiB): {fix}")
        raise ConfigError(where_src.problems) from None
    return replace(experiment, memory=memory)


def _parse_target_error(raw: Any, src: Source) -> float | None:
    """``target_error``: null, or a finite number >= 0 (an error rate or an rmse)."""
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw) \
            or raw < 0:
        src.report(("target_error",), f"expected null or a number >= 0 (human-level error: "
                                      f"1 - accuracy, or an rmse in the target's units), "
                                      f"got {raw!r}")
        return None
    return float(raw)


def _read_schema(dataset: DatasetSpec | None, src: Source) -> DataSchema | None:
    """The dataset's schema, read cheaply; its problems are reported under ``dataset``."""
    if dataset is None:
        return None
    from nnexp.data import DataError, SchemaError, TableError, read_schema

    try:
        schema = read_schema(dataset)
    except TableError as err:
        for field, message in err.problems:
            src.report(("dataset", field), message)
    except SchemaError as err:
        src.report(("dataset", err.field), str(err))
    except DataError as err:
        src.report(("dataset",), str(err))
    else:
        rows = schema.n_rows
        if rows is not None and math.floor(dataset.dev_size * rows + 0.5) < 1:
            src.report(("dataset", "dev_size"), f"dev_size {dataset.dev_size:g} of {rows} rows "
                                                "leaves no dev examples, which every trial is "
                                                "judged on; use more rows or a larger dev_size")
        return schema
    return None


def _check_names(raw: dict[str, Any], name: Any, study: StudySettings | None,
                 tracking: Tracking | None, src: Source) -> None:
    """Names MLflow and nnexp must accept: the study's, the MLflow experiment's (also the
    registered model's)."""
    study_name = study.name if study is not None else None
    mlflow_name = tracking.experiment_name if tracking is not None else None
    if isinstance(name, str):
        roles = (("study",) if study_name is None else ()) + \
                (("mlflow",) if mlflow_name is None else ())
        message = check_name(name, roles)
        if message:
            src.report(("name",), message + ("" if "name" in raw else
                                             " (the name defaults to the file's stem)"))
    for loc, value, roles in ((("study", "name"), study_name, ("study",)),
                              (("tracking", "experiment_name"), mlflow_name, ("mlflow",))):
        message = check_name(value, roles) if value is not None else None
        if message:
            src.report(loc, message)


def _memory_location(culprit: str, space: SearchSpace, train: dict[str, Any], src: Source,
                     space_src: Source, space_loc: Loc) -> tuple[Source, Loc]:
    """Where to report a network too big for memory: the setting that drives its size."""
    if culprit in ("width", "batch_size", "hidden_layers") and space.get(culprit) is not None:
        return space_src, space_loc + ("parameters", culprit)
    if culprit in train:
        return src, ("train", culprit)
    if culprit == "data":
        return src, ("dataset",)
    return space_src, space_loc
def _parse_space_field(raw: Any, src: Source) -> tuple[SearchSpace | None, Source, Loc]:
    """``search_space``: a path relative to the experiment file, or an inline mapping.

    Returns the space, the file it is in and the field path of its mapping there.
    """
    loc: Loc = ("search_space",)
    if isinstance(raw, dict):
        return parse_space(raw, src, loc), src, loc
    if not isinstance(raw, str):
        src.report(loc, f"expected a file path or a mapping with parameters, got {raw!r}")
        return None, src, loc
    space_path = src.path.parent / raw
    if not space_path.exists():
        src.report(loc, f"search space file not found: {space_path}")
        return None, src, loc
    space_raw, space_src = read_mapping(space_path, src.problems)
    if space_raw is None:
        return None, space_src, ()
    return parse_space(space_raw, space_src, ()), space_src, ()


def _parse_baselines(raw: Any, space: SearchSpace | None,
                     src: Source) -> list[dict[str, Any]] | None:
    """Configurations to try first: keys are searched parameters, values inside the space."""
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(b, dict) for b in raw):
        src.report(("baselines",), "expected a list of mappings {parameter: value}")
        return None
    if space is not None:
        for i, baseline in enumerate(raw):
            for key, message in space.check_point(baseline):
                src.report(("baselines", i, key), message)
    return raw
