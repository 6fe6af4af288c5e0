"""A dataset's schema, read cheaply: its task, how many features and outputs, how many rows.

``read_schema(spec)`` answers before anything is trained, so ``nnexp validate`` can reject
what ``nnexp search`` would: a missing target column, an objective for another task, a
network too big for memory. It reads as little as it can:

- built-in datasets: the shapes recorded in ``DATASETS`` (nothing is generated or loaded);
- CSV: the header, the target column (``usecols``) and a bounded sample for categories;
- Parquet: the schema and row count from the metadata, the target column, a sample;
- NPZ: the array names and shapes from the ``.npy`` headers inside the zip, and ``y``;
- HDF5: the dataset names and shapes (no pixel is read), and the labels.

A file no larger than ``full_limit`` bytes is then loaded completely with ``load_file``, so
every mistake the data layer would find (a NaN, an unknown category) is found now and the
feature count is exact; above it, one-hot widths are counted on a sample (``exact`` False).
"""

from __future__ import annotations

import math
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from nnexp.data.builtin import builtin_shape
from nnexp.data.dataset import TASKS, Dataset, infer_task
from nnexp.data.errors import DataError, SchemaError, TableError
from nnexp.data.files import (
    HDF5_TEST,
    HDF5_TRAIN,
    SUFFIXES,
    feature_columns,
    load_file,
    npz_missing,
)
from nnexp.data.preparation import TEXT_COMPONENTS
from nnexp.data.roles import TableSettings, infer_columns
from nnexp.data.splits import split
from nnexp.errors import first_line

if TYPE_CHECKING:
    import pandas as pd

FULL_LIMIT = 16 * 2**20
"""Files up to this many bytes are loaded completely when their schema is read."""

SAMPLE_ROWS = 10_000
"""Rows read from a large table to count the categories of its text columns."""


@dataclass(frozen=True)
class DataSchema:
    """What the network needs to know about a dataset before it is loaded.

    task : ``"binary"``, ``"multiclass"`` or ``"regression"``.
    n_features : inputs after one-hot encoding (n_x); estimated from a sample when not exact.
    n_outputs : output units: the number of classes for multiclass, else 1.
    n_classes : distinct labels (None for regression).
    n_rows : examples (with a shipped test split), None if unknown.
    target : the label column of a table, None otherwise.
    exact : False when n_features was counted on a sample of a large file.
    columns : a table's column report (``Preparation.report()``: column, role, missing,
        encoding, features), () for arrays; estimated on a sample when not exact.
    dropped_rows : a table's rows left out because their target is missing.
    """

    task: str
    n_features: int
    n_outputs: int
    n_classes: int | None = None
    n_rows: int | None = None
    target: str | None = None
    exact: bool = True
    columns: tuple[dict[str, Any], ...] = ()
    dropped_rows: int = 0

    def describe(self) -> str:
        """'multiclass, 1797 rows, 64 features, 10 classes' for summaries."""
        parts = [self.task]
        if self.n_rows is not None:
            parts.append(f"{self.n_rows} rows")
        parts.append(f"{'~' if not self.exact else ''}{self.n_features} features")
        if self.n_classes is not None:
            parts.append(f"{self.n_classes} classes")
        if self.target is not None:
            parts.append(f"target {self.target!r}")
        if self.columns:
            used = sum(1 for c in self.columns if c["features"])
            parts.append(f"{used} of {len(self.columns)} columns used")
        if self.dropped_rows:
            parts.append(f"{self.dropped_rows} row{'s' if self.dropped_rows != 1 else ''} "
                         "without a target left out")
        return ", ".join(parts)


