"""nnexp's vectorised log normal CDF for Optuna's TPE: the same values, the same trials."""

from __future__ import annotations

import numpy as np
import optuna
import pytest
from optuna.samplers._tpe import _truncnorm

from nnexp.study.samplers import _log_ndtr, make_sampler, vectorise_tpe


def optuna_log_ndtr(a: np.ndarray) -> np.ndarray:
    """Optuna's own implementation: its scalar function applied element by element."""
    return np.frompyfunc(_truncnorm._log_ndtr_single, 1, 1)(a).astype(float)


def test_log_ndtr_agrees_with_optunas_everywhere() -> None:
    # both tails (Optuna switches method at -20 and 6), the centre, huge magnitudes
    a = np.concatenate([np.linspace(-80, 80, 40001), [-1e4, -20.0, -19.999, 0.0, 6.0, 6.001,
                                                        1e4, -1e-300, 1e-300]])
    ours, theirs = _log_ndtr(a), optuna_log_ndtr(a)
    assert ours.shape == a.shape and ours.dtype == np.float64
    assert np.all(np.isfinite(ours))
    np.testing.assert_allclose(ours, theirs, rtol=1e-7, atol=1e-12)
    assert _log_ndtr(np.zeros((3, 2))).shape == (3, 2)
    assert _log_ndtr(0.0) == pytest.approx(np.log(0.5), abs=1e-15)


def _tpe_trials(seed: int) -> list[dict]:
    def objective(trial: optuna.Trial) -> float:
        depth = trial.suggest_int("depth", 1, 4)
        width = trial.suggest_int("width", 16, 256, log=True)
        lr = trial.suggest_float("learning_rate", 1e-4, 1e-1, log=True)
        init = trial.suggest_categorical("init", ["he", "xavier", "random"])
        return abs(np.log10(lr) + 2) + 0.1 * depth + width / 1000 + (init == "random")

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed))
    study.optimize(objective, n_trials=60)
    return [t.params for t in study.trials]


def test_vectorised_tpe_samples_the_same_trials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_truncnorm, "_log_ndtr", optuna_log_ndtr)
    before = _tpe_trials(seed=3)
    assert vectorise_tpe() is True
    assert _truncnorm._log_ndtr is _log_ndtr
    after = _tpe_trials(seed=3)
    # the same trials: the integers and choices exactly, the learning rates to the last few
    # bits (SciPy and Optuna round differently in the last place)
    assert [{k: v for k, v in p.items() if k != "learning_rate"} for p in after] == \
        [{k: v for k, v in p.items() if k != "learning_rate"} for p in before]
    np.testing.assert_allclose([p["learning_rate"] for p in after],
                               [p["learning_rate"] for p in before], rtol=1e-12)
    assert len({tuple(p.items()) for p in after}) > 50  # TPE really sampled (not one point)


def test_make_sampler_installs_it_for_tpe_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_truncnorm, "_log_ndtr", optuna_log_ndtr)
    make_sampler("random", {}, seed=0)
    assert _truncnorm._log_ndtr is optuna_log_ndtr
    make_sampler("tpe", {}, seed=0)
    assert _truncnorm._log_ndtr is _log_ndtr


def test_an_optuna_without_the_function_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(_truncnorm, "_log_ndtr")
    assert vectorise_tpe() is False
    assert not hasattr(_truncnorm, "_log_ndtr")
