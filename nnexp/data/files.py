"""Datasets from files: CSV and Parquet tables, NPZ arrays, and the course's HDF5 images.

A table's columns keep their raw values with a role each (``nnexp.data.roles``); they become
numbers when split (``nnexp.data.preparation``, fitted on the training rows).

The format comes from the suffix (``SUFFIXES``). A file that ships a test split (NPZ
``X_test``/``y_test``, HDF5 ``test_set_*``) fills ``Dataset.X_test``/``y_test``; it is used as
given. pandas and h5py are imported inside the readers.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from nnexp.data.dataset import TASKS, Dataset, Table, infer_task
from nnexp.data.errors import DataError, SchemaError, TableError
from nnexp.data.roles import TableSettings, infer_columns, missing_values
from nnexp.errors import did_you_mean, listing

if TYPE_CHECKING:
    import pandas as pd

SUFFIXES = (".csv", ".parquet", ".pq", ".npz", ".h5", ".hdf5")
HDF5_TRAIN = ("train_set_x", "train_set_y")
HDF5_TEST = ("test_set_x", "test_set_y")


def load_file(path: str | Path, target: str | None = None, task: str | None = None,
              settings: TableSettings | None = None) -> Dataset:
    """Load the dataset in ``path``; the format comes from its suffix.

    target : the label column of a CSV or Parquet table (required there, ignored for NPZ and
        HDF5, whose labels are the ``y`` arrays).
    task : ``"binary"``, ``"multiclass"`` or ``"regression"`` to override ``infer_task``
        (for example, a whole-number target that is really real-valued).
    settings : how a table's columns are read (``nnexp.data.roles.TableSettings``; default:
        inferred roles, missing values imputed).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise DataError(
            f"Cannot read {str(path)!r}: the suffix {path.suffix or '(none)'!r} is not supported. "
            f"Use one of: {', '.join(SUFFIXES)}."
        )
    if not path.is_file():
        raise DataError(f"Data file {str(path)!r} does not exist; the path must name an existing "
                        "file (relative paths are taken from the current directory).")
    if task is not None and task not in TASKS:
        raise DataError(f"task={task!r} is not known; use one of: {', '.join(TASKS)}.")
    if suffix in (".csv", ".parquet", ".pq"):
        csv = suffix == ".csv"
        frame = _read_csv(path) if csv else _read_parquet(path)
        return load_table(frame, target, task, settings or TableSettings(), repr(str(path)),
                          2 if csv else None, name=path.stem, source=str(path))
    if suffix == ".npz":
        return _npz(path, task)
    return _hdf5(path, task)


def _unreadable(path: Path, kind: str, err: Exception) -> DataError:
    return DataError(f"Data file {str(path)!r} could not be read as {kind} ({err}); "
                     f"check that it is a valid {kind} file.")


def _read_csv(path: Path) -> pd.DataFrame:
    import pandas as pd

    try:
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise DataError(f"{str(path)!r} has no header line (the file is blank); the first "
                        "line must name the columns.") from None
    except (OSError, ValueError, UnicodeDecodeError, pd.errors.ParserError) as err:
        raise _unreadable(path, "CSV", err) from err


def _read_parquet(path: Path) -> pd.DataFrame:
    import pandas as pd

    try:
        return pd.read_parquet(path)
    except (OSError, ValueError) as err:
        raise _unreadable(path, "Parquet", err) from err


