"""Splits (sizes, stratification, given test sets), scaling fitted on train, fingerprints,
and ``prepare``."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from nnexp.data import DataError, Dataset, fingerprint, load_builtin, prepare, split


def _imbalanced(m0: int = 150, m1: int = 50, m2: int = 100) -> Dataset:
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], [m0, m1, m2])
    X = rng.normal(loc=3.0, scale=2.0, size=(len(y), 4)) + y[:, None]
    return Dataset(name="toy", X=X, y=y, task="multiclass", feature_names=list("abcd"))


def test_split_sizes_and_disjoint_parts():
    data = _imbalanced()
    s = split(data, dev_size=0.2, test_size=0.1, seed=0, scale="none")
    assert (len(s.y_train), len(s.y_dev), len(s.y_test)) == (210, 60, 30)
    assert s.X_train.shape == (210, 4) and s.X_dev.shape == (60, 4) and s.X_test.shape == (30, 4)
    rows = np.concatenate([s.X_train, s.X_dev, s.X_test])
    # every example lands in exactly one part, with its own label
    assert len(np.unique(rows, axis=0)) == 300
    order = np.lexsort(rows.T)
    np.testing.assert_array_equal(rows[order], data.X[np.lexsort(data.X.T)])
    labels = np.concatenate([s.y_train, s.y_dev, s.y_test])
    assert np.bincount(labels).tolist() == [150, 50, 100]


def test_stratification_preserves_class_proportions():
    s = split(_imbalanced(), dev_size=0.2, test_size=0.2, seed=1, scale="none")
    for y in (s.y_train, s.y_dev, s.y_test):
        np.testing.assert_allclose(np.bincount(y) / len(y), [0.5, 1 / 6, 1 / 3], atol=0.02)


def test_unstratified_split_differs_and_seed_matters():
    data = _imbalanced()
    a = split(data, dev_size=0.2, test_size=0.2, seed=1, scale="none", stratify=False)
    b = split(data, dev_size=0.2, test_size=0.2, seed=1, scale="none", stratify=False)
    c = split(data, dev_size=0.2, test_size=0.2, seed=2, scale="none", stratify=False)
    np.testing.assert_array_equal(a.X_dev, b.X_dev)
    assert not np.array_equal(a.X_dev, c.X_dev)
    assert len(a.y_dev) == 60


def test_zero_fractions_give_empty_parts():
    s = split(_imbalanced(), dev_size=0.0, test_size=0.0, seed=0, scale="standard")
    assert s.X_train.shape == (300, 4)
    assert s.X_dev.shape == (0, 4) and s.X_test.shape == (0, 4)
    assert s.y_dev.shape == (0,) and s.y_test.shape == (0,)


def test_standard_scaler_fit_on_train_only():
    s = split(_imbalanced(), dev_size=0.2, test_size=0.2, seed=0, scale="standard")
    np.testing.assert_allclose(s.X_train.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(s.X_train.std(axis=0), 1, atol=1e-12)
    assert np.abs(s.X_dev.mean(axis=0)).max() > 1e-3  # dev is transformed, not refitted
    raw = split(_imbalanced(), dev_size=0.2, test_size=0.2, seed=0, scale="none")
    np.testing.assert_allclose(s.scaler.shift, raw.X_train.mean(axis=0))
    np.testing.assert_allclose(s.X_dev, (raw.X_dev - s.scaler.shift) / s.scaler.scale)


def test_minmax_scaler_maps_train_to_unit_interval():
    s = split(_imbalanced(), dev_size=0.2, test_size=0.2, seed=0, scale="minmax")
    np.testing.assert_allclose(s.X_train.min(axis=0), 0)
    np.testing.assert_allclose(s.X_train.max(axis=0), 1)
    assert s.scaler.kind == "minmax"


def test_constant_feature_gets_scale_one():
    data = Dataset(name="c", X=np.c_[np.arange(10.0), np.full(10, 7.0)], y=np.arange(10) % 2,
                   task="binary", feature_names=["x", "const"])
    for kind in ("standard", "minmax"):
        s = split(data, dev_size=0, test_size=0, seed=0, scale=kind)
        assert s.scaler.scale[1] == 1.0
        np.testing.assert_array_equal(s.X_train[:, 1], 0.0)


def test_scaler_rejects_another_feature_count():
    s = split(_imbalanced(), dev_size=0.2, test_size=0.2, seed=0, scale="standard")
    assert s.scaler.kind == "standard"
    with pytest.raises(DataError, match="fitted on 4 features"):
        s.scaler.transform(np.ones((2, 3)))


def test_given_test_split_is_used_as_is():
    rng = np.random.default_rng(0)
    X, X_test = rng.normal(size=(50, 3)), rng.normal(size=(7, 3))
    data = Dataset(name="g", X=X, y=np.arange(50) % 2, task="binary", feature_names=list("abc"),
                   X_test=X_test, y_test=np.array([1, 0, 1, 0, 1, 0, 1]))
    s = split(data, dev_size=0.2, test_size=0.9, seed=0, scale="minmax")
    assert (len(s.y_train), len(s.y_dev), len(s.y_test)) == (40, 10, 7)
    np.testing.assert_array_equal(s.y_test, data.y_test)
    np.testing.assert_allclose(s.X_test, s.scaler.transform(X_test))


def test_regression_splits_without_stratification():
    s = split(load_builtin("regression", n_samples=100), dev_size=0.25, test_size=0.25, seed=0,
              scale="standard")
    assert (len(s.y_train), len(s.y_dev), len(s.y_test)) == (50, 25, 25)
    assert s.classes is None and s.y_train.dtype == np.float64


def test_fractions_leaving_no_training_data():
    with pytest.raises(DataError, match="dev_size=0.5 and test_size=0.5 leave no training"):
        split(_imbalanced(), dev_size=0.5, test_size=0.5, seed=0, scale="none")
    with pytest.raises(DataError, match="test_size=1.2 must be a fraction"):
        split(_imbalanced(), dev_size=0.0, test_size=1.2, seed=0, scale="none")


def test_class_too_small_to_stratify():
    data = Dataset(name="t", X=np.arange(12.0).reshape(6, 2), y=np.array([0, 0, 0, 1, 1, 2]),
                   task="multiclass", feature_names=["a", "b"])
    with pytest.raises(DataError, match="Class 2 has only 1 example.*stratify: false"):
        split(data, dev_size=0.3, test_size=0.0, seed=0, scale="none")
    s = split(data, dev_size=0.3, test_size=0.0, seed=0, scale="none", stratify=False)
    assert len(s.y_dev) == 2
    tight = Dataset(name="t", X=np.arange(8.0).reshape(4, 2), y=np.array([0, 0, 1, 1]),
                    task="binary", feature_names=["a", "b"])
    with pytest.raises(DataError, match="fewer training examples than the 2 classes"):
        split(tight, dev_size=0.5, test_size=0.25, seed=0, scale="none")


def test_unknown_scale():
    with pytest.raises(DataError, match="scale='zscore'.*standard, minmax, none"):
        split(_imbalanced(), dev_size=0.2, test_size=0.2, seed=0, scale="zscore")


def test_fingerprint_stable_and_sensitive():
    data = _imbalanced()
    base = fingerprint(data.X, data.y)
    assert base == fingerprint(data.X.copy(), data.y.copy())
    assert len(base) == 16 and int(base, 16) >= 0
    changed = data.X.copy()
    changed[17, 2] += 1e-9
    assert fingerprint(changed, data.y) != base
    # dtype and shape are hashed, not only the bytes
    assert fingerprint(data.y.astype(np.int32)) != fingerprint(data.y.astype(np.int64))
    assert fingerprint(data.X.reshape(-1, 2)) != fingerprint(data.X)
    assert fingerprint(data.X, None) != fingerprint(data.X)
    a = split(data, dev_size=0.2, test_size=0.2, seed=0, scale="none")
    b = split(data, dev_size=0.1, test_size=0.3, seed=5, scale="minmax")
    assert a.fingerprint == b.fingerprint == fingerprint(data.X, data.y, None, None)


def _spec(**fields):
    defaults = dict(name=None, path=None, target=None, params={}, dev_size=0.2, test_size=0.2,
                    seed=0, scale="standard", stratify=True)
    return SimpleNamespace(**{**defaults, **fields})


def test_prepare_builtin_with_params():
    s = prepare(_spec(name="moons", params={"n_samples": 100, "noise": 0.1}))
    assert (len(s.y_train), len(s.y_dev), len(s.y_test)) == (60, 20, 20)
    assert s.name == "moons" and s.task == "binary" and s.source == "builtin"
    assert s.classes.tolist() == [0, 1] and s.feature_names == ["x0", "x1"]


def test_prepare_file(tmp_path: Path):
    path = tmp_path / "t.csv"
    path.write_text("a,c,y\n" + "".join(f"{i},{'pq'[i % 2]},{i % 2}\n" for i in range(20)))
    s = prepare(_spec(path=path, target="y", scale="minmax"))
    assert s.source == str(path) and s.preparation is not None
    # a is 0, 1, ..., 19: a row number, dropped; c is one-hot encoded on the training rows
    assert s.feature_names == ["c_p", "c_q"] and s.X_train.shape == (12, 2)
    assert [(r["column"], r["role"], r["features"]) for r in s.preparation.report()] == \
        [("a", "id", 0), ("c", "categorical (2 levels)", 2)]
    assert list(s.example.columns) == ["c"] and len(s.example) == 4  # raw dev rows
    kept = prepare(_spec(path=path, target="y", scale="minmax", columns={"a": "numeric"}))
    assert kept.feature_names == ["a", "c_p", "c_q"] and kept.X_train.shape == (12, 3)
    # minmax fitted on the training rows only
    assert kept.X_train.min(axis=0).tolist() == [0, 0, 0]
    assert kept.X_train.max(axis=0).tolist() == [1, 1, 1]


def test_prepare_needs_exactly_one_source(tmp_path: Path):
    with pytest.raises(DataError, match="exactly one of `name`.*or `path`"):
        prepare(_spec())
    with pytest.raises(DataError, match="exactly one"):
        prepare(_spec(name="iris", path=tmp_path / "x.csv"))
    np.savez(tmp_path / "d.npz", X=np.ones((4, 2)), y=np.arange(4) % 2)
    with pytest.raises(DataError, match="`params` \\(seed\\) apply to built-in"):
        prepare(_spec(path=tmp_path / "d.npz", params={"seed": 1}))
