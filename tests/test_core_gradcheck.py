"""Backprop is proven against central finite differences in float64 (the course's gradient check).

Every hidden activation, every output/loss pair, with and without L2, over random architectures
from logistic regression (no hidden layer) to three hidden layers; and a deliberately broken
backward pass must be caught.
"""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nnexp.core.gradcheck as gradcheck_module
from nnexp.core import (
    ACTIVATIONS,
    DERIVATIVES,
    OUTPUTS,
    Parameters,
    backward,
    compute_cost,
    forward,
    gradient_check,
    initialize_parameters,
)

TOL = 1e-7


def make_problem(seed: int, hidden: tuple[int, ...], output: str, n_x: int = 3, m: int = 7):
    """Random float64 parameters (non-zero biases), inputs and targets in the loss's encoding."""
    rng = np.random.default_rng(seed)
    n_out = 3 if output == "softmax" else 1
    params = initialize_parameters((n_x, *hidden, n_out), "xavier", rng, np.float64)
    for b in params.b:
        b[:] = rng.normal(scale=0.1, size=b.shape)
    X = rng.normal(size=(m, n_x))
    if output == "softmax":
        Y = rng.integers(0, n_out, size=m)
    elif output == "sigmoid":
        Y = rng.integers(0, 2, size=(m, 1)).astype(np.float64)
    else:
        Y = rng.normal(size=(m, 1))
    return params, X, Y


architectures = st.tuples(
    st.integers(0, 2**32 - 1),
    st.lists(st.integers(1, 6), min_size=0, max_size=3).map(tuple),
    st.integers(1, 4),  # n_x
    st.integers(2, 8),  # m
)


@pytest.mark.parametrize("l2", [0.0, 0.7])
@pytest.mark.parametrize("output", sorted(OUTPUTS))
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@settings(max_examples=20, deadline=None, derandomize=True, database=None)
@given(arch=architectures)
def test_backprop_matches_finite_differences(activation, output, l2, arch):
    seed, hidden, n_x, m = arch
    params, X, Y = make_problem(seed, hidden, output, n_x, m)
    check = gradient_check(params, X, Y, activation, output, l2=l2)
    assert check.difference < TOL, check


@pytest.mark.parametrize("output", sorted(OUTPUTS))
def test_logistic_regression_gradients(output):
    # Zero hidden layers: the network is logistic/softmax/linear regression.
    params, X, Y = make_problem(3, (), output, n_x=4, m=9)
    assert len(params.W) == 1
    check = gradient_check(params, X, Y, "relu", output, l2=0.3)
    assert check.difference < TOL, check


def test_l2_adds_lambda_over_m_times_w_to_weight_gradients_only():
    params, X, Y = make_problem(5, (4,), "sigmoid")
    ZL, cache = forward(params, X, "tanh")
    dZL = OUTPUTS["sigmoid"].cost_and_grad(ZL, Y)[1]
    with_l2 = backward(params, cache, dZL.copy(), "tanh", l2=2.0)
    without = backward(params, cache, dZL.copy(), "tanh", l2=0.0)
    m = X.shape[0]
    for dw_l2, dw, w in zip(with_l2.W, without.W, params.W):
        np.testing.assert_allclose(dw_l2 - dw, 2.0 / m * w, rtol=1e-12, atol=1e-15)
    for db_l2, db in zip(with_l2.b, without.b):
        np.testing.assert_array_equal(db_l2, db)  # biases are not penalised


def test_broken_activation_derivative_is_caught(monkeypatch):
    params, X, Y = make_problem(11, (5, 4), "sigmoid")
    assert gradient_check(params, X, Y, "tanh", "sigmoid").difference < TOL

    def wrong_tanh_backward(dA, A):
        dA *= 1 - A  # should be 1 - A**2
        return dA

    monkeypatch.setitem(DERIVATIVES, "tanh", wrong_tanh_backward)
    assert gradient_check(params, X, Y, "tanh", "sigmoid").difference > 1e-3


