"""File loaders: CSV/Parquet tables (raw columns with roles; their preparation is fitted when
split), NPZ, the course's HDF5 format, errors."""

from __future__ import annotations

import h5py
import numpy as np
import pandas as pd
import pytest

from nnexp.data import DataError, Dataset, Preparation, TableSettings, load_file, split


@pytest.fixture
def table() -> pd.DataFrame:
    return pd.DataFrame({
        "size": [1.0, 2.5, 3.0, 4.0, 5.5, 6.0],
        "colour": ["red", "blue", "red", "green", "blue", "red"],
        "wet": [True, False, True, True, False, False],
        "label": ["cat", "dog", "cat", "dog", "cat", "dog"],
    })


def _all_train(data: Dataset):
    """Every row in train, unscaled: the preparation is fitted on the whole table."""
    return split(data, dev_size=0.0, test_size=0.0, seed=0, scale="none")


def test_csv_keeps_raw_columns_and_the_split_one_hot_encodes_them(tmp_path, table):
    path = tmp_path / "pets.csv"
    table.to_csv(path, index=False)
    data = load_file(path, target="label")
    assert data.name == "pets" and data.source == str(path)
    assert data.X is None and data.feature_names == []
    pd.testing.assert_frame_equal(data.table.frame.reset_index(drop=True),
                                  pd.read_csv(path).drop(columns="label"), check_dtype=False)
    assert [(c.name, c.role, c.levels) for c in data.table.columns] == \
        [("size", "numeric", 6), ("colour", "categorical", 3), ("wet", "categorical", 2)]
    assert data.table.first_line == 2 and data.table.target == "label"
    assert data.task == "binary" and data.classes.tolist() == ["cat", "dog"]
    assert data.y.tolist() == table["label"].tolist()
    splits = _all_train(data)
    assert splits.feature_names == ["size", "colour_blue", "colour_green", "colour_red",
                                    "wet_False", "wet_True"]
    X = splits.preparation.transform(data.table.frame)  # the rows in file order
    assert X.shape == (6, 6) and X.dtype == np.float64
    np.testing.assert_array_equal(X[:, 0], table["size"])
    np.testing.assert_array_equal(X[1], [2.5, 1, 0, 0, 1, 0])
    assert X[:, 1:4].sum(axis=1).tolist() == [1] * 6
    # the training rows are those rows, shuffled
    np.testing.assert_array_equal(np.unique(splits.X_train, axis=0), np.unique(X, axis=0))


def test_fitted_preparation_reapplies_to_new_rows_and_after_saving(tmp_path, table):
    path = tmp_path / "pets.csv"
    table.to_csv(path, index=False)
    preparation = _all_train(load_file(path, target="label")).preparation
    new = pd.DataFrame({"size": [9.0], "colour": ["green"], "wet": [True], "extra": ["x"]})
    np.testing.assert_array_equal(preparation.transform(new), [[9.0, 0, 1, 0, 0, 1]])
    preparation.save(tmp_path)
    again = Preparation.load(tmp_path)
    assert again.feature_names == preparation.feature_names
    np.testing.assert_array_equal(again.transform(new), [[9.0, 0, 1, 0, 0, 1]])
    # an unseen category counts as infrequent by default (no level set) ...
    np.testing.assert_array_equal(preparation.transform(new.assign(colour="purple")),
                                  [[9.0, 0, 0, 0, 0, 1]])
    # ... and is refused, naming it, with unseen_categories: error
    strict = _all_train(load_file(path, target="label",
                                  settings=TableSettings(unseen_categories="error")))
    with pytest.raises(DataError, match="'colour'.*'purple'"):
        strict.preparation.transform(new.assign(colour="purple"))
    with pytest.raises(DataError, match="lacks the column\\(s\\) 'wet'"):
        preparation.transform(new.drop(columns="wet"))


def test_parquet_with_category_dtype_and_numeric_target(tmp_path, table):
    path = tmp_path / "pets.parquet"
    table.assign(colour=table["colour"].astype("category"),
                 label=[0, 1, 2, 0, 1, 2]).to_parquet(path)
    data = load_file(path, target="label")
    colour = next(c for c in data.table.columns if c.name == "colour")
    assert (colour.role, colour.levels) == ("categorical", 3)
    assert data.table.first_line is None  # Parquet rows have no file line
    assert [n for n in _all_train(data).feature_names if n.startswith("colour")] == \
        ["colour_blue", "colour_green", "colour_red"]
    assert data.task == "multiclass" and data.classes.tolist() == [0, 1, 2]
    assert data.y.dtype.kind == "i"


