"""One-hot encoding of categorical table columns, recorded so prediction can apply it again.

An encoding maps each categorical column to its sorted list of categories (JSON-able values);
column ``c`` with categories ``[a, b]`` becomes features ``c=a`` and ``c=b`` in place of ``c``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from nnexp.data.errors import DataError

if TYPE_CHECKING:
    import pandas as pd


def categories(column: pd.Series) -> list[Any]:
    """The sorted distinct values of a categorical column, as plain Python values."""
    values = [v.item() if isinstance(v, np.generic) else v for v in column.unique()]
    try:
        return sorted(values)
    except TypeError:
        return sorted(values, key=str)


def one_hot(frame: pd.DataFrame, encoding: dict[str, list]) -> tuple[np.ndarray, list[str]]:
    """Features of ``frame`` (m rows) as X: (m, n_x) float64 and the n_x feature names.

    Columns named in ``encoding`` become one 0/1 feature per category, in place; the others
    are taken as numbers. A value not among a column's recorded categories is an error.
    """
    blocks: list[np.ndarray] = []
    names: list[str] = []
    for column in frame.columns:
        values = frame[column]
        if column not in encoding:
            blocks.append(values.to_numpy(dtype=np.float64).reshape(-1, 1))
            names.append(str(column))
            continue
        cats = encoding[column]
        unseen = ~values.isin(cats)
        if unseen.any():
            row = int(np.flatnonzero(unseen.to_numpy())[0])
            raise DataError(
                f"Column {column!r} has the value {values.iloc[row]!r} (row {row}), which is not "
                f"among its recorded categories {cats}; use one of those values."
            )
        blocks.append(np.stack([(values == c).to_numpy(dtype=np.float64) for c in cats], axis=1))
        names.extend(f"{column}={c}" for c in cats)
    X = np.concatenate(blocks, axis=1) if blocks else np.zeros((len(frame), 0))
    return X, names
