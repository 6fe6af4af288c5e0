"""The training loop: callbacks, stopping, divergence, early stopping, regularisation, schedules,
determinism, dtypes, regression and multi-class output."""

from __future__ import annotations

import math
from dataclasses import asdict, replace

import numpy as np
import pytest
from sklearn.datasets import make_blobs, make_moons, make_regression
from sklearn.metrics import r2_score

from nnexp.core import (
    SCHEDULES,
    EpochMetrics,
    TrainConfig,
    forward,
    initialize_parameters,
    predict_logits,
    train,
)
from nnexp.core.training import DivergenceError

TIMING = ("epoch_seconds", "elapsed_seconds")


@pytest.fixture(scope="module")
def moons():
    return make_moons(n_samples=160, noise=0.25, random_state=0)


@pytest.fixture(scope="module")
def moons_dev():
    return make_moons(n_samples=80, noise=0.25, random_state=1)


SMALL = TrainConfig(hidden_layers=(8,), optimizer="adam", learning_rate=0.01, batch_size=32,
                    epochs=10, seed=0)


# --- callbacks ---------------------------------------------------------------------------------

def test_callbacks_receive_metrics_every_epoch(moons, moons_dev):
    X, y = moons
    seen: list[EpochMetrics] = []
    also: list[int] = []
    result = train(X, y, SMALL, *moons_dev,
                   callbacks=[seen.append, lambda mt: also.append(mt.epoch)])
    assert [mt.epoch for mt in seen] == list(range(1, SMALL.epochs + 1)) == also
    assert seen == result.history
    assert result.stop_reason == "completed"
    for mt in seen:
        assert isinstance(mt, EpochMetrics) and mt.metric == "accuracy"
        values = [mt.train_cost, mt.train_metric, mt.dev_cost, mt.dev_metric, mt.learning_rate]
        assert all(math.isfinite(v) for v in values)
        assert 0 <= mt.train_metric <= 1 and 0 <= mt.dev_metric <= 1
        assert mt.epoch_seconds >= 0 and mt.elapsed_seconds >= mt.epoch_seconds
        assert set(asdict(mt)) == {"epoch", "metric", "train_cost", "train_metric", "dev_cost",
                                   "dev_metric", "learning_rate", *TIMING, "layers"}
        assert mt.layers is None  # per-layer signals are off by default


def test_without_dev_set_dev_values_are_nan(moons):
    X, y = moons
    history = train(X, y, SMALL).history
    assert all(math.isnan(mt.dev_cost) and math.isnan(mt.dev_metric) for mt in history)
    assert all(math.isfinite(mt.train_cost) for mt in history)


def test_callback_returning_true_stops_training(moons):
    X, y = moons
    result = train(X, y, SMALL, callbacks=[lambda mt: mt.epoch == 3])
    assert result.stop_reason == "callback"
    assert [mt.epoch for mt in result.history] == [1, 2, 3]
    assert result.best_epoch == 3


class Pruned(Exception):
    pass


def test_exception_from_callback_propagates(moons):
    X, y = moons

    def pruner(mt: EpochMetrics) -> None:
        if mt.epoch == 2:
            raise Pruned(mt.epoch)

    with pytest.raises(Pruned):
        train(X, y, SMALL, callbacks=[pruner])


# --- divergence --------------------------------------------------------------------------------

def test_huge_learning_rate_raises_divergence_error_with_epoch(moons):
    X, y = moons
    X = X * 100.0 + 50.0  # unscaled features
    config = TrainConfig(hidden_layers=(8,), optimizer="gd", learning_rate=1e6, batch_size=32,
                         epochs=50, seed=0)
    seen: list[int] = []
    with np.errstate(all="ignore"), pytest.raises(DivergenceError) as info:
        train(X, y, config, callbacks=[lambda mt: seen.append(mt.epoch)])
    error = info.value
    assert isinstance(error.epoch, int) and 1 <= error.epoch <= config.epochs
    assert not math.isfinite(error.cost)
    assert str(error.epoch) in str(error)
    assert seen == list(range(1, error.epoch))  # epochs before it completed normally
    assert isinstance(error, ArithmeticError)


