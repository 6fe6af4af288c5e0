"""Building samplers: a TPE sampler gets nnexp's vectorised log normal CDF (whose agreement
with Optuna's is pinned in ``test_library_internals.py``), other samplers leave Optuna as it
is."""

from __future__ import annotations

import numpy as np
import pytest
from optuna.samplers._tpe import _truncnorm

from nnexp.library_internals import log_ndtr
from nnexp.study.samplers import make_sampler


def optuna_log_ndtr(a: np.ndarray) -> np.ndarray:
    """Optuna's own implementation: its scalar function applied element by element."""
    return np.frompyfunc(_truncnorm._log_ndtr_single, 1, 1)(a).astype(float)


def test_make_sampler_installs_it_for_tpe_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_truncnorm, "_log_ndtr", optuna_log_ndtr)
    make_sampler("random", {}, seed=0)
    assert _truncnorm._log_ndtr is optuna_log_ndtr
    make_sampler("tpe", {}, seed=0)
    assert _truncnorm._log_ndtr is log_ndtr
