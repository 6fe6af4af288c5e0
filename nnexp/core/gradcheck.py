"""Gradient checking: backprop's gradients against central differences, in float64.

    difference = ||g - g~|| / (||g|| + ||g~||)

where g is the analytic gradient of every parameter (all W and b flattened) and g~ the
numerical one, (J(theta + eps) - J(theta - eps)) / (2 eps) one parameter at a time. Below about
1e-7 the backward pass is right; above 1e-5 something is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nnexp.core.losses import OUTPUTS
from nnexp.core.network import Parameters, backward, compute_cost, forward


@dataclass(frozen=True)
class GradCheck:
    """Result of a gradient check: the relative difference, and the parameter (e.g. "W2[3, 1]")
    whose analytic and numerical gradients differ most, with that absolute difference."""

    difference: float
    worst_parameter: str
    worst_error: float


def _name(kind: str, layer: int, index: tuple[int, ...]) -> str:
    return f"{kind}{layer}[{', '.join(str(i) for i in index)}]"


def gradient_check(
    params: Parameters,
    X: np.ndarray,
    Y: np.ndarray,
    activation: str,
    output: str,
    l2: float = 0.0,
    epsilon: float = 1e-7,
) -> GradCheck:
    """Compare backprop with central differences for any architecture (dropout is off).

    params: W[l] (n_l, n_{l-1}), b[l] (n_l,) - converted to float64 copies.
    X: (m, n_x); Y: targets in the loss's encoding ((m, 1) floats or (m,) class indices).
    """
    p64 = Parameters([w.astype(np.float64) for w in params.W],
                     [b.astype(np.float64) for b in params.b])
    X = np.asarray(X, dtype=np.float64)
    if output != "softmax":
        Y = np.asarray(Y, dtype=np.float64)

    def cost() -> float:
        ZL, _ = forward(p64, X.copy(), activation)
        return compute_cost(ZL, Y, output, p64, l2)

    ZL, cache = forward(p64, X.copy(), activation)
    _, dZL = OUTPUTS[output].cost_and_grad(ZL, Y)
    grads = backward(p64, cache, dZL, activation, l2)

    analytic, numeric, names = [], [], []
    for kind, plist, glist in (("W", p64.W, grads.W), ("b", p64.b, grads.b)):
        for layer, (p, g) in enumerate(zip(plist, glist), start=1):
            for index in np.ndindex(p.shape):
                saved = p[index]
                p[index] = saved + epsilon
                plus = cost()
                p[index] = saved - epsilon
                minus = cost()
                p[index] = saved
                numeric.append((plus - minus) / (2 * epsilon))
                analytic.append(g[index])
                names.append(_name(kind, layer, index))
    a, n = np.array(analytic), np.array(numeric)
    denom = np.linalg.norm(a) + np.linalg.norm(n)
    difference = float(np.linalg.norm(a - n) / denom) if denom > 0 else 0.0
    errors = np.abs(a - n)
    worst = int(errors.argmax())
    return GradCheck(difference, names[worst], float(errors[worst]))