def test_real_valued_target_is_regression_and_task_can_be_forced(tmp_path):
    path = tmp_path / "r.csv"
    pd.DataFrame({"x": [1, 2, 3, 4], "price": [1.5, 2.25, 3.0, 9.75]}).to_csv(path, index=False)
    data = load_file(path, target="price")
    assert data.task == "regression" and data.classes is None
    assert data.y.dtype == np.float64
    whole = tmp_path / "w.csv"
    pd.DataFrame({"x": [1, 2, 3, 4], "count": [3, 5, 8, 13]}).to_csv(whole, index=False)
    assert load_file(whole, target="count").task == "multiclass"
    assert load_file(whole, target="count", task="regression").task == "regression"


def test_npz_without_test_split(tmp_path):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(20, 3)).astype(np.float32), np.arange(20) % 2
    np.savez(tmp_path / "d.npz", X=X, y=y)
    data = load_file(tmp_path / "d.npz")
    np.testing.assert_array_equal(data.X, X.astype(np.float64))
    assert data.X.dtype == np.float64 and data.task == "binary"
    assert data.X_test is None and data.y_test is None


def test_npz_with_test_split_and_image_arrays(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(10, 2, 3))
    y = np.array([0.0, 1.0] * 5)  # whole floats are labels
    np.savez(tmp_path / "d.npz", X=X, y=y, X_test=X[:4], y_test=y[:4])
    data = load_file(tmp_path / "d.npz", target="ignored")
    assert data.X.shape == (10, 6) and data.X_test.shape == (4, 6)
    np.testing.assert_array_equal(data.X_test, X[:4].reshape(4, 6))
    assert data.y.dtype == np.int64 and data.y_test.tolist() == [0, 1, 0, 1]


