"""The ``study:`` section: budget, sampler, pruner, seed, storage, jobs, resolved once.

Sampler and pruner names (``SAMPLERS``, ``PRUNERS``) map a YAML name to the Optuna class
name; options are checked against the class signature, which is looked up in Optuna only when
an experiment is validated (importing this module does not import Optuna). Building the
sampler and pruner is ``nnexp.study.samplers``'s job.

``load_experiment`` returns ``StudySettings`` with every default resolved: ``n_trials`` (the
grid size for the grid sampler, None when a timeout bounds the study, else
``DEFAULT_TRIALS``), ``pruner`` (``DEFAULT_PRUNER``, none) and ``pruner_options`` (with the
defaults of ``pruner_options``).
"""

from __future__ import annotations

import inspect
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from nnexp.config.errors import ConfigError, Loc, did_you_mean, unknown_name
from nnexp.config.sections import validate_section
from nnexp.config.source import Source
from nnexp.config.train import SEED_HIGH, check_seed
from nnexp.core.config import TrainConfig

DEFAULT_TRIALS = 20
"""Trials per invocation when neither ``n_trials`` nor a ``timeout`` is given."""

SAMPLERS: dict[str, str] = {
    "tpe": "TPESampler",
    "random": "RandomSampler",
    "grid": "GridSampler",
    "cmaes": "CmaEsSampler",
    "qmc": "QMCSampler",
    "gp": "GPSampler",
    "nsga2": "NSGAIISampler",
}

PRUNERS: dict[str, str] = {
    "median": "MedianPruner",
    "percentile": "PercentilePruner",
    "successive_halving": "SuccessiveHalvingPruner",
    "hyperband": "HyperbandPruner",
    "none": "NopPruner",
}

REQUIRES: dict[str, tuple[str, str]] = {
    "gp": ("torch", "Optuna's GPSampler needs PyTorch, which nnexp does not install (a "
                    "multi-GB download); install a CPU build yourself "
                    "(pip install torch --index-url https://download.pytorch.org/whl/cpu) or "
                    "choose tpe, which models the space without it"),
}
"""Samplers that need a package nnexp does not depend on: module name, what to do."""

SINGLE_OBJECTIVE_SAMPLERS = ("cmaes",)
"""Samplers that raise on a study with several objectives."""

DEFAULT_PRUNER = "none"
"""The pruner of ``pruner: null``, for one objective as for several. Measured side by side by
``bench/search_quality.py`` (TPE, 30 trials, 3 seeds): median pruning saved 54-71 % of the
epochs but 13-62 % of the wall time, and found less at equal wall time than no pruning on
five tables of seven (breast_cancer, two generated numeric tables, two with string columns,
a regression table: best dev accuracy 0.009-0.035 lower), as much on wine and digits; at 200
epochs, at 12,000 training rows and within a time budget as at 50 epochs. What decides it is
whether early epochs rank configurations as the last one does (digits: yes; noisy tables
whose early leaders overfit: no), which nothing known before the study tells, so no trial
length was found from which it pays: name ``median`` for a table like digits (the same best
in 41-62 % less time). README, "Search per minute"."""

WARMUP_PRUNERS = ("median", "percentile")
"""Pruners that wait ``n_warmup_steps`` epochs before judging a trial."""

COMPARE = ("best_so_far", "at_step")
"""Values of ``compare``, the option nnexp adds to median and percentile pruning: a trial's
best value so far is compared with the completed trials' best values up to the same step
(``best_so_far``, nnexp's default) or with their values at that step (``at_step``, Optuna's
rule). On a noisy per-epoch metric (dev accuracy on a few hundred examples) Optuna's rule
favours the trial judged: the best of its noisy epochs is set against single epochs of the
others, so a trial on the median's plateau is rarely stopped (bench/pruning.py). Comparing
best with best is fair to both sides; for curves that only improve the two rules agree."""

ADDED_PRUNER_OPTIONS: dict[str, dict[str, tuple[str, ...]]] = {
    name: {"compare": COMPARE} for name in WARMUP_PRUNERS}
"""Options nnexp adds to an Optuna pruner (pruner: option: allowed values); they are checked
here and applied by ``nnexp.study.samplers.make_pruner``, never passed to Optuna."""

