"""A table as it comes (issue 16), unit by unit: every column's role, how each role is
encoded, missing values, every problem reported at once with the file's line numbers and at
most 10 values, a preparation fitted on the training rows only, raw rows at predict time
(unseen categories and dates, integers where floats were seen, an extra column), the score
when a date or a category carries the signal, and the fingerprint's meaning."""

from __future__ import annotations

import pickle
import re

import numpy as np
import pandas as pd
import pytest

from nnexp.core import TrainConfig, train
from nnexp.data import (
    DataError,
    Preparation,
    TableError,
    TableSettings,
    load_file,
    load_table,
    split,
)
from nnexp.data.preparation import report_lines

WHERE = "'t.csv'"


def _load(frame: pd.DataFrame, target: str = "y", first_line: int | None = 2, **settings):
    return load_table(frame, target, None, TableSettings(**settings), WHERE, first_line)


def _split(data, dev: float = 0.2, test: float = 0.2, scale: str = "none"):
    return split(data, dev_size=dev, test_size=test, seed=0, scale=scale)


def _roles(data) -> dict[str, str]:
    return {c.name: c.role for c in data.table.columns}


def _column(data, name: str):
    return next(c for c in data.table.columns if c.name == name)


def _block(splits, column: str) -> np.ndarray:
    """The indices of the features ``column`` yields (its block of X)."""
    start = 0
    for c in splits.preparation.columns:
        width = splits.preparation.widths.get(c.name, 0)
        if c.name == column:
            return np.arange(start, start + width)
        start += width
    raise KeyError(column)


def _messy(n: int = 400, seed: int = 0) -> pd.DataFrame:
    """A table with one column of every trait the issue names."""
    rng = np.random.default_rng(seed)
    days = pd.Timestamp("2019-01-01") + pd.to_timedelta(rng.integers(0, 3 * 365, n), unit="D")
    stamps = days + pd.to_timedelta(rng.integers(0, 24, n), unit="h")
    iso = pd.Series(days.strftime("%Y-%m-%d"))
    iso[[3, 50]] = ["?", "unknown"]  # placeholders for a missing date
    x = rng.normal(size=n)
    x[[4, 9, 14, 19, 24, 29]] = np.nan
    color = rng.choice(["red", "green", "blue"], n).astype(object)
    color[[6, 7]] = None
    qty = [str(v) for v in rng.integers(0, 50, n)]
    qty[10] = qty[20] = "?"
    words = ["good", "bad", "ok", "great", "meh", "fine", "nice", "dry", "wet"]
    return pd.DataFrame({
        "row": np.arange(1, n + 1),
        "name": [f"user-{i:05d}" for i in rng.permutation(n)],
        "iso": iso,
        "slash": days.strftime("%Y/%m/%d"),
        "stamp": stamps.strftime("%d.%m.%Y %H:%M"),
        "when": days,
        "x": x,
        "qty": qty,
        "color": color,
        "flag": rng.random(n) < 0.5,
        "comment": [" ".join(rng.choice(words, 8)) for _ in range(n)],
        "code": [f"K{v}" for v in rng.integers(0, 140, n)],
        "const": "same",
        "empty": np.nan,
        "y": rng.choice(["a", "b"], n),
    })


# ---- roles ----------------------------------------------------------------------------------


def test_every_column_gets_the_role_its_values_show():
    data = _load(_messy())
    assert _roles(data) == {
        "row": "id", "name": "id", "iso": "datetime", "slash": "datetime",
        "stamp": "datetime", "when": "datetime", "x": "numeric", "qty": "numeric",
        "color": "categorical", "flag": "categorical", "comment": "text", "code": "text",
        "const": "constant", "empty": "constant"}
    formats = {c.name: c.date_format for c in data.table.columns if c.role == "datetime"}
    assert formats == {"iso": "%Y-%m-%d", "slash": "%Y/%m/%d", "stamp": "%d.%m.%Y %H:%M",
                       "when": None}
    # a date column's placeholders are missing values, said so, not a reason to call it an id
    iso = _column(data, "iso")
    assert iso.placeholders == ("?", "unknown") and iso.missing == 2
    assert iso.note == "2 value(s) '?', 'unknown' read as missing"
    qty = _column(data, "qty")
    assert qty.placeholders == ("?",) and qty.missing == 2 and "'?' read as missing" in qty.note
    assert (_column(data, "x").missing, _column(data, "color").missing) == (6, 2)
    assert _column(data, "color").levels == 3
    # what is dropped says why, and how to keep it
    assert "row number" in _column(data, "row").note
    assert _column(data, "row").hint == "set dataset.columns: {row: numeric} to keep it"
    assert "identifier-like (400 distinct values in 400 rows)" in _column(data, "name").note
    assert "{name: categorical}" in _column(data, "name").hint
    assert not _column(data, "comment").used and "long strings" in _column(data, "comment").note
    assert "dataset.text: encode" in _column(data, "comment").hint
    assert "distinct strings" in _column(data, "code").note
    assert "'same'" in _column(data, "const").note
    assert _column(data, "empty").note == "empty in every row: dropped"


