"""Hidden-layer activations and their derivatives, as registries of small pure functions.

Every function works on arrays of shape (m, n_l) (examples as rows) and keeps the dtype.
An activation may overwrite its input Z (the training loop never reuses Z). Each derivative is
written in terms of the activation's output A, so backprop needs to keep only A per layer:
``DERIVATIVES[name](dA, A)`` returns dZ = dA * g'(z), overwriting dA.
Adding an activation is adding one entry to ``ACTIVATIONS`` and one to ``DERIVATIVES``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

LEAKY_SLOPE = 0.01


def relu(Z: np.ndarray) -> np.ndarray:
    """max(0, z), elementwise, in place. Z: (m, n_l) -> A: (m, n_l)."""
    return np.maximum(Z, 0, out=Z)


def leaky_relu(Z: np.ndarray) -> np.ndarray:
    """z if z > 0 else 0.01 z, elementwise. Z: (m, n_l) -> A: (m, n_l)."""
    return np.where(Z > 0, Z, Z * Z.dtype.type(LEAKY_SLOPE))


def tanh(Z: np.ndarray) -> np.ndarray:
    """Hyperbolic tangent, elementwise, in place. Z: (m, n_l) -> A: (m, n_l)."""
    return np.tanh(Z, out=Z)


def sigmoid(Z: np.ndarray) -> np.ndarray:
    """Logistic function 1 / (1 + exp(-z)), computed as (1 + tanh(z/2)) / 2 so it never overflows.

    Z: (m, n_l) -> A: (m, n_l), values in [0, 1].
    """
    half = Z.dtype.type(0.5)
    A = np.multiply(Z, half, out=Z)
    np.tanh(A, out=A)
    A += 1
    A *= half
    return A


def linear(Z: np.ndarray) -> np.ndarray:
    """Identity. Z: (m, n_l) -> A: (m, n_l) (the same array)."""
    return Z


def relu_backward(dA: np.ndarray, A: np.ndarray) -> np.ndarray:
    """dZ = dA * 1[a > 0] (a > 0 exactly when z > 0). dA, A: (m, n_l) -> dZ: (m, n_l)."""
    dA *= A > 0
    return dA


def leaky_relu_backward(dA: np.ndarray, A: np.ndarray) -> np.ndarray:
    """dZ = dA * (1 if a > 0 else 0.01). dA, A: (m, n_l) -> dZ: (m, n_l)."""
    dA *= np.where(A > 0, A.dtype.type(1), A.dtype.type(LEAKY_SLOPE))
    return dA


def tanh_backward(dA: np.ndarray, A: np.ndarray) -> np.ndarray:
    """dZ = dA * (1 - a^2). dA, A: (m, n_l) -> dZ: (m, n_l)."""
    dA *= 1 - A * A
    return dA


def sigmoid_backward(dA: np.ndarray, A: np.ndarray) -> np.ndarray:
    """dZ = dA * a (1 - a). dA, A: (m, n_l) -> dZ: (m, n_l)."""
    dA *= A * (1 - A)
    return dA


def linear_backward(dA: np.ndarray, A: np.ndarray) -> np.ndarray:
    """dZ = dA. dA, A: (m, n_l) -> dZ: (m, n_l)."""
    return dA


Activation = Callable[[np.ndarray], np.ndarray]
Derivative = Callable[[np.ndarray, np.ndarray], np.ndarray]

ACTIVATIONS: dict[str, Activation] = {
    "relu": relu,
    "leaky_relu": leaky_relu,
    "tanh": tanh,
    "sigmoid": sigmoid,
    "linear": linear,
}

DERIVATIVES: dict[str, Derivative] = {
    "relu": relu_backward,
    "leaky_relu": leaky_relu_backward,
    "tanh": tanh_backward,
    "sigmoid": sigmoid_backward,
    "linear": linear_backward,
}