@pytest.fixture(scope="module")
def regression():
    return make_regression(400, 10, noise=5, random_state=0)


EXPLODING = TrainConfig(hidden_layers=(64, 32), optimizer="gd", learning_rate=1e3,
                        batch_size=None, epochs=2, seed=0)


def diverge(X, y, config, *dev) -> tuple[DivergenceError, list[int]]:
    """Train expecting a DivergenceError; return it and the epochs the callback saw."""
    seen: list[int] = []
    with np.errstate(all="ignore"), pytest.raises(DivergenceError) as info:
        train(X, y, config, *dev, callbacks=[lambda mt: seen.append(mt.epoch)])
    return info.value, seen


def test_divergence_in_the_last_epoch_is_caught(regression):
    # The train cost (measured before each update) is finite in both epochs; after epoch 2
    # the float32 dev logits overflow. This used to end "completed" with NaN predictions.
    X, y = regression
    with np.errstate(all="ignore"):
        one = train(X[:300], y[:300], replace(EXPLODING, epochs=1), X[300:], y[300:])
    assert one.stop_reason == "completed" and math.isfinite(one.history[0].dev_cost)
    error, seen = diverge(X[:300], y[:300], EXPLODING, X[300:], y[300:])
    assert error.epoch == 2 and seen == [1]
    assert error.what == "dev cost" and math.isnan(error.cost)
    assert str(error) == "training diverged at epoch 2: dev cost is nan"


def test_non_finite_dev_cost_alone_raises(moons):
    # Training is healthy; only the dev set's cost overflows float64 (rmse = sqrt(1e400)).
    X, y = moons
    X_dev = np.full((5, 2), 1e200)
    config = replace(SMALL, output="linear", dtype="float64", epochs=3)
    error, seen = diverge(X, y.astype(float), config, X_dev, np.zeros(5))
    assert error.epoch == 1 and seen == []
    assert error.what == "dev cost" and error.cost == math.inf
    assert "dev cost is inf" in str(error)


def test_non_finite_weights_without_dev_set_raise(regression):
    # Epoch 2's update overflows float32 weights while its (pre-update) cost is still finite.
    X, y = regression
    config = replace(EXPLODING, learning_rate=1e6)
    with np.errstate(all="ignore"):
        one = train(X, y, replace(config, epochs=1))
    assert all(np.isfinite(p).all() for p in one.model.params.flat())
    error, seen = diverge(X, y, config)
    assert error.epoch == 2 and seen == [1]
    assert error.what == "weights" and math.isfinite(error.cost)
    assert str(error) == "training diverged at epoch 2: weights are not finite"


# --- early stopping ----------------------------------------------------------------------------

def test_early_stopping_stops_and_restores_best_weights(moons, moons_dev):
    X, y = moons
    X_dev, y_dev = moons_dev
    config = TrainConfig(hidden_layers=(32, 32), optimizer="adam", learning_rate=0.02,
                         batch_size=16, epochs=300, patience=5, dtype="float64", seed=0)
    result = train(X, y, config, X_dev, y_dev)
    dev = [mt.dev_metric for mt in result.history]
    assert result.stop_reason == "early_stopping"
    assert len(result.history) < config.epochs
    best = int(np.argmax(dev)) + 1  # first epoch reaching the best dev accuracy
    assert result.best_epoch == best
    assert len(result.history) - best == config.patience
    assert np.mean(result.model.predict(X_dev) == y_dev) == max(dev)
    # The final epoch's weights were worse on dev: the model really holds older weights.
    assert dev[-1] < max(dev)


def test_early_stopping_on_regression_minimises_rmse():
    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 2, size=(120, 2))
    y = np.sin(X[:, 0]) + 0.3 * rng.normal(size=120)
    X_dev = rng.uniform(-2, 2, size=(40, 2))
    y_dev = np.sin(X_dev[:, 0]) + 0.3 * rng.normal(size=40)
    config = TrainConfig(hidden_layers=(32,), activation="tanh", learning_rate=0.05,
                         batch_size=16, epochs=200, patience=4, dtype="float64", seed=0)
    result = train(X, y, config, X_dev, y_dev)
    dev = [mt.dev_metric for mt in result.history]
    assert result.history[0].metric == "rmse"
    assert result.stop_reason == "early_stopping"
    assert result.best_epoch == int(np.argmin(dev)) + 1
    pred = result.model.predict(X_dev)
    assert np.sqrt(np.mean((pred - y_dev) ** 2)) == pytest.approx(min(dev), rel=1e-12)