def test_the_column_report_says_how_each_column_is_encoded_and_what_it_yields():
    splits = _split(_load(_messy()))
    rows = {r["column"]: r for r in splits.preparation.report()}
    features = {name: r["features"] for name, r in rows.items()}
    assert features == {"row": 0, "name": 0, "iso": 9, "slash": 8, "stamp": 10, "when": 8,
                        "x": 2, "qty": 2, "color": 4, "flag": 2, "comment": 0, "code": 0,
                        "const": 0, "empty": 0}
    assert sum(features.values()) == len(splits.feature_names) == splits.X_train.shape[1]
    assert rows["color"]["role"] == "categorical (3 levels)"
    assert rows["color"]["encoding"] == "one-hot, 4 levels, missing as a level"
    assert rows["x"]["encoding"] == "as a number, missing: training median + indicator"
    assert "hour" in rows["stamp"]["encoding"] and "hour" not in rows["slash"]["encoding"]
    assert "sin/cos" in rows["slash"]["encoding"]
    assert rows["iso"]["encoding"].endswith("; 2 value(s) '?', 'unknown' read as missing")
    assert (rows["x"]["missing"], rows["iso"]["missing"], rows["slash"]["missing"]) == (6, 2, 0)
    lines = report_lines(splits.preparation.report())
    assert lines[0].split() == ["COLUMN", "ROLE", "MISSING", "ENCODING", "FEATURES"]
    assert f"{sum(features.values())} features from 8 of 14 columns" in lines
    warned = [line.split("'")[1] for line in lines if line.startswith("warning:")]
    assert warned == ["row", "name", "comment", "code"]
    # dates become a few numbers, never one column per date (the weather table)
    names = splits.feature_names
    assert sum(n.startswith("slash") for n in names) == 8
    assert {"slash_year", "slash_day_of_year"} <= set(names)


def test_a_daily_table_of_four_years_has_eight_date_features_not_1461():
    days = pd.date_range("2012-01-01", "2015-12-31", freq="D")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"date": days.strftime("%Y-%m-%d"), "rain": rng.random(len(days)),
                          "y": rng.choice(["sun", "rain"], len(days))})
    splits = _split(_load(frame))
    assert len(days) == 1461 and splits.X_train.shape[1] == 9


def test_the_users_roles_and_drops_win_over_inference():
    frame = _messy()
    data = _load(frame, drop=("color",), columns={"row": "numeric", "comment": "text",
                                                  "code": "categorical", "x": "drop"})
    columns = {c.name: c for c in data.table.columns}
    assert (columns["row"].role, columns["row"].source) == ("numeric", "dataset.columns")
    assert (columns["color"].role, columns["color"].source) == ("drop", "dataset.drop")
    assert (columns["x"].role, columns["x"].source) == ("drop", "dataset.columns")
    assert columns["comment"].role == "text" and columns["comment"].used
    splits = _split(data)
    rows = {r["column"]: r for r in splits.preparation.report()}
    assert rows["row"]["features"] == 1 and rows["row"]["role"] == "numeric (set)"
    assert rows["color"]["features"] == rows["x"]["features"] == 0
    assert rows["comment"]["features"] == 30 and "components" in rows["comment"]["encoding"]
    # a high-cardinality categorical is capped at max_categories columns (20 by default)
    assert rows["code"]["features"] == 20 and "'infrequent'" in rows["code"]["encoding"]
    # text: encode keeps every inferred free-text column
    encoded = _split(_load(frame, text="encode"))
    rows = {r["column"]: r for r in encoded.preparation.report()}
    assert rows["comment"]["features"] == 30 and rows["code"]["features"] == 30