def test_scaled_softmax_gradient_is_caught(monkeypatch):
    params, X, Y = make_problem(12, (4,), "softmax")
    assert gradient_check(params, X, Y, "relu", "softmax").difference < TOL
    good = OUTPUTS["softmax"]

    def scaled(Z, Y):
        cost, dZ = good.cost_and_grad(Z, Y)
        return cost, dZ * 1.5

    monkeypatch.setitem(OUTPUTS, "softmax", dataclasses.replace(good, cost_and_grad=scaled))
    assert gradient_check(params, X, Y, "relu", "softmax").difference > 1e-3


def test_missing_dropout_mask_in_backward_is_caught():
    """Dropout's backward pass, checked with a fixed mask (same rng seed on every evaluation)."""
    params, X, Y = make_problem(13, (6, 5), "sigmoid", m=12)
    keep = (0.6, 0.8)

    def cost_of(p: Parameters) -> float:
        ZL, _ = forward(p, X, "tanh", keep, np.random.default_rng(99))
        return compute_cost(ZL, Y, "sigmoid")

    ZL, cache = forward(params, X, "tanh", keep, np.random.default_rng(99))
    assert any(D is not None for D in cache.D)
    grads = backward(params, cache, OUTPUTS["sigmoid"].cost_and_grad(ZL, Y)[1], "tanh")
    analytic, numeric = [], []
    eps = 1e-6
    for plist, glist in ((params.W, grads.W), (params.b, grads.b)):
        for p, g in zip(plist, glist):
            for index in np.ndindex(p.shape):
                saved = p[index]
                p[index] = saved + eps
                plus = cost_of(params)
                p[index] = saved - eps
                minus = cost_of(params)
                p[index] = saved
                numeric.append((plus - minus) / (2 * eps))
                analytic.append(g[index])
    a, n = np.array(analytic), np.array(numeric)
    assert np.linalg.norm(a - n) / (np.linalg.norm(a) + np.linalg.norm(n)) < TOL

    # The same check without applying the mask in backward must fail.
    no_mask = dataclasses.replace(cache, D=[None] * len(cache.D))
    wrong = backward(params, no_mask, OUTPUTS["sigmoid"].cost_and_grad(ZL, Y)[1], "tanh")
    w = np.concatenate([g.ravel() for g in (*wrong.W, *wrong.b)])
    assert np.linalg.norm(w - n) / (np.linalg.norm(w) + np.linalg.norm(n)) > 1e-3


NAME = re.compile(r"^[Wb][1-9]\d*\[\d+(, \d+)?\]$")


@pytest.mark.parametrize(
    "kind, layer, index, expected",
    [("W", 1, (2, 0), "W2[2, 0]"), ("b", 0, (1,), "b1[1]"), ("W", 0, (0, 2), "W1[0, 2]")],
)
def test_worst_parameter_is_named_in_documented_format(monkeypatch, kind, layer, index, expected):
    real_backward = gradcheck_module.backward

    def backward_with_one_error(*args, **kwargs):
        grads = real_backward(*args, **kwargs)
        getattr(grads, kind)[layer][index] += 0.5
        return grads

    monkeypatch.setattr(gradcheck_module, "backward", backward_with_one_error)
    params, X, Y = make_problem(21, (4, 3), "linear")
    check = gradient_check(params, X, Y, "tanh", "linear")
    assert NAME.match(check.worst_parameter)
    assert check.worst_parameter == expected
    assert check.worst_error == pytest.approx(0.5, abs=1e-6)
    assert check.difference > 1e-3


def test_correct_check_names_a_real_parameter():
    params, X, Y = make_problem(22, (3,), "softmax")
    check = gradient_check(params, X, Y, "sigmoid", "softmax")
    assert NAME.match(check.worst_parameter)
    kind, layer = check.worst_parameter[0], int(check.worst_parameter[1])
    index = tuple(int(i) for i in re.findall(r"\d+", check.worst_parameter)[1:])
    arrays = params.W if kind == "W" else params.b
    assert 1 <= layer <= len(arrays)
    assert all(0 <= i < n for i, n in zip(index, arrays[layer - 1].shape))
    assert 0 <= check.worst_error < 1e-6


def test_gradient_check_does_not_modify_parameters():
    params, X, Y = make_problem(23, (4,), "sigmoid")
    before = params.copy()
    gradient_check(params, X, Y, "relu", "sigmoid", l2=0.1)
    for a, b in zip(params.flat(), before.flat()):
        np.testing.assert_array_equal(a, b)