def load_table(frame: pd.DataFrame, target: str | None, task: str | None,
               settings: TableSettings, where: str, first_line: int | None,
               name: str = "table", source: str = "table") -> Dataset:
    """A DataFrame -> a ``Dataset`` whose ``table`` keeps the raw feature columns, each with
    its role (``nnexp.data.roles``). Rows with a missing target are left out (counted in
    ``table.dropped_rows``). ``TableError`` lists every problem at once.

    where : names the data in messages ("'weather.csv'"); first_line : the file line of
        row 0 (2 for a CSV with a header), None when rows have no line.
    """
    import pandas as pd

    frame = frame.rename(columns=str)
    if frame.columns.duplicated().any():
        dup = sorted(set(frame.columns[frame.columns.duplicated()]))
        raise TableError([("path", f"{where}: the column name(s) {listing(dup)} appear more "
                                   "than once; give every column its own name.")])
    feature_columns(where, list(frame.columns), target)
    if len(frame) == 0:
        raise TableError([("path", f"{where} has no examples (a header but no data rows); "
                                   "give at least two rows.")])
    problems: list[tuple[str, str]] = [
        (key, f"{where}: dataset.{key} names {target!r}, the target column; the target is "
              f"never a feature. Remove it from dataset.{key}.")
        for key, names in (("drop", settings.drop), ("columns", settings.columns))
        if target in names]
    settings = replace(settings, drop=tuple(c for c in settings.drop if c != target),
                       columns={c: r for c, r in settings.columns.items() if c != target})
    absent = missing_values(frame[target])
    if absent.all():
        raise TableError([("target", f"{where}: the target column {target!r} is empty in "
                                     "every row; choose the column that holds the labels.")])
    kept = frame[~absent.to_numpy()]
    features = kept.drop(columns=target)
    columns, found = infer_columns(features, settings, where, first_line)
    problems += found
    y = kept[target].to_numpy()
    if y.dtype == object:
        y = pd.Series(y).map(lambda v: v.strip() if isinstance(v, str) else v).to_numpy()
    task = task or infer_task(y)
    problems += _target_problems(y, task, target, where)
    if problems:
        raise TableError(problems)
    table = Table(frame=features, columns=columns, settings=settings, first_line=first_line,
                  target=target, dropped_rows=int(absent.sum()))
    return Dataset(name=name, X=None, y=y, task=task, feature_names=[], table=table,
                   source=source)


def _target_problems(y: np.ndarray, task: str, target: str, where: str
                     ) -> list[tuple[str, str]]:
    """What rules the target column out for ``task``: text for regression, one class, a
    'binary' task with more classes."""
    column = f"{where}: target column {target!r}"
    if task not in TASKS:
        return [("task", f"task={task!r} is not known; use one of: {', '.join(TASKS)}.")]
    if task == "regression":
        if y.dtype.kind not in "biuf":
            return [("task", f"{column} holds text, which cannot be a regression target; use "
                             "task binary or multiclass (or leave task out).")]
        return []
    classes = np.unique(y.astype(str) if y.dtype.kind == "O" else y)
    if len(classes) < 2:
        return [("target", f"{column} has a single class ({listing(classes.tolist())}); "
                           "classification needs at least two. Check the target column, or "
                           "use data with more classes.")]
    if task == "binary" and len(classes) != 2:
        return [("task", f"{column}: task 'binary' but the target has {len(classes)} classes "
                         f"({listing(classes.tolist())}); use task 'multiclass'.")]
    return []


def feature_columns(where: str | Path, columns: list[str], target: str | None) -> list[str]:
    """The feature columns of a table with ``columns``, after checking that ``target`` names
    one of them and leaves at least one feature; ``SchemaError`` (field ``target`` or
    ``path``) otherwise."""
    where = where if isinstance(where, str) else repr(str(where))
    if target is None:
        raise SchemaError(f"{where} is a table, so the dataset needs `target`: the name "
                          f"of the label column. Columns: {listing(columns, 50)}.", "target")
    if target not in columns:
        hint = did_you_mean(target, columns, sentence=True)
        raise SchemaError(f"{where} has no target column {target!r}.{hint} Columns: "
                          f"{listing(columns, 50) or 'none'}.", "target")
    features = [c for c in columns if c != target]
    if not features:
        raise SchemaError(f"{where} has only the target column {target!r}; add at least "
                          "one feature column.", "path")
    return features


