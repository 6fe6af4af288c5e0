"""The course's lessons reproduce qualitatively on generated data.

- Initialization assignment: zeros initialisation cannot break symmetry (chance on circles),
  He initialisation separates the circles with the same network.
- Planar data classification: a 4-unit tanh hidden layer fits the flower, logistic regression
  cannot.
- Optimization assignment: Adam beats plain mini-batch gradient descent at equal epochs.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import make_circles, make_moons

from nnexp.core import TrainConfig, train


def planar_flower(m: int = 400, a: float = 4.0, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """The course's planar 'flower' data set: two interleaved petal classes, X (m, 2), y (m,)."""
    rng = np.random.default_rng(seed)
    N = m // 2
    X = np.zeros((m, 2))
    y = np.zeros(m, dtype=int)
    for j in range(2):
        ix = slice(N * j, N * (j + 1))
        t = np.linspace(j * 3.12, (j + 1) * 3.12, N) + rng.standard_normal(N) * 0.2
        r = a * np.sin(4 * t) + rng.standard_normal(N) * 0.2
        X[ix] = np.c_[r * np.sin(t), r * np.cos(t)]
        y[ix] = j
    return X, y


def accuracy(result, X, y) -> float:
    return float(np.mean(result.model.predict(X) == y))


@pytest.fixture(scope="module")
def circles():
    return make_circles(n_samples=300, noise=0.05, factor=0.5, random_state=1)


def circles_config(init: str) -> TrainConfig:
    return TrainConfig(hidden_layers=(10, 5), activation="relu", init=init, optimizer="gd",
                       learning_rate=0.05, batch_size=None, epochs=1000, dtype="float64", seed=0)


def test_zeros_initialisation_stays_at_chance_on_circles(circles):
    X, y = circles
    result = train(X, y, circles_config("zeros"))
    assert abs(accuracy(result, X, y) - 0.5) <= 0.05
    # The symmetry problem itself: every unit of a hidden layer is identical.
    for W in result.model.params.W[:-1]:
        assert np.all(W == W[0])
    # Cost stuck at log 2 (balanced classes, constant prediction 0.5).
    assert result.history[-1].train_cost == pytest.approx(np.log(2), abs=0.01)


def test_he_initialisation_separates_circles(circles):
    X, y = circles
    result = train(X, y, circles_config("he"))
    assert accuracy(result, X, y) > 0.9
    assert result.history[-1].train_cost < 0.5 * result.history[0].train_cost


@pytest.fixture(scope="module")
def flower():
    return planar_flower()


def flower_config(hidden: tuple[int, ...]) -> TrainConfig:
    return TrainConfig(hidden_layers=hidden, activation="tanh", init="xavier", optimizer="gd",
                       learning_rate=1.2, batch_size=None, epochs=1000, dtype="float64", seed=0)


def test_flower_generator_has_the_course_shape_and_balance(flower):
    X, y = flower
    assert X.shape == (400, 2) and np.bincount(y).tolist() == [200, 200]


def test_one_hidden_layer_of_four_tanh_units_fits_the_flower(flower):
    X, y = flower
    assert accuracy(train(X, y, flower_config((4,))), X, y) > 0.85


def test_logistic_regression_cannot_fit_the_flower(flower):
    X, y = flower
    result = train(X, y, flower_config(()))
    assert len(result.model.params.W) == 1
    assert accuracy(result, X, y) < 0.6


def test_adam_beats_minibatch_gradient_descent_on_moons():
    X, y = make_moons(n_samples=300, noise=0.2, random_state=0)
    final = {}
    for optimizer in ("gd", "adam"):
        config = TrainConfig(hidden_layers=(10, 5), activation="relu", optimizer=optimizer,
                             learning_rate=0.005, batch_size=32, epochs=100, dtype="float64",
                             seed=0)
        result = train(X, y, config)
        final[optimizer] = (result.history[-1].train_cost, accuracy(result, X, y))
    assert final["adam"][0] < 0.5 * final["gd"][0]
    assert final["adam"][1] > final["gd"][1] + 0.05