# --- regularisation ----------------------------------------------------------------------------

def weight_norm(model) -> float:
    return sum(float(np.sum(W.astype(np.float64) ** 2)) for W in model.params.W)


def test_l2_reduces_weight_norm(moons):
    X, y = moons
    config = replace(SMALL, hidden_layers=(16, 16), epochs=40)
    plain = train(X, y, config)
    l2 = train(X, y, replace(config, l2=5.0))
    assert weight_norm(l2.model) < 0.8 * weight_norm(plain.model)
    # The reported cost includes the penalty lambda/(2m) sum ||W||^2.
    assert l2.history[0].train_cost > plain.history[0].train_cost


def test_dropout_is_off_at_prediction_and_training_still_works(moons):
    X, y = moons
    config = replace(SMALL, hidden_layers=(32, 16), keep_prob=0.6, epochs=60)
    result = train(X, y, config)
    model = result.model
    np.testing.assert_array_equal(model.logits(X), model.logits(X))
    np.testing.assert_array_equal(model.predict(X), model.predict(X))
    # Prediction is the plain forward pass without masks.
    no_dropout, _ = forward(model.params, X.astype(model.dtype), model.activation)
    np.testing.assert_allclose(model.logits(X), no_dropout, rtol=1e-6)
    assert np.mean(model.predict(X) == y) > 0.8
    assert result.history[-1].train_cost < result.history[0].train_cost


def test_dropout_masks_are_inverted_dropout():
    rng = np.random.default_rng(0)
    params = initialize_parameters((4, 200, 1), "he", rng, np.float64)
    X = rng.normal(size=(300, 4))
    _, cache = forward(params, X, "relu", (0.7,), np.random.default_rng(1))
    D = cache.D[1]
    assert set(np.unique(D)) <= {0.0, 1 / 0.7}
    assert np.mean(D > 0) == pytest.approx(0.7, abs=0.02)


def test_per_layer_keep_probabilities(moons):
    X, y = moons
    config = replace(SMALL, hidden_layers=(16, 8), keep_prob=(1.0, 0.5))
    assert config.keep_probs() == (1.0, 0.5)
    result = train(X, y, config)
    assert all(math.isfinite(mt.train_cost) for mt in result.history)


# --- schedules ---------------------------------------------------------------------------------

LR0, RATE, STEPS, EPOCHS, MIN_LR = 0.1, 0.5, 3, 10, 0.01

EXPECTED_LR = {
    "constant": lambda e: LR0,
    "inverse_time": lambda e: LR0 / (1 + RATE * math.floor(e / STEPS)),
    "exponential": lambda e: LR0 * RATE ** (e / STEPS),
    "step": lambda e: LR0 * RATE ** math.floor(e / STEPS),
    "cosine": lambda e: MIN_LR + 0.5 * (LR0 - MIN_LR) * (1 + math.cos(math.pi * e / (EPOCHS - 1))),
}


@pytest.mark.parametrize("schedule", sorted(EXPECTED_LR))
def test_schedule_learning_rates(moons, schedule):
    X, y = moons
    config = TrainConfig(hidden_layers=(4,), optimizer="gd", learning_rate=LR0, schedule=schedule,
                         decay_rate=RATE, decay_steps=STEPS, min_learning_rate=MIN_LR,
                         batch_size=None, epochs=EPOCHS)
    history = train(X, y, config).history
    rates = [mt.learning_rate for mt in history]
    expected = [EXPECTED_LR[schedule](mt.epoch - 1) for mt in history]  # 0-based epoch
    np.testing.assert_allclose(rates, expected, rtol=1e-12)
    assert rates[0] == pytest.approx(LR0)
    if schedule == "cosine":
        assert rates[-1] == pytest.approx(MIN_LR, rel=1e-12)
    if schedule != "constant":
        assert rates[-1] < rates[0]