def _course_arrays(m: int, m_test: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    return {
        "train_set_x": rng.integers(0, 256, size=(m, 64, 64, 3), dtype=np.uint8),
        "train_set_y": np.array([0, 1] * (m // 2), dtype=np.int64),
        "test_set_x": rng.integers(0, 256, size=(m_test, 64, 64, 3), dtype=np.uint8),
        "test_set_y": np.array([1, 0] * (m_test // 2), dtype=np.int64),
        "list_classes": np.array([b"non-cat", b"cat"]),
    }


def _write_h5(path, arrays: dict[str, np.ndarray]) -> None:
    with h5py.File(path, "w") as f:
        for key, value in arrays.items():
            f.create_dataset(key, data=value)


def _check_course_dataset(data: Dataset, arrays: dict[str, np.ndarray]) -> None:
    assert data.X.shape == (6, 64 * 64 * 3) and data.X_test.shape == (4, 64 * 64 * 3)
    assert 0.0 <= data.X.min() and data.X.max() <= 1.0
    np.testing.assert_allclose(data.X[2], arrays["train_set_x"][2].reshape(-1) / 255)
    np.testing.assert_allclose(data.X_test, arrays["test_set_x"].reshape(4, -1) / 255)
    # list_classes names the labels: y == i becomes list_classes[i], decoded to str
    names = np.array(["non-cat", "cat"])
    np.testing.assert_array_equal(data.y_test, names[arrays["test_set_y"]])
    np.testing.assert_array_equal(data.y, names[arrays["train_set_y"]])
    assert data.task == "binary" and data.classes.tolist() == ["cat", "non-cat"]


def test_hdf5_course_two_files(tmp_path):
    arrays = _course_arrays(6, 4)
    train = {k: arrays[k] for k in ("train_set_x", "train_set_y", "list_classes")}
    test = {k: arrays[k] for k in ("test_set_x", "test_set_y", "list_classes")}
    _write_h5(tmp_path / "train_catvnoncat.h5", train)
    _write_h5(tmp_path / "test_catvnoncat.h5", test)
    _check_course_dataset(load_file(tmp_path / "train_catvnoncat.h5"), arrays)


def test_hdf5_course_one_file(tmp_path):
    arrays = _course_arrays(6, 4)
    _write_h5(tmp_path / "cats.hdf5", arrays)
    _check_course_dataset(load_file(tmp_path / "cats.hdf5"), arrays)


def test_hdf5_without_list_classes_keeps_the_numbers(tmp_path):
    arrays = _course_arrays(6, 4)
    del arrays["list_classes"]
    _write_h5(tmp_path / "cats.h5", arrays)
    data = load_file(tmp_path / "cats.h5")
    assert data.classes.tolist() == [0, 1]
    np.testing.assert_array_equal(data.y_test, arrays["test_set_y"])


def test_hdf5_list_classes_that_do_not_name_the_labels(tmp_path):
    arrays = _course_arrays(6, 4)
    arrays["list_classes"] = np.array([b"cat"])
    _write_h5(tmp_path / "cats.h5", arrays)
    with pytest.raises(DataError, match="list_classes.*does not name the labels"):
        load_file(tmp_path / "cats.h5")


# ---- errors -------------------------------------------------------------------------------


def test_missing_file_names_the_path(tmp_path):
    with pytest.raises(DataError) as err:
        load_file(tmp_path / "nope.csv", target="y")
    assert "nope.csv" in str(err.value) and "must name an existing file" in str(err.value)


def test_unreadable_file_names_the_path(tmp_path):
    path = tmp_path / "broken.parquet"
    path.write_text("not parquet")
    with pytest.raises(DataError, match="broken.parquet.*could not be read as Parquet"):
        load_file(path, target="y")


def test_unknown_suffix_lists_supported(tmp_path):
    path = tmp_path / "data.xlsx"
    path.write_text("x")
    with pytest.raises(DataError) as err:
        load_file(path)
    assert "'.xlsx'" in str(err.value)
    assert all(s in str(err.value) for s in (".csv", ".parquet", ".npz", ".h5"))


def test_target_required_and_must_exist(tmp_path, table):
    path = tmp_path / "pets.csv"
    table.to_csv(path, index=False)
    with pytest.raises(DataError, match="needs `target`.*'size', 'colour', 'wet', 'label'"):
        load_file(path)
    with pytest.raises(DataError) as err:
        load_file(path, target="lable")
    assert "'lable'" in str(err.value) and "Did you mean 'label'" in str(err.value)
    assert "'size', 'colour', 'wet', 'label'" in str(err.value)


MISSING_ERROR = TableSettings(missing="error")


def test_csv_nan_is_imputed_with_the_training_median_and_an_indicator(tmp_path):
    path = tmp_path / "gaps.csv"
    path.write_text("a,b,y\n1,2,0\n3,,1\n4,,0\n5,6,1\n")
    data = load_file(path, target="y")
    b = data.table.columns[1]
    assert (b.name, b.role, b.missing) == ("b", "numeric", 2)
    splits = _all_train(data)
    assert splits.feature_names == ["a", "b", "b_missing"]
    X = splits.preparation.transform(data.table.frame)
    np.testing.assert_array_equal(X[:, 1], [2, np.median([2, 6]), np.median([2, 6]), 6])
    np.testing.assert_array_equal(X[:, 2], [0, 1, 1, 0])
    (row,) = [r for r in splits.preparation.report() if r["column"] == "b"]
    assert (row["missing"], row["features"]) == (2, 2) and "median" in row["encoding"]


def test_csv_nan_with_missing_error_names_column_and_file_lines(tmp_path):
    path = tmp_path / "gaps.csv"
    path.write_text("a,b,y\n1,2,0\n3,,1\n4,,0\n5,6,1\n")
    with pytest.raises(DataError) as err:
        load_file(path, target="y", settings=MISSING_ERROR)
    message = str(err.value)
    assert "'b'" in message and "2 rows" in message and "lines 3, 4 of the file" in message
    assert err.value.field == "missing"


def test_csv_inf_and_missing_category_are_missing_values(tmp_path):
    path = tmp_path / "inf.csv"
    path.write_text("a,y\n1,0\ninf,1\n2,0\n3,1\n")
    data = load_file(path, target="y")
    assert (data.table.columns[0].role, data.table.columns[0].missing) == ("numeric", 1)
    X = _all_train(data).preparation.transform(data.table.frame)
    np.testing.assert_array_equal(X, [[1, 0], [2, 1], [2, 0], [3, 0]])  # median of 1, 2, 3
    with pytest.raises(DataError, match="'a' is missing in 1 row .*line.* 3 of the file"):
        load_file(path, target="y", settings=MISSING_ERROR)
    path = tmp_path / "cat.csv"
    path.write_text("c,y\nred,0\n,1\nblue,1\n")
    data = load_file(path, target="y")
    splits = _all_train(data)
    assert splits.feature_names == ["c_blue", "c_missing", "c_red"]  # missing as a level
    np.testing.assert_array_equal(splits.preparation.transform(data.table.frame),
                                  [[0, 0, 1], [0, 1, 0], [1, 0, 0]])
    with pytest.raises(DataError, match="'c' is missing in 1 row .*line.* 3 of the file"):
        load_file(path, target="y", settings=MISSING_ERROR)


def test_csv_numeric_column_with_a_stray_string(tmp_path):
    # a few strings among many numbers are placeholders, read as missing
    path = tmp_path / "mostly.csv"
    values = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3]
    path.write_text("a,y\n" + "".join(f"{v},{i % 2}\n" for i, v in enumerate(values))
                    + "three,0\n")
    data = load_file(path, target="y")
    a = data.table.columns[0]
    assert (a.role, a.missing, a.placeholders) == ("numeric", 1, ("three",))
    preparation = _all_train(data).preparation
    X = preparation.transform(data.table.frame)
    np.testing.assert_array_equal(X[-1], [np.median(values), 1])
    with pytest.raises(DataError, match="'a' needs numbers.*line.* 3 of the file.*'four'"):
        preparation.transform(pd.DataFrame({"a": ["7", "four"]}), "'new.csv'", 2)
    # in a short column one string in four is no placeholder: set as numeric, it is refused
    path = tmp_path / "typo.csv"
    path.write_text("a,y\n1,0\n2,1\nthree,0\n4,1\n")
    assert load_file(path, target="y").table.columns[0].role == "categorical"
    with pytest.raises(DataError, match="'a' to numeric.*'three'.*line.* 4 of the file"):
        load_file(path, target="y", settings=TableSettings(columns={"a": "numeric"}))


def test_nan_in_arrays_names_the_feature(tmp_path):
    X = np.ones((5, 3))
    X[[1, 3], 2] = np.nan
    np.savez(tmp_path / "d.npz", X=X, y=np.array([0, 1, 0, 1, 0]))
    with pytest.raises(DataError, match="feature 2 .*NaN or inf in 2 rows.*row 1"):
        load_file(tmp_path / "d.npz")


def test_single_class_is_an_error(tmp_path):
    np.savez(tmp_path / "d.npz", X=np.ones((4, 2)), y=np.zeros(4, dtype=int))
    with pytest.raises(DataError, match="single class.*at least two"):
        load_file(tmp_path / "d.npz")


def test_npz_missing_arrays_lists_what_is_there(tmp_path):
    np.savez(tmp_path / "d.npz", features=np.ones((4, 2)), y=np.arange(4))
    with pytest.raises(DataError, match="lacks the array\\(s\\) X.*It has: features, y"):
        load_file(tmp_path / "d.npz")
    np.savez(tmp_path / "e.npz", X=np.ones((4, 2)), y=np.arange(4) % 2, X_test=np.ones((2, 2)))
    with pytest.raises(DataError, match="y_test"):
        load_file(tmp_path / "e.npz")


def test_hdf5_missing_key_lists_keys(tmp_path):
    arrays = _course_arrays(6, 4)
    del arrays["train_set_y"]
    _write_h5(tmp_path / "cats.h5", arrays)
    with pytest.raises(DataError) as err:
        load_file(tmp_path / "cats.h5")
    assert "train_set_y" in str(err.value) and "list_classes, test_set_x" in str(err.value)


def test_hdf5_train_file_without_its_test_file(tmp_path):
    arrays = _course_arrays(6, 4)
    _write_h5(tmp_path / "train_cats.h5", {k: arrays[k] for k in ("train_set_x", "train_set_y")})
    with pytest.raises(DataError, match="test_cats.h5"):
        load_file(tmp_path / "train_cats.h5")
