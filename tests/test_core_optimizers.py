"""Each optimiser's update equals a direct textbook computation in float64 over several steps."""

from __future__ import annotations

import numpy as np
import pytest

from nnexp.core import OPTIMIZERS

B1, B2, EPS = 0.9, 0.999, 1e-8


def gradient_sequence(seed: int = 0, steps: int = 5):
    rng = np.random.default_rng(seed)
    theta0 = [rng.normal(size=(3, 4)), rng.normal(size=(3,))]
    # Include small gradients so that epsilon matters, and sign changes so momentum matters.
    grads = [[rng.normal(scale=10.0 ** -rng.integers(0, 8), size=p.shape) for p in theta0]
             for _ in range(steps)]
    return theta0, grads


def run(name: str, theta0, grads, lrs, **hyper):
    params = [p.copy() for p in theta0]
    opt = OPTIMIZERS[name](params, **hyper)
    for g, lr in zip(grads, lrs):
        opt.update(params, [x.copy() for x in g], lr)  # copies: an optimiser may reuse g
    return params


LRS = [0.01, 0.02, 0.005, 0.01, 0.03]


def test_adam_matches_textbook_formula_with_epsilon_outside_sqrt():
    theta0, grads = gradient_sequence()
    theta = [p.copy() for p in theta0]
    v = [np.zeros_like(p) for p in theta]
    s = [np.zeros_like(p) for p in theta]
    for t, (g, lr) in enumerate(zip(grads, LRS), start=1):
        for i in range(len(theta)):
            v[i] = B1 * v[i] + (1 - B1) * g[i]
            s[i] = B2 * s[i] + (1 - B2) * g[i] ** 2
            v_hat = v[i] / (1 - B1**t)
            s_hat = s[i] / (1 - B2**t)
            theta[i] = theta[i] - lr * v_hat / (np.sqrt(s_hat) + EPS)
    got = run("adam", theta0, grads, LRS, beta1=B1, beta2=B2, epsilon=EPS)
    for a, b in zip(got, theta):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-14)


def test_adam_epsilon_inside_sqrt_would_differ():
    # Guards the test above: with tiny gradients the placement of epsilon is visible.
    theta0 = [np.zeros(3)]
    grads = [[np.full(3, 1e-9)]] * 3
    got = run("adam", theta0, grads, [1.0] * 3, beta1=B1, beta2=B2, epsilon=1e-8)[0]
    # Outside: first step is -1e-9 / (1e-9 + 1e-8) = -1/11 per step (bias-corrected).
    np.testing.assert_allclose(got, -3 / 11, rtol=1e-6)
    inside = -3 * 1e-9 / np.sqrt(1e-18 + 1e-8)
    assert not np.allclose(got, inside, rtol=1e-3)


def test_adam_hyperparameters_are_used():
    theta0, grads = gradient_sequence(1)
    a = run("adam", theta0, grads, LRS, beta1=0.9, beta2=0.999, epsilon=1e-8)
    b = run("adam", theta0, grads, LRS, beta1=0.5, beta2=0.9, epsilon=1e-3)
    assert not np.allclose(a[0], b[0])


def test_momentum_matches_textbook_formula():
    theta0, grads = gradient_sequence(2)
    theta = [p.copy() for p in theta0]
    v = [np.zeros_like(p) for p in theta]
    for g, lr in zip(grads, LRS):
        for i in range(len(theta)):
            v[i] = B1 * v[i] + (1 - B1) * g[i]
            theta[i] = theta[i] - lr * v[i]
    for a, b in zip(run("momentum", theta0, grads, LRS, beta1=B1), theta):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


def test_rmsprop_matches_textbook_formula():
    theta0, grads = gradient_sequence(3)
    theta = [p.copy() for p in theta0]
    s = [np.zeros_like(p) for p in theta]
    for g, lr in zip(grads, LRS):
        for i in range(len(theta)):
            s[i] = B2 * s[i] + (1 - B2) * g[i] ** 2
            theta[i] = theta[i] - lr * g[i] / (np.sqrt(s[i]) + EPS)
    for a, b in zip(run("rmsprop", theta0, grads, LRS, beta2=B2, epsilon=EPS), theta):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-14)


def test_gradient_descent_matches_textbook_formula():
    theta0, grads = gradient_sequence(4)
    theta = [p.copy() for p in theta0]
    for g, lr in zip(grads, LRS):
        theta = [p - lr * gi for p, gi in zip(theta, g)]
    for a, b in zip(run("gd", theta0, grads, LRS), theta):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_updates_in_place_and_keep_float32(name):
    params = [np.ones((2, 3), dtype=np.float32), np.zeros(2, dtype=np.float32)]
    ids = [id(p) for p in params]
    opt = OPTIMIZERS[name](params, beta1=B1, beta2=B2, epsilon=EPS)
    before = [p.copy() for p in params]
    opt.update(params, [np.full((2, 3), 0.5, np.float32), np.full(2, -0.5, np.float32)], 0.1)
    assert [id(p) for p in params] == ids
    assert all(p.dtype == np.float32 for p in params)
    assert params[0].max() < before[0].min() and params[1].min() > 0  # moved against g


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_each_optimizer_minimises_a_quadratic(name):
    # f(theta) = 0.5 ||A theta - c||^2, a small ill-conditioned least-squares problem.
    rng = np.random.default_rng(5)
    A = rng.normal(size=(6, 3)) * np.array([1.0, 0.5, 0.2])
    c = rng.normal(size=6)
    theta = [np.zeros(3)]
    opt = OPTIMIZERS[name](theta, beta1=B1, beta2=B2, epsilon=EPS)

    def f(t):
        return 0.5 * float(np.sum((A @ t - c) ** 2))

    start = f(theta[0])
    lr = 0.05 if name in ("gd", "momentum") else 0.02
    for _ in range(300):
        opt.update(theta, [A.T @ (A @ theta[0] - c)], lr)
    best = f(np.linalg.lstsq(A, c, rcond=None)[0])
    assert f(theta[0]) - best < 0.1 * (start - best)