def test_rare_categories_share_one_column_under_max_categories():
    rng = np.random.default_rng(1)
    levels = [f"l{i:02d}" for i in range(30)]
    weights = np.r_[np.full(4, 0.2), np.full(26, 0.2 / 26)]
    frame = pd.DataFrame({"kind": rng.choice(levels, 600, p=weights),
                          "y": rng.choice([0, 1], 600)})
    splits = _split(_load(frame, max_categories=5))
    row = splits.preparation.report()[0]
    assert row["features"] == 5
    assert row["encoding"].startswith("one-hot, 4 levels + 'infrequent' (26 rarer levels")
    assert splits.X_train[:, -1].sum() > 0  # the shared column holds the rare rows


def test_a_setting_that_is_not_a_role_and_a_column_that_does_not_exist_are_named():
    with pytest.raises(TableError) as err:
        _load(_messy(), drop=("colour",), columns={"x": "number"})
    fields = [field for field, _ in err.value.problems]
    assert fields == ["drop", "columns"]
    assert "dataset.drop names the column 'colour'" in str(err.value)
    assert "did you mean 'color'" in str(err.value)
    assert "'number' is not a role" in str(err.value)


def test_nothing_left_to_learn_from_is_one_clear_problem():
    frame = pd.DataFrame({"id": np.arange(1, 41), "same": "x", "y": [0, 1] * 20})
    with pytest.raises(TableError, match="no column is left to learn from") as err:
        _load(frame)
    assert "'id': dropped: a row number" in str(err.value) and "dataset.columns" in str(
        err.value)


# ---- missing values -------------------------------------------------------------------------


def test_missing_values_are_imputed_and_a_missing_target_drops_its_rows():
    frame = _messy()
    frame.loc[[0, 5, 11], "y"] = None
    data = _load(frame)
    assert data.table.dropped_rows == 3 and data.m == len(frame) - 3
    assert 0 not in data.table.frame.index  # rows keep their file position
    splits = _split(data)
    assert splits.dropped_rows == 3
    assert np.isfinite(splits.X_train).all() and np.isfinite(splits.X_dev).all()
    assert len(splits.y_train) + len(splits.y_dev) + len(splits.y_test) == len(frame) - 3


def test_missing_error_refuses_them_with_the_files_line_numbers(tmp_path):
    frame = _messy()
    frame.loc[2, "y"] = None  # left out: the lines below still count the file's lines
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(TableError) as err:
        load_file(path, target="y", settings=TableSettings(missing="error"))
    text = str(err.value)
    assert text.startswith("4 problems: (1) ")
    assert "column 'iso' is missing in 2 rows (lines 5, 52 of the file)" in text
    assert "column 'x' is missing in 6 rows (lines 6, 11, 16, 21, 26, 31 of the file)" in text
    assert "column 'qty' is missing in 2 rows (lines 12, 22 of the file)" in text
    assert "column 'color' is missing in 2 rows (lines 8, 9 of the file)" in text
    assert "remove `missing: error`" in text
    # the same table as Parquet has no lines: its rows are counted from 0
    frame.to_parquet(tmp_path / "t.parquet", index=False)
    parquet = r"column 'x' is missing in 6 rows \(rows 4, 9, 14, 19, 24, 29\)"
    with pytest.raises(TableError, match=parquet):
        load_file(tmp_path / "t.parquet", target="y", settings=TableSettings(missing="error"))


def test_every_problem_of_a_table_in_one_message_each_with_its_fix():
    frame = _messy()
    frame["y"] = "a"  # one class
    with pytest.raises(TableError) as err:
        _load(frame, missing="error", drop=("colr",), columns={"comment": "numeric"})
    problems = err.value.problems
    assert [field for field, _ in problems] == ["drop", "missing", "missing", "missing",
                                                "missing", "columns", "target"]
    text = str(err.value)
    assert text.startswith(f"{len(problems)} problems: (1) ") and f"({len(problems)}) " in text
    assert "sets 'comment' to numeric, but 400 rows hold other values" in text
    assert "Fix those values or choose another role" in text
    assert "has a single class ('a')" in text
    assert err.value.field == "drop"


# ---- value lists ----------------------------------------------------------------------------


def _quoted(text: str) -> list[str]:
    return re.findall(r"'([^']*)'", text)