def test_every_schedule_is_tested():
    assert set(SCHEDULES) == set(EXPECTED_LR)


def test_schedule_changes_the_updates(moons):
    # The rate is really used: a step decay to ~0 freezes the weights after the first epochs.
    X, y = moons
    base = TrainConfig(hidden_layers=(4,), optimizer="gd", learning_rate=0.5, batch_size=None,
                       epochs=6, decay_rate=1e-12, decay_steps=2, schedule="step",
                       dtype="float64")
    frozen = []
    train(X, y, base, callbacks=[lambda mt: frozen.append(mt.train_cost)])
    assert frozen[0] != frozen[2]  # epochs 1-2 train at full rate
    assert frozen[3] == pytest.approx(frozen[4], rel=1e-9)  # later ones barely move


# --- determinism -------------------------------------------------------------------------------

def assert_same_run(a, b) -> None:
    for wa, wb in zip(a.model.params.flat(), b.model.params.flat(), strict=True):
        assert np.array_equal(wa, wb)
    assert len(a.history) == len(b.history)
    for ma, mb in zip(a.history, b.history):
        da, db = asdict(ma), asdict(mb)
        assert da.pop("metric") == db.pop("metric")
        for key in (*TIMING, "layers"):  # layers: per-layer signals, compared by their tests
            del da[key], db[key]
        assert np.array_equal(list(da.values()), list(db.values()), equal_nan=True)


def weights_differ(a, b) -> bool:
    return any(not np.array_equal(wa, wb)
               for wa, wb in zip(a.model.params.flat(), b.model.params.flat()))


@pytest.mark.parametrize("keep_prob", [1.0, 0.7])
def test_same_seed_is_bit_identical_and_different_seeds_differ(moons, moons_dev, keep_prob):
    X, y = moons
    config = replace(SMALL, hidden_layers=(8, 8), keep_prob=keep_prob, seed=7)
    first = train(X, y, config, *moons_dev)
    second = train(X, y, config, *moons_dev)
    assert_same_run(first, second)
    other = train(X, y, replace(config, seed=8), *moons_dev)
    assert weights_differ(first, other)
    assert [m.train_cost for m in first.history] != [m.train_cost for m in other.history]


def test_dropout_changes_the_run(moons):
    X, y = moons
    config = replace(SMALL, hidden_layers=(8, 8), seed=7)
    assert weights_differ(train(X, y, config), train(X, y, replace(config, keep_prob=0.7)))


# --- dtypes ------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("optimizer", ["gd", "momentum", "rmsprop", "adam"])
def test_dtype_end_to_end(moons, dtype, optimizer):
    X, y = moons  # float64 input
    config = replace(SMALL, optimizer=optimizer, dtype=dtype, l2=0.1, keep_prob=0.9, epochs=3)
    model = train(X.astype(np.float64), y, config).model
    expected = np.dtype(dtype)
    assert model.dtype == expected
    assert all(p.dtype == expected for p in model.params.flat())
    assert model.logits(X).dtype == expected
    assert model.predict_proba(X).dtype == expected
    assert predict_logits(model.params, X.astype(expected), model.activation).dtype == expected


def test_float32_input_trained_in_float64():
    X, y = make_moons(n_samples=60, noise=0.2, random_state=0)
    model = train(X.astype(np.float32), y, replace(SMALL, dtype="float64", epochs=2)).model
    assert all(p.dtype == np.float64 for p in model.params.flat())
    assert model.predict_proba(X.astype(np.float32)).dtype == np.float64


def test_float32_softmax_and_regression_stay_float32():
    X, y = make_blobs(n_samples=90, centers=3, random_state=0)
    model = train(X, y, replace(SMALL, epochs=2)).model
    assert model.output == "softmax" and model.predict_proba(X).dtype == np.float32
    reg = train(X, X[:, 0] * 0.37, replace(SMALL, epochs=2)).model
    assert reg.output == "linear" and reg.predict(X).dtype == np.float32


# --- optimisers on a real problem, regression, multi-class -------------------------------------

