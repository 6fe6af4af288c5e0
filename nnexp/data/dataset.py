"""``Dataset``: the arrays of one data source after loading, before splitting and scaling.

Examples are rows: ``X`` has shape (m, n_x). Classification keeps the original labels in ``y``
(integers, or strings for a text target column); ``classes`` holds their sorted unique values,
so the index of a label is ``np.searchsorted(classes, y)``.

A table (CSV, Parquet) keeps its raw feature columns in ``Dataset.table`` instead of ``X``:
their preparation is fitted on the training split only (``nnexp.data.splits``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from nnexp.data.errors import DataError
from nnexp.data.fingerprint import fingerprint, table_fingerprint

if TYPE_CHECKING:
    import pandas as pd

    from nnexp.data.roles import Column, TableSettings

TASKS = ("binary", "multiclass", "regression")


@dataclass(frozen=True, eq=False)
class Table:
    """The raw feature columns of a table and what was decided about each.

    frame : DataFrame of m rows, the feature columns as read (the target removed, and the
        rows whose target is missing); its index is each row's position in the file.
    columns : one ``Column`` (role) per column of ``frame``.
    settings : the ``dataset:`` choices.
    first_line : the file line of row 0 (2 for a CSV), None for Parquet.
    target : the target column's name; dropped_rows : rows left out for a missing target.
    """

    frame: pd.DataFrame
    columns: list[Column]
    settings: TableSettings
    first_line: int | None
    target: str
    dropped_rows: int = 0


@dataclass(frozen=True, eq=False)
class Dataset:
    """One loaded data source.

    X : ndarray of shape (m, n_x), float64, finite; None for a table (see ``table``).
    y : ndarray of shape (m,); labels for classification, float64 for regression.
    task : one of ``TASKS``.
    feature_names : n_x names, one per column of X ([] for a table).
    classes : ndarray of shape (n_classes,), the sorted unique labels of y and y_test, computed
        on construction; None for regression.
    X_test, y_test : shapes (m_test, n_x) and (m_test,) when the source ships a test split.
    table : the raw columns of a CSV or Parquet table, None for arrays.
    source : ``"builtin"`` or the path of the file.
    """

    name: str
    X: np.ndarray | None
    y: np.ndarray
    task: str
    feature_names: list[str]
    classes: np.ndarray | None = None
    X_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    table: Table | None = None
    source: str = "builtin"

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        if self.table is None:
            set_(self, "X", np.asarray(self.X, dtype=np.float64))
        set_(self, "y", _target(np.asarray(self.y), self.task))
        if self.X_test is not None:
            set_(self, "X_test", np.asarray(self.X_test, dtype=np.float64))
            set_(self, "y_test", _target(np.asarray(self.y_test), self.task))
        if self.task != "regression":
            labels = self.y if self.y_test is None else np.concatenate([self.y, self.y_test])
            set_(self, "classes", np.unique(labels))
        set_(self, "feature_names", [str(n) for n in self.feature_names])
        self._validate()

    @property
    def m(self) -> int:
        """The number of examples (without a shipped test split)."""
        return len(self.y)

    def fingerprint(self) -> str:
        """The data's content hash: the arrays, or for a table its raw columns, target and
        column decisions (``nnexp.data.fingerprint``)."""
        if self.table is None:
            return fingerprint(self.X, self.y, self.X_test, self.y_test)
        t = self.table
        return table_fingerprint(t.frame, self.y, {
            "target": t.target, "settings": t.settings.describe(), "task": self.task,
            "roles": [(c.name, c.role, c.date_format, list(c.placeholders))
                      for c in t.columns]})

    def _validate(self) -> None:
        where = f"Dataset {self.name!r} ({self.source})"
        if self.task not in TASKS:
            raise DataError(f"{where}: task={self.task!r} is not known; use one of {TASKS}.")
        if self.m == 0:
            raise DataError(f"{where}: there are no examples; give at least two rows.")
        if self.table is None:
            _check_xy(where, "X", "y", self.X, self.y, self.feature_names)
        if (self.X_test is None) != (self.y_test is None):
            raise DataError(f"{where}: a test split needs both X_test and y_test.")
        if self.X_test is not None:
            _check_xy(where, "X_test", "y_test", self.X_test, self.y_test, self.feature_names)
        if self.task != "regression" and len(self.classes) < 2:
            raise DataError(
                f"{where}: the target has a single class ({self.classes[0]!r}); classification "
                "needs at least two. Check the target column, or use a dataset with more classes."
            )
        if self.task == "binary" and len(self.classes) != 2:
            raise DataError(
                f"{where}: task 'binary' but the target has {len(self.classes)} classes "
                f"({_preview(self.classes)}); use task 'multiclass'."
            )


def infer_task(y: np.ndarray) -> str:
    """The task a target y: (m,) implies.

    Real numbers that are not all whole are regression; anything else (integers, booleans,
    strings, whole floats) is classification: binary for two distinct values, else multiclass.
    """
    if y.dtype.kind == "f" and np.isfinite(y).all() and not np.all(np.mod(y, 1) == 0):
        return "regression"
    return "binary" if len(np.unique(y)) == 2 else "multiclass"


def _target(y: np.ndarray, task: str) -> np.ndarray:
    """Normalise y to float64 (regression), int64 (numeric or boolean labels) or str labels."""
    y = y.reshape(-1) if y.ndim == 2 and 1 in y.shape else y
    if task == "regression":
        if y.dtype.kind not in "biuf":
            raise DataError(
                f"A regression target must be numeric, but it has dtype {y.dtype}; "
                "use a classification task for text labels."
            )
        return y.astype(np.float64)
    if y.dtype.kind == "b" or (y.dtype.kind == "f" and _whole(y)):
        return y.astype(np.int64)
    if y.dtype.kind == "O":
        return y.astype(str)
    return y


def _whole(y: np.ndarray) -> bool:
    return bool(np.isfinite(y).all() and np.all(np.mod(y, 1) == 0))


def _check_xy(
    where: str, xname: str, yname: str, X: np.ndarray, y: np.ndarray, names: list[str]
) -> None:
    if X.ndim != 2:
        raise DataError(f"{where}: {xname} must be 2-D (m, n_x), got shape {X.shape}.")
    if y.ndim != 1 or y.shape[0] != X.shape[0]:
        raise DataError(
            f"{where}: {yname} must have shape ({X.shape[0]},) to match {xname} {X.shape}, "
            f"got {y.shape}."
        )
    if X.shape[1] != len(names):
        raise DataError(
            f"{where}: {xname} has {X.shape[1]} features but {len(names)} feature names."
        )
    bad = ~np.isfinite(X)
    if bad.any():
        j = int(np.flatnonzero(bad.any(axis=0))[0])
        rows = np.flatnonzero(bad[:, j])
        raise DataError(
            f"{where}: {xname} feature {j} ({names[j]!r}) is NaN or inf in {len(rows)} rows "
            f"(first at row {rows[0]}). Remove or fill those values in the source."
        )
    if y.dtype.kind == "f" and not np.isfinite(y).all():
        rows = np.flatnonzero(~np.isfinite(y))
        raise DataError(
            f"{where}: {yname} is NaN or inf in {len(rows)} rows (first at row {rows[0]}). "
            "Remove those examples or fill the target."
        )


def _preview(values: np.ndarray, limit: int = 5) -> str:
    shown = ", ".join(repr(v.item() if hasattr(v, "item") else v) for v in values[:limit])
    return shown + (", ..." if len(values) > limit else "")
