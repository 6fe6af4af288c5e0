"""Optimisers: small classes that hold only their state and update parameters in place.

The training loop calls ``update(params, grads, lr)`` with matching lists of arrays and never
knows which optimiser it runs. ``params`` are updated in place, so buffers keep their dtype.
"""

from __future__ import annotations

import numpy as np


class GradientDescent:
    """(Mini-)batch gradient descent: theta -= lr * g."""

    def __init__(self, params: list[np.ndarray], **_: float) -> None:
        pass

    def update(self, params: list[np.ndarray], grads: list[np.ndarray], lr: float) -> None:
        for p, g in zip(params, grads):
            g *= lr
            p -= g


class Momentum:
    """Gradient descent with momentum: v = beta1 v + (1 - beta1) g; theta -= lr v."""

    def __init__(self, params: list[np.ndarray], beta1: float = 0.9, **_: float) -> None:
        self.beta1 = beta1
        self.v = [np.zeros_like(p) for p in params]

    def update(self, params: list[np.ndarray], grads: list[np.ndarray], lr: float) -> None:
        b1 = self.beta1
        for p, g, v in zip(params, grads, self.v):
            v *= b1
            g *= 1 - b1
            v += g
            p -= lr * v


class RMSprop:
    """RMSprop: s = beta2 s + (1 - beta2) g^2; theta -= lr g / (sqrt(s) + eps)."""

    def __init__(
        self, params: list[np.ndarray], beta2: float = 0.999, epsilon: float = 1e-8, **_: float
    ) -> None:
        self.beta2, self.epsilon = beta2, epsilon
        self.s = [np.zeros_like(p) for p in params]

    def update(self, params: list[np.ndarray], grads: list[np.ndarray], lr: float) -> None:
        b2, eps = self.beta2, self.epsilon
        for p, g, s in zip(params, grads, self.s):
            s *= b2
            s += (1 - b2) * g * g
            denom = np.sqrt(s)
            denom += eps
            g *= lr
            g /= denom
            p -= g


class Adam:
    """Adam with bias correction; epsilon outside the square root.

    v = b1 v + (1 - b1) g;  s = b2 s + (1 - b2) g^2;  t += 1
    theta -= lr * (v / (1 - b1^t)) / (sqrt(s / (1 - b2^t)) + eps)
    """

    def __init__(
        self,
        params: list[np.ndarray],
        beta1: float = 0.9,
        beta2: float = 0.999,
        epsilon: float = 1e-8,
        **_: float,
    ) -> None:
        self.beta1, self.beta2, self.epsilon = beta1, beta2, epsilon
        self.t = 0
        self.v = [np.zeros_like(p) for p in params]
        self.s = [np.zeros_like(p) for p in params]
        self._buf = [np.empty_like(p) for p in params]

    def update(self, params: list[np.ndarray], grads: list[np.ndarray], lr: float) -> None:
        b1, b2, eps = self.beta1, self.beta2, self.epsilon
        self.t += 1
        c1 = 1.0 - b1**self.t
        c2 = 1.0 - b2**self.t
        # theta -= (lr / c1) v / (sqrt(s) / sqrt(c2) + eps), done with in-place ufuncs.
        step = lr / c1
        inv_sqrt_c2 = 1.0 / np.sqrt(c2)
        for p, g, v, s, buf in zip(params, grads, self.v, self.s, self._buf):
            v *= b1
            v += (1 - b1) * g
            np.multiply(g, g, out=buf)
            buf *= 1 - b2
            s *= b2
            s += buf
            np.sqrt(s, out=buf)
            buf *= inv_sqrt_c2
            buf += eps
            np.divide(v, buf, out=buf)
            buf *= step
            p -= buf


OPTIMIZERS: dict[str, type] = {
    "gd": GradientDescent,
    "momentum": Momentum,
    "rmsprop": RMSprop,
    "adam": Adam,
}