@pytest.mark.parametrize("optimizer, lr", [("gd", 0.5), ("momentum", 0.5), ("rmsprop", 0.01),
                                           ("adam", 0.01)])
def test_each_optimizer_reduces_the_cost(moons, optimizer, lr):
    X, y = moons
    config = TrainConfig(hidden_layers=(8,), activation="tanh", optimizer=optimizer,
                         learning_rate=lr, batch_size=None, epochs=40, dtype="float64")
    history = train(X, y, config).history
    costs = [mt.train_cost for mt in history]
    assert costs[-1] < 0.8 * costs[0]


def test_regression_reaches_good_r2():
    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 2, size=(200, 2))
    y = np.sin(X[:, 0]) + 0.5 * X[:, 1] ** 2
    config = TrainConfig(hidden_layers=(16,), activation="tanh", optimizer="adam",
                         learning_rate=0.01, batch_size=32, epochs=150, seed=0)
    result = train(X, y, config)
    model = result.model
    assert model.output == "linear" and not model.is_classifier and model.classes is None
    assert result.history[-1].metric == "rmse"
    assert r2_score(y, model.predict(X)) > 0.95
    assert model.evaluate(X, y)["r2"] == pytest.approx(r2_score(y, model.predict(X)), rel=1e-5)
    with pytest.raises(ValueError, match="predict_proba"):
        model.predict_proba(X)


def test_softmax_with_more_than_two_classes_and_probabilities():
    X, y = make_blobs(n_samples=240, centers=4, cluster_std=1.0, random_state=3)
    labels = np.array(["d", "a", "c", "b"])[y]  # unsorted string labels
    result = train(X, labels, replace(SMALL, hidden_layers=(16,), epochs=40))
    model = result.model
    assert model.output == "softmax" and model.layer_dims[-1] == 4
    assert model.classes.tolist() == ["a", "b", "c", "d"]
    P = model.predict_proba(X)
    assert P.shape == (240, 4)
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=1e-5)
    assert np.all(P >= 0)
    np.testing.assert_array_equal(model.predict(X), model.classes[P.argmax(axis=1)])
    assert np.mean(model.predict(X) == labels) > 0.9


def test_sigmoid_predict_proba_columns_follow_classes(moons):
    X, y = moons
    labels = np.where(y == 1, "yes", "no")
    model = train(X, labels, replace(SMALL, epochs=30)).model
    assert model.output == "sigmoid" and model.layer_dims[-1] == 1
    P = model.predict_proba(X)
    assert P.shape == (len(X), 2)
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(model.predict(X), model.classes[P.argmax(axis=1)])
    assert np.mean(model.predict(X) == labels) > 0.8


def test_explicit_softmax_on_two_classes(moons):
    X, y = moons
    model = train(X, y, replace(SMALL, output="softmax", epochs=30)).model
    assert model.output == "softmax" and model.layer_dims[-1] == 2
    assert np.mean(model.predict(X) == y) > 0.8


def test_evaluate_matches_sklearn(moons):
    from sklearn.metrics import log_loss

    X, y = moons
    model = train(X, y, replace(SMALL, dtype="float64", epochs=20)).model
    scores = model.evaluate(X, y)
    P = model.predict_proba(X)
    assert scores["accuracy"] == pytest.approx(np.mean(model.predict(X) == y))
    assert scores["log_loss"] == pytest.approx(log_loss(y, P, labels=model.classes), rel=1e-9)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_training_and_prediction_leave_inputs_unchanged(moons, moons_dev, dtype):
    X, y = (a.copy() for a in moons)
    X_dev, y_dev = (a.copy() for a in moons_dev)
    X, X_dev = X.astype(dtype), X_dev.astype(dtype)  # same dtype: no defensive conversion copy
    saved = [a.copy() for a in (X, y, X_dev, y_dev)]
    config = replace(SMALL, hidden_layers=(8, 8), keep_prob=0.8, patience=3, dtype=dtype)
    model = train(X, y, config, X_dev, y_dev).model
    model.predict(X)
    model.predict_proba(X_dev)
    for before, after in zip(saved, (X, y, X_dev, y_dev)):
        np.testing.assert_array_equal(before, after)
