"""Built-in datasets: shapes, tasks, classes, determinism, parameter errors."""

from __future__ import annotations

import numpy as np
import pytest

from nnexp.data import DATASETS, DataError, load_builtin

EXPECTED = {
    # name: (m, n_x, task, classes at default parameters)
    "digits": (1797, 64, "multiclass", list(range(10))),
    "breast_cancer": (569, 30, "binary", [0, 1]),
    "wine": (178, 13, "multiclass", [0, 1, 2]),
    "iris": (150, 4, "multiclass", [0, 1, 2]),
    "planar_flower": (400, 2, "binary", [0, 1]),
    "moons": (400, 2, "binary", [0, 1]),
    "circles": (400, 2, "binary", [0, 1]),
    "blobs": (400, 2, "multiclass", [0, 1, 2]),
    "spirals": (400, 2, "binary", [0, 1]),
    "regression": (400, 5, "regression", None),
}
GENERATED = [name for name, info in DATASETS.items() if "seed" in info.params]


def test_registry_lists_every_dataset():
    assert set(DATASETS) == set(EXPECTED)


@pytest.mark.parametrize("name", EXPECTED)
def test_shape_task_classes(name):
    m, n_x, task, classes = EXPECTED[name]
    data = load_builtin(name)
    assert data.X.shape == (m, n_x) and data.X.dtype == np.float64
    assert data.y.shape == (m,)
    assert data.task == task == DATASETS[name].task
    assert len(data.feature_names) == n_x
    assert data.X_test is None and data.y_test is None
    assert data.source == "builtin" and data.table is None  # arrays, no raw columns
    if classes is None:
        assert data.classes is None and data.y.dtype == np.float64
    else:
        assert data.classes.tolist() == classes
        assert data.y.dtype.kind == "i"


@pytest.mark.parametrize("name", GENERATED)
def test_generated_are_deterministic_per_seed(name):
    a, b = load_builtin(name, seed=3), load_builtin(name, seed=3)
    c = load_builtin(name, seed=4)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.y, b.y)
    assert not np.array_equal(a.X, c.X)


@pytest.mark.parametrize("name", GENERATED)
def test_generated_take_n_samples_and_noise(name):
    quiet = load_builtin(name, n_samples=60, noise=0.0, seed=1)
    noisy = load_builtin(name, n_samples=60, noise=0.5, seed=1)
    assert quiet.X.shape[0] == 60
    # regression puts its noise on y, the classifiers on X
    assert not (np.allclose(quiet.X, noisy.X) and np.allclose(quiet.y, noisy.y))


def test_planar_flower_two_equal_classes_on_the_petals():
    data = load_builtin("planar_flower", n_samples=401, noise=0.0)
    assert data.X.shape == (400, 2)
    assert np.bincount(data.y).tolist() == [200, 200]
    # Without noise every point lies on r = 4 sin(4t), so its radius is at most 4.
    assert np.linalg.norm(data.X, axis=1).max() <= 4 + 1e-9


def test_planar_flower_matches_the_course_formula():
    data = load_builtin("planar_flower", n_samples=10, noise=0.2, seed=7)
    rng = np.random.default_rng(7)
    for j in range(2):
        t = np.linspace(j * 3.12, (j + 1) * 3.12, 5) + rng.standard_normal(5) * 0.2
        r = 4 * np.sin(4 * t) + rng.standard_normal(5) * 0.2
        np.testing.assert_allclose(data.X[5 * j:5 * (j + 1)], np.c_[r * np.sin(t), r * np.cos(t)])


def test_blobs_and_circles_extra_parameters():
    blobs = load_builtin("blobs", n_samples=90, n_classes=5, n_features=3)
    assert blobs.X.shape == (90, 3) and blobs.classes.tolist() == [0, 1, 2, 3, 4]
    two = load_builtin("blobs", n_classes=2)
    assert two.task == "binary"
    inner = load_builtin("circles", noise=0.0, factor=0.3)
    radii = np.round(np.linalg.norm(inner.X, axis=1), 6)
    assert set(radii.tolist()) == {0.3, 1.0}


def test_spirals_are_balanced_and_interleaved():
    data = load_builtin("spirals", noise=0.0)
    assert np.bincount(data.y).tolist() == [200, 200]
    # Arm 1 is arm 0 rotated by pi: the classes share the same radii distribution.
    r0 = np.linalg.norm(data.X[data.y == 0], axis=1)
    r1 = np.linalg.norm(data.X[data.y == 1], axis=1)
    assert abs(r0.mean() - r1.mean()) < 0.1


def test_params_defaults_are_the_generators_defaults():
    for name, info in DATASETS.items():
        data = load_builtin(name, **info.params)
        np.testing.assert_array_equal(data.X, load_builtin(name).X)


def test_unknown_name_lists_valid_names():
    with pytest.raises(DataError) as err:
        load_builtin("moon")
    message = str(err.value)
    assert "'moon'" in message and "Did you mean 'moons'" in message
    assert all(name in message for name in DATASETS)


def test_unknown_parameter_lists_valid_ones():
    with pytest.raises(DataError) as err:
        load_builtin("moons", n_sample=10)
    assert "'n_sample'" in str(err.value)
    assert "n_samples, noise, seed" in str(err.value)
    with pytest.raises(DataError, match="takes no parameters"):
        load_builtin("iris", seed=1)


@pytest.mark.parametrize(("params", "field"), [
    ({"n_samples": 1}, "n_samples"), ({"n_samples": 2.5}, "n_samples"),
    ({"noise": -0.1}, "noise"), ({"n_features": 3}, "n_features"),
])
def test_bad_parameter_values_name_the_parameter(params, field):
    with pytest.raises(DataError, match=field):
        load_builtin("regression", **params)
