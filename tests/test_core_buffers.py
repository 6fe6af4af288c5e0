"""Preallocated buffers: the same numbers as without them, nothing returned aliases them, early
stopping restores the right weights, and memory does not grow with epochs or trainings."""

from __future__ import annotations

import gc
import tracemalloc
from dataclasses import replace

import numpy as np
import pytest
from sklearn.datasets import make_blobs, make_moons

from nnexp.core import OUTPUTS, TrainConfig, backward, forward, initialize_parameters, train
from nnexp.core.network import Buffers, Parameters


@pytest.fixture(scope="module")
def blobs():
    # 203 rows: with batch 32 the last mini-batch has 11 rows, so two buffer sets are in play.
    X, y = make_blobs(n_samples=203, centers=3, n_features=5, random_state=0)
    X_dev, y_dev = make_blobs(n_samples=90, centers=3, n_features=5, random_state=1)
    return X, y, X_dev, y_dev


CONFIG = TrainConfig(hidden_layers=(16, 8), optimizer="adam", learning_rate=0.01, batch_size=32,
                     epochs=8, seed=3)


def snapshot(result) -> tuple[list[np.ndarray], list]:
    return [p.copy() for p in result.model.params.flat()], list(result.history)


@pytest.mark.parametrize("keep_prob", [1.0, 0.8])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_forward_and_backward_with_buffers_equal_without(dtype, keep_prob):
    rng = np.random.default_rng(0)
    dims = (5, 7, 6, 3)
    params = initialize_parameters(dims, "he", rng, dtype)
    X = rng.normal(size=(9, 5)).astype(dtype)
    Y = rng.integers(0, 3, 9)
    keep = (keep_prob, keep_prob)
    bufs = Buffers.allocate(dims, 9, dtype, keep)
    results = []
    for buffers in (None, bufs, bufs):  # twice with buffers: reuse gives the same numbers
        ZL, cache = forward(params, X, "relu", keep, np.random.default_rng(1), buffers)
        _, dZL = OUTPUTS["softmax"].cost_and_grad(ZL, Y)
        grads = backward(params, cache, dZL, "relu", 0.1, None, buffers)
        results.append([ZL.copy(), *(g.copy() for g in grads.flat())])
        assert ZL.dtype == dtype and all(g.dtype == dtype for g in grads.flat())
    for other in results[1:]:
        for a, b in zip(results[0], other, strict=True):
            np.testing.assert_array_equal(a, b)


def test_parameters_are_views_of_one_vector_and_copies_share_nothing():
    params = initialize_parameters((4, 6, 2), "xavier", np.random.default_rng(0), np.float32)
    assert params.vector.size == params.n_params == 4 * 6 + 6 + 6 * 2 + 2
    assert all(np.shares_memory(p, params.vector) for p in params.flat())
    params.vector[:] = np.arange(params.n_params)
    assert params.W[0][0, 1] == 1 and params.b[0][0] == 24 and params.b[-1][-1] == 43
    copy = params.copy()
    assert not np.shares_memory(copy.vector, params.vector)
    assert not any(np.shares_memory(a, b) for a in copy.flat() for b in params.flat())
    assert all(np.array_equal(a, b) for a, b in zip(copy.flat(), params.flat()))
    assert isinstance(copy, Parameters) and copy.W[0].flags.c_contiguous


def test_a_result_is_not_changed_by_later_trainings(blobs):
    X, y, X_dev, y_dev = blobs
    first = train(X, y, CONFIG, X_dev, y_dev)
    weights, history = snapshot(first)
    predictions = first.model.predict(X_dev)
    # Same shapes (same buffer sizes), other seeds, dropout: if anything returned aliased a
    # buffer or the optimiser's state, these would overwrite it.
    for seed in (4, 5):
        train(X, y, replace(CONFIG, seed=seed, keep_prob=0.8), X_dev, y_dev)
    second = train(X, y, replace(CONFIG, seed=6), X_dev, y_dev)
    assert all(np.array_equal(a, b) for a, b in zip(first.model.params.flat(), weights))
    assert first.history == history
    assert np.array_equal(first.model.predict(X_dev), predictions)
    assert not any(np.shares_memory(a, b)
                   for a in first.model.params.flat() for b in second.model.params.flat())


@pytest.mark.parametrize("keep_prob", [1.0, 0.8])
def test_early_stopping_restores_the_weights_of_the_best_epoch(keep_prob):
    X, y = make_moons(n_samples=203, noise=0.3, random_state=0)
    X_dev, y_dev = make_moons(n_samples=60, noise=0.3, random_state=1)
    config = TrainConfig(hidden_layers=(32, 32), optimizer="adam", learning_rate=0.03,
                         batch_size=16, epochs=200, patience=4, keep_prob=keep_prob, seed=0)
    stopped = train(X, y, config, X_dev, y_dev)
    assert stopped.stop_reason == "early_stopping"
    best = stopped.best_epoch
    assert best < len(stopped.history)
    # Early stopping draws nothing random: training for exactly `best` epochs is the same run
    # up to there, so its final weights are the weights early stopping must have restored.
    reference = train(X, y, replace(config, epochs=best, patience=None))
    for a, b in zip(stopped.model.params.flat(), reference.model.params.flat(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert [(a.train_cost, a.train_metric) for a in stopped.history[:best]] == [
        (b.train_cost, b.train_metric) for b in reference.history]


def _traced_peak(fn) -> tuple[int, int]:
    """(peak, retained) bytes traced by tracemalloc while fn runs, relative to the start."""
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        result = fn()
        del result
        gc.collect()
        current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak - base, current - base


def test_memory_does_not_grow_with_epochs(blobs):
    X, y, X_dev, y_dev = blobs
    config = replace(CONFIG, hidden_layers=(64, 64), keep_prob=0.9)
    peaks = {epochs: _traced_peak(lambda e=epochs: train(X, y, replace(config, epochs=e),
                                                         X_dev, y_dev))[0]
             for epochs in (1, 10, 50)}
    # The buffers are allocated once per batch size: 50 epochs peak where 1 epoch does, up to
    # the history (one small EpochMetrics per epoch) and allocator noise.
    assert peaks[50] <= peaks[1] * 1.05 + 32 * 1024, peaks
    assert peaks[10] <= peaks[1] * 1.05 + 32 * 1024, peaks


def test_memory_does_not_grow_with_trainings(blobs):
    X, y, X_dev, y_dev = blobs
    config = replace(CONFIG, hidden_layers=(64, 64))

    def several() -> None:
        for seed in range(6):
            train(X, y, replace(config, seed=seed), X_dev, y_dev)

    one_peak, one_left = _traced_peak(lambda: train(X, y, config, X_dev, y_dev))
    six_peak, six_left = _traced_peak(several)
    assert six_peak <= one_peak * 1.05 + 32 * 1024, (one_peak, six_peak)
    assert six_left <= one_left + 32 * 1024, (one_left, six_left)