def _npz(path: Path, task: str | None) -> Dataset:
    """NPZ with arrays X (m, ...) and y (m,), optionally X_test and y_test; X is flattened to
    (m, n_x)."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except (OSError, ValueError) as err:
        raise _unreadable(path, "NPZ", err) from err
    problem = npz_missing(path, arrays)
    if problem:
        raise DataError(problem)
    X, y = _flat(arrays["X"]), arrays["y"]
    X_test, y_test = arrays.get("X_test"), arrays.get("y_test")
    if X_test is not None:
        X_test = _flat(X_test)
    return Dataset(name=path.stem, X=X, y=y, task=task or _task(y, y_test),
                   feature_names=[f"x{i}" for i in range(X.shape[1])], X_test=X_test,
                   y_test=y_test, source=str(path))


def npz_missing(path: Path, keys) -> str | None:
    """Why an NPZ archive holding arrays ``keys`` is not a dataset (X and y, and optionally
    both X_test and y_test are needed), or None."""
    missing = [k for k in ("X", "y") if k not in keys]
    if ("X_test" in keys) != ("y_test" in keys):
        missing.append("y_test" if "X_test" in keys else "X_test")
    if not missing:
        return None
    return (f"{str(path)!r} lacks the array(s) {', '.join(missing)}; an NPZ dataset holds X and "
            f"y, and optionally both X_test and y_test. It has: {', '.join(keys) or 'nothing'}.")


def _flat(X: np.ndarray) -> np.ndarray:
    """(m, ...) -> (m, n_x); 1-D X is one feature per example."""
    return X.reshape(X.shape[0], -1) if X.ndim != 1 else X.reshape(-1, 1)


def _task(y: np.ndarray, y_test: np.ndarray | None) -> str:
    return infer_task(y.reshape(-1) if y_test is None else
                      np.concatenate([y.reshape(-1), y_test.reshape(-1)]))


def _hdf5(path: Path, task: str | None) -> Dataset:
    """The course's cat-vs-non-cat format: ``train_set_x`` (m, 64, 64, 3) uint8 and
    ``train_set_y`` (m,), with ``test_set_x``/``test_set_y`` in the same file or in the file
    beside it whose name has ``test_`` for ``train_``. Images become X (m, 12288) in [0, 1]."""
    train = _read_hdf5(path, HDF5_TRAIN)
    test_path = path
    if not all(k in train for k in HDF5_TEST):
        test_path = path.with_name(path.name.replace("train_", "test_", 1))
        if test_path == path or not test_path.is_file():
            raise DataError(
                f"{str(path)!r} has no {' / '.join(HDF5_TEST)} and there is no test file "
                f"beside it (looked for {str(test_path)!r}). Put all four datasets in one file "
                "or keep train_*.h5 and test_*.h5 side by side."
            )
    test = train if test_path == path else _read_hdf5(test_path, HDF5_TEST)
    X, X_test = _pixels(train["train_set_x"]), _pixels(test["test_set_x"])
    y, y_test = train["train_set_y"].reshape(-1), test["test_set_y"].reshape(-1)
    names = _class_names(path, train.get("list_classes"), y, y_test)
    if names is not None:
        y, y_test = names[y.astype(np.intp)], names[y_test.astype(np.intp)]
    return Dataset(name=path.stem, X=X, y=y, task=task or _task(y, y_test),
                   feature_names=[f"pixel{i}" for i in range(X.shape[1])], X_test=X_test,
                   y_test=y_test, source=str(path))


def _class_names(path: Path, list_classes: np.ndarray | None, y: np.ndarray,
                 y_test: np.ndarray) -> np.ndarray | None:
    """The course's ``list_classes`` (e.g. ``[b'non-cat', b'cat']``) as str labels (C,), so
    that label ``y == i`` becomes ``list_classes[i]``; None when the file has none. Labels
    that are not indices into it are an error."""
    if list_classes is None:
        return None
    names = np.array([c.decode() if isinstance(c, bytes) else str(c)
                      for c in np.asarray(list_classes).reshape(-1)])
    labels = np.concatenate([y, y_test])
    if labels.dtype.kind not in "biu" or labels.min() < 0 or labels.max() >= len(names) \
            or len(set(names)) != len(names):
        raise DataError(f"{str(path)!r}: list_classes {names.tolist()} does not name the labels "
                        f"{np.unique(labels).tolist()[:10]} (label i is list_classes[i], each "
                        "name once). Fix list_classes or remove it to keep the numbers.")
    return names


def _read_hdf5(path: Path, required: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Every dataset at the top of the file; an error listing what is there if one of
    ``required`` is missing (test keys are optional in a train file)."""
    import h5py

    try:
        with h5py.File(path, "r") as f:
            keys = list(f.keys())
            arrays = {k: f[k][()] for k in keys if isinstance(f[k], h5py.Dataset)}
    except OSError as err:
        raise _unreadable(path, "HDF5", err) from err
    missing = [k for k in required if k not in arrays]
    if missing:
        raise DataError(f"{str(path)!r} lacks the HDF5 dataset(s) {', '.join(missing)}; "
                        f"it has: {', '.join(keys) or 'nothing'}. The course format has "
                        f"{', '.join(HDF5_TRAIN + HDF5_TEST)} and list_classes.")
    return arrays


def _pixels(images: np.ndarray) -> np.ndarray:
    """(m, h, w, c) images -> (m, h*w*c) float64; integer pixels 0-255 scaled to [0, 1]."""
    X = _flat(images).astype(np.float64)
    return X / 255.0 if np.issubdtype(images.dtype, np.integer) else X
