"""Dataset schemas read cheaply: the same task and feature count as loading the data, from
headers, metadata and the target column only (``full_limit=0`` forces the cheap path)."""

from __future__ import annotations

import h5py
import numpy as np
import pandas as pd
import pytest

from nnexp.config import DatasetSpec
from nnexp.data import DATASETS, SchemaError, load_builtin, load_file, read_schema, split


def spec(path, target=None, task=None):
    return DatasetSpec(path=path, target=target, task=task)


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_builtin_shapes_match_the_loaded_data(name):
    dataset = load_builtin(name)
    schema = read_schema(DatasetSpec(name=name))
    assert (schema.n_rows, schema.n_features, schema.task) == \
        (len(dataset.y), dataset.X.shape[1], dataset.task)
    if dataset.classes is not None:
        assert schema.n_classes == len(dataset.classes)


def test_builtin_shape_follows_parameters():
    schema = read_schema(DatasetSpec(name="blobs", params={"n_samples": 90, "n_features": 7,
                                                           "n_classes": 2}))
    assert (schema.task, schema.n_rows, schema.n_features, schema.n_outputs) == \
        ("binary", 90, 7, 1)


def table(n=30):
    rng = np.random.default_rng(0)
    return pd.DataFrame({"x": rng.normal(size=n), "color": rng.choice(["r", "g", "b"], n),
                         "label": rng.choice(["cat", "dog", "owl"], n)})


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
@pytest.mark.parametrize("limit", [0, 2**30])
def test_table_schema_cheap_and_full_agree_with_loading(tmp_path, suffix, limit):
    path = tmp_path / f"t{suffix}"
    frame = table()
    frame.to_csv(path, index=False) if suffix == ".csv" else frame.to_parquet(path)
    schema = read_schema(spec(path, "label"), full_limit=limit)
    dataset = load_file(path, target="label")
    splits = split(dataset, dev_size=0.2, test_size=0.2, seed=0, scale="none")
    assert schema.task == dataset.task == "multiclass"
    assert schema.n_features == splits.X_train.shape[1] == 4
    assert splits.feature_names == ["x", "color_b", "color_g", "color_r"]
    assert [(c["column"], c["features"]) for c in schema.columns] == [("x", 1), ("color", 3)]
    assert schema.n_outputs == schema.n_classes == 3 and schema.n_rows == 30
    assert schema.target == "label" and schema.exact


def test_npz_schema_reads_headers(tmp_path):
    path = tmp_path / "a.npz"
    np.savez(path, X=np.zeros((12, 4, 4)), y=np.arange(12) * 0.5, X_test=np.zeros((3, 4, 4)),
             y_test=np.ones(3) * 0.25)
    schema = read_schema(spec(path), full_limit=0)
    assert (schema.task, schema.n_features, schema.n_rows, schema.n_outputs) == \
        ("regression", 16, 15, 1)


def test_hdf5_schema_reads_shapes(tmp_path):
    path = tmp_path / "train_cats.h5"
    with h5py.File(path, "w") as f:
        f["train_set_x"] = np.zeros((6, 8, 8, 3), dtype=np.uint8)
        f["train_set_y"] = np.array([0, 1] * 3)
    with h5py.File(tmp_path / "test_cats.h5", "w") as f:
        f["test_set_x"] = np.zeros((2, 8, 8, 3), dtype=np.uint8)
        f["test_set_y"] = np.array([0, 1])
    schema = read_schema(spec(path), full_limit=0)
    assert (schema.task, schema.n_features, schema.n_rows) == ("binary", 192, 8)


def test_large_file_counts_categories_on_a_sample(tmp_path, monkeypatch):
    import nnexp.data.schema as schema_module

    monkeypatch.setattr(schema_module, "SAMPLE_ROWS", 5)
    path = tmp_path / "t.csv"
    table().to_csv(path, index=False)
    schema = read_schema(spec(path, "label"), full_limit=0)
    assert not schema.exact and schema.n_rows == 30 and "~" in schema.describe()


def test_missing_target_names_the_field(tmp_path):
    path = tmp_path / "t.csv"
    table().to_csv(path, index=False)
    with pytest.raises(SchemaError) as err:
        read_schema(spec(path, "lable"), full_limit=0)
    assert err.value.field == "target" and "Did you mean 'label'" in str(err.value)