def read_schema(spec: Any, full_limit: int = FULL_LIMIT) -> DataSchema:
    """The schema of the dataset ``spec`` names (a validated ``dataset:`` section: ``name``
    and ``params``, or ``path``, ``target`` and ``task``); ``SchemaError`` if unusable."""
    if spec.name is not None:
        return _builtin(spec.name, spec.params or {})
    path = Path(spec.path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise SchemaError(f"{str(path)!r}: the suffix {path.suffix or '(none)'!r} is not "
                          f"supported; use one of: {', '.join(SUFFIXES)}.")
    if not path.is_file():
        raise SchemaError(f"data file {str(path)!r} not found.")
    size = path.stat().st_size
    if size == 0:
        raise SchemaError(f"{str(path)!r} is empty (0 bytes); give a file with data.")
    task = spec.task
    settings = TableSettings.of(spec)
    if size <= full_limit and suffix in (".csv", ".parquet", ".pq"):
        return _loaded(path, spec, settings)  # every problem of the table at once
    if suffix == ".csv":
        schema = _csv(path, spec.target, task, settings)
    elif suffix in (".parquet", ".pq"):
        schema = _parquet(path, spec.target, task, settings)
    elif suffix == ".npz":
        schema = _npz(path, task)
    else:
        schema = _hdf5(path, task)
    if size > full_limit:
        return schema
    return _loaded(path, spec, settings)


def _loaded(path: Path, spec: Any, settings: TableSettings) -> DataSchema:
    """The exact schema, from loading the file completely."""
    try:
        dataset = load_file(path, target=spec.target, task=spec.task, settings=settings)
        return _from_dataset(dataset, spec)
    except SchemaError:
        raise
    except DataError as err:
        raise SchemaError(str(err), "path") from None


def _builtin(name: str, params: dict[str, Any]) -> DataSchema:
    from nnexp.data.builtin import DATASETS

    try:
        shape = builtin_shape(name, **params)
    except DataError as err:
        raise SchemaError(str(err), "params") from None
    task = DATASETS[name].task
    if task != "regression":
        task = "binary" if shape.n_classes == 2 else "multiclass"
    return _schema(task, shape.n_features, shape.n_classes, shape.n_rows, None)


def _schema(task: str, n_features: int, n_classes: int | None, n_rows: int | None,
            target: str | None, exact: bool = True) -> DataSchema:
    n_outputs = n_classes if task == "multiclass" else 1
    return DataSchema(task=task, n_features=n_features, n_outputs=n_outputs,
                      n_classes=None if task == "regression" else n_classes, n_rows=n_rows,
                      target=target, exact=exact)


def _from_dataset(dataset: Dataset, spec: Any) -> DataSchema:
    """The exact schema of a loaded dataset; a table's preparation is fitted on its training
    split (as ``nnexp.data.prepare`` will) to count its features and report its columns."""
    rows = len(dataset.y) + (0 if dataset.y_test is None else len(dataset.y_test))
    n_classes = None if dataset.classes is None else len(dataset.classes)
    if dataset.table is None:
        return _schema(dataset.task, dataset.X.shape[1], n_classes, rows, None)
    splits = split(dataset, dev_size=spec.dev_size, test_size=spec.test_size, seed=spec.seed,
                   scale="none", stratify=spec.stratify)
    return replace(_schema(dataset.task, splits.X_train.shape[1], n_classes, rows,
                           spec.target),
                   columns=tuple(splits.preparation.report()),
                   dropped_rows=dataset.table.dropped_rows)


def _target_schema(path: Path, y: np.ndarray, task: str | None, target: str | None,
                   n_features: int, exact: bool, first_line_: int | None) -> DataSchema:
    """Task and classes from the labels ``y`` (all of them), checked like the loader does."""
    where = f"{str(path)!r}" + (f": target column {target!r}" if target else ": y")
    if y.size == 0:
        raise SchemaError(f"{where} has no examples (a header but no data rows); give at least "
                          "two rows.", "path")
    missing = _missing(y)
    if missing.all():
        raise SchemaError(f"{where} is empty in every row; choose the column that holds the "
                          "labels.", "target" if target else "path")
    if missing.any() and target is not None:  # a table's rows without a target are left out
        y = y[~missing]
    elif missing.any():
        rows = np.flatnonzero(missing)
        line = f" (line {rows[0] + first_line_} of the file)" if first_line_ else ""
        raise SchemaError(f"{where} is missing, NaN or inf in {len(rows)} rows (first at row "
                          f"{rows[0]}{line}); fill or remove those rows.", "path")
    if task is None:
        task = infer_task(y)
    if task not in TASKS:
        raise SchemaError(f"task={task!r} is not known; use one of: {', '.join(TASKS)}.", "task")
    if task == "regression":
        if y.dtype.kind not in "biuf":
            raise SchemaError(f"{where} holds text, which cannot be a regression target; use "
                              "task binary or multiclass (or leave task out).", "task")
        return _schema(task, n_features, None, len(y), target, exact)
    n_classes = len(np.unique(y.astype(str) if y.dtype.kind == "O" else y))
    if n_classes < 2:
        raise SchemaError(f"{where} has a single class; classification needs at least two. "
                          "Check the target column, or use a dataset with more classes.",
                          "target" if target else "path")
    if task == "binary" and n_classes != 2:
        raise SchemaError(f"{where}: task 'binary' but the target has {n_classes} classes; use "
                          "task 'multiclass'.", "task")
    return _schema(task, n_features, n_classes, len(y), target, exact)


def _missing(y: np.ndarray) -> np.ndarray:
    if y.dtype.kind in "biu":
        return np.zeros(y.shape, dtype=bool)
    if y.dtype.kind in "fc":
        return ~np.isfinite(y)
    import pandas as pd

    return pd.isna(y)


def _unreadable(path: Path, kind: str, err: BaseException) -> SchemaError:
    return SchemaError(f"{str(path)!r} could not be read as {kind} ({first_line(err)}); check "
                       f"that it is a valid {kind} file.", "path")


# ----- tables ---------------------------------------------------------------------------------

ESTIMATED_WIDTH = {"numeric": 1, "datetime": 8, "text": TEXT_COMPONENTS}


def _sample_columns(path: Path, sample: pd.DataFrame, settings: TableSettings,
                    first_line: int | None) -> tuple[int, tuple[dict[str, Any], ...]]:
    """Features and a column report estimated from a sample of a large table (roles from
    the sample; one-hot widths capped at ``max_categories``)."""
    columns, problems = infer_columns(sample, settings, repr(str(path)), first_line)
    if problems:
        raise TableError(problems)
    report = []
    for c in columns:
        width = 0
        if c.used:
            width = ESTIMATED_WIDTH.get(c.role) or min(c.levels + (c.missing > 0),
                                                       settings.max_categories)
            width += bool(c.missing) and c.role in ("numeric", "datetime")
        report.append({"column": c.name, "role": c.role, "missing": c.missing,
                       "encoding": c.note or "(estimated on a sample)", "features": width,
                       "hint": c.hint})
    return sum(r["features"] for r in report), tuple(report)


def _csv(path: Path, target: str | None, task: str | None,
         settings: TableSettings) -> DataSchema:
    import pandas as pd

    try:
        header = pd.read_csv(path, nrows=0)
    except pd.errors.EmptyDataError:
        raise SchemaError(f"{str(path)!r} has no header line (the file is blank); the first "
                          "line must name the columns.", "path") from None
    except (OSError, ValueError, UnicodeDecodeError, pd.errors.ParserError) as err:
        raise _unreadable(path, "CSV", err) from None
    features = feature_columns(path, [str(c) for c in header.columns], target)
    try:
        y = pd.read_csv(path, usecols=[target])[target].to_numpy()
        sample = pd.read_csv(path, usecols=features, nrows=SAMPLE_ROWS)
    except (OSError, ValueError, UnicodeDecodeError, pd.errors.ParserError) as err:
        raise _unreadable(path, "CSV", err) from None
    n_features, report = _sample_columns(path, sample, settings, 2)
    return replace(_target_schema(path, y, task, target, n_features,
                                  exact=len(y) <= SAMPLE_ROWS, first_line_=2), columns=report)


def _parquet(path: Path, target: str | None, task: str | None,
             settings: TableSettings) -> DataSchema:
    import pyarrow.parquet as pq

    try:
        table = pq.ParquetFile(path)
        columns = [str(name) for name in table.schema_arrow.names]
        features = feature_columns(path, columns, target)
        y = table.read(columns=[target]).column(0).to_pandas().to_numpy()
        batches = table.iter_batches(batch_size=SAMPLE_ROWS, columns=features)
        first = next(batches, None)
        sample = first.to_pandas() if first is not None else None
    except SchemaError:
        raise
    except Exception as err:  # noqa: BLE001 - pyarrow raises many kinds on a broken file
        raise _unreadable(path, "Parquet", err) from None
    n_features, report = _sample_columns(path, sample, settings, None) \
        if sample is not None else (len(features), ())
    return replace(_target_schema(path, y, task, target, n_features,
                                  exact=len(y) <= SAMPLE_ROWS, first_line_=None),
                   columns=report)


# ----- arrays ---------------------------------------------------------------------------------

def _npy_header(archive: zipfile.ZipFile, name: str) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype of one array of an NPZ, read from its header only."""
    with archive.open(name) as f:
        version = np.lib.format.read_magic(f)
        read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                else np.lib.format.read_array_header_2_0)
        shape, _, dtype = read(f)
    return shape, dtype


def _npz(path: Path, task: str | None) -> DataSchema:
    try:
        with zipfile.ZipFile(path) as archive:
            headers = {name.removesuffix(".npy"): _npy_header(archive, name)
                       for name in archive.namelist() if name.endswith(".npy")}
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as err:
        raise SchemaError(f"{str(path)!r} could not be read as NPZ ({first_line(err)}); an NPZ "
                          "dataset is a zip of .npy arrays X and y, as numpy.savez writes.",
                          "path") from None
    problem = npz_missing(path, headers)
    if problem:
        raise SchemaError(problem, "path")
    for key, (_, dtype) in headers.items():
        if dtype.hasobject:
            raise SchemaError(f"{str(path)!r}: array {key!r} holds Python objects, which nnexp "
                              "does not unpickle; save numeric arrays (or text labels as a "
                              "fixed-width string array).", "path")
    shapes = {k: shape for k, (shape, _) in headers.items()}
    n_features = _check_arrays(path, shapes, ("X", "y"), ("X_test", "y_test"))
    try:
        with np.load(path, allow_pickle=False) as archive:
            y = np.concatenate([np.asarray(archive[k]).reshape(-1)
                                for k in ("y", "y_test") if k in headers])
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise _unreadable(path, "NPZ", err) from None
    return _target_schema(path, y, task, None, n_features, True, None)


def _check_arrays(path: Path, shapes: dict[str, tuple[int, ...]], train: tuple[str, str],
                  test: tuple[str, str]) -> int:
    """Features per example; checks X and y agree in length and X_test has X's features."""
    x, y = train
    if len(shapes[x]) == 0 or shapes[x][0] == 0:
        raise SchemaError(f"{str(path)!r}: {x} has shape {shapes[x]}: no examples.", "path")
    n_features = math.prod(shapes[x][1:])
    if n_features == 0:
        raise SchemaError(f"{str(path)!r}: {x} has shape {shapes[x]}: no features.", "path")
    for xs, ys in (train, test):
        if xs not in shapes:
            continue
        if math.prod(shapes[ys]) != shapes[xs][0]:
            raise SchemaError(f"{str(path)!r}: {ys} has shape {shapes[ys]} but {xs} has "
                              f"{shapes[xs][0]} examples; give one label per example.", "path")
        if math.prod(shapes[xs][1:]) != n_features:
            raise SchemaError(f"{str(path)!r}: {xs} has shape {shapes[xs]} but {x} has "
                              f"{shapes[x]}; both need the same features.", "path")
    return n_features


def _hdf5(path: Path, task: str | None) -> DataSchema:
    import h5py

    def read(p: Path) -> tuple[dict[str, tuple[int, ...]], dict[str, np.ndarray]]:
        try:
            with h5py.File(p, "r") as f:
                data = {k: f[k] for k in f.keys() if isinstance(f[k], h5py.Dataset)}
                shapes = {k: tuple(d.shape) for k, d in data.items()}
                labels = {k: np.asarray(d[()]) for k, d in data.items()
                          if k in (HDF5_TRAIN[1], HDF5_TEST[1])}
        except OSError as err:
            raise _unreadable(p, "HDF5", err) from None
        return shapes, labels

    shapes, labels = read(path)
    if not all(k in shapes for k in HDF5_TEST):
        test_path = path.with_name(path.name.replace("train_", "test_", 1))
        if test_path != path and test_path.is_file():
            more, more_labels = read(test_path)
            shapes.update({k: v for k, v in more.items() if k in HDF5_TEST})
            labels.update({k: v for k, v in more_labels.items() if k in HDF5_TEST})
    missing = [k for k in HDF5_TRAIN + HDF5_TEST if k not in shapes]
    if missing:
        raise SchemaError(f"{str(path)!r} lacks the HDF5 dataset(s) {', '.join(missing)} (in "
                          "the file, or in the test_*.h5 file beside a train_*.h5); it has: "
                          f"{', '.join(shapes) or 'nothing'}.", "path")
    n_features = _check_arrays(path, shapes, HDF5_TRAIN, HDF5_TEST)
    y = np.concatenate([labels[k].reshape(-1) for k in (HDF5_TRAIN[1], HDF5_TEST[1])])
    return _target_schema(path, y, task, None, n_features, True, None)
