"""Every bad input raises ValueError naming the argument (and the valid choices for names)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from nnexp.core import (
    ACTIVATIONS,
    INITIALIZERS,
    OPTIMIZERS,
    SCHEDULES,
    TrainConfig,
    train,
)
from nnexp.core.inputs import check_X, check_y

CFG = TrainConfig(hidden_layers=(3,), epochs=1)


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 3))
    y = (X[:, 0] > 0).astype(int)
    return X, y


# --- arrays given to train ---------------------------------------------------------------------

def test_mismatched_X_and_y_lengths(data):
    X, y = data
    with pytest.raises(ValueError, match=r"^y has 19 labels but X has 20 examples"):
        train(X, y[:-1], CFG)


def test_X_dev_with_wrong_feature_count(data):
    X, y = data
    with pytest.raises(ValueError, match=r"^X_dev has 2 features but the network expects 3"):
        train(X, y, CFG, X[:5, :2], y[:5])


def test_y_dev_with_wrong_length(data):
    X, y = data
    with pytest.raises(ValueError, match=r"^y_dev has 4 labels"):
        train(X, y, CFG, X[:5], y[:4])


def test_y_dev_with_unseen_label(data):
    X, y = data
    with pytest.raises(ValueError, match=r"^y_dev contains label\(s\) \[5\]"):
        train(X, y, CFG, X[:3], np.array([0, 1, 5]))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_or_inf_in_X(data, bad):
    X, y = data
    X = X.copy()
    X[4, 2] = bad
    with pytest.raises(ValueError, match=r"^X contains 1 NaN or inf value\(s\), first at row 4, "
                                         r"column 2"):
        train(X, y, CFG)


def test_nan_in_X_dev(data):
    X, y = data
    X_dev = X[:5].copy()
    X_dev[0, 0] = np.nan
    with pytest.raises(ValueError, match=r"^X_dev contains"):
        train(X, y, CFG, X_dev, y[:5])


def test_nan_in_regression_targets(data):
    X, _ = data
    y = np.linspace(0, 1, len(X)) + 0.01
    y[3] = np.nan
    with pytest.raises(ValueError, match=r"^y contains NaN"):
        train(X, y, CFG)


@pytest.mark.parametrize("y", [np.zeros(20, dtype=int), np.array(["a"] * 20)])
def test_fewer_than_two_classes(data, y):
    X, _ = data
    with pytest.raises(ValueError, match=r"^y has 1 class\(es\).*at least two"):
        train(X, y, CFG)


def test_sigmoid_output_needs_exactly_two_classes(data):
    X, _ = data
    with pytest.raises(ValueError, match=r"output='sigmoid' needs exactly two classes"):
        train(X, np.arange(20) % 3, TrainConfig(hidden_layers=(3,), output="sigmoid", epochs=1))


@pytest.mark.parametrize("shape", [(20,), (2, 10, 1)])
def test_X_must_be_2d(data, shape):
    X, y = data
    with pytest.raises(ValueError, match=r"^X must be 2-D"):
        train(np.ones(shape), y[: shape[0]], CFG)


def test_y_must_be_1d(data):
    X, _ = data
    with pytest.raises(ValueError, match=r"^y must be 1-D"):
        train(X, np.zeros((20, 2)), CFG)


def test_patience_without_dev_set(data):
    X, y = data
    with pytest.raises(ValueError, match=r"^patience .*needs a dev set"):
        train(X, y, TrainConfig(hidden_layers=(3,), patience=2, epochs=3))


def test_check_X_and_check_y_accept_good_input():
    X = check_X([[1, 2], [3, 4]])
    assert X.shape == (2, 2)
    assert check_X(np.array([[True], [False]])).dtype == bool
    assert check_y(np.array([[1], [0]]), 2).shape == (2,)  # a column is flattened
    with pytest.raises(ValueError, match="^X_test must be numeric"):
        check_X(np.array([["a", "b"]]), "X_test")
    with pytest.raises(ValueError, match="^X has no examples"):
        check_X(np.empty((0, 3)))


# --- configuration -----------------------------------------------------------------------------

@pytest.mark.parametrize("layers, index", [((4, 0), 1), ((-2,), 0), ((3, 3, 0), 2)])
def test_layer_sizes_below_one(layers, index):
    with pytest.raises(ValueError, match=rf"^hidden_layers\[{index}\]="):
        TrainConfig(hidden_layers=layers)


@pytest.mark.parametrize("keep_prob", [0.0, -0.1, 1.01, 2, (0.5, 0.0)])
def test_keep_prob_outside_zero_one(keep_prob):
    with pytest.raises(ValueError, match=r"^keep_prob=.*\(0, 1\]"):
        TrainConfig(hidden_layers=(3, 3), keep_prob=keep_prob)


def test_keep_prob_tuple_of_wrong_length():
    with pytest.raises(ValueError, match=r"^keep_prob has 3 values but there are 2"):
        TrainConfig(hidden_layers=(3, 3), keep_prob=(0.5, 0.5, 0.5))


def test_keep_prob_of_one_is_valid():
    assert TrainConfig(hidden_layers=(3,), keep_prob=1.0).keep_probs() == (1.0,)


@pytest.mark.parametrize(
    "field, registry",
    [("activation", ACTIVATIONS), ("init", INITIALIZERS), ("optimizer", OPTIMIZERS),
     ("schedule", SCHEDULES), ("dtype", ("float32", "float64")),
     ("output", ("auto", "sigmoid", "softmax", "linear"))],
)
def test_unknown_names_list_the_valid_ones(field, registry):
    with pytest.raises(ValueError, match=rf"^{field}='nope' is not known") as info:
        TrainConfig(**{field: "nope"})
    valid = str(info.value).split("valid values:")[1]
    for name in registry:
        assert re.search(rf"\b{name}\b", valid), name


@pytest.mark.parametrize(
    "field, value",
    [("learning_rate", 0.0), ("learning_rate", float("nan")), ("epsilon", -1e-8),
     ("decay_rate", float("inf")), ("init_scale", 0.0), ("beta1", 1.0), ("beta2", -0.1),
     ("l2", -1.0), ("decay_steps", 0), ("epochs", 0), ("batch_size", 0), ("patience", 0),
     ("min_learning_rate", 1.0)],
)
def test_numeric_settings_out_of_range(field, value):
    with pytest.raises(ValueError, match=rf"^{field}="):
        TrainConfig(**{field: value})


def test_config_dict_round_trip_and_unknown_keys():
    config = TrainConfig(hidden_layers=[5, 4], keep_prob=[0.8, 0.9], batch_size=None, seed=3)
    assert config.hidden_layers == (5, 4) and config.keep_prob == (0.8, 0.9)
    values = config.to_dict()
    assert values["hidden_layers"] == [5, 4] and values["keep_prob"] == [0.8, 0.9]
    assert TrainConfig.from_dict(values) == config
    with pytest.raises(ValueError, match=r"unknown training setting\(s\) \['hiden_layers'\]"):
        TrainConfig.from_dict({"hiden_layers": [3]})