def test_messages_list_at_most_ten_values_then_how_many_more():
    frame = pd.DataFrame({"x": np.r_[np.full(35, np.nan), np.arange(85.0)],
                          "c": [f"v{i:02d}" for i in range(30)] * 4, "y": [0, 1] * 60})
    with pytest.raises(TableError) as err:
        _load(frame, missing="error")
    text = str(err.value)
    assert "missing in 35 rows (lines 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 and 25 more of the file)" \
        in text
    splits = _split(_load(frame, unseen_categories="error"), dev=0.0, test=0.0)
    rows = pd.DataFrame({"x": [f"bad{i:02d}" for i in range(25)],
                         "c": [f"new{i:02d}" for i in range(25)]})
    with pytest.raises(DataError) as err:
        splits.preparation.transform(rows, "'rows.csv'", 2)
    text = str(err.value)
    assert "'bad00', 'bad01'" in text and "'bad09' and 15 more" in text
    assert "'bad10'" not in text and "lines 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 and 15 more" in text
    rows["x"] = 1.5
    with pytest.raises(DataError) as err:
        splits.preparation.transform(rows, "'rows.csv'", 2)
    text = str(err.value)
    assert "'new09' and 15 more" in text and "'new10'" not in text
    # the known categories are capped as well: 30 known, 10 shown
    known = text.split("known: ")[1]
    assert len(_quoted(known)) == 10 and "and 20 more" in known


# ---- fitted on the training rows only -------------------------------------------------------


def test_the_preparation_learns_medians_and_categories_from_the_rows_it_is_fitted_on():
    frame = pd.DataFrame({"x": np.r_[np.linspace(0, 1, 50), np.linspace(100, 101, 50)],
                          "c": ["p", "q"] * 25 + ["late"] * 50, "y": [0, 1] * 50})
    frame.loc[[10, 60], "x"] = np.nan
    data = _load(frame)
    early = Preparation.fit(data.table.columns, data.table.settings, data.table.frame.iloc[:50])
    assert early.feature_names == ["x", "x_missing", "c_p", "c_q"]
    X = early.transform(pd.DataFrame({"x": [np.nan], "c": ["late"]}))
    first = frame["x"].iloc[:50]
    assert X[0, 0] == pytest.approx(first.median()) and X[0, 0] < 1  # not the file's ~50
    assert X[0, 1] == 1.0 and X[0, 2:].tolist() == [0.0, 0.0]  # 'late': an unseen level


def test_the_split_fits_the_preparation_on_its_training_rows_only():
    rng = np.random.default_rng(3)
    n = 200
    x = rng.exponential(10, n)
    x[rng.choice(n, 20, replace=False)] = np.nan
    kind = rng.choice(["a", "b"], n).astype(object)
    kind[:12] = [f"once{i}" for i in range(12)]  # levels seen in one row each
    frame = pd.DataFrame({"x": x, "kind": kind, "y": rng.choice([0, 1], n)})
    splits = _split(_load(frame, max_categories=50))
    X_train = splits.X_train
    indicator = X_train[:, 1] == 1
    train_median = np.median(X_train[~indicator, 0])
    assert np.all(X_train[indicator, 0] == train_median)  # missing: the training median
    assert train_median != pytest.approx(np.nanmedian(x))  # not the whole file's
    onehot = X_train[:, _block(splits, "kind")]
    assert (onehot.sum(axis=0) > 0).all()  # every level has a training row
    assert onehot.shape[1] < 14  # levels met only in dev or test rows have no column


# ---- raw rows at predict time ---------------------------------------------------------------


@pytest.fixture(scope="module")
def fitted():
    """A preparation fitted on dates of 2019-2021, a number, a category and a bool."""
    rng = np.random.default_rng(5)
    n = 150
    days = pd.Timestamp("2019-01-01") + pd.to_timedelta(rng.integers(0, 3 * 365, n), unit="D")
    x = rng.normal(10, 2, n)
    x[[3, 8]] = np.nan
    frame = pd.DataFrame({"day": days.strftime("%Y/%m/%d"), "x": x,
                          "color": rng.choice(["red", "green", "blue"], n),
                          "flag": rng.random(n) < 0.5, "y": rng.choice(["a", "b"], n)})
    return frame, _split(_load(frame))


