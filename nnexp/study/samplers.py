"""Building Optuna samplers and pruners from the names experiment files use.

The names, their option checks and the resolved settings live in ``nnexp.config.study``;
this module only constructs the objects (importing Optuna when called), median and
percentile pruning in ``nnexp.study.cached_pruner``'s wrapper, and gives Optuna's TPE SciPy's
vectorised ``log_ndtr`` (``nnexp.library_internals.vectorise_tpe``).
"""

from __future__ import annotations

from typing import Any

from nnexp.config.study import (
    ADDED_PRUNER_OPTIONS,
    PRUNERS,
    SAMPLERS,
    check_options,
    pruner_class,
    sampler_class,
)
from nnexp.library_internals import vectorise_tpe
from nnexp.study.cached_pruner import cached

__all__ = ["PRUNERS", "SAMPLERS", "check_options", "make_pruner", "make_sampler"]


def make_sampler(name: str, options: dict[str, Any], seed: int | None, space: Any = None):
    """An Optuna sampler; ``grid`` needs the ``SearchSpace`` (finite and unconditional)."""
    cls = sampler_class(name)
    if name == "tpe":
        vectorise_tpe()
    if name == "grid":
        return cls(search_space=space.grid(), seed=seed, **options)
    return cls(seed=seed, **options)


def make_pruner(name: str, options: dict[str, Any]):
    """An Optuna pruner (``none`` is Optuna's ``NopPruner``); median and percentile pruning
    wrapped by ``nnexp.study.cached_pruner`` (completed trials read once per trial, compared
    as the option nnexp adds, ``compare``, says; Optuna's rule when it is not given)."""
    added = ADDED_PRUNER_OPTIONS.get(name, {})
    pruner = pruner_class(name)(**{k: v for k, v in options.items() if k not in added})
    return cached(pruner, options.get("compare", "at_step"))
