"""Weight initialisers: shapes, zero biases, and the documented scale of each distribution."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nnexp.core import INITIALIZERS, initialize_parameters

N_IN, N_OUT = 600, 300  # a large layer: 180,000 draws

# Documented standard deviations by implementing function (aliases share one function);
# a uniform U(-l, l) has std l / sqrt(3).
STD_BY_FUNCTION = {
    "he_normal": math.sqrt(2 / N_IN),
    "he_uniform": math.sqrt(6 / N_IN) / math.sqrt(3),
    "xavier_normal": math.sqrt(2 / (N_IN + N_OUT)),
    "xavier_uniform": math.sqrt(6 / (N_IN + N_OUT)) / math.sqrt(3),
    "lecun_normal": math.sqrt(1 / N_IN),
    "random_normal": 0.01,
}
RANDOM_NAMES = sorted(n for n in INITIALIZERS if n != "zeros")


def expected_std(name: str) -> float:
    return STD_BY_FUNCTION[INITIALIZERS[name].__name__]


def test_every_initialiser_has_a_documented_expectation():
    assert {"zeros", "random", "he", "xavier", "lecun"} <= set(INITIALIZERS)
    assert INITIALIZERS["he"].__name__ == "he_normal"
    assert INITIALIZERS["xavier"].__name__ == "xavier_normal"
    for name in RANDOM_NAMES:
        assert INITIALIZERS[name].__name__ in STD_BY_FUNCTION, name


@pytest.mark.parametrize("name", RANDOM_NAMES)
def test_empirical_std_matches_documented_formula(name):
    W = INITIALIZERS[name](N_OUT, N_IN, np.random.default_rng(0), np.dtype(np.float64), 0.01)
    assert W.shape == (N_OUT, N_IN)
    assert W.std() == pytest.approx(expected_std(name), rel=0.05)
    assert abs(W.mean()) < 0.05 * expected_std(name)


@pytest.mark.parametrize("name", ["he_uniform", "xavier_uniform"])
def test_uniform_initialisers_stay_within_their_limit(name):
    W = INITIALIZERS[name](N_OUT, N_IN, np.random.default_rng(1), np.dtype(np.float64), 0.01)
    limit = expected_std(name) * math.sqrt(3)
    assert np.all(np.abs(W) <= limit)
    assert np.abs(W).max() > 0.99 * limit


def test_zeros_are_all_zero():
    W = INITIALIZERS["zeros"](5, 7, np.random.default_rng(0), np.dtype(np.float32), 0.01)
    assert W.shape == (5, 7) and W.dtype == np.float32
    assert not W.any()


@pytest.mark.parametrize("scale", [0.01, 0.5, 3.0])
def test_random_is_scaled_by_init_scale(scale):
    draw = INITIALIZERS["random"]
    unit = draw(N_OUT, N_IN, np.random.default_rng(2), np.dtype(np.float64), 1.0)
    scaled = draw(N_OUT, N_IN, np.random.default_rng(2), np.dtype(np.float64), scale)
    np.testing.assert_allclose(scaled, unit * scale, rtol=1e-12)
    assert scaled.std() == pytest.approx(scale, rel=0.05)


def test_init_scale_only_affects_random():
    for name in ("he", "xavier", "lecun"):
        a = INITIALIZERS[name](4, 6, np.random.default_rng(3), np.dtype(np.float64), 0.01)
        b = INITIALIZERS[name](4, 6, np.random.default_rng(3), np.dtype(np.float64), 5.0)
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", sorted(INITIALIZERS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_initialize_parameters_shapes_dtype_and_zero_biases(name, dtype):
    dims = (4, 6, 3, 2)
    params = initialize_parameters(dims, name, np.random.default_rng(0), dtype, 0.01)
    assert [W.shape for W in params.W] == [(6, 4), (3, 6), (2, 3)]
    assert [b.shape for b in params.b] == [(6,), (3,), (2,)]
    assert all(p.dtype == dtype for p in params.flat())
    assert all(not b.any() for b in params.b)
    assert params.n_params == 6 * 4 + 6 + 3 * 6 + 3 + 2 * 3 + 2
    if name != "zeros":
        assert all(np.unique(W).size == W.size for W in params.W)  # symmetry is broken


def test_logistic_regression_has_one_layer():
    params = initialize_parameters((5, 1), "he", np.random.default_rng(0))
    assert [W.shape for W in params.W] == [(1, 5)] and params.b[0].shape == (1,)
