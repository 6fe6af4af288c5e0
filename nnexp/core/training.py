"""The training loop: mini-batch optimisation with per-epoch metrics, callbacks, early stopping.

``train(X, y, config, X_dev, y_dev, callbacks)`` is what a search trial calls. After every
epoch it builds an ``EpochMetrics`` and calls each callback with it; a callback that returns a
true value stops training (a pruner may instead raise its own exception, which propagates).
After every epoch (the last one included) the train cost, the weights and the dev cost and
metric are checked: the first that is NaN or inf raises ``DivergenceError`` carrying the epoch,
before the callbacks see that epoch.

Determinism: everything random (initialisation, shuffling, dropout) is drawn from one
``numpy.random.default_rng(config.seed)``, so the same seed, config and data give bit-identical
weights and metrics on the same machine with the same BLAS thread count (nnexp's workers pin
one BLAS thread; results with several BLAS threads can differ in the last bits).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from nnexp.core.config import TrainConfig
from nnexp.core.inputs import check_X, check_y
from nnexp.core.losses import OUTPUTS
from nnexp.core.model import Model, encode_targets
from nnexp.core.network import (
    Buffers,
    Parameters,
    backward,
    forward,
    initialize_parameters,
    l2_cost,
    predict_logits,
)
from nnexp.core.optimizers import OPTIMIZERS
from nnexp.core.schedules import SCHEDULES
from nnexp.core.signals import LayerSignals, SignalProbe, sample_rows


class DivergenceError(ArithmeticError):
    """Training diverged at ``epoch`` (1-based): ``what`` became NaN or inf.

    what: "train cost", "weights", "dev cost", "dev accuracy"/"dev rmse", or "cost" (the
    default, for callers that only know some cost diverged). cost: the non-finite value; for
    "weights", the epoch's train cost (measured before the updates, still finite).
    """

    def __init__(self, epoch: int, cost: float, what: str = "cost") -> None:
        detail = "weights are not finite" if what == "weights" else f"{what} is {cost}"
        super().__init__(f"training diverged at epoch {epoch}: {detail}")
        self.epoch = epoch
        self.cost = cost
        self.what = what


@dataclass(frozen=True)
class EpochMetrics:
    """What one epoch measured. ``metric`` is "accuracy" (classification) or "rmse" (regression).

    train_cost: mean mini-batch cost including the L2 penalty; train_metric: the metric on
    the mini-batches as they were trained (with dropout), dev_cost/dev_metric: on the dev set
    (NaN without one); learning_rate: the rate used this epoch.
    """

    epoch: int
    metric: str
    train_cost: float
    train_metric: float
    dev_cost: float
    dev_metric: float
    learning_rate: float
    epoch_seconds: float
    elapsed_seconds: float
    layers: tuple[LayerSignals, ...] | None = None
    """Per-layer signals (``nnexp.core.signals``) at sampled epochs, None at the others."""


Callback = Callable[[EpochMetrics], object]


@dataclass
class TrainResult:
    """The trained model (best weights when early stopping restored them) and its history.

    stop_reason: "completed", "early_stopping" or "callback". best_epoch: the epoch whose
    weights the model holds.
    """

    model: Model
    history: list[EpochMetrics] = field(default_factory=list)
    stop_reason: str = "completed"
    best_epoch: int = 0
    seconds: float = 0.0


def resolve_output(y: np.ndarray, output: str) -> tuple[str, np.ndarray | None]:
    """Choose the output/loss pair for labels y (m,) and return it with the sorted classes.

    ``auto``: linear for real-valued targets, sigmoid for two classes, softmax for more.
    """
    real = np.issubdtype(y.dtype, np.floating) and not np.all(np.mod(y, 1) == 0)
    if output == "linear" or (output == "auto" and real):
        if not np.issubdtype(y.dtype, np.number):
            raise ValueError(f"y must be numeric for regression (output='linear'); got {y.dtype}")
        return "linear", None
    classes = np.unique(y)
    if len(classes) < 2:
        raise ValueError(f"y has {len(classes)} class(es) {classes.tolist()}; classification "
                         "needs at least two")
    if output == "auto":
        output = "sigmoid" if len(classes) == 2 else "softmax"
    if output == "sigmoid" and len(classes) != 2:
        raise ValueError(f"output='sigmoid' needs exactly two classes; y has {len(classes)}")
    return output, classes


def _correct(output: str, ZL: np.ndarray, Y: np.ndarray) -> float:
    """Number of correct predictions (classification) or sum of squared errors (regression)
    of logits ZL (m, n_L) against encoded Y."""
    if output == "sigmoid":
        return float(np.count_nonzero((ZL[:, 0] > 0) == (Y[:, 0] > 0.5)))
    if output == "softmax":
        return float(np.count_nonzero(ZL.argmax(axis=1) == Y))
    diff = ZL.astype(np.float64) - Y
    return float(np.vdot(diff, diff))


def _metric(output: str, total: float, m: int) -> float:
    """accuracy (classification) or rmse (regression) from ``_correct`` summed over m rows."""
    return total / m if output != "linear" else float(np.sqrt(total / m))


@np.errstate(over="ignore", invalid="ignore")  # divergence is detected and raised
def train(
    X,
    y,
    config: TrainConfig,
    X_dev=None,
    y_dev=None,
    callbacks: Sequence[Callback] = (),
    x_shift: np.ndarray | None = None,
    x_scale: np.ndarray | None = None,
    signals_every: int = 0,
) -> TrainResult:
    """Train an L-layer network on X (m, n_x), y (m,) with the given configuration.

    X_dev (m_dev, n_x), y_dev (m_dev,): optional dev set, evaluated after every epoch (needed
    for early stopping). x_shift/x_scale (n_x,): the scaling already applied to X, stored in the
    model so that ``Model.predict`` takes raw features. Raises ``ValueError`` for bad input and
    ``DivergenceError`` if the train cost, the weights or the dev cost or metric become NaN or
    inf after any epoch. signals_every k > 0: per-layer signals (``nnexp.core.signals``) at
    epoch 1, every k-th and the last, in ``EpochMetrics.layers``, measured on a fixed sample of
    dev rows (train rows without a dev set); 0 (default): none. Signals never change the result.
    """
    dtype = np.dtype(config.dtype)
    X = check_X(X, "X")
    y = check_y(y, X.shape[0], "y")
    m, n_x = X.shape
    output, classes = resolve_output(y, config.output)
    n_out = 1 if output != "softmax" else len(classes)
    layer_dims = (n_x, *config.hidden_layers, n_out)
    X = np.ascontiguousarray(X, dtype=dtype)
    Y = encode_targets(y, output, classes, dtype, "y")
    has_dev = X_dev is not None
    if has_dev:
        X_dev = np.ascontiguousarray(check_X(X_dev, "X_dev", n_features=n_x), dtype=dtype)
        Y_dev = encode_targets(check_y(y_dev, X_dev.shape[0], "y_dev"), output, classes, dtype,
                               "y_dev")
    elif config.patience is not None:
        raise ValueError("patience (early stopping) needs a dev set: pass X_dev and y_dev")

    rng = np.random.default_rng(config.seed)
    params = initialize_parameters(layer_dims, config.init, rng, dtype, config.init_scale)
    grads = Parameters.zeros(layer_dims, dtype)
    # The optimiser sees all parameters as one vector: a few passes per update in all.
    optimizer = OPTIMIZERS[config.optimizer](
        [params.vector], beta1=config.beta1, beta2=config.beta2, epsilon=config.epsilon)
    schedule = SCHEDULES[config.schedule]
    loss = OUTPUTS[output]
    keep = config.keep_probs()
    keep_probs = keep if any(p < 1.0 for p in keep) else None
    batch = m if config.batch_size is None else min(config.batch_size, m)
    # One set of buffers per mini-batch size (the full batches and the last, shorter one),
    # allocated once and overwritten by every batch; nothing returned refers to them.
    buffers = {size: Buffers.allocate(layer_dims, size, dtype, keep_probs)
               for size in {batch, m % batch or batch}}
    metric_name = "rmse" if output == "linear" else "accuracy"
    probe = SignalProbe(params.W, sample_rows(X_dev if has_dev else X), config.activation,
                        signals_every, config.epochs) if signals_every > 0 else None
    higher_is_better = metric_name == "accuracy"

    history: list[EpochMetrics] = []
    best = (None, 0, -np.inf)  # (params copy, epoch, score where higher is better)
    stop_reason = "completed"
    start = time.perf_counter()
    for epoch in range(1, config.epochs + 1):
        t0 = time.perf_counter()
        lr = schedule(config.learning_rate, epoch - 1, config.epochs, config.decay_rate,
                      config.decay_steps, config.min_learning_rate)
        perm = rng.permutation(m)
        probing = probe is not None and probe.wants(epoch)
        cost_sum, correct = 0.0, 0.0
        for lo in range(0, m, batch):
            take = perm[lo:lo + batch]  # gathered per batch: the rows stay in cache
            bufs = buffers[take.size]
            Xb = np.take(X, take, axis=0, out=bufs.X)
            Yb = Y[take]
            ZL, cache = forward(params, Xb, config.activation, keep_probs, rng, bufs)
            correct += _correct(output, ZL, Yb)
            cost, dZL = loss.cost_and_grad(ZL, Yb)
            cost += l2_cost(params, config.l2, take.size)
            cost_sum += cost * take.size
            backward(params, cache, dZL, config.activation, config.l2, grads, bufs)
            if probing and lo + batch >= m:  # signals: the epoch's last mini-batch
                probe.gradients(grads.W)
            optimizer.update([params.vector], [grads.vector], lr)
        train_cost = cost_sum / m
        if not np.isfinite(train_cost):
            raise DivergenceError(epoch, train_cost, "train cost")
        if not np.isfinite(params.vector).all():
            raise DivergenceError(epoch, train_cost, "weights")
        train_metric = _metric(output, correct, m)
        dev_cost = dev_metric = float("nan")
        if has_dev:
            Zd = predict_logits(params, X_dev, config.activation)
            dev_cost = loss.cost(Zd, Y_dev)
            dev_metric = _metric(output, _correct(output, Zd, Y_dev), len(Y_dev))
            for what, value in (("dev cost", dev_cost), (f"dev {metric_name}", dev_metric)):
                if not np.isfinite(value):
                    raise DivergenceError(epoch, value, what)
        layers = probe.measure(params.W, params.b) if probing else None
        now = time.perf_counter()
        record = EpochMetrics(epoch, metric_name, train_cost, train_metric, dev_cost, dev_metric,
                              lr, now - t0, now - start, layers)
        history.append(record)
        if config.patience is not None:
            score = dev_metric if higher_is_better else -dev_metric
            if score > best[2]:
                best = (params.copy(), epoch, score)
            elif epoch - best[1] >= config.patience:
                stop_reason = "early_stopping"
        stop = [bool(cb(record)) for cb in callbacks]
        if stop_reason == "completed" and any(stop):
            stop_reason = "callback"
        if stop_reason != "completed":
            break

    best_epoch = len(history)
    if config.patience is not None and best[0] is not None:
        params, best_epoch = best[0], best[1]
    model = Model(layer_dims, config.activation, output, params, classes,
                  None if x_shift is None else np.asarray(x_shift, dtype=np.float64),
                  None if x_scale is None else np.asarray(x_scale, dtype=np.float64),
                  config)
    return TrainResult(model, history, stop_reason, best_epoch, time.perf_counter() - start)


def flops_per_epoch(layer_dims: Sequence[int], m: int) -> int:
    """Approximate floating-point operations of one training epoch: 6 x weights x examples
    (2 for the forward matmul, 4 for the two backward matmuls)."""
    weights = sum(a * b for a, b in zip(layer_dims, layer_dims[1:]))
    return 6 * weights * m
