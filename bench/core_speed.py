"""Speed of nnexp's core against scikit-learn's MLPClassifier, side by side in one run.

Same architecture, ReLU, Adam lr 1e-3, same batch size and epochs, no early stopping, tol=0,
float32 against float32. Workloads:
  (a) digits (standardised), 64-256-256-10, batch 64, 50 epochs
  (b) 20000 x 784 synthetic, 784-512-512-10, batch 256, 3 epochs
Prints seconds per epoch, the ratio, final train accuracy, and achieved GFLOP/s
(6 x weights x examples per epoch) next to numpy's measured float32 GEMM GFLOP/s, both the
1024^3 peak and the rate of the same matrix products at the workload's own shapes.

    python bench/core_speed.py [--repeats 3]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier

from nnexp.core import TrainConfig, flops_per_epoch, train


def gemm_gflops(n: int = 1024, repeats: int = 20) -> float:
    """Best-of float32 GEMM rate of numpy's BLAS on this machine, n x n times n x n."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    a @ b
    best = min(_timed(lambda: a @ b) for _ in range(repeats))
    return 2 * n**3 / best / 1e9


def shape_gemm_gflops(dims: tuple[int, ...], batch: int, repeats: int = 20) -> float:
    """Float32 GEMM rate at a workload's own shapes: per layer the forward A @ W.T, the weight
    gradient dZ.T @ A and the input gradient dZ @ W (skipped for the first layer), as
    training does them for one mini-batch of ``batch`` rows. The ceiling for this batch size."""
    rng = np.random.default_rng(0)
    calls = []
    for i, (n_in, n_out) in enumerate(zip(dims, dims[1:])):
        A = rng.standard_normal((batch, n_in), dtype=np.float32)
        W = rng.standard_normal((n_out, n_in), dtype=np.float32)
        dZ = rng.standard_normal((batch, n_out), dtype=np.float32)
        calls += [lambda A=A, W=W: A @ W.T, lambda A=A, dZ=dZ: dZ.T @ A]
        if i > 0:
            calls.append(lambda dZ=dZ, W=W: dZ @ W)
    flops = sum(2 * batch * a * b * (3 if i > 0 else 2)
                for i, (a, b) in enumerate(zip(dims, dims[1:])))
    for c in calls:
        c()
    best = min(_timed(lambda: [c() for c in calls]) for _ in range(repeats))
    return flops / best / 1e9


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def workload_digits():
    X, y = load_digits(return_X_y=True)
    X = ((X - X.mean(0)) / (X.std(0) + 1e-8)).astype(np.float32)
    return "a: digits 64-256-256-10, batch 64, 50 epochs", X, y, (256, 256), 64, 50


def workload_synthetic():
    rng = np.random.default_rng(0)
    centers = rng.standard_normal((10, 784)).astype(np.float32)
    y = rng.integers(0, 10, 20000)
    X = (centers[y] + 2.0 * rng.standard_normal((20000, 784), dtype=np.float32))
    return "b: synthetic 20000x784, 784-512-512-10, batch 256, 3 epochs", X, y, (512, 512), 256, 3


def run_nnexp(X, y, hidden, batch, epochs) -> tuple[float, float]:
    cfg = TrainConfig(hidden_layers=hidden, activation="relu", init="xavier_uniform",
                      optimizer="adam", learning_rate=1e-3, batch_size=batch, epochs=epochs,
                      dtype="float32", seed=0)
    t0 = time.perf_counter()
    result = train(X, y, cfg)
    seconds = time.perf_counter() - t0
    return seconds / epochs, result.model.evaluate(X, y)["accuracy"]


def run_sklearn(X, y, hidden, batch, epochs) -> tuple[float, float]:
    clf = MLPClassifier(hidden_layer_sizes=hidden, activation="relu", solver="adam",
                        learning_rate_init=1e-3, batch_size=batch, max_iter=epochs,
                        early_stopping=False, tol=0.0, n_iter_no_change=epochs + 1,
                        shuffle=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        t0 = time.perf_counter()
        clf.fit(X, y)
        seconds = time.perf_counter() - t0
    return seconds / epochs, float((clf.predict(X) == y).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="best of N runs per library")
    args = parser.parse_args()
    gemm = gemm_gflops()
    results = []
    for name, X, y, hidden, batch, epochs in (workload_digits(), workload_synthetic()):
        dims = (X.shape[1], *hidden, 10)
        flops = flops_per_epoch(dims, X.shape[0])
        ceiling = shape_gemm_gflops(dims, batch)
        ours = min(run_nnexp(X, y, hidden, batch, epochs) for _ in range(args.repeats))
        theirs = min(run_sklearn(X, y, hidden, batch, epochs) for _ in range(args.repeats))
        ceiling = max(ceiling, shape_gemm_gflops(dims, batch))
        results.append((name, flops, ceiling, batch, ours, theirs))
    gemm = max(gemm, gemm_gflops())  # the machine's speed drifts: keep the best of two
    print(f"numpy float32 GEMM (1024^3, best of before and after): {gemm:.1f} GFLOP/s")
    for name, flops, ceiling, batch, ours, theirs in results:
        rate = flops / ours[0] / 1e9
        print(f"\n{name}")
        print(f"  GEMM at this workload's shapes (batch {batch}): {ceiling:.1f} GFLOP/s")
        print(f"  nnexp        {ours[0]:.4f} s/epoch  train acc {ours[1]:.4f}  {rate:6.1f} GFLOP/s "
              f"({rate / gemm:.0%} of 1024^3 GEMM, {rate / ceiling:.0%} of same-shape GEMM)")
        print(f"  scikit-learn {theirs[0]:.4f} s/epoch  train acc {theirs[1]:.4f}  "
              f"{flops / theirs[0] / 1e9:6.1f} GFLOP/s")
        print(f"  speed-up nnexp / MLPClassifier: {theirs[0] / ours[0]:.2f}x")


if __name__ == "__main__":
    main()
