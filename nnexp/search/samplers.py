"""Building Optuna samplers and pruners from the names experiment files use.

The names, their option checks and the resolved settings live in ``nnexp.config.study``;
this module only constructs the objects (importing Optuna when called).
"""

from __future__ import annotations

from typing import Any

from nnexp.config.study import (
    PRUNERS,
    SAMPLERS,
    check_options,
    pruner_class,
    sampler_class,
)

__all__ = ["PRUNERS", "SAMPLERS", "check_options", "make_pruner", "make_sampler"]


def make_sampler(name: str, options: dict[str, Any], seed: int | None, space: Any = None):
    """An Optuna sampler; ``grid`` needs the ``SearchSpace`` (finite and unconditional)."""
    cls = sampler_class(name)
    if name == "grid":
        return cls(search_space=space.grid(), seed=seed, **options)
    return cls(seed=seed, **options)


def make_pruner(name: str, options: dict[str, Any]):
    """An Optuna pruner (``none`` is Optuna's ``NopPruner``)."""
    return pruner_class(name)(**options)
