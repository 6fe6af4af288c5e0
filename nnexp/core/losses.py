"""Output activation + loss pairs, every loss computed from the logits Z so nothing overflows.

Shapes (examples as rows): logits ``Z`` (m, n_L); targets ``Y`` encoded per output:

- ``sigmoid`` + binary cross-entropy: Y (m, 1) of 0/1.
- ``softmax`` + categorical cross-entropy: Y (m,) of integer class indices in [0, n_L).
- ``linear`` + mean squared error: Y (m, 1) of real targets.

``cost_and_grad`` returns the mean loss and dJ/dZ of shape (m, n_L) (the 1/m included).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from nnexp.core.activations import sigmoid


def _bce(Z: np.ndarray, Y: np.ndarray) -> float:
    # log(1 + e^z) - y z, written as max(z, 0) - y z + log1p(e^-|z|): finite for any z.
    loss = np.maximum(Z, 0) - Z * Y + np.log1p(np.exp(-np.abs(Z)))
    return float(loss.sum(dtype=np.float64) / Z.shape[0])


def _bce_grad(Z: np.ndarray, Y: np.ndarray) -> tuple[float, np.ndarray]:
    cost = _bce(Z, Y)
    dZ = sigmoid(Z.copy())
    dZ -= Y
    dZ /= Z.shape[0]
    return cost, dZ


def _log_softmax(Z: np.ndarray) -> np.ndarray:
    shifted = Z - Z.max(axis=1, keepdims=True)
    shifted -= np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return shifted


def softmax(Z: np.ndarray) -> np.ndarray:
    """Row-wise softmax. Z: (m, C) -> P: (m, C), rows sum to 1."""
    P = Z - Z.max(axis=1, keepdims=True)
    np.exp(P, out=P)
    P /= P.sum(axis=1, keepdims=True)
    return P


def _cce(Z: np.ndarray, Y: np.ndarray) -> float:
    logp = _log_softmax(Z)
    m = Z.shape[0]
    return float(-logp[np.arange(m), Y].sum(dtype=np.float64) / m)


def _cce_grad(Z: np.ndarray, Y: np.ndarray) -> tuple[float, np.ndarray]:
    m = Z.shape[0]
    rows = np.arange(m)
    P = Z - Z.max(axis=1, keepdims=True)
    # cost = mean(log(sum exp(z - max)) - (z_y - max)); z_y - max is read before the exp, as
    # exp(z_y - max) underflows to 0 for a confidently wrong example (log 0 = -inf).
    shifted_true = P[rows, Y]
    np.exp(P, out=P)
    total = P.sum(axis=1, keepdims=True)
    cost = float((np.log(total[:, 0]) - shifted_true).sum(dtype=np.float64) / m)
    P /= total
    P[rows, Y] -= 1
    P /= m
    return cost, P


def _mse(Z: np.ndarray, Y: np.ndarray) -> float:
    diff = Z - Y
    return float(np.einsum("ij,ij->", diff, diff, dtype=np.float64) / Z.shape[0])


def _mse_grad(Z: np.ndarray, Y: np.ndarray) -> tuple[float, np.ndarray]:
    diff = Z - Y
    cost = float(np.einsum("ij,ij->", diff, diff, dtype=np.float64) / Z.shape[0])
    diff *= 2.0 / Z.shape[0]
    return cost, diff


@dataclass(frozen=True)
class OutputLoss:
    """An output activation with the loss it pairs with (``OUTPUTS`` maps names to them).

    ``activate(Z)`` maps logits (m, n_L) to probabilities or predictions (m, n_L);
    ``cost(Z, Y)`` is the mean loss; ``cost_and_grad(Z, Y)`` also returns dJ/dZ (m, n_L).
    """

    activate: Callable[[np.ndarray], np.ndarray]
    cost: Callable[[np.ndarray, np.ndarray], float]
    cost_and_grad: Callable[[np.ndarray, np.ndarray], tuple[float, np.ndarray]]


OUTPUTS: dict[str, OutputLoss] = {
    "sigmoid": OutputLoss(lambda Z: sigmoid(Z.copy()), _bce, _bce_grad),  # binary cross-entropy
    "softmax": OutputLoss(softmax, _cce, _cce_grad),  # categorical cross-entropy
    "linear": OutputLoss(lambda Z: Z, _mse, _mse_grad),  # mean squared error
}
