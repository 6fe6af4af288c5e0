"""Cost of per-layer signals: the same trainings with signals off and on, side by side.

The quickstart's typical shapes (digits: 1078 train rows, 359 dev rows, 64 features, 10
classes; Adam, ReLU, batch 64, 30 epochs) for a few architectures of its search space. Each
training runs with ``signals_every=0`` (off) and at the default rate of a trial
(``nnexp.tracking.signals.default_every(None, epochs)``: 11 samples in 30 epochs), alternating
off/on, best of N per side; one BLAS thread like nnexp's workers. The figure is the core's
training time only (logging the metrics goes through MLflow's background writer).

Two figures, because a busy shared machine moves single timings by more than 5 %:
* side by side: best "on" time / best "off" time - 1;
* accounted: the time spent inside the signal code itself (``SignalProbe``: the copy of the
  initial weights, the gradient norms, ``measure``), timed around each call, as a share of
  the fastest "on" training; noise hits both parts of that ratio at once.

    python bench/signals.py                 # best of 5
    python bench/signals.py --repeats 9 --epochs 50

Target (issue 11): at most 5 % of training time at the default rate.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.datasets import load_digits
from threadpoolctl import threadpool_limits

from nnexp.core import TrainConfig, train
from nnexp.core.signals import SignalProbe
from nnexp.tracking.signals import default_every

ARCHITECTURES = ((64, 64), (256,), (32, 32, 32, 32), (128, 128, 128))
"""The baseline (2 x 64) and shapes from the quickstart's space (depth 1-4, width 16-256)."""


def digits():
    X, y = load_digits(return_X_y=True)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(y))
    X, y = X[order], y[order]
    n_train, n_dev = 1078, 359
    X_train, X_dev = X[:n_train], X[n_train:n_train + n_dev]
    mean, std = X_train.mean(0), X_train.std(0) + 1e-8
    return (X_train - mean) / std, y[:n_train], (X_dev - mean) / std, y[n_train:n_train + n_dev]


class Accounted:
    """Seconds spent inside SignalProbe's methods (wrapped on the class)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        for name in ("__init__", "gradients", "measure"):
            setattr(SignalProbe, name, self._timed(getattr(SignalProbe, name)))

    def _timed(self, method):
        def wrapper(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - t0

        return wrapper


def timed(data, config: TrainConfig, every: int) -> float:
    t0 = time.perf_counter()
    X, y, X_dev, y_dev = data
    train(X, y, config, X_dev, y_dev, signals_every=every)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=30)
    args = parser.parse_args()
    data = digits()
    every = default_every(None, args.epochs)
    samples = sum(1 for e in range(1, args.epochs + 1)
                  if e == 1 or e % every == 0 or e == args.epochs)
    print(f"digits 1078x64 (dev 359), adam, relu, batch 64, {args.epochs} epochs, signals every "
          f"{every} ({samples} samples), best of {args.repeats}, 1 BLAS thread\n")
    print("| hidden layers | off s | on s | side by side | accounted |")
    print("|---|---|---|---|---|")
    total_off = total_on = total_probe = 0.0
    accounted = Accounted()
    with threadpool_limits(1):
        for hidden in ARCHITECTURES:
            config = TrainConfig(hidden_layers=hidden, optimizer="adam", learning_rate=0.003,
                                 batch_size=64, epochs=args.epochs, seed=0)
            timed(data, config, 0)  # warm-up
            off, on, probe = [], [], []
            for _ in range(args.repeats):
                off.append(timed(data, config, 0))
                accounted.seconds = 0.0
                on.append(timed(data, config, every))
                probe.append(accounted.seconds)
            best_off, best_on = min(off), min(on)
            fastest = on.index(best_on)  # the least disturbed "on" run
            share = probe[fastest] / best_on
            total_off += best_off
            total_on += best_on
            total_probe += share * best_on
            print(f"| {'-'.join(map(str, hidden))} | {best_off:.3f} | {best_on:.3f} | "
                  f"{100 * (best_on / best_off - 1):+.1f}% | {100 * share:.1f}% |")
    side, share = 100 * (total_on / total_off - 1), 100 * total_probe / total_on
    print(f"| **all** | {total_off:.3f} | {total_on:.3f} | **{side:+.1f}%** | **{share:.1f}%** |")


if __name__ == "__main__":
    main()
