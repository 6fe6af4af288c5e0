"""Train / dev / test splits (the course's names), stratified by class, prepared and scaled on
train only: a table's preparation (``nnexp.data.preparation``) and the scaler are fitted on the
training rows, then applied to all three."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from nnexp.data.dataset import Dataset
from nnexp.data.errors import DataError
from nnexp.data.preparation import Preparation
from nnexp.data.scaling import Scaler, fit_scaler

EXAMPLE_ROWS = 5


@dataclass(frozen=True, eq=False)
class Splits:
    """A dataset ready for training.

    X_train, X_dev, X_test : ndarrays of shape (m_train, n_x), (m_dev, n_x), (m_test, n_x),
        float64, already transformed by ``scaler`` (fitted on X_train only); m_dev and m_test
        may be 0.
    y_train, y_dev, y_test : ndarrays of shape (m_*,), labels as in ``Dataset.y``.
    fingerprint : ``Dataset.fingerprint()`` of the loaded data before splitting.
    feature_names : the n_x names of the columns of X.
    preparation : a table's fitted preparation (raw rows -> unscaled X), None for arrays.
    dropped_rows : a table's rows left out because their target is missing.
    example : a table's first few raw dev rows (the columns the preparation reads), the
        registered model's input example; None for arrays.
    """

    name: str
    task: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_dev: np.ndarray
    y_dev: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    scaler: Scaler
    fingerprint: str
    feature_names: list[str]
    classes: np.ndarray | None
    preparation: Preparation | None
    source: str
    dropped_rows: int = 0
    example: Any = None


def split(
    dataset: Dataset, *, dev_size: float, test_size: float, seed: int, scale: str,
    stratify: bool = True,
) -> Splits:
    """Shuffle ``dataset`` with ``seed`` into train / dev / test and scale the features.

    dev_size, test_size : fractions of all m examples in [0, 1), rounded to whole examples.
        When the dataset ships a test split, that split is the test set, ``test_size`` is
        ignored and ``dev_size`` is the fraction of the given training examples.
    scale : ``"standard"``, ``"minmax"`` or ``"none"``, fitted on the training set only.
    stratify : keep each class's share in every part (classification only).
    """
    given_test = dataset.X_test is not None
    for field, value in (("dev_size", dev_size), ("test_size", 0.0 if given_test else test_size)):
        if not 0.0 <= value < 1.0:
            raise DataError(f"{field}={value} must be a fraction in [0, 1).")
    m = dataset.m
    n_dev = _count(dev_size, m)
    n_test = 0 if given_test else _count(test_size, m)
    if m - n_dev - n_test < 1:
        raise DataError(
            f"dev_size={dev_size} and test_size={test_size} leave no training examples out of "
            f"{m}; lower them so that dev_size + test_size < 1 leaves at least one example."
        )
    rng = np.random.default_rng(seed)
    if stratify and dataset.task != "regression" and n_dev + n_test > 0:
        train, dev, test = _stratified(dataset.y, n_dev, n_test, rng, dev_size, test_size)
    else:
        order = rng.permutation(m)
        test, dev, train = order[:n_test], order[n_test:n_test + n_dev], order[n_test + n_dev:]
    X, preparation, names = dataset.X, None, dataset.feature_names
    table = dataset.table
    if table is not None:
        preparation = Preparation.fit(table.columns, table.settings,
                                      table.frame.iloc[train])
        X = preparation.transform(table.frame, repr(dataset.source), table.first_line)
        names = preparation.feature_names
    X_train = X[train]
    scaler = fit_scaler(X_train, scale, None if preparation is None else preparation.flags)
    if given_test:
        X_test, y_test = dataset.X_test, dataset.y_test
    else:
        X_test, y_test = X[test], dataset.y[test]
    return Splits(
        name=dataset.name, task=dataset.task,
        X_train=scaler.transform(X_train), y_train=dataset.y[train],
        X_dev=scaler.transform(X[dev]), y_dev=dataset.y[dev],
        X_test=scaler.transform(X_test), y_test=y_test,
        scaler=scaler, fingerprint=dataset.fingerprint(),
        feature_names=names, classes=dataset.classes, preparation=preparation,
        source=dataset.source, dropped_rows=0 if table is None else table.dropped_rows,
        example=None if table is None else
        table.frame.iloc[(dev if len(dev) else train)[:EXAMPLE_ROWS]][preparation.inputs],
    )


def _count(fraction: float, m: int) -> int:
    """Round fraction * m to whole examples, halves up."""
    return int(np.floor(fraction * m + 0.5))


def _stratified(
    y: np.ndarray, n_dev: int, n_test: int, rng: np.random.Generator, dev_size: float,
    test_size: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indices (train, dev, test), each class shared out in proportion to its size.

    Every class keeps at least one training example; each part is shuffled.
    """
    classes, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    small = np.flatnonzero(counts < 2)
    if small.size:
        raise DataError(
            f"Class {classes[small[0]].item()!r} has only {counts[small[0]]} example, too few to "
            "stratify (each class needs at least 2). Add examples of that class, remove it, or "
            "set stratify: false (or, if the target is a real number, task: regression)."
        )
    spare = counts - 1  # one example per class stays in train
    if n_dev + n_test > spare.sum():
        raise DataError(
            f"dev_size={dev_size} and test_size={test_size} leave fewer training examples than "
            f"the {len(classes)} classes, so stratification cannot keep every class in train; "
            "lower dev_size or test_size, or set stratify: false."
        )
    test_per_class = _allocate(counts, spare, n_test)
    dev_per_class = _allocate(counts, spare - test_per_class, n_dev)
    parts: tuple[list[np.ndarray], ...] = ([], [], [])
    for c in range(len(classes)):
        members = rng.permutation(np.flatnonzero(inverse == c))
        n_t, n_d = test_per_class[c], dev_per_class[c]
        parts[2].append(members[:n_t])
        parts[1].append(members[n_t:n_t + n_d])
        parts[0].append(members[n_t + n_d:])
    train, dev, test = (rng.permutation(np.concatenate(p)) for p in parts)
    return train, dev, test


def _allocate(counts: np.ndarray, available: np.ndarray, n: int) -> np.ndarray:
    """Share n <= available.sum() items over classes in proportion to their ``counts``,
    never more than a class has ``available``; the leftover units go to the largest
    remainders. Returns (n_classes,) ints summing to n."""
    exact = counts * (n / counts.sum())
    share = np.minimum(np.floor(exact).astype(np.int64), available)
    while share.sum() < n:
        gap = np.where(share < available, exact - share, -np.inf)
        share[np.argmax(gap)] += 1
    return share
