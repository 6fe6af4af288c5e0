"""Model save/load round trips exactly; stored input scaling is applied at prediction time."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from sklearn.datasets import make_blobs, make_moons

from nnexp.core import Model, Parameters, TrainConfig, predict_logits, train

CONFIG = TrainConfig(hidden_layers=(6, 4), activation="tanh", keep_prob=(0.9, 1.0),
                     optimizer="adam", learning_rate=0.01, batch_size=16, epochs=5, seed=3)


def scaled_moons():
    X, y = make_moons(n_samples=80, noise=0.2, random_state=0)
    X_raw = X * np.array([100.0, 0.01]) + np.array([5.0, -3.0])
    shift, scale = X_raw.mean(axis=0), X_raw.std(axis=0)
    return X_raw, (X_raw - shift) / scale, y, shift, scale


def assert_same_model(a: Model, b: Model) -> None:
    assert a.layer_dims == b.layer_dims
    assert a.activation == b.activation and a.output == b.output
    for pa, pb in zip(a.params.flat(), b.params.flat(), strict=True):
        assert pa.dtype == pb.dtype and np.array_equal(pa, pb)
    for name in ("classes", "x_shift", "x_scale"):
        va, vb = getattr(a, name), getattr(b, name)
        assert (va is None) == (vb is None), name
        if va is not None:
            assert np.array_equal(va, vb), name
    assert a.config == b.config


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_round_trip_with_string_labels_and_scaling(tmp_path, dtype):
    X_raw, X, y, shift, scale = scaled_moons()
    labels = np.where(y == 1, "positive", "negative")
    model = train(X, labels, replace(CONFIG, dtype=dtype), x_shift=shift, x_scale=scale).model
    path = model.save(tmp_path / "model")
    assert path == tmp_path / "model.npz" and path.exists()
    assert path.with_suffix(".json").exists()

    loaded = Model.load(path)
    assert_same_model(model, loaded)
    assert Model.load(tmp_path / "model").layer_dims == model.layer_dims  # stem works too
    assert loaded.classes.tolist() == ["negative", "positive"]
    assert loaded.config.keep_prob == (0.9, 1.0) and loaded.config.hidden_layers == (6, 4)
    assert loaded.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(loaded.predict(X_raw), model.predict(X_raw))
    np.testing.assert_array_equal(loaded.predict_proba(X_raw), model.predict_proba(X_raw))
    assert set(loaded.predict(X_raw)) <= {"positive", "negative"}

    with np.load(path, allow_pickle=False) as data:
        assert set(data.files) == {"W1", "b1", "W2", "b2", "W3", "b3", "classes", "x_shift",
                                   "x_scale"}
        assert data["classes"].dtype.kind == "U"
    meta = json.loads(path.with_suffix(".json").read_text())
    assert meta["dtype"] == dtype and meta["layer_dims"] == [2, 6, 4, 1]


def test_object_string_labels_save_without_pickle(tmp_path):
    # Labels as a pandas column would give them: dtype object.
    X, y = make_moons(n_samples=60, noise=0.2, random_state=1)
    labels = np.array(["cat", "dog"], dtype=object)[y]
    model = train(X, labels, replace(CONFIG, epochs=2)).model
    loaded = Model.load(model.save(tmp_path / "m"))
    assert loaded.classes.tolist() == ["cat", "dog"]
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_regression_and_multiclass_round_trip(tmp_path):
    X, y = make_blobs(n_samples=90, centers=3, random_state=0)
    clf = train(X, y, replace(CONFIG, keep_prob=1.0, dtype="float64")).model
    reg = train(X, X[:, 0] * 0.5 + 0.1, replace(CONFIG, keep_prob=1.0)).model
    for name, model in (("clf", clf), ("reg", reg)):
        loaded = Model.load(model.save(tmp_path / name))
        assert_same_model(model, loaded)
        np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert Model.load(tmp_path / "reg").classes is None
    assert Model.load(tmp_path / "clf").classes.tolist() == [0, 1, 2]


def test_model_without_config_round_trips(tmp_path):
    X, y = make_moons(n_samples=40, random_state=0)
    model = train(X, y, replace(CONFIG, epochs=1)).model
    bare = replace(model, config=None)
    loaded = Model.load(bare.save(tmp_path / "bare"))
    assert loaded.config is None
    assert_same_model(bare, loaded)


def test_prediction_applies_stored_scaling():
    X_raw, X, y, shift, scale = scaled_moons()
    model = train(X, y, replace(CONFIG, dtype="float64"), x_shift=shift, x_scale=scale).model
    expected = predict_logits(model.params, (X_raw - shift) / scale, model.activation)
    np.testing.assert_allclose(model.logits(X_raw), expected, rtol=1e-12)
    unscaled = replace(model, x_shift=None, x_scale=None)
    np.testing.assert_array_equal(unscaled.logits(X), predict_logits(model.params, X, "tanh"))
    # The scaled data reach a sensible accuracy only through the stored scaling.
    assert np.mean(model.predict(X_raw) == y) > 0.75


def test_predict_rejects_wrong_feature_count():
    X, y = make_moons(n_samples=40, random_state=0)
    model = train(X, y, replace(CONFIG, epochs=1)).model
    with pytest.raises(ValueError, match="X has 3 features but the network expects 2"):
        model.predict(np.ones((4, 3)))
    with pytest.raises(ValueError, match="X must be 2-D"):
        model.predict(np.ones(2))


def test_evaluate_rejects_unknown_labels():
    X, y = make_moons(n_samples=40, random_state=0)
    model = train(X, y, replace(CONFIG, epochs=1)).model
    with pytest.raises(ValueError, match=r"y contains label\(s\) \[7\]"):
        model.evaluate(X, np.where(y == 1, 7, 0))


# --- evaluate's log_loss comes from the logits -------------------------------------------------

def linear_model(W, b, output: str, dtype: str) -> Model:
    """A network without hidden layers (logistic/softmax regression): Z = X @ W.T + b."""
    W, b = np.asarray(W, dtype=dtype), np.asarray(b, dtype=dtype)
    n_out, n_x = W.shape
    classes = np.arange(max(n_out, 2))
    return Model((n_x, n_out), "relu", output, Parameters([W], [b]), classes)


@pytest.mark.parametrize(("dtype", "logit"), [("float32", -20.0), ("float64", -40.0)])
def test_evaluate_log_loss_of_confident_sigmoid_mistake_is_exact(dtype, logit):
    # Label 1 with logit z: loss = log(1 + e^-z) = -z + log1p(e^z). Through probabilities,
    # sigmoid(z) rounds to 0 and the clipped log gave 87.3 (float32) or 708 (float64).
    model = linear_model([[1.0]], [0.0], "sigmoid", dtype)
    scores = model.evaluate(np.array([[logit]], dtype=dtype), np.array([1]))
    assert scores["log_loss"] == pytest.approx(-logit, abs=1e-5)
    assert scores["accuracy"] == 0.0


@pytest.mark.parametrize(("dtype", "margin"), [("float32", 200.0), ("float64", 1000.0)])
def test_evaluate_log_loss_of_confident_softmax_mistake_is_exact(dtype, margin):
    # Class 1 beats the true class 0 by `margin`: loss = margin + log(1 + 2 e^-margin).
    model = linear_model([[0.0], [margin], [0.0]], [0.0, 0.0, 0.0], "softmax", dtype)
    X = np.ones((2, 1), dtype=dtype)
    scores = model.evaluate(X, np.array([0, 1]))  # one confident mistake, one confident hit
    assert scores["log_loss"] == pytest.approx(margin / 2, rel=1e-6)
    assert scores["accuracy"] == 0.5


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_evaluate_log_loss_is_the_dev_cost_training_reports(dtype):
    X_raw, X, y, shift, scale = scaled_moons()
    config = replace(CONFIG, keep_prob=1.0, dtype=dtype)
    result = train(X, y, config, X, y, x_shift=shift, x_scale=scale)
    scores = result.model.evaluate(X, y, scaled=True)
    assert scores["log_loss"] == result.history[-1].dev_cost
    assert scores["accuracy"] == result.history[-1].dev_metric
    assert result.model.evaluate(X_raw, y)["log_loss"] == pytest.approx(scores["log_loss"],
                                                                         rel=1e-4)


@pytest.mark.parametrize("version", [2, "1", None])
def test_load_rejects_unknown_format_version(tmp_path, version):
    X, y = make_moons(n_samples=40, random_state=0)
    path = train(X, y, replace(CONFIG, epochs=1)).model.save(tmp_path / "model")
    meta_path = path.with_suffix(".json")
    meta = json.loads(meta_path.read_text())
    assert meta["format_version"] == 1
    if version is None:
        del meta["format_version"]
    else:
        meta["format_version"] = version
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(ValueError) as info:
        Model.load(path)
    message = str(info.value)
    assert str(meta_path) in message
    assert f"format_version {version!r} is not supported" in message
    assert "reads format_version 1" in message
