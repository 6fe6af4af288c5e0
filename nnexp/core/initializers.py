"""Weight initialisers: name -> f(n_out, n_in, rng, dtype, scale) -> W of shape (n_out, n_in).

Biases always start at zero. ``zeros`` exists to show the symmetry problem; ``random`` is the
course's ``np.random.randn(n_l, n_{l-1}) * 0.01`` with the factor as ``scale``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Initializer = Callable[[int, int, np.random.Generator, np.dtype, float], np.ndarray]


def _normal(n_out: int, n_in: int, rng: np.random.Generator, dtype: np.dtype, std: float):
    return (rng.standard_normal((n_out, n_in)) * std).astype(dtype, copy=False)


def _uniform(n_out: int, n_in: int, rng: np.random.Generator, dtype: np.dtype, limit: float):
    return rng.uniform(-limit, limit, size=(n_out, n_in)).astype(dtype, copy=False)


def zeros(n_out: int, n_in: int, rng: np.random.Generator, dtype: np.dtype, scale: float):
    """All weights zero: every unit of a layer computes the same thing (the symmetry problem)."""
    return np.zeros((n_out, n_in), dtype=dtype)


def random_normal(n_out: int, n_in: int, rng: np.random.Generator, dtype: np.dtype, scale: float):
    """N(0, 1) times ``scale`` (the course's default is 0.01)."""
    return _normal(n_out, n_in, rng, dtype, scale)


def xavier_normal(n_out: int, n_in: int, rng: np.random.Generator, dtype: np.dtype, scale: float):
    """Glorot normal: std = sqrt(2 / (n_in + n_out))."""
    return _normal(n_out, n_in, rng, dtype, np.sqrt(2.0 / (n_in + n_out)))


def xavier_uniform(n_out: int, n_in: int, rng: np.random.Generator, dtype: np.dtype, scale: float):
    """Glorot uniform: U(-l, l) with l = sqrt(6 / (n_in + n_out))."""
    return _uniform(n_out, n_in, rng, dtype, np.sqrt(6.0 / (n_in + n_out)))


def he_normal(n_out: int, n_in: int, rng: np.random.Generator, dtype: np.dtype, scale: float):
    """He normal: std = sqrt(2 / n_in), the course's choice for ReLU networks."""
    return _normal(n_out, n_in, rng, dtype, np.sqrt(2.0 / n_in))


def he_uniform(n_out: int, n_in: int, rng: np.random.Generator, dtype: np.dtype, scale: float):
    """He uniform: U(-l, l) with l = sqrt(6 / n_in)."""
    return _uniform(n_out, n_in, rng, dtype, np.sqrt(6.0 / n_in))


def lecun_normal(n_out: int, n_in: int, rng: np.random.Generator, dtype: np.dtype, scale: float):
    """LeCun normal: std = sqrt(1 / n_in) (the course's 'Xavier' for tanh)."""
    return _normal(n_out, n_in, rng, dtype, np.sqrt(1.0 / n_in))


INITIALIZERS: dict[str, Initializer] = {
    "zeros": zeros,
    "random": random_normal,
    "xavier": xavier_normal,
    "xavier_uniform": xavier_uniform,
    "he": he_normal,
    "he_uniform": he_uniform,
    "lecun": lecun_normal,
}
"""``xavier`` (Glorot) and ``he`` are the normal variants; ``*_uniform`` the uniform ones."""
