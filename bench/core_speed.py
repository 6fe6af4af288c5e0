"""Speed of nnexp's core against scikit-learn's MLPClassifier (and PyTorch CPU where installed),
side by side in one run, at 1 BLAS thread and at all the machine's threads.

Same architecture, ReLU, Adam lr 1e-3, same batch size and epochs, no early stopping, tol=0,
float32 everywhere. PyTorch: ``nn.Sequential`` of Linear + ReLU, Adam lr 1e-3,
CrossEntropyLoss, manual batching with a fresh permutation per epoch. Workloads:
  (a) digits (standardised), 64-256-256-10, batch 64
  (b) 20000 x 784 synthetic, 784-512-512-10, batch 256
  (c) wide tabular: 50000 x 40 synthetic, 40-512-512-4, batch 256
  (d) deep narrow: 4000 x 20 synthetic, 20-(32 x 8)-5, batch 16
A fourth column times the matrix products alone at the same shapes, dtype (float32) and
BLAS threads (what every library must do): nnexp's time over it is the core's overhead over
BLAS (everything but the products: activations, loss, Adam, batching, bookkeeping), and
MLPClassifier's time over it is the ceiling of any speed-up over MLPClassifier.
Every repeat runs the libraries one after the other (interleaved), and each cell is the best
of ``--repeats``; the ratios compare numbers measured minutes apart at most. BLAS threads are
pinned with threadpoolctl, PyTorch's with ``torch.set_num_threads``.

    python bench/core_speed.py [--repeats 3] [--workloads abcd] [--threads 1,2]
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from threadpoolctl import threadpool_limits

from nnexp.core import TrainConfig, train

try:
    import torch
except ImportError:  # PyTorch is optional: the bench compares against it where installed
    torch = None


def _blobs(m: int, n_x: int, n_classes: int, spread: float, seed: int = 0):
    """m rows of n_x float32 features around n_classes random centres; labels (m,)."""
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((n_classes, n_x)).astype(np.float32)
    y = rng.integers(0, n_classes, m)
    X = centers[y] + np.float32(spread) * rng.standard_normal((m, n_x), dtype=np.float32)
    return X, y


def workloads() -> dict[str, tuple]:
    """key -> (description, X (m, n_x) float32, y (m,), hidden layers, batch, epochs)."""
    X, y = load_digits(return_X_y=True)
    X = ((X - X.mean(0)) / (X.std(0) + 1e-8)).astype(np.float32)
    return {
        "a": ("(a) digits 1797x64, 64-256-256-10, batch 64", X, y, (256, 256), 64, 10),
        "b": ("(b) 20000x784, 784-512-512-10, batch 256", *_blobs(20000, 784, 10, 2.0),
              (512, 512), 256, 1),
        "c": ("(c) wide tabular 50000x40, 40-512-512-4, batch 256", *_blobs(50000, 40, 4, 3.0),
              (512, 512), 256, 1),
        "d": ("(d) deep narrow 4000x20, 20-(32x8)-5, batch 16", *_blobs(4000, 20, 5, 2.0),
              (32,) * 8, 16, 3),
    }


def run_nnexp(X, y, hidden, batch, epochs) -> float:
    cfg = TrainConfig(hidden_layers=hidden, activation="relu", init="xavier_uniform",
                      optimizer="adam", learning_rate=1e-3, batch_size=batch, epochs=epochs,
                      dtype="float32", output="softmax", seed=0)
    t0 = time.perf_counter()
    train(X, y, cfg)
    return (time.perf_counter() - t0) / epochs


def run_estimator(X, y, hidden, batch, epochs) -> float:
    """The same training through ``nnexp.sklearn.NNClassifier`` (what a scikit-learn user
    runs): its overhead over the core is the estimator's validation, nothing more."""
    from nnexp.sklearn import NNClassifier

    clf = NNClassifier(hidden_layers=hidden, activation="relu", init="xavier_uniform",
                       optimizer="adam", learning_rate=1e-3, batch_size=batch, epochs=epochs,
                       dtype="float32", output="softmax", seed=0)
    t0 = time.perf_counter()
    clf.fit(X, y)
    return (time.perf_counter() - t0) / epochs


def run_sklearn(X, y, hidden, batch, epochs) -> float:
    clf = MLPClassifier(hidden_layer_sizes=hidden, activation="relu", solver="adam",
                        learning_rate_init=1e-3, batch_size=batch, max_iter=epochs,
                        early_stopping=False, tol=0.0, n_iter_no_change=epochs + 1,
                        shuffle=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        t0 = time.perf_counter()
        clf.fit(X, y)
        return (time.perf_counter() - t0) / epochs


def run_torch(X, y, hidden, batch, epochs) -> float:
    torch.manual_seed(0)
    dims = (X.shape[1], *hidden, int(y.max()) + 1)
    layers = []
    for n_in, n_out in zip(dims, dims[1:]):
        layers += [torch.nn.Linear(n_in, n_out), torch.nn.ReLU()]
    net = torch.nn.Sequential(*layers[:-1])
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    Xt, yt = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32)), torch.from_numpy(y)
    m = X.shape[0]
    t0 = time.perf_counter()
    for _ in range(epochs):
        perm = torch.randperm(m)
        for lo in range(0, m, batch):
            take = perm[lo:lo + batch]
            opt.zero_grad()
            loss = loss_fn(net(Xt[take]), yt[take])
            loss.backward()
            opt.step()
    return (time.perf_counter() - t0) / epochs