def test_a_date_after_the_training_period_a_missing_value_and_an_unseen_category_predict(
        fitted):
    frame, splits = fitted
    prep = splits.preparation
    rows = pd.DataFrame({"day": ["2031-07-15", None, "2020-02-29T10:00:00"],
                         "x": [11.0, np.nan, 9.5], "color": ["purple", None, "red"],
                         "flag": [True, False, None]})
    X = prep.transform(rows, "'rows.csv'", 2)
    assert X.shape == (3, len(prep.feature_names)) and np.isfinite(X).all()
    names = prep.feature_names
    year, doy = names.index("day_year"), names.index("day_day_of_year")
    assert (X[0, year], X[0, doy]) == (2031, 196)  # extrapolated, not refused
    assert (X[2, year], X[2, doy]) == (2020, 60)  # an ISO spelling of another format
    train_days = pd.to_datetime(frame["day"], format="%Y/%m/%d")
    assert train_days.dt.year.min() <= X[1, year] <= train_days.dt.year.max()
    color = [names.index(f"color_{c}") for c in ("blue", "green", "red")]
    assert X[0, color].tolist() == [0, 0, 0]  # unseen: no known level
    assert X[2, color].tolist() == [0, 0, 1]
    assert X[1, names.index("x_missing")] == 1 and X[0, names.index("x_missing")] == 0


def test_integers_where_floats_were_seen_and_an_extra_column_change_nothing(fitted):
    frame, splits = fitted
    prep = splits.preparation
    raw = frame.drop(columns="y").iloc[20:30].reset_index(drop=True)
    raw["x"] = raw["x"].round()
    as_int = raw.assign(x=raw["x"].astype("int64"), extra=np.arange(10), note="ignored")
    assert as_int["x"].dtype == np.int64
    np.testing.assert_array_equal(prep.transform(as_int), prep.transform(raw))
    # numbers in strings (a JSON request) read as the numbers
    np.testing.assert_array_equal(prep.transform(raw.assign(x=raw["x"].astype(str))),
                                  prep.transform(raw))
    # the same table split again: the same matrix (deterministic)
    train_like = _split(_load(frame), dev=0.2, test=0.2)
    np.testing.assert_array_equal(train_like.X_train, splits.X_train)


def test_unreadable_values_and_missing_columns_at_predict_are_errors_naming_them(fitted):
    frame, splits = fitted
    prep = splits.preparation
    rows = frame.drop(columns="y").head(4).reset_index(drop=True)
    with pytest.raises(DataError, match=r"lacks the column\(s\) 'x', 'color'"):
        prep.transform(rows.drop(columns=["x", "color"]))
    bad = rows.assign(x=["1", "two", "3", "four"], day=["2020/01/01", "soon", "", "?"])
    with pytest.raises(DataError) as err:
        prep.transform(bad, "'rows.csv'", 2)
    text = str(err.value)
    assert "column 'x' needs numbers, but lines 3, 5 of the file hold 'four', 'two'" in text
    # a date that is no date is refused too, not silently replaced by the training median
    assert "column 'day' needs dates (%Y/%m/%d or ISO 8601), but lines 3, 5 of the file " \
           "hold '?', 'soon'" in text
    assert "an empty cell is a missing value" in text
    np.testing.assert_array_equal(prep.transform(rows.assign(day=["", None, np.nan, " "])),
                                  prep.transform(rows.assign(day=None)))


def test_unseen_categories_error_refuses_them_with_lines_and_known_values():
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"color": rng.choice(["red", "blue"], 80), "y": [0, 1] * 40})
    splits = _split(_load(frame, unseen_categories="error"))
    rows = pd.DataFrame({"color": ["red", "pink", "blue", "pink", "teal"]})
    with pytest.raises(DataError) as err:
        splits.preparation.transform(rows, "'rows.csv'", 2)
    text = str(err.value)
    assert "column 'color' has value(s) training never saw ('pink', 'teal'; lines 3, 5, 6 of " \
           "the file); known: 'blue', 'red'" in text
    assert "dataset.unseen_categories: group" in text
    assert splits.preparation.transform(rows.iloc[[0, 2]]).shape == (2, 2)


def test_the_preparation_saved_with_a_model_loads_and_transforms_alike(fitted, tmp_path):
    frame, splits = fitted
    prep = splits.preparation
    prep.save(tmp_path)
    assert {p.name for p in tmp_path.iterdir()} == {"preparation.skops", "preparation.json"}
    loaded = Preparation.load(tmp_path)
    assert loaded.feature_names == prep.feature_names and loaded.inputs == prep.inputs
    assert [c.as_dict() for c in loaded.columns] == [c.as_dict() for c in prep.columns]
    rows = frame.drop(columns="y").tail(7)
    np.testing.assert_array_equal(loaded.transform(rows), prep.transform(rows))
    # a worker process gets the bytes, not the fitted object, and rebuilds it alike
    state = pickle.loads(pickle.dumps(prep))
    assert state._transformer is None
    np.testing.assert_array_equal(state.transform(rows), prep.transform(rows))
    assert Preparation.load(tmp_path / "elsewhere") is None


