"""Losses computed from logits stay finite and correct at extreme logits, in float32 and float64;
forward and cost agree with a direct NumPy transcription of the course's formulas."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit, logsumexp
from scipy.special import softmax as scipy_softmax

from nnexp.core import ACTIVATIONS, OUTPUTS, compute_cost, forward, initialize_parameters

DTYPES = [np.float32, np.float64]
EXTREME = np.array([1e4, -1e4, 30.0, -30.0, 0.0])


def reference_cost(output: str, Z: np.ndarray, Y: np.ndarray) -> float:
    """Mean loss in float64, written independently of nnexp."""
    Z = Z.astype(np.float64)
    if output == "sigmoid":
        y = Y[:, 0].astype(np.float64)
        return float(np.mean(np.logaddexp(0.0, Z[:, 0]) - y * Z[:, 0]))
    if output == "softmax":
        return float(np.mean(logsumexp(Z, axis=1) - Z[np.arange(len(Y)), Y]))
    return float(np.mean(np.sum((Z - Y.astype(np.float64)) ** 2, axis=1)))


def reference_grad(output: str, Z: np.ndarray, Y: np.ndarray) -> np.ndarray:
    Z = Z.astype(np.float64)
    m = Z.shape[0]
    if output == "sigmoid":
        return (expit(Z) - Y.astype(np.float64)) / m
    if output == "softmax":
        P = scipy_softmax(Z, axis=1)
        P[np.arange(m), Y] -= 1
        return P / m
    return 2 * (Z - Y.astype(np.float64)) / m


def extreme_problem(output: str, dtype):
    if output == "softmax":
        # Every row has one logit at +-1e4 against others near 0; true class at each position.
        Z = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 5.0], [0.0, 0.0, -1e4], [1e4, 1e4, -1e4]])
        Y = np.array([1, 0, 2, 2])  # all confidently wrong
        return Z.astype(dtype), Y
    Z = EXTREME.reshape(-1, 1).astype(dtype)
    if output == "sigmoid":
        Y = np.array([[0.0], [1.0], [0.0], [1.0], [1.0]], dtype=dtype)  # mostly wrong
    else:
        Y = np.array([[-1.0], [1.0], [0.5], [0.0], [2.0]], dtype=dtype)
    return Z, Y


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("output", sorted(OUTPUTS))
def test_cost_and_gradient_finite_and_correct_at_extreme_logits(output, dtype):
    Z, Y = extreme_problem(output, dtype)
    loss = OUTPUTS[output]
    expected = reference_cost(output, Z, Y)
    cost = loss.cost(Z.copy(), Y)
    cost2, dZ = loss.cost_and_grad(Z.copy(), Y)
    assert np.isfinite(cost) and np.isfinite(cost2)
    assert cost == pytest.approx(expected, rel=1e-6)
    assert cost2 == pytest.approx(expected, rel=1e-6)
    assert np.all(np.isfinite(dZ))
    assert dZ.dtype == dtype and dZ.shape == Z.shape
    np.testing.assert_allclose(dZ, reference_grad(output, Z, Y), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("output", sorted(OUTPUTS))
def test_cost_and_grad_agree_with_cost_on_ordinary_logits(output):
    rng = np.random.default_rng(0)
    n = 4 if output == "softmax" else 1
    Z = rng.normal(scale=3, size=(20, n))
    Y = (rng.integers(0, n, 20) if output == "softmax"
         else rng.integers(0, 2, (20, 1)).astype(float) if output == "sigmoid"
         else rng.normal(size=(20, 1)))
    cost, dZ = OUTPUTS[output].cost_and_grad(Z.copy(), Y)
    assert cost == pytest.approx(reference_cost(output, Z, Y), rel=1e-12)
    assert OUTPUTS[output].cost(Z.copy(), Y) == pytest.approx(cost, rel=1e-12)
    np.testing.assert_allclose(dZ, reference_grad(output, Z, Y), rtol=1e-10, atol=1e-15)


def test_float32_sigmoid_saturates_yet_bce_stays_correct():
    z = np.array([[20.0]], dtype=np.float32)
    # The probability rounds to exactly 1 in float32 ...
    assert ACTIVATIONS["sigmoid"](z.copy())[0, 0] == np.float32(1.0)
    assert OUTPUTS["sigmoid"].activate(z)[0, 0] == np.float32(1.0)
    # ... so the course's -log(1 - a) would be inf, but the cost from the logit is right.
    y0 = np.array([[0.0]], dtype=np.float32)
    expected = float(np.logaddexp(0.0, 20.0))  # float64 reference, about 20.000000002
    assert OUTPUTS["sigmoid"].cost(z, y0) == pytest.approx(expected, rel=1e-6)
    assert OUTPUTS["sigmoid"].cost_and_grad(z.copy(), y0)[0] == pytest.approx(expected, rel=1e-6)
    y1 = np.array([[1.0]], dtype=np.float32)
    assert OUTPUTS["sigmoid"].cost(-z, y1) == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_activation_never_overflows(dtype):
    z = np.array([-1e4, -800.0, -20.0, 0.0, 20.0, 800.0, 1e4], dtype=dtype)
    with np.errstate(all="raise"):
        a = ACTIVATIONS["sigmoid"](z.copy())
    assert a.dtype == dtype
    assert np.all((a >= 0) & (a <= 1))
    np.testing.assert_allclose(a, expit(z.astype(np.float64)), atol=np.finfo(dtype).eps)


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_rows_sum_to_one_at_extreme_logits(dtype):
    Z, _ = extreme_problem("softmax", dtype)
    P = OUTPUTS["softmax"].activate(Z)
    assert P.dtype == dtype
    assert np.all(np.isfinite(P))
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=10 * np.finfo(dtype).eps)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@pytest.mark.parametrize("dtype", DTYPES)
def test_activations_match_their_definitions_and_keep_dtype(name, dtype):
    z = np.linspace(-5, 5, 41).astype(dtype).reshape(-1, 1)
    z64 = z.astype(np.float64)
    expected = {
        "relu": np.maximum(z64, 0),
        "leaky_relu": np.where(z64 > 0, z64, 0.01 * z64),
        "tanh": np.tanh(z64),
        "sigmoid": 1 / (1 + np.exp(-z64)),
        "linear": z64,
    }[name]
    a = ACTIVATIONS[name](z.copy())
    assert a.dtype == dtype
    np.testing.assert_allclose(a, expected, rtol=1e-6, atol=1e-6)


def test_forward_and_cost_match_the_course_formulas():
    """Z[l] = W[l] A[l-1] + b[l] with column examples, as in the course, then transposed."""
    rng = np.random.default_rng(4)
    dims = (3, 5, 4, 2)
    params = initialize_parameters(dims, "he", rng, np.float64)
    for b in params.b:
        b[:] = rng.normal(size=b.shape)
    X = rng.normal(size=(6, 3))
    Y = rng.integers(0, 2, size=6)

    A = X.T  # (n_x, m), the course's layout
    for W, b in zip(params.W[:-1], params.b[:-1]):
        A = np.tanh(W @ A + b[:, None])
    ZL_course = params.W[-1] @ A + params.b[-1][:, None]

    ZL, cache = forward(params, X, "tanh")
    np.testing.assert_allclose(ZL, ZL_course.T, rtol=1e-12)
    assert [a.shape for a in cache.A] == [(6, 3), (6, 5), (6, 4)]

    l2, m = 0.3, X.shape[0]
    expected = reference_cost("softmax", ZL_course.T, Y) + l2 / (2 * m) * sum(
        np.sum(W**2) for W in params.W)
    assert compute_cost(ZL, Y, "softmax", params, l2) == pytest.approx(expected, rel=1e-12)
