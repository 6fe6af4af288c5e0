"""The L-layer network as pure functions, in the course's order:
``initialize_parameters -> forward -> compute_cost -> backward`` (the update is the optimiser's).

Layout: examples are rows. For layer l = 1..L with n_l units,
``W[l-1]`` has shape (n_l, n_{l-1}) and ``b[l-1]`` shape (n_l,) (the course's shapes), and
``Z_l = A_{l-1} @ W_l.T + b_l`` has shape (m, n_l). Hidden layers share one activation; the
output layer's logits Z_L go to the loss (see ``losses``), never through a separate sigmoid.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from nnexp.core.activations import ACTIVATIONS, DERIVATIVES
from nnexp.core.initializers import INITIALIZERS
from nnexp.core.losses import OUTPUTS


@dataclass
class Parameters:
    """Weights and biases of an L-layer network: ``W[i]`` (n_{i+1}, n_i), ``b[i]`` (n_{i+1},).

    ``vector``, when set, is one contiguous array holding [W1, b1, W2, b2, ...] of which every
    ``W[i]`` and ``b[i]`` is a view (see ``Parameters.zeros``): an optimiser then updates all
    parameters in a few passes over one vector instead of two per layer.
    """

    W: list[np.ndarray]
    b: list[np.ndarray]
    vector: np.ndarray | None = field(default=None, repr=False, compare=False)

    @classmethod
    def zeros(cls, layer_dims: tuple[int, ...] | list[int],
              dtype: np.dtype | str = np.float32) -> Parameters:
        """Zero parameters for layer_dims [n_x, n_1, ..., n_L], all views of one ``vector``."""
        shapes = [((n_out, n_in), (n_out,)) for n_in, n_out in zip(layer_dims, layer_dims[1:])]
        vector = np.zeros(sum(a * b + a for (a, b), _ in shapes), dtype=dtype)
        W, b, lo = [], [], 0
        for (n_out, n_in), _ in shapes:
            W.append(vector[lo:lo + n_out * n_in].reshape(n_out, n_in))
            lo += n_out * n_in
            b.append(vector[lo:lo + n_out])
            lo += n_out
        return cls(W, b, vector)

    def flat(self) -> list[np.ndarray]:
        """[W1, b1, W2, b2, ...]: the arrays an optimiser updates in place."""
        return [p for pair in zip(self.W, self.b) for p in pair]

    def copy(self) -> Parameters:
        """A deep copy (sharing no memory with self), with its own ``vector`` if self has one."""
        if self.vector is None:
            return Parameters([w.copy() for w in self.W], [b.copy() for b in self.b])
        new = Parameters.zeros([self.W[0].shape[1], *(b.size for b in self.b)], self.vector.dtype)
        new.vector[...] = self.vector
        return new

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


@dataclass
class Buffers:
    """Arrays for one mini-batch size m, allocated once and overwritten by every mini-batch.

    ``X`` (m, n_x): the gathered input rows; ``Z[l-1]`` (m, n_l): layer l's pre-activation,
    turned into its activation in place (the last one holds the logits Z_L); ``D[l-1]`` and
    ``dropped[l-1]`` (m, n_l): the scaled dropout mask and A_l * D_l of hidden layer l, or
    None where keep_prob is 1; ``dA[l-1]`` (m, n_l): dJ/dA_l of hidden layer l, turned into
    dJ/dZ_l in place. Nothing in here may be handed to a caller: the next batch overwrites it.
    """

    X: np.ndarray
    Z: list[np.ndarray]
    D: list[np.ndarray | None]
    dropped: list[np.ndarray | None]
    dA: list[np.ndarray]

    @classmethod
    def allocate(cls, layer_dims: tuple[int, ...] | list[int], m: int, dtype: np.dtype | str,
                 keep_probs: tuple[float, ...] | None = None) -> Buffers:
        """Buffers for m rows through layer_dims [n_x, n_1, ..., n_L]."""
        hidden = layer_dims[1:-1]
        keep = keep_probs if keep_probs is not None else (1.0,) * len(hidden)
        drop = [np.empty((m, n), dtype) if kp < 1.0 else None for n, kp in zip(hidden, keep)]
        return cls(
            X=np.empty((m, layer_dims[0]), dtype),
            Z=[np.empty((m, n), dtype) for n in layer_dims[1:]],
            D=drop,
            dropped=[np.empty((m, n), dtype) if d is not None else None
                     for n, d in zip(hidden, drop)],
            dA=[np.empty((m, n), dtype) for n in hidden],
        )


def initialize_parameters(
    layer_dims: tuple[int, ...] | list[int],
    init: str,
    rng: np.random.Generator,
    dtype: np.dtype | str = np.float32,
    scale: float = 0.01,
) -> Parameters:
    """Draw W_l with the named initialiser and set b_l = 0, for l = 1..L.

    layer_dims: [n_x, n_1, ..., n_L]. Returns Parameters with W[l-1] (n_l, n_{l-1}), all views
    of one contiguous ``vector``.
    """
    dtype = np.dtype(dtype)
    draw = INITIALIZERS[init]
    params = Parameters.zeros(layer_dims, dtype)
    for W, n_in, n_out in zip(params.W, layer_dims, layer_dims[1:]):
        W[...] = draw(n_out, n_in, rng, dtype, scale)
    return params


def forward(
    params: Parameters,
    X: np.ndarray,
    activation: str,
    keep_probs: tuple[float, ...] | None = None,
    rng: np.random.Generator | None = None,
    buffers: Buffers | None = None,
) -> tuple[np.ndarray, Cache]:
    """Forward propagation through L layers: Z_l = A_{l-1} W_l^T + b_l, A_l = g(Z_l).

    X: (m, n_x). Returns the output logits Z_L (m, n_L) and the cache for ``backward``.
    With ``keep_probs`` (one per hidden layer) and ``rng``, applies inverted dropout to the
    hidden activations; without them (prediction time) dropout is off. With ``buffers``
    (allocated for these m rows) every array is written in place there, the logits and the
    cache included, so both are valid only until the next call with the same buffers.
    """
    act = ACTIVATIONS[activation]
    L = len(params.W)
    A, cache = X, Cache([X], [None], [X])
    for l in range(L - 1):
        Z = np.matmul(A, params.W[l].T, out=None if buffers is None else buffers.Z[l])
        Z += params.b[l]
        A = act(Z)  # in place: Z's buffer now holds A
        cache.A.append(A)
        kp = keep_probs[l] if keep_probs is not None else 1.0
        if kp < 1.0:
            if buffers is None:
                D = rng.random(A.shape, dtype=A.dtype)
            else:
                D = rng.random(out=buffers.D[l], dtype=A.dtype)
            np.less(D, kp, out=D)  # the mask as 0/1 in A's dtype, then scaled by 1 / keep_prob
            D /= A.dtype.type(kp)
            cache.D.append(D)
            A = np.multiply(A, D, out=None if buffers is None else buffers.dropped[l])
        else:
            cache.D.append(None)
        cache.inputs.append(A)
    ZL = np.matmul(A, params.W[-1].T, out=None if buffers is None else buffers.Z[-1])
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
    buffers: Buffers | None = None,
) -> Parameters:
    """Backward propagation from dJ/dZ_L (m, n_L) (1/m already included, see ``losses``).

    Returns gradients with the shapes of ``params``: dW_l = dZ_l.T @ A_{l-1} + (l2/m) W_l,
    db_l = sum over examples of dZ_l, then dA_{l-1} = dZ_l @ W_l and
    dZ_{l-1} = dA_{l-1} * g'(Z_{l-1}). ``grads`` may be passed in as preallocated arrays and
    ``buffers`` (those of ``forward``) hold dA; without them both are allocated.
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
            grads.W[l] += params.W[l] * params.W[l].dtype.type(l2 / m)
        np.add.reduce(dZ, axis=0, out=grads.b[l])
        if l == 0:
            break
        dA = np.matmul(dZ, params.W[l], out=None if buffers is None else buffers.dA[l - 1])
        if cache.D[l] is not None:
            dA *= cache.D[l]
        dZ = deriv(dA, cache.A[l])
    return grads