STARTUP_TRIALS = 2
"""Trials that median and percentile pruning let finish before judging any (Optuna: 5, a
quarter of a default 20-trial study left unjudged; bench/pruning.py)."""

_SET_BY_NNEXP = {
    "seed": "set it with study.seed",
    "search_space": "nnexp builds the grid from the search space",
}

_NOT_FROM_YAML = ("Callable", "Sampler", "Pruner", "Mutation", "Crossover", "FrozenTrial",
                  "Study", "BaseDistribution")
"""Option types (by annotation) that need Python objects, which a YAML file cannot give."""


class StudySettings(BaseModel):
    """The ``study`` section: budget, sampler, pruner, seed, Optuna storage, parallel jobs.

    As written, ``n_trials`` null means: the grid size for the grid sampler, unlimited when a
    ``timeout`` (seconds) is set, else 20; ``pruner`` null means ``none`` (``DEFAULT_PRUNER``;
    Optuna cannot prune multi-objective studies: naming a pruner then is an error).
    ``load_experiment`` resolves both, and adds the pruner's defaults (warm-up, start-up
    trials, comparison, first rung) to ``pruner_options``.
    ``seed`` seeds the sampler and the trial seeds; ``name`` defaults to the experiment's name.
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
    retries: int = Field(0, ge=0)  # re-runs of a trial whose worker died (RDB heartbeats)
    outage_seconds: float = Field(60, gt=0)  # how long a store may not answer before exit 2
    heartbeat_seconds: int = Field(60, ge=1)  # RDB storage: heartbeat; stale after 3 of them
    _n_trials_given: bool = PrivateAttr(False)

    def budget(self, n_trials: int | None = None,
               timeout: float | None = None) -> tuple[int | None, float | None]:
        """(trials, seconds) of one invocation: command-line values win over the file's. A
        timeout given alone on the command line bounds the study by time when the file did not
        fix ``n_trials`` (the default trial count then does not apply; a grid keeps its size).
        """
        timeout = timeout or self.timeout
        if n_trials:
            return n_trials, timeout
        if timeout and not self._n_trials_given and self.sampler != "grid":
            return None, timeout
        return self.n_trials, timeout


def missing_requirement(name: str) -> str | None:
    """Why sampler ``name`` cannot run here (a package it needs is absent), or None."""
    import importlib.util

    if name in REQUIRES and importlib.util.find_spec(REQUIRES[name][0]) is None:
        return REQUIRES[name][1]
    return None


def sampler_class(name: str) -> type:
    """The Optuna sampler class called ``name`` in experiment files."""
    import optuna

    return getattr(optuna.samplers, SAMPLERS[name])


def pruner_class(name: str) -> type:
    """The Optuna pruner class called ``name`` in experiment files."""
    import optuna

    return getattr(optuna.pruners, PRUNERS[name])


def check_options(kind: str, name: str, options: dict[str, Any]) -> list[tuple[str, str]]:
    """Problems (option, message) with ``options`` for sampler or pruner ``name``, or [].

    Names are checked against the class signature (and ``ADDED_PRUNER_OPTIONS``, whose values
    are checked too): unknown names (with did-you-mean), options nnexp sets itself, options
    that need Python objects, and required options left out.
    """
    cls = sampler_class(name) if kind == "sampler" else pruner_class(name)
    params = {p.name: p for p in inspect.signature(cls).parameters.values()
              if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
    added = ADDED_PRUNER_OPTIONS.get(name, {}) if kind == "pruner" else {}
    settable = sorted([*added, *(n for n, p in params.items()
                                 if n not in _SET_BY_NNEXP and not _needs_objects(p.annotation))])
    problems = []
    for option, value in options.items():
        if option in added:
            if value not in added[option]:
                problems.append((option, f"{value!r}: use one of {', '.join(added[option])}"))
        elif option in _SET_BY_NNEXP and option in params:
            problems.append((option, f"cannot be set here: {_SET_BY_NNEXP[option]}"))
        elif option not in params:
            allowed = ", ".join(settable) or "none"
            problems.append((option, f"unknown option for {kind} {name!r}"
                                     f"{did_you_mean(option, settable)}; allowed: {allowed}"))
        elif _needs_objects(params[option].annotation):
            problems.append((option, "needs a Python object, which a YAML file cannot give"))
    for option, p in params.items():
        if p.default is p.empty and option not in options and option not in _SET_BY_NNEXP:
            problems.append((option, f"{kind} {name!r} needs this option"))
    return problems


def _needs_objects(annotation: Any) -> bool:
    text = annotation if isinstance(annotation, str) else repr(annotation)
    return any(word in text for word in _NOT_FROM_YAML)


def warm_up(epochs: int) -> int:
    """Epochs before a pruner first judges a trial: a tenth of ``epochs`` (at least 1), when
    learning curves are noisiest."""
    return max(1, epochs // 10)


def pruner_options(name: str, options: dict[str, Any], epochs: int) -> dict[str, Any]:
    """The pruner's options with nnexp's defaults for those not given. Every pruner measured
    by ``bench/pruning.py`` waits for the warm-up (a tenth of ``epochs``) before it judges a
    trial: median and percentile through ``n_warmup_steps`` (and they judge from the third
    trial on, ``n_startup_trials`` ``STARTUP_TRIALS``, comparing best values with best values,
    ``compare: best_so_far``, see ``COMPARE``), successive halving through its first rung,
    ``min_resource`` (Optuna's ``auto`` puts it at 1 % of the first complete trial's epochs,
    often epoch 1, where accuracy says more about the learning rate than about the
    configuration)."""
    defaults: dict[str, Any] = {}
    if name in WARMUP_PRUNERS:
        defaults = {"n_warmup_steps": warm_up(epochs), "n_startup_trials": STARTUP_TRIALS,
                    "compare": COMPARE[0]}
    elif name == "successive_halving":
        defaults = {"min_resource": warm_up(epochs)}
    return {**defaults, **options}


def parse_study(raw: Any, objective: list[tuple[str, str]] | None, space: Any,
                fixed: dict[str, Any] | None, src: Source) -> StudySettings | None:
    """The ``study`` section with its defaults resolved (see the module docstring).

    ``space`` is the ``SearchSpace`` (None if invalid), ``fixed`` the settings every trial
    shares (for the epochs that set the pruner's warm-up; None if invalid).
    """
    loc: Loc = ("study",)
    before = len(src.problems)
    study = validate_section(StudySettings, raw, src, loc)
    if study is None:
        return None

    def bad(where: Loc, message: str) -> None:
        src.report(loc + where, message)

    multi = objective is not None and len(objective) > 1
    pruner = study.pruner or DEFAULT_PRUNER
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
    elif pruner == "none" and study.pruner_options:
        which = "none (the default)" if study.pruner is None else "none"
        bad(("pruner_options",), f"pruner {which} takes no options; name the pruner they are "
                                 "for (pruner: median, percentile, successive_halving or "
                                 "hyperband)")
    else:
        for option, message in check_options("pruner", pruner, study.pruner_options):
            bad(("pruner_options", option), message)
        if multi and pruner != "none":
            bad(("pruner",), f"Optuna cannot prune a study with {len(objective)} objectives: "
                             "use pruner: none (the default) or one objective")
    if study.seed is not None:
        message = check_seed(study.seed, "seed", jobs=study.jobs)
        if message:
            bad(("seed",), message)
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
    epochs = (fixed or {}).get("epochs", TrainConfig.epochs)
    options = pruner_options(pruner, study.pruner_options, int(epochs))
    resolved = study.model_copy(update={"pruner": pruner, "n_trials": n_trials,
                                        "pruner_options": options})
    resolved._n_trials_given = study.n_trials is not None
    return resolved


__all__ = ["ADDED_PRUNER_OPTIONS", "COMPARE", "DEFAULT_PRUNER", "DEFAULT_TRIALS", "PRUNERS",
           "REQUIRES", "SAMPLERS", "SEED_HIGH", "SINGLE_OBJECTIVE_SAMPLERS", "STARTUP_TRIALS",
           "StudySettings", "check_options", "missing_requirement", "parse_study",
           "pruner_class", "pruner_options", "sampler_class", "warm_up"]
