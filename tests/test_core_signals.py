"""Per-layer signals inside a training run (``nnexp.core.signals``, ``train(signals_every=k)``):
the statistics against hand-computed forward and backward passes, the course's initialisation
lesson, dead and stalled layers, and that signals never change the training result."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from sklearn.datasets import make_moons

from nnexp.core import TrainConfig, backward, forward, initialize_parameters, train
from nnexp.core.losses import OUTPUTS
from nnexp.core.model import encode_targets
from nnexp.core.signals import (
    MAX_LAYERS,
    LayerSignals,
    Sample,
    SignalProbe,
    find_dead_layer,
    find_stall,
    is_sampled,
    measured_layers,
    sample_rows,
)


@pytest.fixture(scope="module")
def moons():
    X, y = make_moons(n_samples=400, noise=0.2, random_state=0)
    return X[:300], y[:300], X[300:], y[300:]


BASE = TrainConfig(hidden_layers=(16, 16), optimizer="adam", learning_rate=0.01, batch_size=32,
                   epochs=7, seed=3)


def hand_hidden(params, X, activation):
    """A_1..A_{L-1} in float64 with NumPy's own functions (not nnexp's registries)."""
    g = {"relu": lambda z: np.maximum(z, 0.0), "tanh": np.tanh,
         "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z))}[activation]
    A, out = X.astype(np.float64), []
    for W, b in zip(params.W[:-1], params.b[:-1]):
        A = g(A @ W.astype(np.float64).T + b.astype(np.float64))
        out.append(A)
    return out


def test_signals_only_at_sampled_epochs_and_off_by_default(moons):
    X, y, Xd, yd = moons
    off = train(X, y, BASE, Xd, yd)
    assert all(m.layers is None for m in off.history)
    on = train(X, y, BASE, Xd, yd, signals_every=3)
    assert [m.epoch for m in on.history if m.layers is not None] == [1, 3, 6, 7]
    assert [is_sampled(e, 3, 7) for e in range(1, 8)] == [m.layers is not None
                                                        for m in on.history]
    for m in on.history:
        if m.layers is not None:
            assert [s.layer for s in m.layers] == [1, 2, 3]
            assert m.layers[-1].act_mean is None and m.layers[-1].dead_fraction is None


@pytest.mark.parametrize("keep_prob", [1.0, 0.8])
@pytest.mark.parametrize("batch_size", [32, None])
def test_signals_on_and_off_give_bit_identical_weights_and_metrics(moons, keep_prob, batch_size):
    X, y, Xd, yd = moons
    config = replace(BASE, keep_prob=keep_prob, batch_size=batch_size)
    off = train(X, y, config, Xd, yd)
    on = train(X, y, config, Xd, yd, signals_every=1)
    for a, b in zip(off.model.params.flat(), on.model.params.flat(), strict=True):
        assert np.array_equal(a, b)
    fields = ("train_cost", "train_metric", "dev_cost", "dev_metric", "learning_rate")
    assert [[getattr(m, f) for f in fields] for m in off.history] == \
           [[getattr(m, f) for f in fields] for m in on.history]


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid"])
def test_activation_statistics_equal_a_hand_computed_forward_pass(moons, activation):
    X, y, Xd, yd = moons
    config = replace(BASE, activation=activation)
    result = train(X, y, config, Xd, yd, signals_every=config.epochs)
    last = result.history[-1].layers  # measured with the final weights (no early stopping)
    sample = sample_rows(np.asarray(Xd, dtype=np.float32))
    assert sample.shape == (100, 2)
    for sig, A in zip(last, hand_hidden(result.model.params, sample, activation)):
        assert sig.act_mean == pytest.approx(A.mean(), rel=1e-4, abs=1e-6)
        assert sig.act_std == pytest.approx(A.std(), rel=1e-4, abs=1e-6)
        if activation == "relu":
            assert sig.dead_fraction == np.mean([np.all(col <= 0) for col in A.T])
            assert sig.saturation is None
        else:
            low, high = (0.02, 0.98) if activation == "sigmoid" else (-0.98, 0.98)
            assert sig.saturation == pytest.approx(np.mean((A < low) | (A > high)), abs=1e-3)
            assert sig.dead_fraction is None


def test_sample_is_fixed_evenly_spaced_and_at_most_256_rows():
    X = np.arange(2000.0).reshape(1000, 2)
    s = sample_rows(X)
    assert s.shape == (256, 2) and s[0, 0] == 0 and s[-1, 0] == 1998
    assert np.array_equal(s, sample_rows(X))
    assert sample_rows(X[:40]) is X[:40].base or sample_rows(X[:40]).shape == (40, 2)


def test_grad_norm_and_update_ratio_equal_the_backprop_gradient_of_the_batch(moons):
    """Full-batch gradient descent, one epoch: the epoch's last mini-batch is the whole set, its
    gradient is backprop at the initial weights, and W1 = W0 - lr dW."""
    X, y, Xd, yd = moons
    config = replace(BASE, optimizer="gd", learning_rate=0.5, batch_size=None, epochs=1,
                     l2=0.3, dtype="float64", activation="tanh")
    result = train(X, y, config, Xd, yd, signals_every=1)
    layers = result.history[0].layers
    dims = (2, *config.hidden_layers, 1)
    params = initialize_parameters(dims, config.init, np.random.default_rng(config.seed),
                                   np.float64, config.init_scale)
    Y = encode_targets(y, "sigmoid", np.array([0, 1]), np.float64, "y")
    ZL, cache = forward(params, X.astype(np.float64), "tanh")
    _, dZL = OUTPUTS["sigmoid"].cost_and_grad(ZL, Y)
    grads = backward(params, cache, dZL, "tanh", config.l2)
    for sig, dW, W0 in zip(layers, grads.W, params.W, strict=True):
        assert sig.grad_norm == pytest.approx(np.linalg.norm(dW), rel=1e-9)
        assert sig.update_ratio == pytest.approx(
            config.learning_rate * np.linalg.norm(dW) / np.linalg.norm(W0), rel=1e-9)


def test_random_init_shrinks_tanh_activations_layer_by_layer_he_relu_does_not(moons):
    """The course's lesson before He initialisation: with W ~ 0.01 N(0, 1) each tanh layer
    scales the spread of its input by ~0.01 sqrt(n) (here 0.06), so the activations vanish
    layer by layer; sigmoid units sit at 0.5 with a tiny spread (their 0.5 offset, weighted by
    W, keeps the pooled std from shrinking further); He with ReLU keeps the spread of the
    same order in every layer."""
    X, y, Xd, yd = moons
    deep = replace(BASE, hidden_layers=(32, 32, 32, 32), optimizer="gd", learning_rate=0.01,
                   epochs=1)
    layers = train(X, y, replace(deep, activation="tanh", init="random"), Xd, yd,
                   signals_every=1).history[0].layers
    tanh = [s.act_std for s in layers[:-1]]
    assert all(b < 0.5 * a for a, b in zip(tanh, tanh[1:])), tanh
    layers = train(X, y, replace(deep, activation="sigmoid", init="random"), Xd, yd,
                   signals_every=1).history[0].layers
    sigmoid = [s.act_std for s in layers[:-1]]
    assert max(sigmoid) < 0.02 and all(abs(s.act_mean - 0.5) < 0.02 for s in layers[:-1])
    layers = train(X, y, replace(deep, activation="relu", init="he"), Xd, yd,
                   signals_every=1).history[0].layers
    he = [s.act_std for s in layers[:-1]]
    assert 0.33 < min(he) / max(he) and min(he) > 10 * max(tanh[1:] + sigmoid), he


def test_a_layer_with_very_negative_biases_is_dead():
    rng = np.random.default_rng(0)
    params = initialize_parameters((3, 5, 4, 1), "he", rng, np.float64)
    params.b[1][:] = -100.0
    probe = SignalProbe(params.W, rng.normal(size=(50, 3)), "relu", every=1, epochs=1)
    probe.gradients([np.ones_like(w) for w in params.W])
    layers = probe.measure(params.W, params.b)
    assert layers[1].dead_fraction == 1.0 and layers[1].act_mean == 0 == layers[1].act_std
    assert layers[0].dead_fraction < 1.0
    assert [s.grad_norm for s in layers] == [np.sqrt(15), np.sqrt(20), 2.0]
    assert find_dead_layer([Sample(4, 0.5, layers)]) == (4, 2, 1.0)


def test_zero_initialised_relu_layers_are_dead_from_the_first_epoch(moons):
    """W = 0: every hidden ReLU outputs 0 on every row, gets no gradient and stays dead."""
    X, y, Xd, yd = moons
    result = train(X, y, replace(BASE, init="zeros"), Xd, yd, signals_every=2)
    samples = [Sample(m.epoch, m.train_cost, m.layers) for m in result.history if m.layers]
    assert all(s.layers[0].dead_fraction == 1.0 for s in samples)
    assert all(s.layers[0].grad_norm == 0.0 for s in samples)
    assert find_dead_layer(samples) == (1, 1, 1.0)


def test_a_vanishing_learning_rate_is_stalled_and_normal_training_is_not(moons):
    X, y, Xd, yd = moons
    tiny = train(X, y, replace(BASE, optimizer="gd", learning_rate=1e-9), Xd, yd,
                 signals_every=1)
    samples = [Sample(m.epoch, m.train_cost, m.layers) for m in tiny.history]
    evidence = find_stall(samples)
    assert evidence is not None and evidence.startswith("epoch 7, layer ")
    assert "update_ratio" in evidence
    normal = train(X, y, BASE, Xd, yd, signals_every=1)
    assert find_stall([Sample(m.epoch, m.train_cost, m.layers) for m in normal.history]) is None


def test_a_flat_train_cost_is_stalled():
    moving = (LayerSignals(1, 0.0, 1.0, 0.0, None, 1.0, 0.01),)
    samples = [Sample(e, c, moving) for e, c in ((1, 0.9), (2, 0.6931), (3, 0.69312),
                                                 (4, 0.69313))]
    assert find_stall(samples) == ("epoch 4, all layers, train cost change 1.44e-05 since "
                                   "epoch 3 (cost 0.69313)")
    assert find_stall(samples[:3]) is None  # too few samples to say
    samples[-1] = Sample(4, 0.68, moving)
    assert find_stall(samples) is None


def test_at_most_16_layers_are_measured_evenly_spaced_first_and_last_always():
    assert measured_layers(1) == (1,) and measured_layers(16) == tuple(range(1, 17))
    for L in (*range(17, 300), 1000, 100_000):
        layers = measured_layers(L)
        assert len(layers) == MAX_LAYERS == 16 and layers[0] == 1 and layers[-1] == L
        gaps = np.diff(layers)
        step = (L - 1) / 15
        assert gaps.min() >= max(1, np.floor(step)) and gaps.max() <= np.ceil(step) + 1, L
    assert measured_layers(100_000)[:3] == (1, 6668, 13334)


def test_a_deep_network_measures_16_layers_and_the_first_dead_one_between_them():
    """Depth 300, width 2: 301 layers; the probe keeps 16 of them (weights copied for those
    only) and adds layer 40, entirely dead on the sample, which the diagnosis names (layer 41
    and later are alive again: relu(0 W + b) with b = 1)."""
    from nnexp.tracking.signals import TrialSignals, layer_record

    rng = np.random.default_rng(0)
    dims = (3, *(2,) * 300, 1)
    params = initialize_parameters(dims, "he", rng, np.float64)
    params.W[0][:] = 0.1
    for W, b in zip(params.W[1:-1], params.b[:-1]):
        W[:] = np.eye(2)  # every unit alive on every row (A_l = A_{l-1} + 1) ...
        b[:] = 1.0
    params.b[39][:] = -100.0  # ... but layer 40
    probe = SignalProbe(params.W, rng.normal(size=(50, 3)), "relu", every=1, epochs=1)
    assert sorted(probe.W_before) == list(measured_layers(301))
    probe.gradients([np.ones_like(w) for w in params.W])
    layers = probe.measure(params.W, params.b)
    assert [s.layer for s in layers] == sorted((*measured_layers(301), 40))
    dead = next(s for s in layers if s.layer == 40)
    assert dead.dead_fraction == 1.0 and dead.grad_norm is None is dead.update_ratio
    assert all(s.grad_norm == np.sqrt(params.W[s.layer - 1].size) for s in layers
               if s.layer != 40)
    assert find_dead_layer([Sample(3, 0.5, layers)]) == (3, 40, 1.0)
    record = layer_record(layers)
    assert len(record) == 15 * 5 + 2 + 3  # hidden: 5 fields, output: 2, dead layer 40: 3
    signals = TrialSignals(True, 1, 4)
    signals.samples = [Sample(e, 0.5, layers) for e in range(1, 5)]
    assert signals.diagnose() == ("dead_layer", "epoch 1, layer 40, dead_fraction 1")
    assert find_stall(signals.samples) is not None  # nothing moved: stalled, None ignored


def test_deep_training_measures_the_same_16_layers_at_every_sample(moons):
    X, y, Xd, yd = moons
    config = replace(BASE, hidden_layers=(4,) * 60, batch_size=None, epochs=3, init="he")
    result = train(X, y, config, Xd, yd, signals_every=1)
    for m in result.history:
        measured = [s.layer for s in m.layers if s.grad_norm is not None]
        assert measured == list(measured_layers(61)) and measured[-1] == 61
        assert len(m.layers) <= MAX_LAYERS + 1