def run_gemm_only(X, y, hidden, batch, epochs) -> float:
    """Seconds per epoch of the matrix products alone, at the workload's shapes: per
    mini-batch and layer the forward A @ W.T, the weight gradient dZ.T @ A and (but for the
    first layer) the input gradient dZ @ W. Every library above does these same products, so
    MLPClassifier's time over this one bounds the speed-up any of them can reach."""
    dims = (X.shape[1], *hidden, int(y.max()) + 1)
    rng = np.random.default_rng(0)
    m = X.shape[0]
    sizes = [batch] * (m // batch) + ([m % batch] if m % batch else [])
    arrays = {}
    for size in set(sizes):
        # Per layer: input A, weights W, output gradient dZ, and outputs Z, dW, dA written by
        # the products (never read back, so the values stay what they were drawn as).
        arrays[size] = [(rng.standard_normal((size, n_in), dtype=np.float32),
                         rng.standard_normal((n_out, n_in), dtype=np.float32),
                         rng.standard_normal((size, n_out), dtype=np.float32),
                         np.empty((size, n_out), np.float32),
                         np.empty((n_out, n_in), np.float32),
                         np.empty((size, n_in), np.float32))
                        for n_in, n_out in zip(dims, dims[1:])]
    t0 = time.perf_counter()
    for size in sizes * epochs:
        layers = arrays[size]
        for A, W, _, Z, _, _ in layers:
            np.matmul(A, W.T, out=Z)
        for i, (A, W, dZ, _, dW, dA) in enumerate(reversed(layers)):
            np.matmul(dZ.T, A, out=dW)
            if i < len(layers) - 1:
                np.matmul(dZ, W, out=dA)
    return (time.perf_counter() - t0) / epochs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="best of N runs per library")
    parser.add_argument("--workloads", default="abcd", help="which workloads, e.g. 'cd'")
    parser.add_argument("--threads", default=f"1,{os.cpu_count()}",
                        help="comma-separated BLAS thread counts")
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch even if installed")
    parser.add_argument("--estimator", action="store_true",
                        help="also time nnexp.sklearn.NNClassifier (the core behind "
                             "scikit-learn's API)")
    args = parser.parse_args()
    threads = sorted({int(t) for t in args.threads.split(",")})
    libs = {"nnexp": run_nnexp, "sklearn": run_sklearn}
    if args.estimator:
        libs["estimator"] = run_estimator
    if torch is not None and not args.no_torch:
        libs["torch"] = run_torch
    libs["gemm"] = run_gemm_only
    load_before = os.getloadavg()
    print(f"load average before: {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}, "
          f"{os.cpu_count()} CPUs, torch {'not installed' if torch is None else torch.__version__}")
    rows = []
    for key, (name, X, y, hidden, batch, epochs) in workloads().items():
        if key not in args.workloads:
            continue
        for t in threads:
            best = dict.fromkeys(libs, float("inf"))
            with threadpool_limits(limits=t):
                if torch is not None:
                    torch.set_num_threads(t)
                for _ in range(args.repeats):
                    for lib, run in libs.items():
                        best[lib] = min(best[lib], run(X, y, hidden, batch, epochs))
            rows.append((name, t, best))
            print(f"  {name} | {t} thread(s) | "
                  + "  ".join(f"{lib} {s:.4f}" for lib, s in best.items()), flush=True)
    load_after = os.getloadavg()
    print(f"load average after: {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}\n")
    has_torch = "torch" in libs
    head = "| workload | threads | nnexp s/epoch | MLPClassifier s/epoch |"
    head += " PyTorch s/epoch |" if has_torch else ""
    head += " GEMM only s/epoch | nnexp / GEMM only (core over BLAS) | sklearn / nnexp |"
    head += (" torch / nnexp |" if has_torch else "") + " sklearn / GEMM only (ceiling) |"
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for name, t, best in rows:
        line = f"| {name} | {t} | {best['nnexp']:.4f} | {best['sklearn']:.4f} |"
        if has_torch:
            line += f" {best['torch']:.4f} |"
        line += f" {best['gemm']:.4f} | {best['nnexp'] / best['gemm']:.2f}x |"
        line += f" **{best['sklearn'] / best['nnexp']:.2f}x** |"
        if has_torch:
            line += f" **{best['torch'] / best['nnexp']:.2f}x** |"
        line += f" {best['sklearn'] / best['gemm']:.2f}x |"
        if "estimator" in best:
            line += f" NNClassifier {best['estimator']:.4f} s/epoch " \
                    f"({best['estimator'] / best['nnexp']:.2f}x the core) |"
        print(line)


if __name__ == "__main__":
    main()
