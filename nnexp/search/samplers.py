"""Optuna samplers and pruners by the names experiment files use, and their option checks.

``SAMPLERS`` and ``PRUNERS`` map a YAML name to the Optuna class name; the class is looked up
in ``optuna.samplers`` / ``optuna.pruners`` only when needed, so importing this module (and
the CLI) does not import Optuna.
"""

from __future__ import annotations

import difflib
import inspect
from typing import Any

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


def missing_requirement(name: str) -> str | None:
    """Why sampler ``name`` cannot run here (a package it needs is absent), or None."""
    import importlib.util

    if name in REQUIRES and importlib.util.find_spec(REQUIRES[name][0]) is None:
        return REQUIRES[name][1]
    return None


SINGLE_OBJECTIVE_SAMPLERS = ("cmaes",)
"""Samplers that raise on a study with several objectives."""

_SET_BY_NNEXP = {
    "seed": "set it with study.seed",
    "search_space": "nnexp builds the grid from the search space",
}

_NOT_FROM_YAML = ("Callable", "Sampler", "Pruner", "Mutation", "Crossover", "FrozenTrial",
                  "Study", "BaseDistribution")
"""Option types (by annotation) that need Python objects, which a YAML file cannot give."""


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

    Names are checked against the class signature: unknown names (with did-you-mean), options
    nnexp sets itself, options that need Python objects, and required options left out.
    """
    cls = sampler_class(name) if kind == "sampler" else pruner_class(name)
    params = {p.name: p for p in inspect.signature(cls).parameters.values()
              if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
    settable = sorted(n for n, p in params.items()
                      if n not in _SET_BY_NNEXP and not _needs_objects(p.annotation))
    problems = []
    for option in options:
        if option in _SET_BY_NNEXP and option in params:
            problems.append((option, f"cannot be set here: {_SET_BY_NNEXP[option]}"))
        elif option not in params:
            allowed = ", ".join(settable) or "none"
            problems.append((option, f"unknown option for {kind} {name!r}"
                                     f"{_did_you_mean(option, settable)}; allowed: {allowed}"))
        elif _needs_objects(params[option].annotation):
            problems.append((option, "needs a Python object, which a YAML file cannot give"))
    for option, p in params.items():
        if p.default is p.empty and option not in options and option not in _SET_BY_NNEXP:
            problems.append((option, f"{kind} {name!r} needs this option"))
    return problems


def _did_you_mean(word: str, candidates: list[str]) -> str:
    close = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _needs_objects(annotation: Any) -> bool:
    text = annotation if isinstance(annotation, str) else repr(annotation)
    return any(word in text for word in _NOT_FROM_YAML)


def make_sampler(name: str, options: dict[str, Any], seed: int | None, space: Any = None):
    """An Optuna sampler; ``grid`` needs the ``SearchSpace`` (finite and unconditional)."""
    cls = sampler_class(name)
    if name == "grid":
        return cls(search_space=space.grid(), seed=seed, **options)
    return cls(seed=seed, **options)


def make_pruner(name: str, options: dict[str, Any]):
    """An Optuna pruner (``none`` is Optuna's ``NopPruner``)."""
    return pruner_class(name)(**options)
