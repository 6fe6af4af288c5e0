"""The L-layer network as pure functions, in the course's order:
``initialize_parameters -> forward -> compute_cost -> backward`` (the update is the optimiser's).

Layout: examples are rows. For layer l = 1..L with n_l units,
``W[l-1]`` has shape (n_l, n_{l-1}) and ``b[l-1]`` shape (n_l,) (the course's shapes), and
``Z_l = A_{l-1} @ W_l.T + b_l`` has shape (m, n_l). Hidden layers share one activation; the
output layer's logits Z_L go to the loss (see ``losses``), never through a separate sigmoid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nnexp.core.activations import ACTIVATIONS, DERIVATIVES
from nnexp.core.initializers import INITIALIZERS
from nnexp.core.losses import OUTPUTS


@dataclass
class Parameters:
    """Weights and biases of an L-layer network: ``W[i]`` (n_{i+1}, n_i), ``b[i]`` (n_{i+1},)."""

    W: list[np.ndarray]
    b: list[np.ndarray]

    def flat(self) -> list[np.ndarray]:
        """[W1, b1, W2, b2, ...]: the arrays an optimiser updates in place."""
        return [p for pair in zip(self.W, self.b) for p in pair]

    def copy(self) -> Parameters:
        return Parameters([w.copy() for w in self.W], [b.copy() for b in self.b])

    @property
    def n_params(self) -> int:
        return sum(w.size + b.size for w, b in zip(self.W, self.b))


@dataclass
class Cache:
    """What backprop keeps of one forward pass (m examples).

    ``A[l]`` (m, n_l) is layer l's activation before dropout (``A[0]`` is the input X);
    ``D[l]`` (m, n_l) is the scaled dropout mask (``mask / keep_prob``) or None;
    ``inputs[l]`` (m, n_l) is what layer l + 1 received: ``A[l] * D[l]`` (``A[l]`` without
    dropout), kept so that backprop does not multiply again.
    """

    A: list[np.ndarray]
    D: list[np.ndarray | None]
    inputs: list[np.ndarray]


def initialize_parameters(
    layer_dims: tuple[int, ...] | list[int],
    init: str,
    rng: np.random.Generator,
    dtype: np.dtype | str = np.float32,
    scale: float = 0.01,
) -> Parameters:
    """Draw W_l with the named initialiser and set b_l = 0, for l = 1..L.

    layer_dims: [n_x, n_1, ..., n_L]. Returns Parameters with W[l-1] (n_l, n_{l-1}).
    """
    dtype = np.dtype(dtype)
    draw = INITIALIZERS[init]
    W = [draw(n_out, n_in, rng, dtype, scale) for n_in, n_out in zip(layer_dims, layer_dims[1:])]
    b = [np.zeros(n_out, dtype=dtype) for n_out in layer_dims[1:]]
    return Parameters(W, b)


def forward(
    params: Parameters,
    X: np.ndarray,
    activation: str,
    keep_probs: tuple[float, ...] | None = None,
    rng: np.random.Generator | None = None,
) -> tuple[np.ndarray, Cache]:
    """Forward propagation through L layers.

    X: (m, n_x). Returns the output logits Z_L (m, n_L) and the cache for ``backward``.
    With ``keep_probs`` (one per hidden layer) and ``rng``, applies inverted dropout to the
    hidden activations; without them (prediction time) dropout is off.
    """
    act = ACTIVATIONS[activation]
    A, cache = X, Cache([X], [None], [X])
    for l in range(len(params.W) - 1):
        Z = A @ params.W[l].T
        Z += params.b[l]
        A = act(Z)
        cache.A.append(A)
        kp = keep_probs[l] if keep_probs is not None else 1.0
        if kp < 1.0:
            D = rng.random(A.shape, dtype=A.dtype) < kp
            D = D.astype(A.dtype) / A.dtype.type(kp)
            cache.D.append(D)
            A = A * D
        else:
            cache.D.append(None)
        cache.inputs.append(A)
    ZL = A @ params.W[-1].T
    ZL += params.b[-1]
    return ZL, cache


def predict_logits(params: Parameters, X: np.ndarray, activation: str) -> np.ndarray:
    """Forward pass without dropout or cache. X: (m, n_x) -> Z_L: (m, n_L)."""
    act = ACTIVATIONS[activation]
    A = X
    for l in range(len(params.W) - 1):
        Z = A @ params.W[l].T
        Z += params.b[l]
        A = act(Z)
    ZL = A @ params.W[-1].T
    ZL += params.b[-1]
    return ZL


def l2_cost(params: Parameters, l2: float, m: int) -> float:
    """The L2 penalty lambda / (2 m) * sum_l ||W_l||_F^2 (biases are not penalised)."""
    if l2 == 0.0:
        return 0.0
    return l2 / (2 * m) * sum(float(np.vdot(w, w)) for w in params.W)


def compute_cost(
    ZL: np.ndarray, Y: np.ndarray, output: str, params: Parameters | None = None, l2: float = 0.0
) -> float:
    """Mean loss of logits ZL (m, n_L) against encoded targets Y, plus the L2 penalty."""
    cost = OUTPUTS[output].cost(ZL, Y)
    if params is not None:
        cost += l2_cost(params, l2, ZL.shape[0])
    return cost


def backward(
    params: Parameters,
    cache: Cache,
    dZL: np.ndarray,
    activation: str,
    l2: float = 0.0,
    grads: Parameters | None = None,
) -> Parameters:
    """Backward propagation from dJ/dZ_L (m, n_L) (1/m already included, see ``losses``).

    Returns gradients with the shapes of ``params``: dW_l = dZ_l.T @ A_{l-1} + (l2/m) W_l,
    db_l = sum over examples of dZ_l. ``grads`` may be passed in as preallocated buffers.
    """
    deriv = DERIVATIVES[activation]
    L = len(params.W)
    m = dZL.shape[0]
    if grads is None:
        grads = Parameters([np.empty_like(w) for w in params.W],
                           [np.empty_like(b) for b in params.b])
    dZ = dZL
    for l in range(L - 1, -1, -1):
        np.matmul(dZ.T, cache.inputs[l], out=grads.W[l])
        if l2:
            grads.W[l] += (l2 / m) * params.W[l]
        np.sum(dZ, axis=0, out=grads.b[l])
        if l == 0:
            break
        dA = dZ @ params.W[l]
        if cache.D[l] is not None:
            dA *= cache.D[l]
        dZ = deriv(dA, cache.A[l])
    return grads
