"""Experiment files: which data, which search space, which metric, which budget.

``load_experiment(path)`` reads ``experiments/<name>.yaml`` and the search space it refers to,
checks everything that can be checked without loading data or training, and returns an
``Experiment`` or raises ``ConfigError`` listing every mistake. Only ``dataset`` and
``search_space`` are required; every other field has a default documented here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from nnexp.config.dataset import DatasetSpec, known_task, parse_dataset
from nnexp.config.errors import ConfigError, Loc, unknown_name
from nnexp.config.sections import (
    Tracking,
    parse_objective,
    parse_tracking,
    parse_train,
    read_top_level,
    validate_section,
)
from nnexp.config.source import Source, read_mapping
from nnexp.config.space import SearchSpace, parse_space
from nnexp.config.train import to_train_config
from nnexp.core.config import TrainConfig
from nnexp.search.samplers import (
    PRUNERS,
    SAMPLERS,
    SINGLE_OBJECTIVE_SAMPLERS,
    check_options,
    missing_requirement,
)

FIELDS = ("name", "description", "dataset", "search_space", "objective", "train", "study",
          "baselines", "tracking")
REQUIRED = ("dataset", "search_space")
DEFAULT_TRIALS = 20


class StudySettings(BaseModel):
    """The ``study`` section: budget, sampler, pruner, seed, Optuna storage, parallel jobs.

    ``n_trials`` null means: the grid size for the grid sampler, unlimited when a ``timeout``
    (seconds) is set, else 20. ``pruner`` null means ``median`` for one objective and ``none``
    for several (Optuna cannot prune multi-objective studies; naming another pruner then is an
    error). ``seed`` seeds the sampler and is the default training seed; ``name`` defaults to
    the experiment's name.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    n_trials: int | None = Field(None, ge=1)
    timeout: float | None = Field(None, gt=0)
    sampler: str = "tpe"
    sampler_options: dict[str, Any] = Field(default_factory=dict)
    pruner: str | None = None
    pruner_options: dict[str, Any] = Field(default_factory=dict)
    seed: int | None = 0
    name: str | None = None
    storage: str | None = None
    jobs: int = Field(1, ge=1)


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

    @property
    def directions(self) -> list[str]:
        """Optuna directions, one per objective."""
        return [direction for _, direction in self.objective]

    @property
    def fixed(self) -> dict[str, Any]:
        """Settings shared by every trial: ``train`` overridden by the space's fixed values."""
        return {**self.train, **self.space.fixed}

    @property
    def train_seed(self) -> int:
        """Default training seed: the study seed (``train.seed`` or a sampled seed win)."""
        return self.study.seed if self.study.seed is not None else 0

    def train_config(self, params: dict[str, Any]) -> TrainConfig:
        """The ``TrainConfig`` of a trial whose sampled values are ``params``."""
        return to_train_config(params, self.fixed, self.train_seed)


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
    task = known_task(raw.get("dataset"))
    space = _parse_space_field(raw["search_space"], src) if "search_space" in raw else None
    objective = parse_objective(raw.get("objective"), task, src)
    train = parse_train(raw.get("train"), src)
    study = _parse_study(raw.get("study"), objective, space, src)
    baselines = _parse_baselines(raw.get("baselines"), space, src)
    tracking = parse_tracking(raw.get("tracking"), src)
    if src.problems:
        raise ConfigError(src.problems)
    experiment = Experiment(path=path, name=name, description=description, dataset=dataset,
                            space=space, objective=objective, train=train, study=study,
                            baselines=baselines, tracking=tracking)
    example = space.example()
    try:
        experiment.train_config(example)
    except ValueError as err:
        src.report(("train",), f"with the search space this gives an invalid configuration: "
                               f"{err} (for example at {example})")
        raise ConfigError(src.problems) from None
    return experiment


def _parse_space_field(raw: Any, src: Source) -> SearchSpace | None:
    """``search_space``: a path relative to the experiment file, or an inline mapping."""
    if isinstance(raw, dict):
        return parse_space(raw, src, ("search_space",))
    if not isinstance(raw, str):
        src.report(("search_space",), f"expected a file path or a mapping with parameters, "
                                      f"got {raw!r}")
        return None
    space_path = src.path.parent / raw
    if not space_path.exists():
        src.report(("search_space",), f"search space file not found: {space_path}")
        return None
    space_raw, space_src = read_mapping(space_path, src.problems)
    if space_raw is None:
        return None
    return parse_space(space_raw, space_src, ())


def _parse_study(raw: Any, objective: list[tuple[str, str]] | None, space: SearchSpace | None,
                 src: Source) -> StudySettings | None:
    loc: Loc = ("study",)
    before = len(src.problems)
    study = validate_section(StudySettings, raw, src, loc)
    if study is None:
        return None

    def bad(where: Loc, message: str) -> None:
        src.report(loc + where, message)

    multi = objective is not None and len(objective) > 1
    pruner = study.pruner or ("none" if multi else "median")
    if study.sampler not in SAMPLERS:
        bad(("sampler",), unknown_name("sampler", study.sampler, SAMPLERS))
    else:
        for option, message in check_options("sampler", study.sampler, study.sampler_options):
            bad(("sampler_options", option), message)
        missing = missing_requirement(study.sampler)
        if missing:
            bad(("sampler",), missing)
        if multi and study.sampler in SINGLE_OBJECTIVE_SAMPLERS:
            bad(("sampler",), f"{study.sampler} optimises one objective; this experiment has "
                              f"{len(objective)} (use tpe, nsga2, gp, random, qmc or grid)")
    if pruner not in PRUNERS:
        bad(("pruner",), unknown_name("pruner", pruner, PRUNERS))
    else:
        for option, message in check_options("pruner", pruner, study.pruner_options):
            bad(("pruner_options", option), message)
        if multi and pruner != "none":
            bad(("pruner",), f"Optuna cannot prune a study with {len(objective)} objectives: "
                             "use pruner: none (the default then) or one objective")
    grid_size = space.grid_size() if space is not None else None
    if study.sampler == "grid" and space is not None:
        try:
            space.grid()
        except ConfigError as err:
            bad(("sampler",), str(err))
    n_trials = study.n_trials
    if n_trials is None and study.timeout is None:
        n_trials = grid_size if study.sampler == "grid" and grid_size else DEFAULT_TRIALS
    if len(src.problems) > before:
        return None
    return study.model_copy(update={"pruner": pruner, "n_trials": n_trials})


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
