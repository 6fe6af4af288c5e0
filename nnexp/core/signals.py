"""Per-layer signals inside one training run: what the course looks at when it motivates He
initialisation (activations that shrink or blow up layer by layer, dead ReLUs, saturated
sigmoids, vanishing or exploding gradients), measured at sampled epochs only.

Layer ``l`` = 1..L as in ``network``: hidden layers 1..L-1 and the output layer L. Signals are
measured for at most ``MAX_LAYERS`` layers (``measured_layers``: every layer of a network up to
that depth; beyond, that many evenly spaced from 1 to L, the first and the last always), so a
sampled epoch costs one forward pass of the sample and the statistics of 16 layers, however
deep the network. At a sampled epoch, for every measured layer:

* ``act_mean``, ``act_std``: mean and standard deviation of all activations A_l (m_s, n_l) of
  a fixed sample of at most ``SAMPLE_ROWS`` dev rows (forward pass without dropout, with the
  weights at the end of the epoch). Hidden layers only (the output layer's logits go to the
  loss, not through an activation): None for layer L.
* ``dead_fraction`` (relu, leaky_relu): the fraction of the layer's units whose output is
  <= 0 for every row of the sample (a dead ReLU gets no gradient from any of these rows).
* ``saturation`` (sigmoid, tanh): the fraction of unit-activations in the flat ends,
  sigmoid a < 0.02 or a > 0.98, tanh |a| > 0.98 (where g'(z) is below about 0.02 of its peak
  for the sigmoid and 0.04 for tanh).
* ``grad_norm``: the Frobenius norm ||dW_l||_F of the last mini-batch of the epoch (the
  gradient the optimiser received, L2 term included).
* ``update_ratio``: ||W_l(now) - W_l(previous sample)||_F / ||W_l(previous sample)||_F, the
  relative distance the weights moved since the previous sampled epoch (since initialisation
  at the first one). Healthy training moves every layer; a ratio near 0 for every layer means
  the weights stopped moving.

The dead-layer check alone looks at every hidden layer (one maximum per layer on the forward
pass the statistics need anyway): when a hidden ReLU layer between the measured ones is entirely
dead, the first such layer is measured too at that epoch (its activation statistics; no
gradient norm or update ratio: None), so ``find_dead_layer`` names the layer that died, not
one further on that only received its zeros.

Nothing here draws random numbers or writes to the network, so training with signals gives
the same weights as without. Pure NumPy, like the rest of ``nnexp.core``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from nnexp.core.activations import ACTIVATIONS

MAX_LAYERS = 16
"""Layers measured at most per sampled epoch (``measured_layers``): 16 evenly spaced layers
show how a signal changes with depth (the shrinking or growing activations and gradients that
motivate He initialisation) at 1/15 of the depth, the first and last layers included, and a
network of up to 16 layers (every network of the course) is measured whole."""

SAMPLE_ROWS = 256
"""Rows of the dev set (train set without one) in the fixed per-run sample."""

DYING = ("relu", "leaky_relu")
"""Activations whose units can die (output <= 0 for every input)."""

SATURATION_BOUNDS = {"sigmoid": (0.02, 0.98), "tanh": (-0.98, 0.98)}
"""Activation -> (low, high): an activation below low or above high is saturated."""

STALL_RATIO = 1e-6
"""An update ratio below this for every layer means the weights did not move."""

STALL_COST_CHANGE = 1e-4
"""A relative train-cost change below this (0.01 %) over the last half of the samples."""


@dataclass(frozen=True)
class LayerSignals:
    """One layer's signals at one sampled epoch (see the module docstring for definitions).

    layer: 1..L. act_mean, act_std: None for the output layer. dead_fraction: None unless the
    activation is relu or leaky_relu; saturation: None unless sigmoid or tanh (both None for
    the output layer). grad_norm, update_ratio: None only for a dead layer measured beside the
    ``measured_layers`` (see the module docstring).
    """

    layer: int
    act_mean: float | None
    act_std: float | None
    dead_fraction: float | None
    saturation: float | None
    grad_norm: float | None
    update_ratio: float | None


def measured_layers(L: int, cap: int = MAX_LAYERS) -> tuple[int, ...]:
    """The layers (of 1..L) whose signals are measured: all of them when L <= cap, else cap
    layers evenly spaced from 1 to L (rounded to the nearest layer; the first and the last
    always, and cap distinct layers since the spacing is at least 1)."""
    if L <= cap:
        return tuple(range(1, L + 1))
    half = (cap - 1) // 2
    return tuple(1 + (i * (L - 1) + half) // (cap - 1) for i in range(cap))


def sample_rows(X: np.ndarray, n: int = SAMPLE_ROWS) -> np.ndarray:
    """A fixed sample of at most n rows of X (m, n_x): evenly spaced rows, no random draw.
    Returns an array (min(m, n), n_x) (a copy when rows are dropped, X itself otherwise)."""
    m = X.shape[0]
    if m <= n:
        return X
    return X[np.linspace(0, m - 1, n).round().astype(np.intp)]


def is_sampled(epoch: int, every: int, epochs: int) -> bool:
    """Signals are measured at epoch 1, every ``every``-th epoch and the last epoch
    (``epochs``); ``every`` 0 means never."""
    return every > 0 and (epoch == 1 or epoch % every == 0 or epoch == epochs)


def dead_fraction(A: np.ndarray) -> float:
    """Fraction of units (columns of A (m, n_l)) with output <= 0 on every row."""
    return float(np.count_nonzero((A <= 0).all(axis=0))) / A.shape[1]


def saturation(A: np.ndarray, activation: str) -> float:
    """Fraction of the entries of A (m, n_l) in the flat ends of ``activation``
    (``SATURATION_BOUNDS``)."""
    low, high = SATURATION_BOUNDS[activation]
    return float(np.count_nonzero((A < low) | (A > high))) / A.size


def activation_stats(A: np.ndarray, activation: str
                     ) -> tuple[float, float, float | None, float | None]:
    """(mean, std, dead_fraction, saturation) of one hidden layer's activations A (m, n_l);
    dead_fraction None unless ``activation`` is in ``DYING``, saturation None unless it is in
    ``SATURATION_BOUNDS``. The mean is accumulated in float64; the std in two passes (the
    deviations from the mean, then their dot product), so a small spread around a large mean
    (sigmoid units at 0.5) keeps its digits."""
    mean = float(A.mean(dtype=np.float64))
    deviations = A - A.dtype.type(mean)
    std = frobenius(deviations) / np.sqrt(A.size)
    dead = dead_fraction(A) if activation in DYING else None
    sat = saturation(A, activation) if activation in SATURATION_BOUNDS else None
    return mean, std, dead, sat


def frobenius(a: np.ndarray) -> float:
    """||a||_F of an array of any shape: a BLAS dot product in a's dtype, again in float64
    when that overflows (float32 beyond ~1e19)."""
    a = a.ravel()
    norm = float(np.sqrt(np.dot(a, a)))
    if not np.isfinite(norm) and a.dtype != np.float64:
        a = a.astype(np.float64)
        norm = float(np.sqrt(np.dot(a, a)))
    return norm


def update_ratio(W_now: np.ndarray, W_before: np.ndarray) -> float:
    """||W_now - W_before||_F / ||W_before||_F (inf when W_before is all zeros and W moved,
    0 when neither moved nor was non-zero)."""
    moved = frobenius(W_now - W_before)
    size = frobenius(W_before)
    if size == 0.0:
        return 0.0 if moved == 0.0 else float("inf")
    return moved / size


class SignalProbe:
    """Measures ``LayerSignals`` at sampled epochs of one training run.

    The training loop calls ``gradients(grads)`` with the last mini-batch's gradients of a
    sampled epoch (before the optimiser's update, which may overwrite them) and ``measure``
    after the epoch. The probe keeps a copy of the measured layers' weights W (not b) of the
    previous sample (of the initial weights before the first one). It reads the network; it
    never writes to it. ``layers``: the measured layers (``measured_layers``).
    """

    def __init__(self, W: Sequence[np.ndarray], X_sample: np.ndarray, activation: str,
                 every: int, epochs: int) -> None:
        self.X = X_sample
        self.activation = activation
        self.every, self.epochs = every, epochs
        self.layers = measured_layers(len(W))
        self.W_before = {l: W[l - 1].copy() for l in self.layers}
        self.grad_norms: dict[int, float] | None = None

    def wants(self, epoch: int) -> bool:
        return is_sampled(epoch, self.every, self.epochs)

    def gradients(self, dW: Sequence[np.ndarray]) -> None:
        """Record ||dW_l||_F of the epoch's last mini-batch for the measured layers.
        dW[l-1]: (n_l, n_{l-1})."""
        self.grad_norms = {l: frobenius(dW[l - 1]) for l in self.layers}

    def measure(self, W: Sequence[np.ndarray], b: Sequence[np.ndarray]
                ) -> tuple[LayerSignals, ...]:
        """The signals of the measured layers (and of the first entirely dead hidden layer
        between them, if any) with the weights W, b at the end of the epoch, by layer."""
        measured = set(self.layers)
        grads = self.grad_norms or {}
        stats = {}  # hidden layer -> (mean, std, dead, saturation)
        look_for_dead = self.activation in DYING
        for l, A in enumerate(hidden_activations(W, b, self.X, self.activation), start=1):
            if l in measured or (look_for_dead and A.max() <= 0):  # measured, or all dead
                stats[l] = activation_stats(A, self.activation)
                if look_for_dead and stats[l][2] >= 1.0:
                    look_for_dead = False  # the first dead layer is the one named
        out = []
        for l in sorted(measured | set(stats)):
            if l not in measured:
                out.append(LayerSignals(l, *stats[l], grad_norm=None, update_ratio=None))
                continue
            out.append(LayerSignals(l, *stats.get(l, (None, None, None, None)),
                                    grad_norm=grads.get(l, float("nan")),
                                    update_ratio=update_ratio(W[l - 1], self.W_before[l])))
            self.W_before[l][...] = W[l - 1]
        self.grad_norms = None
        return tuple(out)


def hidden_activations(W: Sequence[np.ndarray], b: Sequence[np.ndarray], X: np.ndarray,
                       activation: str):
    """A_1 .. A_{L-1}, each (m, n_l), of X (m, n_x) without dropout, one at a time (none is
    kept: a deep network's activations are not all held at once): Z_l = A_{l-1} W_l^T + b_l,
    A_l = g(Z_l)."""
    g = ACTIVATIONS[activation]
    A = X
    for W_l, b_l in zip(W[:-1], b[:-1]):
        Z = A @ W_l.T
        Z += b_l
        A = g(Z)
        yield A


@dataclass(frozen=True)
class Sample:
    """What a diagnosis needs of one sampled epoch: its train cost and its layers' signals."""

    epoch: int
    train_cost: float
    layers: tuple[LayerSignals, ...]


def find_dead_layer(samples: Sequence[Sample]) -> tuple[int, int, float] | None:
    """The first (epoch, layer, dead_fraction) where every unit of a hidden ReLU/leaky-ReLU
    layer is dead on the sample; None if that never happened."""
    for s in samples:
        for sig in s.layers:
            if sig.dead_fraction is not None and sig.dead_fraction >= 1.0:
                return s.epoch, sig.layer, sig.dead_fraction
    return None


def find_stall(samples: Sequence[Sample], min_samples: int = 4) -> str | None:
    """Evidence that training stalled, or None. Needs at least ``min_samples`` samples; looks at
    the last half of them (at least two). Stalled:

    * every layer's update ratio below ``STALL_RATIO`` at every one of those samples
      (evidence: the last epoch, the layer that moved most, its ratio), or
    * the train cost changed by less than ``STALL_COST_CHANGE`` (relative) from the first to
      the last of those samples (evidence: the last epoch, the change and since when).
    """
    if len(samples) < min_samples:
        return None
    tail = samples[len(samples) // 2:]
    last = tail[-1]
    if all(sig.update_ratio < STALL_RATIO for s in tail for sig in s.layers
           if sig.update_ratio is not None):
        top = max((sig for sig in last.layers if sig.update_ratio is not None),
                  key=lambda sig: sig.update_ratio)
        return f"epoch {last.epoch}, layer {top.layer}, update_ratio {top.update_ratio:.3g}"
    first = tail[0]
    if np.isfinite(first.train_cost) and np.isfinite(last.train_cost):
        change = abs(last.train_cost - first.train_cost) / max(abs(first.train_cost), 1e-300)
        if change < STALL_COST_CHANGE:
            return (f"epoch {last.epoch}, all layers, train cost change {change:.3g} "
                    f"since epoch {first.epoch} (cost {last.train_cost:.6g})")
    return None
