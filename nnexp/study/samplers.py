"""Building Optuna samplers and pruners from the names experiment files use.

The names, their option checks and the resolved settings live in ``nnexp.config.study``;
this module only constructs the objects (importing Optuna when called), median and
percentile pruning in ``nnexp.study.cached_pruner``'s wrapper, and gives Optuna's TPE SciPy's
vectorised ``log_ndtr`` (``vectorise_tpe``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import log_ndtr

from nnexp.config.study import (
    ADDED_PRUNER_OPTIONS,
    PRUNERS,
    SAMPLERS,
    check_options,
    pruner_class,
    sampler_class,
)
from nnexp.study.cached_pruner import cached

__all__ = ["PRUNERS", "SAMPLERS", "check_options", "make_pruner", "make_sampler",
           "vectorise_tpe"]


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


def vectorise_tpe() -> bool:
    """Make Optuna's TPE compute log Phi(a) (the log normal CDF) with ``scipy.special.log_ndtr``.

    TPE normalises every kernel of its Parzen estimators by its truncated-normal mass, for
    every finished trial at every suggestion. Optuna computes that mass with a copy of SciPy's
    ``log_ndtr`` evaluated one element at a time in Python (``np.frompyfunc``; Optuna issue
    #5478): at trial 1000 of a four-parameter study that loop is most of a trial's sampling
    time. SciPy's ufunc computes the same function (Optuna's code is SciPy's algorithm; they
    agree to ~1e-12 absolute, tested) over the whole array at once, so TPE samples the same
    trials (floats equal to the last few bits, tested). Replaces Optuna's private
    ``_truncnorm._log_ndtr`` once per process; returns whether the vectorised function is in
    place (False, leaving Optuna as it is, if a future Optuna no longer has that function).
    """
    from optuna.samplers._tpe import _truncnorm

    if not hasattr(_truncnorm, "_log_ndtr"):
        return False
    _truncnorm._log_ndtr = _log_ndtr
    return True


def _log_ndtr(a) -> np.ndarray:
    """log Phi(a), elementwise: ``a`` array-like of any shape -> float64 array of that shape."""
    return log_ndtr(np.asarray(a, dtype=np.float64))