# ---- when a date or a category carries the signal --------------------------------------------


def _dev_accuracy(frame: pd.DataFrame, **settings) -> float:
    splits = _split(_load(frame, target="label", **settings), dev=0.25, test=0.0,
                    scale="standard")
    result = train(splits.X_train, splits.y_train,
                   TrainConfig(hidden_layers=(16,), learning_rate=0.01, epochs=60,
                               batch_size=64), splits.X_dev, splits.y_dev)
    return result.model.evaluate(splits.X_dev, splits.y_dev, scaled=True)["accuracy"]


def test_a_season_in_a_date_column_is_learnt_from_the_date_features():
    rng = np.random.default_rng(1)
    n = 1200
    days = pd.Timestamp("2015-01-01") + pd.to_timedelta(rng.integers(0, 4 * 365, n), unit="D")
    warm = np.isin(days.month, [5, 6, 7, 8, 9]) ^ (rng.random(n) < 0.05)
    frame = pd.DataFrame({"date": days.strftime("%Y-%m-%d"), "noise": rng.normal(size=n),
                          "label": np.where(warm, "warm", "cold")})
    majority = max(warm.mean(), 1 - warm.mean())
    with_dates = _dev_accuracy(frame)
    one_hot = _dev_accuracy(frame, columns={"date": "categorical"})  # the old behaviour
    without = _dev_accuracy(frame, drop=("date",))
    assert with_dates >= 0.85
    assert one_hot < majority + 0.05 and without < majority + 0.05
    assert with_dates > max(one_hot, without) + 0.2


def test_a_category_that_carries_the_signal_is_learnt_from_its_one_hot_columns():
    rng = np.random.default_rng(4)
    n = 1000
    region = rng.choice(list("abcdef"), n)
    positive = np.isin(region, ["a", "c", "f"]) ^ (rng.random(n) < 0.05)
    frame = pd.DataFrame({"region": region, "noise": rng.normal(size=n),
                          "label": positive.astype(int)})
    with_region = _dev_accuracy(frame)
    without = _dev_accuracy(frame, drop=("region",))
    assert with_region >= 0.9 and without < 0.65


# ---- the fingerprint ------------------------------------------------------------------------


def test_the_fingerprint_changes_with_the_values_the_roles_and_the_settings():
    frame = _messy()
    base = _load(frame).fingerprint()
    assert _load(frame.copy()).fingerprint() == base  # deterministic
    variants = {
        "a value": _load(frame.assign(x=frame["x"].fillna(0.0))).fingerprint(),
        "a role": _load(frame, columns={"row": "numeric"}).fingerprint(),
        "a drop": _load(frame, drop=("color",)).fingerprint(),
        "max_categories": _load(frame, max_categories=5).fingerprint(),
        "text": _load(frame, text="encode").fingerprint(),
        "unseen": _load(frame, unseen_categories="error").fingerprint(),
        "the target": _load(frame.assign(flag=frame["y"]), target="flag").fingerprint(),
    }
    assert base not in variants.values()
    assert len(set(variants.values())) == len(variants)


def test_the_target_named_in_columns_or_drop_is_its_own_problem():
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "y": [0, 1, 0, 1]})
    with pytest.raises(TableError) as err:
        load_table(frame, "y", None, TableSettings(columns={"y": "drop"}, drop=("y",)),
                   "'t.csv'", 2)
    assert [field for field, _ in err.value.problems] == ["drop", "columns"]
    assert "the target column; the target is never a feature" in str(err.value)


def test_one_hot_columns_and_missing_indicators_are_not_standardised():
    rng = np.random.default_rng(0)
    n = 200
    frame = pd.DataFrame({"x": rng.normal(10, 5, n), "c": rng.choice(["a", "b"], n),
                          "y": rng.integers(0, 2, n)})
    frame.loc[:3, "x"] = np.nan  # a rare indicator: standardised it would be a +7-sigma input
    splits = split(load_table(frame, "y", None, TableSettings(), "'t.csv'", 2),
                   dev_size=0.2, test_size=0.2, seed=0, scale="standard")
    names = splits.feature_names
    X = np.vstack([splits.X_train, splits.X_dev, splits.X_test])
    for name in ("x_missing", "c_a", "c_b"):
        assert set(np.unique(X[:, names.index(name)])) <= {0.0, 1.0}, name
    x = splits.X_train[:, names.index("x")]
    assert abs(x.mean()) < 1e-9 and abs(x.std() - 1) < 1e-9  # numbers still standardised
